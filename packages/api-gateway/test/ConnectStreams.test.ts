/**
 * The Connect server streams and PresenceService (CONNECT-COMPAT.md rule 6) over real HTTP
 * against `gatewayApp` on the real PostgreSQL and Redis (support/GatewayHarness.ts), through
 * `@connectrpc/connect-node` clients in Connect JSON, Connect binary, gRPC-Web and gRPC (HTTP/2 cleartext):
 * StreamMessages replays `seq > after_seq` then goes live with every seq once and in order (no
 * `after_seq`: live only); a
 * leave ends it with `permission_denied`, a logout (session revocation) with `unauthenticated`;
 * it refuses strangers, unknown rooms and missing tokens; StreamPresence relays typing and
 * presence; the unary presence calls keep their identity and sharing rules.
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect"
import type { Transport } from "@connectrpc/connect"
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { connectProtocols } from "@pylon/testkit/ConnectProtocols"
import { randomUUID } from "node:crypto"
import { ChatService } from "@pylon/proto-gen/chat/v1/chat"
import type { Message } from "@pylon/proto-gen/chat/v1/chat"
import { PresenceService, PresenceStatus } from "@pylon/proto-gen/presence/v1/presence"
import { RoomService } from "@pylon/proto-gen/room/v1/room"
import { createRoom, loginUser, registerUser, request } from "@pylon/testkit/Rest"
import type { TestUser } from "@pylon/testkit/Rest"
import { cancelling, readStream } from "@pylon/testkit/StreamReader"
import type { StreamEnd } from "@pylon/testkit/StreamReader"
import { Gateway, gatewayLayer } from "./support/GatewayHarness.ts"

const transports = connectProtocols

const bearer = (user: TestUser, signal?: AbortSignal) => ({
  headers: { authorization: `Bearer ${user.token}` },
  ...(signal === undefined ? {} : { signal })
})

const call = <A>(f: () => Promise<A>) => Effect.promise(f)

const codeOf = (f: () => Promise<unknown>) =>
  Effect.promise(() => f().then(() => "succeeded" as const, (error: unknown) => ConnectError.from(error).code))

const codeOfEnd = (end: StreamEnd) => (end._tag === "Completed" ? "completed" : ConnectError.from(end.error).code)

const seqsOf = (messages: ReadonlyArray<Message>) => messages.map((m) => Number(m.seq))

const setup = (transport: (baseUrl: string) => Transport) =>
  Effect.gen(function*() {
    const { baseUrl } = yield* Gateway
    const t = transport(baseUrl)
    const [alice, bob, carol] = yield* Effect.all([
      registerUser(baseUrl, "alice"),
      registerUser(baseUrl, "bob"),
      registerUser(baseUrl, "carol")
    ])
    const roomId = yield* createRoom(baseUrl, alice, [bob])
    return {
      baseUrl,
      alice,
      bob,
      carol,
      roomId,
      chat: createClient(ChatService, t),
      rooms: createClient(RoomService, t),
      presence: createClient(PresenceService, t)
    }
  })

layer(gatewayLayer(), { excludeTestServices: true, timeout: "120 seconds" })("Connect streams over real HTTP", (it) => {
  for (const [protocol, transport] of transports) {
    describe(protocol, () => {
      it.effect("StreamMessages replays after after_seq, then delivers live messages: each seq once, in order", () =>
        Effect.gen(function*() {
          const { alice, bob, chat, roomId } = yield* setup(transport)
          const send = (content: string) => call(() => chat.sendMessage({ roomId, content }, bearer(alice)))
          for (const n of [1, 2, 3]) yield* send(`before ${n}`)
          yield* cancelling((controller) =>
            Effect.gen(function*() {
              const stream = readStream(chat.streamMessages({ roomId, afterSeq: 1n }, bearer(bob, controller.signal)))
              const replayed = yield* stream.take(2)
              expect(seqsOf(replayed)).toEqual([2, 3])
              expect(replayed.map((m) => m.content)).toEqual(["before 2", "before 3"])
              expect(replayed[0]).toMatchObject({ roomId, senderId: alice.id, senderUsername: alice.username })
              for (const n of [4, 5, 6]) yield* send(`live ${n}`)
              const live = yield* stream.take(3)
              expect(seqsOf(live)).toEqual([4, 5, 6])
              expect(live.map((m) => m.content)).toEqual(["live 4", "live 5", "live 6"])
              // Nothing else (no duplicate of a replayed or live seq) arrived meanwhile.
              yield* Effect.sleep("200 millis")
              expect(seqsOf(stream.items)).toEqual([2, 3, 4, 5, 6])
            })
          )
          // Resuming from the last seq seen replays exactly what came after it.
          yield* send("after the reconnect")
          yield* cancelling((controller) =>
            Effect.gen(function*() {
              const resumed = readStream(chat.streamMessages({ roomId, afterSeq: 6n }, bearer(bob, controller.signal)))
              expect(seqsOf(yield* resumed.take(1))).toEqual([7])
            })
          )
        }), { timeout: 60_000 })

      it.effect("without after_seq (as the original clients call it) only live messages come: no history first", () =>
        Effect.gen(function*() {
          const { alice, bob, chat, roomId } = yield* setup(transport)
          yield* call(() => chat.sendMessage({ roomId, content: "history" }, bearer(alice)))
          yield* cancelling((controller) =>
            Effect.gen(function*() {
              const stream = readStream(chat.streamMessages({ roomId }, bearer(bob, controller.signal)))
              // Live once a message sent now reaches it: send until one does.
              let probe = 0
              yield* Effect.gen(function*() {
                probe += 1
                yield* call(() => chat.sendMessage({ roomId, content: `live ${probe}` }, bearer(alice)))
                yield* stream.take(1, 1_000)
              }).pipe(Effect.retry({ times: 20 }))
              expect(stream.items.map((m) => m.content)).not.toContain("history")
              expect(stream.items[0]?.content).toMatch(/^live /)
              const seqs = seqsOf(stream.items)
              expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
              expect(Math.min(...seqs)).toBeGreaterThan(1)
            })
          )
        }), { timeout: 60_000 })

      it.effect("a leave ends the member's stream with permission_denied; other members keep theirs", () =>
        Effect.gen(function*() {
          const { alice, bob, chat, roomId, rooms } = yield* setup(transport)
          const lastSeq = 0n
          yield* cancelling((controller) =>
            Effect.gen(function*() {
              const bobs = readStream(chat.streamMessages({ roomId, afterSeq: lastSeq }, bearer(bob, controller.signal)))
              const alices = readStream(chat.streamMessages({ roomId, afterSeq: lastSeq }, bearer(alice, controller.signal)))
              yield* call(() => chat.sendMessage({ roomId, content: "hi" }, bearer(alice)))
              yield* bobs.take(1)
              yield* alices.take(1)
              yield* call(() => rooms.leaveRoom({ roomId }, bearer(bob)))
              expect(codeOfEnd(yield* bobs.end())).toBe(Code.PermissionDenied)
              yield* call(() => chat.sendMessage({ roomId, content: "still here" }, bearer(alice)))
              expect((yield* alices.take(1)).map((m) => m.content)).toEqual(["still here"])
              expect(bobs.items.map((m) => m.content)).toEqual(["hi"])
            })
          )
        }), { timeout: 60_000 })

      it.effect("a logout (session revocation) ends that session's stream with unauthenticated", () =>
        Effect.gen(function*() {
          const { baseUrl, bob, chat, roomId } = yield* setup(transport)
          const session = yield* loginUser(baseUrl, bob)
          yield* cancelling((controller) =>
            Effect.gen(function*() {
              const revoked = readStream(chat.streamMessages({ roomId, afterSeq: 0n }, bearer(session, controller.signal)))
              const other = readStream(chat.streamMessages({ roomId, afterSeq: 0n }, bearer(bob, controller.signal)))
              yield* call(() => chat.sendMessage({ roomId, content: "one" }, bearer(bob)))
              yield* revoked.take(1)
              yield* other.take(1)
              const logout = yield* request(baseUrl, "POST", "/api/v1/auth/logout", { token: session.token })
              expect(logout.status).toBe(200)
              expect(codeOfEnd(yield* revoked.end())).toBe(Code.Unauthenticated)
              // The user's other session streams on.
              yield* call(() => chat.sendMessage({ roomId, content: "two" }, bearer(bob)))
              expect((yield* other.take(1)).map((m) => m.content)).toEqual(["two"])
            })
          )
        }), { timeout: 60_000 })

      it.effect("refuses a stranger, an unknown room, another user's id and a missing token", () =>
        Effect.gen(function*() {
          const { alice, carol, chat, roomId } = yield* setup(transport)
          const endOf = (req: Parameters<typeof chat.streamMessages>[0], options?: ReturnType<typeof bearer>) =>
            cancelling((controller) =>
              Effect.map(
                readStream(chat.streamMessages(req, { ...options, signal: controller.signal })).end(),
                codeOfEnd
              )
            )
          expect(yield* endOf({ roomId }, bearer(carol))).toBe(Code.PermissionDenied)
          expect(yield* endOf({ roomId: randomUUID() }, bearer(alice))).toBe(Code.NotFound)
          expect(yield* endOf({ roomId, userId: carol.id }, bearer(alice))).toBe(Code.PermissionDenied)
          expect(yield* endOf({ roomId: "not-a-uuid" }, bearer(alice))).toBe(Code.InvalidArgument)
          expect(yield* endOf({ roomId })).toBe(Code.Unauthenticated)
        }), { timeout: 60_000 })

      it.effect("StreamPresence relays typing and presence; the unary presence calls", () =>
        Effect.gen(function*() {
          const { alice, bob, carol, presence, roomId } = yield* setup(transport)
          yield* cancelling((controller) =>
            Effect.gen(function*() {
              const events = readStream(presence.streamPresence({ roomId }, bearer(bob, controller.signal)))
              // The stream is subscribed once a first event can reach it: retry typing until one does.
              yield* Effect.gen(function*() {
                yield* call(() => presence.setTyping({ roomId }, bearer(alice)))
                yield* events.take(1, 1_000)
              }).pipe(Effect.retry({ times: 20 }))
              expect(events.items[0]).toMatchObject({
                userId: alice.id,
                roomId,
                status: PresenceStatus.TYPING,
                username: alice.username
              })
              yield* call(() => presence.setOnline({ connectionId: "tab-1" }, bearer(alice)))
              const [online] = yield* events.take(1)
              expect(online).toMatchObject({ userId: alice.id, roomId, status: PresenceStatus.ONLINE })
              expect(online?.timestamp).toBeDefined()
              const got = yield* call(() => presence.getPresence({ userId: alice.id }, bearer(bob)))
              expect(got).toMatchObject({ userId: alice.id, status: PresenceStatus.ONLINE })
              const room = yield* call(() => presence.getRoomPresence({ roomId }, bearer(bob)))
              expect(room.presences.map((p) => [p.userId, p.status]).sort()).toEqual(
                [[alice.id, PresenceStatus.ONLINE], [bob.id, PresenceStatus.OFFLINE]].sort()
              )
              yield* call(() => presence.setOffline({ connectionId: "tab-1" }, bearer(alice)))
              const [offline] = yield* events.take(1)
              expect(offline).toMatchObject({ userId: alice.id, status: PresenceStatus.OFFLINE })
            })
          )
          // Identity and sharing rules.
          expect(yield* codeOf(() => presence.getPresence({ userId: alice.id }, bearer(carol)))).toBe(Code.PermissionDenied)
          expect(yield* codeOf(() => presence.getPresence({}, bearer(carol)))).toBe("succeeded")
          expect(yield* codeOf(() => presence.setOnline({ userId: bob.id }, bearer(alice)))).toBe(Code.PermissionDenied)
          expect(yield* codeOf(() => presence.setTyping({ roomId }, bearer(carol)))).toBe(Code.PermissionDenied)
          expect(yield* codeOf(() => presence.getRoomPresence({ roomId }, bearer(carol)))).toBe(Code.PermissionDenied)
          expect(yield* codeOf(() => presence.getRoomPresence({ roomId: randomUUID() }, bearer(alice)))).toBe(Code.NotFound)
          expect(yield* codeOf(() => presence.setOnline({}))).toBe(Code.Unauthenticated)
        }), { timeout: 60_000 })
    })
  }
})
