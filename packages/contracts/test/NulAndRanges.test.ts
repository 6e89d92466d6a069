/**
 * Values PostgreSQL would refuse never get past the contract schemas: NUL (U+0000) in any
 * client string that reaches SQL, numbers beyond a safe integer (hence beyond `bigint`), years
 * PostgreSQL cannot hold, oversized `member_ids`. Each is a field-level 400 message.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Result, Schema } from "effect"
import { Email, LoginRequest, RefreshRequest, RegisterRequest, Username } from "../src/Auth.ts"
import { ChatRpcs } from "../src/ChatRpcs.ts"
import { ClientMsgId } from "../src/Ids.ts"
import { GetMessagesQuery, MessageContent } from "../src/Messages.ts"
import { NotificationRpcs } from "../src/NotificationRpcs.ts"
import { Seq } from "../src/Numbers.ts"
import { RoomRpcs } from "../src/RoomRpcs.ts"
import { ChannelsQuery, CreateRoomRequest, MAX_MEMBER_IDS, RoomName } from "../src/Rooms.ts"
import { schemaErrorMessage } from "../src/SchemaErrorMessage.ts"
import { TextWithoutNul } from "../src/Text.ts"
import { Timestamp } from "../src/Time.ts"
import { decodeClientFrame } from "../src/WsFrames.ts"

const NUL = "\u0000"
const ROOM = "0190b3a2-1111-7111-8111-111111111111"
const USER = "0190b3a2-2222-7222-8222-222222222222"

const reject = <S extends Schema.Codec<unknown, unknown>>(schema: S, input: unknown, subject?: string): string => {
  const result = Schema.decodeUnknownResult(schema)(input)
  if (Result.isSuccess(result)) throw new Error(`expected failure, got: ${JSON.stringify(result.success)}`)
  return schemaErrorMessage(result.failure, subject)
}

const accept = <S extends Schema.Codec<unknown, unknown>>(schema: S, input: unknown): S["Type"] => {
  const result = Schema.decodeUnknownResult(schema)(input)
  if (Result.isFailure(result)) throw new Error(`expected success, got: ${result.failure.message}`)
  return result.success
}

/** The decoding schema of one RPC's payload. */
const payloadOf = (rpcs: { readonly requests: ReadonlyMap<string, { readonly payloadSchema: Schema.Top }> }, tag: string) => {
  const rpc = rpcs.requests.get(tag)
  if (rpc === undefined) throw new Error(`no RPC ${tag}`)
  return rpc.payloadSchema as Schema.Codec<unknown, unknown>
}

describe("NUL in client text", () => {
  it("is refused by every string schema that reaches SQL, naming the rule", () => {
    for (const schema of [Username, Email, RoomName, MessageContent, ClientMsgId, TextWithoutNul]) {
      expect(reject(schema, `ab${NUL}cd`)).toBe("value: must not contain NUL characters")
    }
    // Also at the very ends, where trimming must not hide it.
    expect(reject(RoomName, `${NUL}general`)).toBe("value: must not contain NUL characters")
    expect(reject(MessageContent, `hello${NUL}`)).toBe("value: must not contain NUL characters")
  })

  it("in request bodies and queries names the field", () => {
    const credentials = { username: "alice", email: "alice@example.com", password: "correct horse" }
    expect(reject(RegisterRequest, { ...credentials, username: `al${NUL}ice` })).toBe(
      "username: must not contain NUL characters"
    )
    expect(reject(RegisterRequest, { ...credentials, email: `al${NUL}ice@example.com` })).toBe(
      "email: must not contain NUL characters"
    )
    expect(reject(LoginRequest, { email: `a${NUL}@x.io`, password: "pw" })).toBe("email: must not contain NUL characters")
    expect(reject(RefreshRequest, { refresh_token: `t${NUL}` })).toBe("refresh_token: must not contain NUL characters")
    expect(reject(CreateRoomRequest, { name: `a${NUL}`, type: "group" })).toBe("name: must not contain NUL characters")
    expect(reject(ChannelsQuery, { q: `a${NUL}` })).toBe("q: must not contain NUL characters")
  })

  it("passwords only reach argon2, never SQL, so they stay verbatim", () => {
    const credentials = { username: "alice", email: "alice@example.com", password: `pass${NUL}word` }
    expect(accept(RegisterRequest, credentials).password).toBe(`pass${NUL}word`)
  })

  it("in WebSocket frames is a BAD_REQUEST frame", () =>
    Effect.gen(function*() {
      const content = yield* Effect.flip(
        decodeClientFrame(JSON.stringify({ type: "message", room_id: ROOM, content: `a${NUL}b`, client_msg_id: "c-1" }))
      )
      expect(content.frame).toEqual({
        type: "error",
        code: "BAD_REQUEST",
        message: "content: must not contain NUL characters",
        ref: "c-1"
      })
      const ref = yield* Effect.flip(
        decodeClientFrame(JSON.stringify({ type: "message", room_id: ROOM, content: "hi", client_msg_id: `c${NUL}` }))
      )
      expect(ref.frame).toEqual({ type: "error", code: "BAD_REQUEST", message: "client_msg_id: must not contain NUL characters" })
    }).pipe(Effect.runPromise))

  it("in internal RPC payloads is refused too", () => {
    expect(reject(payloadOf(RoomRpcs, "ListChannels"), { user_id: USER, q: `a${NUL}`, limit: 10 })).toBe(
      "q: must not contain NUL characters"
    )
    const notification = { user_id: USER, type: "message", title: "t", body: "b", room_id: ROOM, message_id: null }
    expect(reject(payloadOf(NotificationRpcs, "SendNotification"), { ...notification, body: `b${NUL}` })).toBe(
      "body: must not contain NUL characters"
    )
    const send = { user_id: USER, room_id: ROOM, content: `a${NUL}`, msg_type: "text", client_msg_id: null }
    expect(reject(payloadOf(ChatRpcs, "SendMessage"), send)).toBe("content: must not contain NUL characters")
  })
})

describe("numeric cursors", () => {
  it("seq and since_seq are safe integers, so they always fit PostgreSQL bigint", () => {
    expect(reject(Seq, 2 ** 53)).toBe("value: must be an integer")
    expect(reject(Seq, 1e300)).toBe("value: must be an integer")
    for (const since of ["1e300", "-1", "9223372036854775808", "1.5"]) {
      const exit = Effect.runSyncExit(decodeClientFrame(`{"type":"join","room_id":"${ROOM}","since_seq":${since}}`))
      expect(Exit.isFailure(exit)).toBe(true)
    }
  })

  it("after_seq and limit query values are bounded decimal integers", () => {
    for (const after_seq of ["1e300", "-1", "9223372036854775808", "1.5", "0x10", `1${NUL}`]) {
      expect(reject(GetMessagesQuery, { after_seq })).toBe("after_seq: must be a non-negative integer")
    }
    for (const limit of ["1e300", "-1", `5${NUL}`]) {
      expect(reject(GetMessagesQuery, { limit })).toBe("limit: must be a positive integer")
    }
    expect(accept(GetMessagesQuery, { after_seq: "999999999999999" }).after_seq).toBe(999_999_999_999_999)
  })
})

describe("dates", () => {
  it("timestamps run from year 0001 (PostgreSQL has no year 0) to 9999", () => {
    expect(reject(Timestamp, "0000-12-31T23:59:59.999Z")).toBe("value: must be between years 0001 and 9999")
    expect(Schema.encodeSync(Timestamp)(accept(Timestamp, "0001-01-01T00:00:00.000Z"))).toBe("0001-01-01T00:00:00.000Z")
    expect(Schema.encodeSync(Timestamp)(accept(Timestamp, "9999-12-31T23:59:59.999Z"))).toBe("9999-12-31T23:59:59.999Z")
  })
})

describe("member_ids", () => {
  const id = (n: number) => `0190b3a2-0000-7000-8000-${n.toString(16).padStart(12, "0")}`

  it(`accepts up to ${MAX_MEMBER_IDS} distinct ids and refuses more`, () => {
    const max = Array.from({ length: MAX_MEMBER_IDS }, (_, i) => id(i))
    expect(accept(CreateRoomRequest, { name: "r", type: "group", member_ids: max }).member_ids).toHaveLength(MAX_MEMBER_IDS)
    const tooMany = Array.from({ length: MAX_MEMBER_IDS + 1 }, (_, i) => id(i))
    expect(reject(CreateRoomRequest, { name: "r", type: "group", member_ids: tooMany })).toBe(
      `member_ids: must have at most ${MAX_MEMBER_IDS} items`
    )
  })

  it("counts distinct ids: repeats of one id are de-duplicated first", () => {
    const repeats = Array.from({ length: 10_000 }, () => USER)
    expect(accept(CreateRoomRequest, { name: "r", type: "group", member_ids: repeats }).member_ids).toEqual([USER])
  })
})
