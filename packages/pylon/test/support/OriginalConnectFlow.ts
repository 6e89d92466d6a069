/**
 * What a client of the ORIGINAL Pylon protos (`@pylon/testkit/OriginalProtos`: the frozen image,
 * no Pylon field known) does against a running Pylon, over one Connect transport — the flow of
 * issue #8's "Done when", shared by the topology test (either gateway) and the `pylon dev` one.
 *
 * - `originalUnaryFlow`: register, log in, create/list/join a room, send a message mentioning the
 *   other user, read the history, then read the mention notification the notification service made
 *   of it (outbox → event bus → consumer) and mark it read.
 * - `originalStreamsFlow`: StreamMessages and StreamPresence opened on one gateway receive what a
 *   WebSocket on another (or the same) gateway sends and types; a SendMessage on the stream's
 *   gateway reaches that WebSocket.
 */
import type { Transport } from "@connectrpc/connect"
import { expect } from "@effect/vitest"
import { randomBytes } from "node:crypto"
import { Effect } from "effect"
import type { ServerFrame } from "@pylon/contracts/WsFrames"
import { object, objects, originalServerStream, originalUnary as unary, text } from "@pylon/testkit/OriginalProtos"
import type { JsonObject } from "@pylon/testkit/OriginalProtos"
import { createRoom, registerUser } from "@pylon/testkit/Rest"
import { cancelling, readStream } from "@pylon/testkit/StreamReader"
import type { StreamReader } from "@pylon/testkit/StreamReader"
import { connect, frame } from "@pylon/testkit/WsClient"
import type { FrameOf, WsClient } from "@pylon/testkit/WsClient"

/** How long the notification may take (outbox relay, Kafka, the consumer's group join). */
const NOTIFICATION_DEADLINE_MS = 90_000

/** The original `Message` fields Pylon fills for a text message of a user with no display name or avatar. */
const MESSAGE_FIELDS = ["content", "createdAt", "id", "roomId", "senderId", "senderUsername", "type"]

const newCredentials = () => {
  const name = `o${randomBytes(6).toString("hex")}`
  return { username: name, email: `${name}@example.com`, password: "correct horse battery" }
}

/** Asks until `found` picks something out of the answer, or the deadline passes. */
const eventually = <A, B>(ask: Effect.Effect<A>, found: (answer: A) => B | undefined, deadlineMs: number) =>
  Effect.gen(function*() {
    const deadline = Date.now() + deadlineMs
    for (;;) {
      const answer = yield* ask
      const picked = found(answer)
      if (picked !== undefined) return picked
      if (Date.now() > deadline) {
        return yield* Effect.die(new Error(`not there after ${deadlineMs} ms: ${JSON.stringify(answer)}`))
      }
      yield* Effect.sleep("250 millis")
    }
  })

export const originalUnaryFlow = (t: Transport, label: string) =>
  Effect.gen(function*() {
    const [aliceCredentials, bobCredentials] = [newCredentials(), newCredentials()]
    const registered = yield* unary(t, "pylon.auth.v1.AuthService/Register", aliceCredentials)
    yield* unary(t, "pylon.auth.v1.AuthService/Register", bobCredentials)
    const login = (credentials: typeof aliceCredentials) =>
      unary(t, "pylon.auth.v1.AuthService/Login", { email: credentials.email, password: credentials.password })
    const alice = yield* login(aliceCredentials)
    const bob = yield* login(bobCredentials)
    const aliceId = text(object(alice, "user"), "id")
    const bobId = text(object(bob, "user"), "id")
    expect(aliceId).toBe(text(object(registered, "user"), "id"))
    expect(object(alice, "user")["username"]).toBe(aliceCredentials.username)
    const [aliceToken, bobToken] = [text(alice, "token"), text(bob, "token")]

    const created = yield* unary(
      t,
      "pylon.room.v1.RoomService/CreateRoom",
      { name: `flow ${label}`, type: "ROOM_TYPE_CHANNEL" },
      aliceToken
    )
    // Exactly the original fields: Pylon's additions are unknown fields to this client.
    expect(Object.keys(created)).toEqual(["room"])
    const room = object(created, "room")
    expect(room).toMatchObject({ name: `flow ${label}`, type: "ROOM_TYPE_CHANNEL", createdBy: aliceId })
    const roomId = text(room, "id")
    expect(yield* unary(t, "pylon.room.v1.RoomService/JoinRoom", { roomId }, bobToken)).toEqual({})
    const listed = yield* unary(t, "pylon.room.v1.RoomService/ListRooms", {}, bobToken)
    expect(objects(listed, "rooms").map((r) => r["id"])).toContain(roomId)

    // A channel notifies only the members a message mentions.
    const content = `hello @${aliceCredentials.username}, from ${label}`
    const sent = object(yield* unary(t, "pylon.chat.v1.ChatService/SendMessage", { roomId, content }, bobToken), "message")
    expect(Object.keys(sent).sort()).toEqual(MESSAGE_FIELDS)
    expect(sent).toMatchObject({ roomId, content, senderId: bobId, type: "MESSAGE_TYPE_TEXT" })
    const messageId = text(sent, "id")
    const history = yield* unary(t, "pylon.chat.v1.ChatService/GetMessages", { roomId, limit: 50 }, aliceToken)
    expect(objects(history, "messages").map((m) => [m["id"], m["content"]])).toEqual([[messageId, content]])
    expect(history["hasMore"]).toBeUndefined()

    const notifications = (input: JsonObject) =>
      unary(t, "pylon.notification.v1.NotificationService/GetNotifications", input, aliceToken)
    const mention = yield* eventually(
      notifications({ limit: 20 }),
      (page) => objects(page, "notifications").find((n) => n["messageId"] === messageId),
      NOTIFICATION_DEADLINE_MS
    )
    expect(mention).toMatchObject({ userId: aliceId, roomId, type: "NOTIFICATION_TYPE_MENTION" })
    expect(mention["read"]).toBeUndefined()
    expect(text(mention, "body")).toContain(`@${aliceCredentials.username}`)
    expect((yield* notifications({ unreadOnly: true }))["unreadCount"]).toBe(1)
    expect(
      yield* unary(
        t,
        "pylon.notification.v1.NotificationService/MarkAsRead",
        { notificationId: text(mention, "id") },
        aliceToken
      )
    ).toEqual({})
    const after = yield* notifications({})
    expect(after["unreadCount"]).toBeUndefined()
    expect(objects(after, "notifications").find((n) => n["id"] === mention["id"])?.["read"]).toBe(true)
    // The sender is never notified of their own message.
    expect(yield* unary(t, "pylon.notification.v1.NotificationService/GetNotifications", {}, bobToken)).toEqual({})
  })

/** Sends `content` over the WebSocket and returns its ack. */
const sendOverWs = (socket: WsClient, roomId: string, content: string) =>
  Effect.gen(function*() {
    yield* socket.send({ type: "message", room_id: roomId, content })
    return yield* socket.next(frame("ack", roomId))
  })

/**
 * Waits until `stream` is live: sends probes over the WebSocket until one arrives (a stream opened
 * without `after_seq` gets only what is sent after it subscribed).
 */
const untilLive = (stream: StreamReader<JsonObject>, socket: WsClient, roomId: string) => {
  let probe = 0
  return Effect.gen(function*() {
    probe += 1
    yield* sendOverWs(socket, roomId, `probe ${probe}`)
    yield* stream.take(1, 2_000)
  }).pipe(Effect.retry({ times: 20 }))
}

/**
 * Alice (WebSocket on `wsBaseUrl`) and bob (the original client on `streamTransport`) share a
 * room; bob's StreamMessages and StreamPresence get alice's messages and typing, and bob's
 * SendMessage reaches alice's WebSocket.
 */
export const originalStreamsFlow = (options: { readonly wsBaseUrl: string; readonly streamTransport: Transport }) =>
  Effect.scoped(Effect.gen(function*() {
    const { streamTransport: t, wsBaseUrl } = options
    const [alice, bob] = yield* Effect.all([registerUser(wsBaseUrl, "alice"), registerUser(wsBaseUrl, "bob")])
    const roomId = yield* createRoom(wsBaseUrl, alice, [bob])
    const socket = yield* connect(wsBaseUrl, alice.token, { name: "alice" })
    yield* socket.send({ type: "join", room_id: roomId })
    yield* socket.next((f: ServerFrame): f is FrameOf<"user_joined"> =>
      f.type === "user_joined" && f.room_id === roomId && f.user.id === alice.id && f.last_seq !== undefined
    )

    yield* cancelling((controller) =>
      Effect.gen(function*() {
        const messages = readStream(
          originalServerStream(t, "pylon.chat.v1.ChatService/StreamMessages", { roomId }, bob.token, controller.signal)
        )
        yield* untilLive(messages, socket, roomId)
        const acks = [yield* sendOverWs(socket, roomId, "live 1"), yield* sendOverWs(socket, roomId, "live 2")]
        const live = yield* messages.take(2)
        expect(live.map((m) => [m["id"], m["content"]])).toEqual(acks.map((ack, i) => [ack.message_id, `live ${i + 1}`]))
        for (const message of live) {
          expect(Object.keys(message).sort()).toEqual(MESSAGE_FIELDS)
          expect(message).toMatchObject({ roomId, senderId: alice.id, type: "MESSAGE_TYPE_TEXT" })
        }

        const presence = readStream(
          originalServerStream(t, "pylon.presence.v1.PresenceService/StreamPresence", { roomId }, bob.token, controller.signal)
        )
        // Subscribed once a first event reaches it: typing again until one does.
        yield* Effect.gen(function*() {
          yield* socket.send({ type: "typing", room_id: roomId })
          yield* presence.take(1, 2_000)
        }).pipe(Effect.retry({ times: 20 }))
        expect(presence.items[0]).toMatchObject({ userId: alice.id, roomId, status: "PRESENCE_STATUS_TYPING" })
        expect(text(presence.items[0] ?? {}, "timestamp")).not.toBe("")
      })
    )

    const sent = object(
      yield* unary(t, "pylon.chat.v1.ChatService/SendMessage", { roomId, content: "from the original client" }, bob.token),
      "message"
    )
    // The socket also got its own messages: this one is found by its id.
    const delivered = yield* socket.next((f: ServerFrame): f is FrameOf<"message"> =>
      f.type === "message" && f.message_id === sent["id"]
    )
    expect(delivered).toMatchObject({ room_id: roomId, content: "from the original client", sender: { id: bob.id } })
  }))
