/**
 * gRPC over HTTP/2 cleartext on the gateway's own port (CONNECT-COMPAT.md rule 5), through the
 * real gRPC client of `@connectrpc/connect-node` (`createGrpcTransport`, prior-knowledge h2c)
 * against `gatewayApp` on the real PostgreSQL and Redis (support/GatewayHarness.ts): unary calls
 * and their error statuses (which travel in HTTP/2 trailers), StreamMessages, and the bound on a
 * stream whose reader stops reading (a small `WS_OUTBOUND_QUEUE` and a small HTTP/2 window make it
 * quick): it ends with `resource_exhausted` instead of buffering without end. And the periodic
 * membership recheck (`CONNECT_MEMBERSHIP_RECHECK_MS`) ends a stream whose membership went away
 * without a bus event.
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect"
import { createGrpcTransport } from "@connectrpc/connect-node"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import { randomBytes, randomUUID } from "node:crypto"
import type { IncomingHttpHeaders } from "node:http"
import { connect as http2Connect } from "node:http2"
import { AuthService } from "@pylon/proto-gen/auth/v1/auth"
import { ChatService } from "@pylon/proto-gen/chat/v1/chat"
import type { Message } from "@pylon/proto-gen/chat/v1/chat"
import { RoomService, RoomType } from "@pylon/proto-gen/room/v1/room"
import { createRoom, registerUser, request } from "@pylon/testkit/Rest"
import type { TestUser } from "@pylon/testkit/Rest"
import { cancelling, readStream } from "@pylon/testkit/StreamReader"
import { Gateway, gatewayLayer } from "./support/GatewayHarness.ts"

/** Live items one stream may have waiting (`WS_OUTBOUND_QUEUE`). */
const QUEUE = 4
/** `CONNECT_MEMBERSHIP_RECHECK_MS`: short, so a membership lost without a bus event is noticed quickly. */
const RECHECK_MS = 300

const call = <A>(f: () => Promise<A>) => Effect.promise(f)

const codeOf = (f: () => Promise<unknown>) =>
  Effect.promise(() => f().then(() => "succeeded" as const, (error: unknown) => ConnectError.from(error).code))

const bearer = (user: TestUser, signal?: AbortSignal) => ({
  headers: { authorization: `Bearer ${user.token}` },
  ...(signal === undefined ? {} : { signal })
})

const grpc = (baseUrl: string, initialWindowSize?: number) =>
  createGrpcTransport({
    baseUrl,
    ...(initialWindowSize === undefined ? {} : { nodeOptions: { settings: { initialWindowSize } } })
  })

const seqsOf = (messages: ReadonlyArray<Message>) => messages.map((m) => Number(m.seq))

layer(gatewayLayer({ env: { WS_OUTBOUND_QUEUE: String(QUEUE), CONNECT_MEMBERSHIP_RECHECK_MS: String(RECHECK_MS) } }), { excludeTestServices: true, timeout: "120 seconds" })(
  "gRPC over HTTP/2 cleartext on the gateway port",
  (it) => {
    it.effect("unary calls succeed and fail with gRPC statuses; HTTP/1.1 keeps working on the same port", () =>
      Effect.gen(function*() {
        const { baseUrl } = yield* Gateway
        const transport = grpc(baseUrl)
        const auth = createClient(AuthService, transport)
        const rooms = createClient(RoomService, transport)
        const name = `g${randomBytes(6).toString("hex")}`
        const registered = yield* call(() =>
          auth.register({ username: name, email: `${name}@example.com`, password: "correct horse battery" })
        )
        expect(registered.user?.username).toBe(name)
        const owner: TestUser = { id: registered.user?.id ?? "", username: name, token: registered.token, refreshToken: registered.refreshToken }
        const created = yield* call(() => rooms.createRoom({ name: "over h2c", type: RoomType.GROUP }, bearer(owner)))
        const got = yield* call(() => rooms.getRoom({ roomId: created.room?.id ?? "" }, bearer(owner)))
        expect(got.room).toMatchObject({ id: created.room?.id, name: "over h2c", type: RoomType.GROUP, createdBy: owner.id })

        // Statuses come in the trailers.
        expect(yield* codeOf(() => rooms.getRoom({ roomId: randomUUID() }, bearer(owner)))).toBe(Code.NotFound)
        expect(yield* codeOf(() => rooms.getRoom({ roomId: "not-a-uuid" }, bearer(owner)))).toBe(Code.InvalidArgument)
        expect(yield* codeOf(() => rooms.listRooms({}))).toBe(Code.Unauthenticated)
        expect(yield* codeOf(() => rooms.listRooms({ userId: randomUUID() }, bearer(owner)))).toBe(Code.PermissionDenied)
        expect(yield* codeOf(() => auth.login({ email: `${name}@example.com`, password: "wrong password!" }))).toBe(
          Code.Unauthenticated
        )

        // The same port still speaks HTTP/1.1 (REST).
        const rest = yield* request(baseUrl, "GET", "/api/v1/rooms", { token: owner.token })
        expect(rest.status).toBe(200)
      }), { timeout: 60_000 })

    it.effect("raw h2c: grpc-status is an HTTP/2 trailer, and an unknown path is answered without a gRPC status", () =>
      Effect.gen(function*() {
        const { baseUrl } = yield* Gateway
        const answer = (path: string) =>
          Effect.promise(() =>
            new Promise<{ readonly status: number; readonly trailers: IncomingHttpHeaders }>((resolve, reject) => {
              const session = http2Connect(baseUrl)
              session.on("error", reject)
              const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers" })
              let status = 0
              let trailers: IncomingHttpHeaders = {}
              stream.on("response", (headers) => {
                status = Number(headers[":status"])
              })
              stream.on("trailers", (headers: IncomingHttpHeaders) => {
                trailers = headers
              })
              stream.on("data", () => {})
              stream.on("end", () => {
                session.close()
                resolve({ status, trailers })
              })
              stream.on("error", reject)
              // An empty GetRoomRequest (room_id "") in one gRPC frame: no token, so unauthenticated.
              stream.end(Buffer.from([0, 0, 0, 0, 0]))
            })
          )
        const unauthenticated = yield* answer("/pylon.room.v1.RoomService/GetRoom")
        expect(unauthenticated.status).toBe(200)
        expect(unauthenticated.trailers["grpc-status"]).toBe(String(16))
        const missing = yield* answer("/pylon.room.v1.RoomService/NoSuchMethod")
        expect(missing.status).toBe(404)
      }), { timeout: 60_000 })

    it.effect("StreamMessages over gRPC: replay after after_seq, then live, then a leave ends it with permission_denied", () =>
      Effect.gen(function*() {
        const { baseUrl } = yield* Gateway
        const [alice, bob] = yield* Effect.all([registerUser(baseUrl, "alice"), registerUser(baseUrl, "bob")])
        const roomId = yield* createRoom(baseUrl, alice, [bob])
        const transport = grpc(baseUrl)
        const chat = createClient(ChatService, transport)
        const rooms = createClient(RoomService, transport)
        const send = (content: string) => call(() => chat.sendMessage({ roomId, content }, bearer(alice)))
        for (const n of [1, 2]) yield* send(`before ${n}`)
        yield* cancelling((controller) =>
          Effect.gen(function*() {
            const stream = readStream(chat.streamMessages({ roomId, afterSeq: 1n }, bearer(bob, controller.signal)))
            expect(seqsOf(yield* stream.take(1))).toEqual([2])
            for (const n of [3, 4]) yield* send(`live ${n}`)
            const live = yield* stream.take(2)
            expect(seqsOf(live)).toEqual([3, 4])
            expect(live.map((m) => m.content)).toEqual(["live 3", "live 4"])
            yield* call(() => rooms.leaveRoom({ roomId }, bearer(bob)))
            const end = yield* stream.end()
            expect(end._tag === "Failed" ? ConnectError.from(end.error).code : "completed").toBe(Code.PermissionDenied)
          })
        )
      }), { timeout: 60_000 })

    it.effect("a membership removed without a bus event ends the stream at the next recheck", () =>
      Effect.gen(function*() {
        const { baseUrl } = yield* Gateway
        const [alice, bob] = yield* Effect.all([registerUser(baseUrl, "alice"), registerUser(baseUrl, "bob")])
        const roomId = yield* createRoom(baseUrl, alice, [bob])
        const chat = createClient(ChatService, grpc(baseUrl))
        yield* cancelling((controller) =>
          Effect.gen(function*() {
            const stream = readStream(chat.streamMessages({ roomId, afterSeq: 0n }, bearer(bob, controller.signal)))
            yield* call(() => chat.sendMessage({ roomId, content: "hi" }, bearer(alice)))
            yield* stream.take(1)
            // Straight in the database: no leave, so no `kick` on the bus.
            const sql = yield* SqlClient
            yield* sql`DELETE FROM room_members WHERE room_id = ${roomId} AND user_id = ${bob.id}`
            const end = yield* stream.end(20_000)
            expect(end._tag === "Failed" ? ConnectError.from(end.error).code : "completed").toBe(Code.PermissionDenied)
          })
        )
      }), { timeout: 60_000 })

    it.effect("a reader that stops reading is cut off with resource_exhausted; what it gets is bounded", () =>
      Effect.gen(function*() {
        const { baseUrl } = yield* Gateway
        const [alice, bob] = yield* Effect.all([registerUser(baseUrl, "alice"), registerUser(baseUrl, "bob")])
        const roomId = yield* createRoom(baseUrl, alice, [bob])
        const chat = createClient(ChatService, grpc(baseUrl))
        // bob's connection grants the server 1 KiB per stream until bob reads.
        const slowChat = createClient(ChatService, grpc(baseUrl, 1024))
        const sent = 40
        const big = "x".repeat(8_000)
        yield* cancelling((controller) =>
          Effect.gen(function*() {
            const iterator = slowChat.streamMessages({ roomId, afterSeq: 0n }, bearer(bob, controller.signal))[Symbol.asyncIterator]()
            // Once the first message arrives the stream is live; then bob stops reading.
            yield* call(() => chat.sendMessage({ roomId, content: "first" }, bearer(alice)))
            const first = yield* call(() => iterator.next())
            expect(first.done === true ? undefined : first.value.content).toBe("first")
            for (let n = 1; n <= sent; n++) {
              yield* call(() => chat.sendMessage({ roomId, content: `${n} ${big}` }, bearer(alice)))
            }
            // bob reads again: what was already on its way, then the end.
            const received: Array<Message> = []
            const code = yield* Effect.promise(async () => {
              try {
                while (received.length < sent) {
                  const next = await iterator.next()
                  if (next.done === true) return "completed"
                  received.push(next.value)
                }
                return "not cut off"
              } catch (error) {
                return ConnectError.from(error).code
              }
            })
            expect(code).toBe(Code.ResourceExhausted)
            expect(received.length).toBeLessThan(sent)
            // What did arrive is in order and without gaps (the rest is resumed with after_seq).
            expect(seqsOf(received)).toEqual(received.map((_, i) => i + 2))
          })
        )
        // The room itself is fine: a resuming reader gets everything after what it saw.
        yield* cancelling((controller) =>
          Effect.gen(function*() {
            const resumed = readStream(chat.streamMessages({ roomId, afterSeq: 1n }, bearer(bob, controller.signal)))
            expect(seqsOf(yield* resumed.take(sent))).toEqual(Array.from({ length: sent }, (_, i) => i + 2))
          })
        )
      }), { timeout: 90_000 })
  }
)
