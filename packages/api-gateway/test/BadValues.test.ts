/**
 * Values PostgreSQL cannot take (NUL characters in text, out-of-range cursors, oversized id
 * lists) are rejected at the edge with 400 / `bad_request` over REST and a `BAD_REQUEST` error
 * frame over WebSocket, never a 500 / `INTERNAL`. Runs on the harness gateway
 * (support/GatewayHarness.ts: real socket, fresh PostgreSQL database, services in process).
 */
import { randomUUID } from "node:crypto"
import { describe, expect, layer } from "@effect/vitest"
import { Duration, Effect, Schema } from "effect"
import WebSocket from "ws"
import type { ServerFrame } from "@pylon/contracts/WsFrames"
import { ServerFrame as ServerFrameSchema } from "@pylon/contracts/WsFrames"
import { MAX_MEMBER_IDS } from "@pylon/contracts/Rooms"
import { Gateway, gatewayLayer } from "./support/GatewayHarness.ts"
import { expectError, expectOk, get, newCredentials, newUser, post } from "./support/Http.ts"

const NUL = "\u0000"

const createRoom = (token: string, body: unknown) => post("/api/v1/rooms", { bearer: token, json: body })

/** The room id of a group room the token's owner creates. */
const newRoom = (token: string) =>
  Effect.map(
    createRoom(token, { name: "bad values", type: "group" }),
    (result) => expectOk<{ readonly room: { readonly id: string } }>(result, 201).room.id
  )

/** A notification page cursor in the service's format (base64url of `<created_at µs>|<id>`). */
const cursorOf = (createdAt: string) => Buffer.from(`${createdAt}|${randomUUID()}`, "utf8").toString("base64url")

// --- a minimal WebSocket client: send frames, wait for the first frame matching a predicate ------

const decodeServerFrame = Schema.decodeUnknownSync(Schema.fromJsonString(ServerFrameSchema))

type ErrorFrameOf = Extract<ServerFrame, { readonly type: "error" }>

const connect = (token: string) =>
  Effect.gen(function*() {
    const { baseUrl } = yield* Gateway
    const frames: Array<ServerFrame> = []
    const socket = yield* Effect.acquireRelease(
      Effect.promise(() =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(`${baseUrl.replace(/^http/, "ws")}/ws`, { headers: { authorization: `Bearer ${token}` } })
          ws.on("message", (data: WebSocket.RawData) => {
            const text = Buffer.isBuffer(data) ? data.toString("utf8") : Buffer.from(data as ArrayBuffer).toString("utf8")
            frames.push(decodeServerFrame(text))
          })
          ws.once("open", () => resolve(ws))
          ws.once("error", reject)
        })
      ),
      (ws) => Effect.sync(() => ws.terminate())
    )
    /** Sends `frame` and waits (up to 20 s) for the next reply to it: `error`, `ack`, `user_joined` or `pong`. */
    const reply = (frame: unknown): Effect.Effect<ServerFrame> =>
      Effect.gen(function*() {
        const from = frames.length
        socket.send(typeof frame === "string" ? frame : JSON.stringify(frame))
        const deadline = Date.now() + Duration.toMillis(Duration.seconds(20))
        while (true) {
          const found = frames.slice(from).find((f) => f.type === "error" || f.type === "ack" || f.type === "user_joined" || f.type === "pong")
          if (found !== undefined) return found
          if (Date.now() > deadline) return yield* Effect.die(new Error(`no reply; got ${JSON.stringify(frames)}`))
          yield* Effect.sleep("20 millis")
        }
      })
    return { reply }
  })

const expectBadRequestFrame = (frame: ServerFrame): ErrorFrameOf => {
  expect(frame).toMatchObject({ type: "error", code: "BAD_REQUEST" })
  return frame as ErrorFrameOf
}

layer(gatewayLayer(), { excludeTestServices: true, timeout: "120 seconds" })("bad values reaching PostgreSQL", (it) => {
  describe("auth", () => {
    it.effect("register with a NUL in the username or email is 400", () =>
      Effect.gen(function*() {
        const base = newCredentials("nul")
        for (const body of [{ ...base, username: `a${NUL}bc` }, { ...base, email: `a${NUL}b@example.com` }]) {
          const error = expectError(yield* post("/api/v1/auth/register", { json: body }), 400, "bad_request")
          expect(error.message).not.toContain(NUL)
        }
      }))

    it.effect("login and refresh with a NUL are 400, not 500", () =>
      Effect.gen(function*() {
        const login = yield* post("/api/v1/auth/login", { json: { email: `a${NUL}@example.com`, password: "whatever-1" } })
        expect(expectError(login, 400, "bad_request").message).toBe("email: must not contain NUL characters")
        const refresh = yield* post("/api/v1/auth/refresh", { json: { refresh_token: `t${NUL}` } })
        expect(expectError(refresh, 400, "bad_request").message).toBe("refresh_token: must not contain NUL characters")
      }))
  })

  describe("rooms", () => {
    it.effect("a room name with a NUL is 400", () =>
      Effect.gen(function*() {
        const { session } = yield* newUser("rn")
        const result = yield* createRoom(session.token, { name: `gen${NUL}eral`, type: "group" })
        expect(expectError(result, 400, "bad_request").message).toBe("name: must not contain NUL characters")
      }))

    it.effect(`member_ids longer than MAX_MEMBER_IDS is 400 naming the limit`, () =>
      Effect.gen(function*() {
        const { session } = yield* newUser("mi")
        const tooMany = Array.from({ length: 10_000 }, () => randomUUID())
        const result = yield* createRoom(session.token, { name: "crowd", type: "group", member_ids: tooMany })
        expect(expectError(result, 400, "bad_request").message).toBe(
          `member_ids: must have at most ${MAX_MEMBER_IDS} items`
        )
        // The limit counts distinct ids: many copies of one member are fine.
        const friend = yield* newUser("mf")
        const copies = Array.from({ length: MAX_MEMBER_IDS + 1 }, () => friend.session.user.id)
        const ok = yield* createRoom(session.token, { name: "pair", type: "group", member_ids: copies })
        expect(expectOk<{ readonly room: { readonly member_count: number } }>(ok, 201).room.member_count).toBe(2)
      }))

    it.effect("a channel search with a NUL is 400", () =>
      Effect.gen(function*() {
        const { session } = yield* newUser("cq")
        const result = yield* get(`/api/v1/channels?q=ab%00cd`, { bearer: session.token })
        expect(expectError(result, 400, "bad_request").message).toBe("q: must not contain NUL characters")
      }))
  })

  describe("history cursors", () => {
    it.effect("out-of-range or malformed after_seq, before_id and limit are 400", () =>
      Effect.gen(function*() {
        const { session } = yield* newUser("hc")
        const room = yield* newRoom(session.token)
        for (
          const query of [
            "after_seq=1e300",
            "after_seq=-1",
            "after_seq=9223372036854775808",
            "after_seq=%00",
            "before_id=not-a-uuid",
            `before_id=${randomUUID()}%00`,
            "limit=1e300",
            "limit=%00"
          ]
        ) {
          expectError(yield* get(`/api/v1/rooms/${room}/messages?${query}`, { bearer: session.token }), 400, "bad_request")
        }
      }))
  })

  describe("notifications", () => {
    it.effect("a cursor for year 0 (or any date PostgreSQL cannot hold) is 400", () =>
      Effect.gen(function*() {
        const { session } = yield* newUser("nc")
        for (const createdAt of ["0000-01-01T00:00:00.000000Z", "2026-02-30T00:00:00.000000Z"]) {
          const result = yield* get(`/api/v1/notifications?cursor=${cursorOf(createdAt)}`, { bearer: session.token })
          expect(expectError(result, 400, "bad_request").message).toBe("cursor: must be a cursor returned by a previous page")
        }
        const page = yield* get(`/api/v1/notifications?cursor=${cursorOf("0001-01-01T00:00:00.000000Z")}`, {
          bearer: session.token
        })
        expectOk(page)
      }))
  })

  describe("WebSocket", () => {
    it.effect("a message with a NUL in its content or client_msg_id gets a BAD_REQUEST frame", () =>
      Effect.gen(function*() {
        const { session } = yield* newUser("ws")
        const room = yield* newRoom(session.token)
        const client = yield* connect(session.token)
        expect(yield* client.reply({ type: "join", room_id: room })).toMatchObject({ type: "user_joined", room_id: room })
        const content = expectBadRequestFrame(
          yield* client.reply({ type: "message", room_id: room, content: `hi${NUL}there`, client_msg_id: "c-1" })
        )
        expect(content).toMatchObject({ message: "content: must not contain NUL characters", ref: "c-1" })
        const ref = expectBadRequestFrame(
          yield* client.reply({ type: "message", room_id: room, content: "hi", client_msg_id: `c${NUL}2` })
        )
        expect(ref.message).toBe("client_msg_id: must not contain NUL characters")
        // The socket is still usable and a clean message is stored.
        expect(yield* client.reply({ type: "message", room_id: room, content: "clean", client_msg_id: "c-3" })).toMatchObject({
          type: "ack",
          client_msg_id: "c-3"
        })
      }).pipe(Effect.scoped))

    it.effect("join with an out-of-range since_seq gets a BAD_REQUEST frame", () =>
      Effect.gen(function*() {
        const { session } = yield* newUser("wj")
        const room = yield* newRoom(session.token)
        const client = yield* connect(session.token)
        for (const since of ["1e300", "-1", "9223372036854775808", "1.5"]) {
          expectBadRequestFrame(yield* client.reply(`{"type":"join","room_id":"${room}","since_seq":${since}}`))
        }
      }).pipe(Effect.scoped))
  })
})
