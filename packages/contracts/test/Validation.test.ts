/** Request bodies and query strings: normalisation on decode, and precise field-level rejections. */
import { describe, expect, it } from "@effect/vitest"
import { DateTime, Result, Schema } from "effect"
import { LoginRequest, RefreshRequest, RegisterRequest } from "../src/Auth.ts"
import { ClientMsgId, RoomId, UserId } from "../src/Ids.ts"
import { GetMessagesQuery } from "../src/Messages.ts"
import { NotificationsQuery } from "../src/Notifications.ts"
import { ChannelsQuery, CreateRoomRequest } from "../src/Rooms.ts"
import { schemaErrorMessage } from "../src/SchemaErrorMessage.ts"
import { formatTimestamp, Timestamp, timestampFromDate } from "../src/Time.ts"

const U1 = "0190b3a2-1111-7111-8111-111111111111"
const U2 = "0190b3a2-2222-7222-8222-222222222222"

const decode = <S extends Schema.Codec<unknown, unknown>>(schema: S, input: unknown) =>
  Schema.decodeUnknownResult(schema)(input)

const accept = <S extends Schema.Codec<unknown, unknown>>(schema: S, input: unknown): S["Type"] => {
  const result = decode(schema, input)
  if (Result.isFailure(result)) throw new Error(`expected success, got: ${result.failure.message}`)
  return result.success
}

const reject = <S extends Schema.Codec<unknown, unknown>>(schema: S, input: unknown, subject?: string): string => {
  const result = decode(schema, input)
  if (Result.isSuccess(result)) throw new Error(`expected failure, got: ${JSON.stringify(result.success)}`)
  return schemaErrorMessage(result.failure, subject)
}

describe("ids", () => {
  it("accepts a UUID and lower-cases it", () => {
    expect(accept(RoomId, U1.toUpperCase())).toBe(U1)
  })
  it("rejects malformed UUIDs naming the rule", () => {
    expect(reject(RoomId, "not-a-uuid", "id")).toBe("id: must be a UUID")
    expect(reject(UserId, `${U1}0`, "id")).toBe("id: must be a UUID")
    expect(reject(UserId, `{${U1}}`, "id")).toBe("id: must be a UUID")
    expect(reject(UserId, 42, "id")).toBe("id: must be a string")
  })
  it("client_msg_id is 1–64 characters", () => {
    expect(accept(ClientMsgId, "c".repeat(64))).toBe("c".repeat(64))
    expect(reject(ClientMsgId, "")).toBe("value: must be 1–64 characters")
    expect(reject(ClientMsgId, "c".repeat(65))).toBe("value: must be 1–64 characters")
  })
})

describe("timestamps", () => {
  it("encode as RFC 3339 UTC with milliseconds", () => {
    const t = timestampFromDate(new Date(Date.UTC(2026, 5, 23)))
    expect(Schema.encodeSync(Timestamp)(t)).toBe("2026-06-23T00:00:00.000Z")
    expect(formatTimestamp(t)).toBe("2026-06-23T00:00:00.000Z")
  })
  it("decode any offset to UTC", () => {
    const t = accept(Timestamp, "2026-06-23T02:00:00+02:00")
    expect(DateTime.formatIso(t)).toBe("2026-06-23T00:00:00.000Z")
  })
  it("reject non-RFC 3339 strings", () => {
    expect(reject(Timestamp, "2026-06-23", "at")).toBe("at: must be an RFC 3339 timestamp")
    expect(reject(Timestamp, "2026-06-23T00:00:00", "at")).toBe("at: must be an RFC 3339 timestamp")
    expect(reject(Timestamp, "yesterday", "at")).toBe("at: must be an RFC 3339 timestamp")
  })
})

describe("RegisterRequest", () => {
  const valid = { username: "alice", email: "alice@example.com", password: "correct horse" }

  it("accepts a valid body and ignores unknown fields", () => {
    expect(accept(RegisterRequest, { ...valid, admin: true })).toEqual(valid)
  })
  it("lower-cases and trims the email", () => {
    expect(accept(RegisterRequest, { ...valid, email: "  Alice@Example.COM " }).email).toBe("alice@example.com")
  })
  it("keeps the password verbatim, surrounding spaces included", () => {
    expect(accept(RegisterRequest, { ...valid, password: "  secret pass  " }).password).toBe("  secret pass  ")
  })
  it("names the field of each violation", () => {
    expect(reject(RegisterRequest, { ...valid, username: "al" })).toMatch(/^username: /)
    expect(reject(RegisterRequest, { ...valid, username: "a".repeat(33) })).toMatch(/^username: /)
    expect(reject(RegisterRequest, { ...valid, username: "al ice" })).toMatch(/^username: /)
    expect(reject(RegisterRequest, { ...valid, email: "alice" })).toBe("email: must be an email address")
    expect(reject(RegisterRequest, { ...valid, email: "Alice <alice@example.com>" })).toBe(
      "email: must be an email address"
    )
    expect(reject(RegisterRequest, { ...valid, email: `${"a".repeat(250)}@example.com` })).toBe(
      "email: must be at most 255 characters"
    )
    expect(reject(RegisterRequest, { ...valid, password: "short" })).toBe("password: must be 8–128 characters")
    expect(reject(RegisterRequest, { ...valid, password: "x".repeat(129) })).toBe("password: must be 8–128 characters")
    // Spaces count: the password is never trimmed, not even for the length check.
    expect(accept(RegisterRequest, { ...valid, password: "  1234  " }).password).toBe("  1234  ")
  })
  it("reports missing fields and a non-object body", () => {
    expect(reject(RegisterRequest, { username: "alice", password: "correct horse" })).toBe("email is required")
    expect(reject(RegisterRequest, [], "body")).toBe("body: must be an object")
    expect(reject(RegisterRequest, { ...valid, username: 5 })).toBe("username: must be a string")
  })
})

describe("LoginRequest and RefreshRequest", () => {
  it("normalises the email without judging its shape", () => {
    expect(accept(LoginRequest, { email: " Bob@X.org ", password: "p" })).toEqual({ email: "bob@x.org", password: "p" })
    expect(accept(LoginRequest, { email: "not-an-email", password: "p" }).email).toBe("not-an-email")
  })
  it("requires both fields", () => {
    expect(reject(LoginRequest, { email: "bob@x.org" })).toBe("password is required")
    expect(reject(LoginRequest, { email: "", password: "p" })).toBe("email: must be 1–255 characters")
    expect(reject(RefreshRequest, {})).toBe("refresh_token is required")
  })
})

describe("CreateRoomRequest", () => {
  it("trims the name, defaults member_ids to [] and de-duplicates them", () => {
    expect(accept(CreateRoomRequest, { name: "  general ", type: "channel" })).toEqual({
      name: "general",
      type: "channel",
      member_ids: []
    })
    expect(
      accept(CreateRoomRequest, { name: "g", type: "group", member_ids: [U1, U2, U1.toUpperCase(), U2] }).member_ids
    ).toEqual([U1, U2])
  })
  it("rejects a blank or too long name", () => {
    expect(reject(CreateRoomRequest, { name: "   ", type: "group" })).toBe("name: must be 1–255 characters after trimming")
    expect(reject(CreateRoomRequest, { name: "x".repeat(256), type: "group" })).toBe(
      "name: must be 1–255 characters after trimming"
    )
  })
  it("rejects an unknown type instead of defaulting it", () => {
    expect(reject(CreateRoomRequest, { name: "g", type: "public" })).toBe("type: must be one of direct, group, channel")
    expect(reject(CreateRoomRequest, { name: "g" })).toBe("type is required")
  })
  it("names the bad member id by index", () => {
    expect(reject(CreateRoomRequest, { name: "g", type: "group", member_ids: [U1, "nope"] })).toBe(
      "member_ids[1]: must be a UUID"
    )
    expect(reject(CreateRoomRequest, { name: "g", type: "group", member_ids: U1 })).toBe(
      "member_ids: must be an array"
    )
  })
})

describe("GetMessagesQuery", () => {
  it("defaults limit to 50", () => {
    expect(accept(GetMessagesQuery, {})).toEqual({ limit: 50 })
    expect(accept(GetMessagesQuery, { limit: "" })).toEqual({ limit: 50 })
  })
  it("clamps a large limit to 100", () => {
    expect(accept(GetMessagesQuery, { limit: "500" }).limit).toBe(100)
    expect(accept(GetMessagesQuery, { limit: "100" }).limit).toBe(100)
    expect(accept(GetMessagesQuery, { limit: "1" }).limit).toBe(1)
  })
  it("rejects a non-integer or < 1 limit", () => {
    for (const limit of ["abc", "0", "-1", "1.5", "1e2", " 5"]) {
      expect(reject(GetMessagesQuery, { limit })).toBe("limit: must be a positive integer")
    }
  })
  it("decodes the cursors", () => {
    expect(accept(GetMessagesQuery, { before_id: U1 })).toEqual({ limit: 50, before_id: U1 })
    expect(accept(GetMessagesQuery, { after_seq: "0" })).toEqual({ limit: 50, after_seq: 0 })
    expect(accept(GetMessagesQuery, { before_id: "", after_seq: "" })).toEqual({ limit: 50 })
    expect(reject(GetMessagesQuery, { before_id: "x" })).toBe("before_id: must be a UUID")
    expect(reject(GetMessagesQuery, { after_seq: "-1" })).toBe("after_seq: must be a non-negative integer")
    expect(reject(GetMessagesQuery, { before_id: U1, after_seq: "3" })).toBe(
      "after_seq: cannot be combined with before_id"
    )
  })
})

describe("NotificationsQuery and ChannelsQuery", () => {
  it("apply defaults", () => {
    expect(accept(NotificationsQuery, {})).toEqual({ limit: 20, unread_only: false })
    expect(accept(NotificationsQuery, { limit: "20", cursor: "", unread_only: "false" })).toEqual({
      limit: 20,
      unread_only: false
    })
    expect(accept(ChannelsQuery, { q: "  " })).toEqual({ limit: 20 })
  })
  it("decode and clamp", () => {
    expect(accept(NotificationsQuery, { limit: "1000", cursor: "abc_-1", unread_only: "true" })).toEqual({
      limit: 100,
      cursor: "abc_-1",
      unread_only: true
    })
    expect(accept(ChannelsQuery, { q: " gen ", limit: "5" })).toEqual({ q: "gen", limit: 5 })
  })
  it("reject bad values", () => {
    expect(reject(NotificationsQuery, { unread_only: "yes" })).toBe("unread_only: must be true or false")
    expect(reject(NotificationsQuery, { limit: "x" })).toBe("limit: must be a positive integer")
    expect(reject(NotificationsQuery, { cursor: "a b" })).toBe("cursor: must be a cursor returned by a previous page")
  })
})
