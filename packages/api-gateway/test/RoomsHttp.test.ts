/**
 * API.md §4 over real HTTP: `gatewayApp` on a real socket with the room service answering
 * `RoomsClient` in process (handlers, domain and repository on a fresh PostgreSQL database),
 * the real Redis for rate limits, and a recording realtime bus to see the leave hook's `kick`.
 *
 * The shared support/GatewayHarness.ts does not provide the service clients yet, so this file
 * builds its own gateway with the same settings and reuses the harness's `Gateway` tag and the
 * HTTP helpers of support/Http.ts.
 */
import { randomBytes, randomUUID } from "node:crypto"
import { describe, expect, layer } from "@effect/vitest"
import { ConfigProvider, Context, Effect, Layer, References } from "effect"
import { ChatRpcs } from "@pylon/contracts/ChatRpcs"
import { RoomId, UserId } from "@pylon/contracts/Ids"
import { RoomRpcs } from "@pylon/contracts/RoomRpcs"
import { inProcessClientLayer, rpcClientLayer } from "@pylon/platform/rpc/InternalRpc"
import * as MemoryRealtimeBus from "@pylon/platform/bus/MemoryRealtimeBus"
import { RealtimeBus } from "@pylon/platform/bus/RealtimeBus"
import { RedisClient } from "@pylon/platform/redis/Redis"
import * as RedisRateLimiter from "@pylon/platform/ratelimit/RedisRateLimiter"
import { ServerConfig } from "@pylon/platform/http/ServerConfig"
import { ChatHandlersLive } from "@pylon/chat-service/ChatHandlers"
import { ChatServiceLive } from "@pylon/chat-service/ChatServiceApp"
import { TestDatabase } from "@pylon/testkit/TestDatabase"
import { RoomHandlersLive } from "@pylon/room-service/RoomHandlers"
import { RoomServiceLive } from "@pylon/room-service/RoomServiceApp"
import { ChatClient, RoomsClient } from "../src/clients/ServiceClients.ts"
import { gatewayApp } from "../src/GatewayLive.ts"
import { decodeEnvelope } from "../src/ws/BusEnvelope.ts"
import { notificationsInProcess, presenceInProcess } from "./support/ServiceClientsInProcess.ts"
import { gatewayInfoLayer } from "./support/GatewayHarness.ts"
import type { HttpResult } from "./support/Http.ts"
import { expectError, expectOk, get, http, newUser, post, RFC3339_MS_UTC } from "./support/Http.ts"

interface RoomJson {
  readonly id: string
  readonly name: string
  readonly type: string
  readonly created_by: string
  readonly created_at: string
  readonly member_count: number
  readonly last_seq: number
  readonly last_message_at: string | null
}

interface MemberJson {
  readonly user_id: string
  readonly username: string
  readonly display_name: string | null
  readonly avatar_url: string | null
  readonly role: string
  readonly joined_at: string
}

/** What the leave hook was told, in order. */
class LeftEvents extends Context.Service<LeftEvents, Array<{ readonly userId: UserId; readonly roomId: RoomId }>>()(
  "pylon/gateway/test/LeftEvents"
) {}

const settings = (jwtSecret: string) =>
  ConfigProvider.fromUnknown({
    JWT_SECRET: jwtSecret,
    RATE_LIMIT_WINDOW_SECONDS: "60",
    RATE_LIMIT_REGISTER: "1000",
    RATE_LIMIT_LOGIN: "1000",
    RATE_LIMIT_REFRESH: "1000",
    RATE_LIMIT_CREATE_ROOM: "1000",
    RATE_LIMIT_JOIN: "1000",
    RATE_LIMIT_HISTORY: "1000",
    RATE_LIMIT_WS_MESSAGES: "1000",
    RATE_LIMIT_WS_TYPING: "1000",
    TRUSTED_PROXIES: ""
  })

/** The gateway with `rooms` answering `RoomsClient`; the chat service is in process as in `pylon dev`. */
const roomsGateway = <E, R>(rooms: Layer.Layer<RoomsClient, E, R>) => {
  const keyPrefix = `pylon:rl:test-rooms-${randomBytes(6).toString("hex")}:`
  const jwtSecret = randomBytes(32).toString("base64url")
  const left: Array<{ readonly userId: UserId; readonly roomId: RoomId }> = []
  // The real leave hook publishes a `kick` on the room channel; record those publishes.
  const recordingBus = Layer.sync(RealtimeBus, () => {
    const inner = MemoryRealtimeBus.make(MemoryRealtimeBus.makeBroker())
    return {
      ...inner,
      publish: (channel: string, payload: string) => {
        const envelope = decodeEnvelope(payload)
        if (envelope?.kind === "kick" && channel.startsWith("pylon:room:")) {
          left.push({ userId: UserId.make(envelope.userId), roomId: RoomId.make(channel.slice("pylon:room:".length)) })
        }
        return inner.publish(channel, payload)
      }
    }
  })
  const info = gatewayInfoLayer(jwtSecret, keyPrefix)
  const chat = inProcessClientLayer(ChatClient, ChatRpcs).pipe(
    Layer.provide(ChatHandlersLive),
    Layer.provide(ChatServiceLive)
  )
  return Layer.merge(info, Layer.succeed(LeftEvents, left)).pipe(
    Layer.provide(gatewayApp().pipe(Layer.provide(ConfigProvider.layer(settings(jwtSecret))))),
    Layer.provide(Layer.succeed(References.MinimumLogLevel, "Warn")),
    Layer.provide([
      rooms,
      chat,
      presenceInProcess,
      notificationsInProcess,
      RedisRateLimiter.layerWith({ keyPrefix, onUnavailable: "fail" }),
      ServerConfig.make({ port: 0, host: "127.0.0.1", env: "test", corsOrigins: [] })
    ]),
    Layer.provide(recordingBus),
    Layer.provideMerge(RedisClient.layer),
    Layer.provideMerge(TestDatabase)
  )
}

const roomsInProcess = inProcessClientLayer(RoomsClient, RoomRpcs).pipe(
  Layer.provide(RoomHandlersLive),
  Layer.provide(RoomServiceLive)
)

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

const ROOM_KEYS = ["created_at", "created_by", "id", "last_message_at", "last_seq", "member_count", "name", "type"]

const expectRoomShape = (room: RoomJson) => {
  expect(Object.keys(room).sort()).toEqual(ROOM_KEYS)
  expect(room.id).toMatch(UUID)
  expect(room.created_at).toMatch(RFC3339_MS_UTC)
  expect(typeof room.member_count).toBe("number")
  expect(typeof room.last_seq).toBe("number")
}

const expectRateLimitHeaders = (result: HttpResult) => {
  expect(result.headers.get("x-ratelimit-limit")).toMatch(/^\d+$/)
  expect(result.headers.get("x-ratelimit-remaining")).toMatch(/^\d+$/)
  expect(result.headers.get("x-ratelimit-reset")).toMatch(/^\d+$/)
}

/** A registered user: id, username and access token. */
const user = (tag = "r") =>
  Effect.map(newUser(tag), ({ session }) => ({ id: session.user.id, username: session.user.username, token: session.token }))

const createRoom = (token: string, body: unknown) => post("/api/v1/rooms", { bearer: token, json: body })

const createOk = (token: string, body: unknown) =>
  Effect.map(createRoom(token, body), (result) => expectOk<{ readonly room: RoomJson }>(result, 201).room)

const MALFORMED_ID = "not-a-uuid"

layer(roomsGateway(roomsInProcess), { excludeTestServices: true, timeout: "60 seconds" })("rooms over HTTP", (it) => {
  it.effect("every room route needs a bearer token: 401", () =>
    Effect.gen(function*() {
      const id = randomUUID()
      const calls: ReadonlyArray<readonly [string, string]> = [
        ["GET", "/api/v1/rooms"],
        ["POST", "/api/v1/rooms"],
        ["GET", `/api/v1/rooms/${id}`],
        ["GET", `/api/v1/rooms/${id}/members`],
        ["POST", `/api/v1/rooms/${id}/join`],
        ["POST", `/api/v1/rooms/${id}/leave`],
        ["GET", "/api/v1/channels"]
      ]
      for (const [method, path] of calls) {
        expectError(yield* http(method, path), 401, "unauthorized")
        expectError(yield* http(method, path, { bearer: "not.a.jwt" }), 401, "unauthorized")
      }
    }))

  it.effect("wrong methods are 405", () =>
    Effect.gen(function*() {
      const alice = yield* user()
      expectError(yield* http("DELETE", "/api/v1/rooms", { bearer: alice.token }), 405, "method_not_allowed")
      expectError(yield* get(`/api/v1/rooms/${randomUUID()}/join`, { bearer: alice.token }), 405, "method_not_allowed")
    }))

  describe("POST /api/v1/rooms", () => {
    it.effect("201 with the Room: creator owner, members added, rate-limit headers", () =>
      Effect.gen(function*() {
        const alice = yield* user("alice")
        const bob = yield* user("bob")
        const result = yield* createRoom(alice.token, {
          name: "  Team  ",
          type: "group",
          member_ids: [bob.id, bob.id, alice.id],
          ignored: true
        })
        const room = expectOk<{ readonly room: RoomJson }>(result, 201).room
        expectRoomShape(room)
        expect(room).toMatchObject({
          name: "Team",
          type: "group",
          created_by: alice.id,
          member_count: 2,
          last_seq: 0,
          last_message_at: null
        })
        expectRateLimitHeaders(result)

        const members = expectOk<{ readonly members: ReadonlyArray<MemberJson> }>(
          yield* get(`/api/v1/rooms/${room.id}/members`, { bearer: bob.token })
        ).members
        expect(members.map((m) => [m.user_id, m.username, m.role]).sort()).toEqual(
          [[alice.id, alice.username, "owner"], [bob.id, bob.username, "member"]].sort()
        )
        for (const member of members) {
          expect(Object.keys(member).sort()).toEqual(["avatar_url", "display_name", "joined_at", "role", "user_id", "username"])
          expect(member.joined_at).toMatch(RFC3339_MS_UTC)
        }
      }))

    it.effect("direct: 201 the first time, 200 with the same room after (from either side)", () =>
      Effect.gen(function*() {
        const alice = yield* user()
        const bob = yield* user()
        const first = yield* createOk(alice.token, { name: "dm", type: "direct", member_ids: [bob.id] })
        expect(first.member_count).toBe(2)
        const again = yield* createRoom(alice.token, { name: "dm again", type: "direct", member_ids: [bob.id] })
        expect(expectOk<{ readonly room: RoomJson }>(again, 200).room).toMatchObject({ id: first.id, name: "dm" })
        const reverse = yield* createRoom(bob.token, { name: "dm", type: "direct", member_ids: [alice.id] })
        expect(expectOk<{ readonly room: RoomJson }>(reverse, 200).room.id).toBe(first.id)
      }))

    it.effect("invalid bodies are 400 naming the field, and create nothing", () =>
      Effect.gen(function*() {
        const alice = yield* user()
        const bob = yield* user()
        const ghost = randomUUID()
        const before = expectOk<{ readonly rooms: ReadonlyArray<RoomJson> }>(
          yield* get("/api/v1/rooms", { bearer: alice.token })
        ).rooms.length

        const nope = expectError(yield* createRoom(alice.token, { name: "x", type: "nope" }), 400, "bad_request")
        expect(nope.message).toMatch(/^type/)
        const blank = expectError(yield* createRoom(alice.token, { name: "   ", type: "group" }), 400, "bad_request")
        expect(blank.message).toMatch(/^name/)
        expectError(yield* createRoom(alice.token, { name: "x".repeat(256), type: "group" }), 400, "bad_request")
        expectError(yield* createRoom(alice.token, { type: "group" }), 400, "bad_request")
        const unknown = expectError(
          yield* createRoom(alice.token, { name: "x", type: "group", member_ids: [bob.id, ghost] }),
          400,
          "bad_request"
        )
        expect(unknown.message).toContain(ghost)
        const malformed = expectError(
          yield* createRoom(alice.token, { name: "x", type: "group", member_ids: ["nope"] }),
          400,
          "bad_request"
        )
        expect(malformed.message).toBe("member_ids[0]: must be a UUID")
        expectError(yield* createRoom(alice.token, { name: "dm", type: "direct", member_ids: [] }), 400, "bad_request")
        expectError(yield* createRoom(alice.token, { name: "dm", type: "direct", member_ids: [ghost] }), 400, "bad_request")
        expectError(yield* post("/api/v1/rooms", { bearer: alice.token, raw: "{" }), 400, "bad_request")

        const after = expectOk<{ readonly rooms: ReadonlyArray<RoomJson> }>(
          yield* get("/api/v1/rooms", { bearer: alice.token })
        ).rooms.length
        expect(after).toBe(before)
        expect(expectOk<{ readonly rooms: ReadonlyArray<RoomJson> }>(yield* get("/api/v1/rooms", { bearer: bob.token })).rooms)
          .toEqual([])
      }))
  })

  describe("GET /api/v1/rooms", () => {
    it.effect("the caller's rooms, newest first, every room in the Room shape", () =>
      Effect.gen(function*() {
        const alice = yield* user()
        const bob = yield* user()
        const first = yield* createOk(alice.token, { name: "first", type: "group" })
        const second = yield* createOk(alice.token, { name: "second", type: "channel" })
        yield* createOk(bob.token, { name: "bob's", type: "group" })
        const rooms = expectOk<{ readonly rooms: ReadonlyArray<RoomJson> }>(
          yield* get("/api/v1/rooms", { bearer: alice.token })
        ).rooms
        expect(rooms.map((r) => r.id)).toEqual([second.id, first.id])
        rooms.forEach(expectRoomShape)
      }))
  })

  describe("GET /api/v1/rooms/:id", () => {
    it.effect("members 200; non-members of a group 403; channels visible to anyone; 404; malformed 400", () =>
      Effect.gen(function*() {
        const alice = yield* user()
        const eve = yield* user()
        const group = yield* createOk(alice.token, { name: "g", type: "group" })
        const channel = yield* createOk(alice.token, { name: "c", type: "channel" })
        expect(expectOk<{ readonly room: RoomJson }>(yield* get(`/api/v1/rooms/${group.id}`, { bearer: alice.token })).room)
          .toEqual(group)
        expectError(yield* get(`/api/v1/rooms/${group.id}`, { bearer: eve.token }), 403, "forbidden")
        expect(expectOk<{ readonly room: RoomJson }>(yield* get(`/api/v1/rooms/${channel.id}`, { bearer: eve.token })).room.id)
          .toBe(channel.id)
        expectError(yield* get(`/api/v1/rooms/${randomUUID()}`, { bearer: alice.token }), 404, "not_found")
        const malformed = expectError(yield* get(`/api/v1/rooms/${MALFORMED_ID}`, { bearer: alice.token }), 400, "bad_request")
        expect(malformed.message).toMatch(/^id/)
        // Upper-case ids name the same room.
        expect(
          expectOk<{ readonly room: RoomJson }>(yield* get(`/api/v1/rooms/${group.id.toUpperCase()}`, { bearer: alice.token }))
            .room.id
        ).toBe(group.id)
      }))

    it.effect("members: members only (403), 404 unknown, 400 malformed", () =>
      Effect.gen(function*() {
        const alice = yield* user()
        const eve = yield* user()
        const channel = yield* createOk(alice.token, { name: "c", type: "channel" })
        expectError(yield* get(`/api/v1/rooms/${channel.id}/members`, { bearer: eve.token }), 403, "forbidden")
        expectError(yield* get(`/api/v1/rooms/${randomUUID()}/members`, { bearer: eve.token }), 404, "not_found")
        expectError(yield* get(`/api/v1/rooms/${MALFORMED_ID}/members`, { bearer: eve.token }), 400, "bad_request")
      }))
  })

  describe("POST /api/v1/rooms/:id/join", () => {
    it.effect("channels: 200 {joined:true}, idempotent; groups 403; unknown 404; malformed 400", () =>
      Effect.gen(function*() {
        const alice = yield* user()
        const bob = yield* user()
        const channel = yield* createOk(alice.token, { name: "c", type: "channel" })
        const group = yield* createOk(alice.token, { name: "g", type: "group" })
        const direct = yield* createOk(alice.token, { name: "d", type: "direct", member_ids: [bob.id] })

        const joined = yield* post(`/api/v1/rooms/${channel.id}/join`, { bearer: bob.token })
        expect(expectOk(joined)).toEqual({ joined: true })
        expectRateLimitHeaders(joined)
        expect(expectOk(yield* post(`/api/v1/rooms/${channel.id}/join`, { bearer: bob.token }))).toEqual({ joined: true })
        expect(expectOk<{ readonly room: RoomJson }>(yield* get(`/api/v1/rooms/${channel.id}`, { bearer: bob.token })).room
          .member_count).toBe(2)

        expectError(yield* post(`/api/v1/rooms/${group.id}/join`, { bearer: bob.token }), 403, "forbidden")
        expectError(yield* post(`/api/v1/rooms/${direct.id}/join`, { bearer: bob.token }), 403, "forbidden")
        expectError(yield* post(`/api/v1/rooms/${randomUUID()}/join`, { bearer: bob.token }), 404, "not_found")
        expectError(yield* post(`/api/v1/rooms/${MALFORMED_ID}/join`, { bearer: bob.token }), 400, "bad_request")
      }))
  })

  describe("POST /api/v1/rooms/:id/leave", () => {
    it.effect("non-member 404; owner with others 403; member 200 {left:true} and the socket hook runs", () =>
      Effect.gen(function*() {
        const left = yield* LeftEvents
        const alice = yield* user()
        const bob = yield* user()
        const eve = yield* user()
        const group = yield* createOk(alice.token, { name: "g", type: "group", member_ids: [bob.id] })

        expectError(yield* post(`/api/v1/rooms/${group.id}/leave`, { bearer: eve.token }), 404, "not_found")
        expectError(yield* post(`/api/v1/rooms/${randomUUID()}/leave`, { bearer: eve.token }), 404, "not_found")
        expectError(yield* post(`/api/v1/rooms/${MALFORMED_ID}/leave`, { bearer: eve.token }), 400, "bad_request")
        expectError(yield* post(`/api/v1/rooms/${group.id}/leave`, { bearer: alice.token }), 403, "forbidden")
        expect(left.filter((e) => e.roomId === group.id)).toEqual([])

        expect(expectOk(yield* post(`/api/v1/rooms/${group.id}/leave`, { bearer: bob.token }))).toEqual({ left: true })
        expect(left.filter((e) => e.roomId === group.id)).toEqual([{ userId: bob.id, roomId: group.id }])
        expectError(yield* get(`/api/v1/rooms/${group.id}`, { bearer: bob.token }), 403, "forbidden")

        // Alone now, the owner may leave.
        expect(expectOk(yield* post(`/api/v1/rooms/${group.id}/leave`, { bearer: alice.token }))).toEqual({ left: true })
        expect(expectOk<{ readonly rooms: ReadonlyArray<RoomJson> }>(yield* get("/api/v1/rooms", { bearer: alice.token }))
          .rooms.map((r) => r.id)).not.toContain(group.id)
      }))
  })

  describe("GET /api/v1/channels", () => {
    it.effect("public channels matching q, limited; bad limit 400", () =>
      Effect.gen(function*() {
        const alice = yield* user()
        const eve = yield* user()
        const tag = randomBytes(4).toString("hex")
        yield* createOk(alice.token, { name: `Lobby ${tag}`, type: "channel" })
        yield* createOk(alice.token, { name: `lobby-${tag} two`, type: "channel" })
        yield* createOk(alice.token, { name: `lobby ${tag} group`, type: "group" })
        const found = expectOk<{ readonly rooms: ReadonlyArray<RoomJson> }>(
          yield* get(`/api/v1/channels?q=${encodeURIComponent(`LOBBY`)}&limit=100`, { bearer: eve.token })
        ).rooms.filter((r) => r.name.includes(tag))
        expect(found.map((r) => r.name).sort()).toEqual([`Lobby ${tag}`, `lobby-${tag} two`])
        found.forEach(expectRoomShape)
        expect(
          expectOk<{ readonly rooms: ReadonlyArray<RoomJson> }>(yield* get(`/api/v1/channels?q=${tag}&limit=1`, { bearer: eve.token }))
            .rooms
        ).toHaveLength(1)
        expect(
          expectOk<{ readonly rooms: ReadonlyArray<RoomJson> }>(yield* get(`/api/v1/channels?q=&limit=`, { bearer: eve.token })).rooms
            .length
        ).toBeGreaterThanOrEqual(2)
        expectError(yield* get("/api/v1/channels?limit=0", { bearer: eve.token }), 400, "bad_request")
        expectError(yield* get("/api/v1/channels?limit=abc", { bearer: eve.token }), 400, "bad_request")
        expectOk(yield* get("/api/v1/channels?limit=1000", { bearer: eve.token }))
      }))
  })
})

// Nothing listens on port 9 (discard) on the test machines: every RPC fails at the transport.
const roomsUnreachable = rpcClientLayer(RoomsClient, RoomRpcs, "http://127.0.0.1:9")

layer(roomsGateway(roomsUnreachable), { excludeTestServices: true, timeout: "60 seconds" })(
  "rooms over HTTP, room service unreachable",
  (it) => {
    it.effect("503 service_unavailable, no internals in the message", () =>
      Effect.gen(function*() {
        const alice = yield* user()
        const listed = expectError(yield* get("/api/v1/rooms", { bearer: alice.token }), 503, "service_unavailable")
        expect(listed.message).toBe("service temporarily unavailable")
        expectError(yield* createRoom(alice.token, { name: "x", type: "group" }), 503, "service_unavailable")
        // Input is still validated first.
        expectError(yield* get(`/api/v1/rooms/${MALFORMED_ID}`, { bearer: alice.token }), 400, "bad_request")
      }))
  }
)
