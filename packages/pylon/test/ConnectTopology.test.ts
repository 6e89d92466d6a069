/**
 * The Connect streams across gateway nodes (issue #8, CONNECT-COMPAT.md rule 6) in the
 * microservice topology: room, chat, presence and notification services and two gateways as
 * separate processes on the real PostgreSQL, Redis and Kafka (support/TopologyStack.ts). A
 * message sent over the WebSocket on gateway A reaches StreamMessages streams opened on gateway B
 * (gRPC over HTTP/2 cleartext and Connect JSON); a `SendMessage` on gateway B reaches a
 * WebSocket on gateway A; typing over the WebSocket on A reaches a StreamPresence stream on B.
 *
 * And the unary flow of a client of the original protos through either gateway, in all four
 * protocols (Connect JSON, Connect binary, gRPC-Web over HTTP/1.1, gRPC over HTTP/2 cleartext):
 * register, log in, create/list/join a room, send a message, read the history, then read the
 * mention notification the notification service made of that message (chat service → outbox →
 * Kafka → notification service, all separate processes) and mark it read. Requests set only the
 * original protos' fields.
 */
import { createClient } from "@connectrpc/connect"
import type { Transport } from "@connectrpc/connect"
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node"
import { describe, expect, layer } from "@effect/vitest"
import { randomBytes } from "node:crypto"
import { Effect } from "effect"
import type { ServerFrame } from "@pylon/contracts/WsFrames"
import { AuthService } from "@pylon/proto-gen/auth/v1/auth"
import { ChatService, MessageType } from "@pylon/proto-gen/chat/v1/chat"
import type { Message } from "@pylon/proto-gen/chat/v1/chat"
import { NotificationService, NotificationType } from "@pylon/proto-gen/notification/v1/notification"
import type { Notification } from "@pylon/proto-gen/notification/v1/notification"
import { RoomService, RoomType } from "@pylon/proto-gen/room/v1/room"
import { PresenceService, PresenceStatus } from "@pylon/proto-gen/presence/v1/presence"
import { createRoom, registerUser } from "@pylon/testkit/Rest"
import type { TestUser } from "@pylon/testkit/Rest"
import { cancelling, readStream } from "@pylon/testkit/StreamReader"
import type { StreamReader } from "@pylon/testkit/StreamReader"
import { connect, frame } from "@pylon/testkit/WsClient"
import type { FrameOf, WsClient } from "@pylon/testkit/WsClient"
import { Topology, TopologyStack } from "./support/TopologyStack.ts"

const bearer = (user: TestUser, signal: AbortSignal) => ({ headers: { authorization: `Bearer ${user.token}` }, signal })

const transports: ReadonlyArray<readonly [string, (baseUrl: string) => Transport]> = [
  ["gRPC (HTTP/2 cleartext)", (baseUrl) => createGrpcTransport({ baseUrl })],
  ["Connect JSON", (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1" })]
]

const allProtocols: ReadonlyArray<readonly [string, (baseUrl: string) => Transport]> = [
  ["Connect JSON", (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: false })],
  ["Connect binary", (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true })],
  ["gRPC-Web", (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" })],
  ["gRPC (HTTP/2 cleartext)", (baseUrl) => createGrpcTransport({ baseUrl })]
]

/** How long the notification may take (outbox relay, Kafka, the consumer's group join). */
const NOTIFICATION_DEADLINE_MS = 90_000

const call = <A>(f: () => Promise<A>) => Effect.promise(f)

const auth = (token: string) => ({ headers: { authorization: `Bearer ${token}` } })

const newCredentials = () => {
  const name = `t${randomBytes(6).toString("hex")}`
  return { username: name, email: `${name}@example.com`, password: "correct horse battery" }
}

/** Asks until `found` picks something out of the answer, or the deadline passes. */
const eventually = <A, B>(ask: () => Promise<A>, found: (answer: A) => B | undefined, deadlineMs: number) =>
  Effect.gen(function*() {
    const deadline = Date.now() + deadlineMs
    for (;;) {
      const answer = yield* call(ask)
      const picked = found(answer)
      if (picked !== undefined) return picked
      if (Date.now() > deadline) return yield* Effect.die(new Error(`not there after ${deadlineMs} ms: ${String(answer)}`))
      yield* Effect.sleep("250 millis")
    }
  })

/** Alice and bob (registered on A) in a new room; alice's WebSocket on A has joined it. */
const setup = Effect.gen(function*() {
  const { gateways: [a, b] } = yield* Topology
  const [alice, bob] = yield* Effect.all([registerUser(a.baseUrl, "alice"), registerUser(a.baseUrl, "bob")])
  const roomId = yield* createRoom(a.baseUrl, alice, [bob])
  const socket = yield* connect(a.baseUrl, alice.token, { name: "alice@A" })
  yield* socket.send({ type: "join", room_id: roomId })
  yield* socket.next((f: ServerFrame): f is FrameOf<"user_joined"> =>
    f.type === "user_joined" && f.room_id === roomId && f.user.id === alice.id && f.last_seq !== undefined
  )
  return { A: a.baseUrl, B: b.baseUrl, alice, bob, roomId, socket }
})

/** Sends `content` over the WebSocket and returns the seq of its ack. */
const sendOverWs = (socket: WsClient, roomId: string, content: string) =>
  Effect.gen(function*() {
    yield* socket.send({ type: "message", room_id: roomId, content })
    const ack = yield* socket.next(frame("ack", roomId))
    return ack.seq
  })

/**
 * Waits until `stream` is live: sends probes over the WebSocket until one arrives (the stream was
 * opened without `after_seq`, so only what is sent after it subscribed can reach it).
 */
const untilLive = (stream: StreamReader<Message>, socket: WsClient, roomId: string) => {
  let probe = 0
  return Effect.gen(function*() {
    probe += 1
    yield* sendOverWs(socket, roomId, `probe ${probe}`)
    yield* stream.take(1, 2_000)
  }).pipe(Effect.retry({ times: 20 }))
}

layer(TopologyStack(), { excludeTestServices: true, timeout: "180 seconds" })("Connect in the microservice topology", (it) => {
  for (const [protocol, transport] of transports) {
    it.effect(`${protocol}: a message sent over the WebSocket on gateway A arrives on a StreamMessages stream on gateway B`, () =>
      Effect.scoped(Effect.gen(function*() {
        const { B, bob, roomId, socket } = yield* setup
        const chat = createClient(ChatService, transport(B))
        yield* cancelling((controller) =>
          Effect.gen(function*() {
            const stream = readStream(chat.streamMessages({ roomId }, bearer(bob, controller.signal)))
            yield* untilLive(stream, socket, roomId)
            const seqs = [
              yield* sendOverWs(socket, roomId, "cross-node 1"),
              yield* sendOverWs(socket, roomId, "cross-node 2")
            ]
            const live = yield* stream.take(2)
            expect(live.map((m) => m.content)).toEqual(["cross-node 1", "cross-node 2"])
            expect(live.map((m) => Number(m.seq))).toEqual(seqs)
          })
        )
      })), { timeout: 90_000 })

    it.effect(`${protocol}: SendMessage on gateway B reaches a WebSocket on gateway A`, () =>
      Effect.scoped(Effect.gen(function*() {
        const { B, bob, roomId, socket } = yield* setup
        const chat = createClient(ChatService, transport(B))
        const sent = yield* cancelling((controller) =>
          Effect.promise(() => chat.sendMessage({ roomId, content: "from B" }, bearer(bob, controller.signal)))
        )
        const delivered = yield* socket.next(frame("message", roomId))
        expect(delivered).toMatchObject({ content: "from B", seq: Number(sent.message?.seq), message_id: sent.message?.id })
      })), { timeout: 90_000 })
  }

  it.effect("typing over the WebSocket on gateway A reaches a StreamPresence stream on gateway B", () =>
    Effect.scoped(Effect.gen(function*() {
      const { B, alice, bob, roomId, socket } = yield* setup
      const presence = createClient(PresenceService, createGrpcTransport({ baseUrl: B }))
      yield* cancelling((controller) =>
        Effect.gen(function*() {
          const events = readStream(presence.streamPresence({ roomId }, bearer(bob, controller.signal)))
          // Subscribed once a first event reaches it: typing again until one does.
          yield* Effect.gen(function*() {
            yield* socket.send({ type: "typing", room_id: roomId })
            yield* events.take(1, 2_000)
          }).pipe(Effect.retry({ times: 20 }))
          expect(events.items[0]).toMatchObject({ userId: alice.id, roomId, status: PresenceStatus.TYPING })
        })
      )
    })), { timeout: 90_000 })

  describe("the original protos' unary flow through either gateway, with the notification service", () => {
    for (const gateway of [0, 1] as const) {
      for (const [protocol, transport] of allProtocols) {
        it.effect(`gateway ${gateway === 0 ? "A" : "B"}, ${protocol}: register, log in, rooms, send, history, notifications, mark read`, () =>
          Effect.gen(function*() {
            const { gateways } = yield* Topology
            const t = transport(gateways[gateway].baseUrl)
            const authClient = createClient(AuthService, t)
            const rooms = createClient(RoomService, t)
            const chat = createClient(ChatService, t)
            const notifications = createClient(NotificationService, t)

            const [aliceCredentials, bobCredentials] = [newCredentials(), newCredentials()]
            const registered = yield* call(() => authClient.register(aliceCredentials))
            yield* call(() => authClient.register(bobCredentials))
            const alice = yield* call(() => authClient.login({ email: aliceCredentials.email, password: aliceCredentials.password }))
            const bob = yield* call(() => authClient.login({ email: bobCredentials.email, password: bobCredentials.password }))
            const aliceId = alice.user?.id ?? ""
            expect(aliceId).toBe(registered.user?.id)
            expect(alice.user?.username).toBe(aliceCredentials.username)

            const created = yield* call(() =>
              rooms.createRoom({ name: `flow ${protocol}`, type: RoomType.CHANNEL }, auth(alice.token))
            )
            const roomId = created.room?.id ?? ""
            expect(created.room).toMatchObject({ name: `flow ${protocol}`, type: RoomType.CHANNEL, createdBy: aliceId })
            yield* call(() => rooms.joinRoom({ roomId }, auth(bob.token)))
            const listed = yield* call(() => rooms.listRooms({}, auth(bob.token)))
            expect(listed.rooms.map((room) => room.id)).toContain(roomId)

            // A channel notifies only the members a message mentions.
            const content = `hello @${aliceCredentials.username}, from ${protocol}`
            const sent = yield* call(() => chat.sendMessage({ roomId, content }, auth(bob.token)))
            const messageId = sent.message?.id ?? ""
            expect(sent.message).toMatchObject({ roomId, content, senderId: bob.user?.id, type: MessageType.TEXT })
            const history = yield* call(() => chat.getMessages({ roomId, limit: 50 }, auth(alice.token)))
            expect(history.messages.map((m) => [m.id, m.content])).toEqual([[messageId, content]])
            expect(history.hasMore).toBe(false)

            const mention = yield* eventually(
              () => notifications.getNotifications({ limit: 20 }, auth(alice.token)),
              (page) => page.notifications.find((n: Notification) => n.messageId === messageId),
              NOTIFICATION_DEADLINE_MS
            )
            expect(mention).toMatchObject({ userId: aliceId, roomId, type: NotificationType.MENTION, read: false })
            expect(mention.body).toContain(`@${aliceCredentials.username}`)
            const before = yield* call(() => notifications.getNotifications({ unreadOnly: true }, auth(alice.token)))
            expect(before.unreadCount).toBe(1)
            yield* call(() => notifications.markAsRead({ notificationId: mention.id }, auth(alice.token)))
            const after = yield* call(() => notifications.getNotifications({}, auth(alice.token)))
            expect(after.unreadCount).toBe(0)
            expect(after.notifications.find((n) => n.id === mention.id)?.read).toBe(true)
            // The sender is never notified of their own message.
            const bobs = yield* call(() => notifications.getNotifications({}, auth(bob.token)))
            expect(bobs.notifications).toEqual([])
          }), { timeout: 180_000 })
      }
    }
  })
})
