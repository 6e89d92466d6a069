/**
 * A WebSocket session driven in process (issue #13 item 3): a fake `SessionSocket`, the real
 * room, chat and presence services in process on the test database, the in-memory room bus, and
 * the `TestClock` for the session's time. Covers the ordering, replay and kick rules that
 * Topology.test.ts checks across processes, the slow-consumer close, and the timers exactly: the
 * idle timeout and the token expiry close the connection at the configured instant, not earlier.
 *
 * Orderings are forced with Deferreds (a gated chat client), never by sleeping; the only real
 * waits are polls for work the database does, with generous deadlines.
 */
import { randomUUID } from "node:crypto"
import { expect, layer } from "@effect/vitest"
import { Deferred, Duration, Effect, Fiber, Layer, Schema } from "effect"
import { TestClock } from "effect/testing"
import { AccessTokenClaims } from "@pylon/contracts/Auth"
import type { RoomId, UserId } from "@pylon/contracts/Ids"
import { ClientMsgId } from "@pylon/contracts/Ids"
import type { ServerFrame } from "@pylon/contracts/WsFrames"
import { encodeServerFrame, messageFrame, ServerFrame as ServerFrameSchema, WsCloseCode } from "@pylon/contracts/WsFrames"
import * as MemoryRealtimeBus from "@pylon/platform/bus/MemoryRealtimeBus"
import { RateLimitConfig } from "@pylon/platform/ratelimit/RateLimitConfig"
import { SessionRevocations } from "../src/auth/SessionRevocations.ts"
import { ChatClient, RoomsClient } from "../src/clients/ServiceClients.ts"
import { ConnectionLimits } from "../src/ws/ConnectionLimits.ts"
import { MembershipEvents } from "../src/ws/MembershipEvents.ts"
import { MembershipEventsLive } from "../src/ws/MembershipEventsLive.ts"
import { PresenceLeases } from "../src/ws/PresenceFanout.ts"
import { RoomFanout } from "../src/ws/RoomFanout.ts"
import type { LocalSubscriber } from "../src/ws/RoomFanout.ts"
import type { Incoming, SessionSocket } from "../src/ws/SessionSocket.ts"
import { TypingThrottle } from "../src/ws/TypingThrottle.ts"
import { UserSockets } from "../src/ws/UserChannelFanout.ts"
import { WsSettings } from "../src/ws/WsSettings.ts"
import { runSession } from "../src/ws/WsSession.ts"
import { TestDatabase } from "@pylon/testkit/TestDatabase"
import { createRoom, createUser } from "@pylon/testkit/ChatFixtures"
import { chatInProcess, presenceInProcess, roomsInProcess } from "./support/ServiceClientsInProcess.ts"

const PING_INTERVAL_MS = 10_000
const IDLE_TIMEOUT_MS = 30_000
const GENEROUS = 1_000

const settings = WsSettings.make({
  ...WsSettings.defaults,
  pingIntervalMs: PING_INTERVAL_MS,
  idleTimeoutMs: IDLE_TIMEOUT_MS
})

const rateLimits = RateLimitConfig.make({
  window: Duration.minutes(1),
  limits: {
    register: GENEROUS,
    login: GENEROUS,
    refresh: GENEROUS,
    createRoom: GENEROUS,
    join: GENEROUS,
    history: GENEROUS,
    wsMessages: GENEROUS,
    wsTyping: GENEROUS
  }
})

/** No session is ever revoked here (SessionRevocations.test.ts covers revocation). */
const noRevocations = Layer.succeed(
  SessionRevocations,
  SessionRevocations.of({ announce: () => Effect.void, register: () => Effect.void })
)

const TestLive = Layer.mergeAll(MembershipEventsLive, PresenceLeases.layer, UserSockets.layer).pipe(
  Layer.provideMerge(Layer.mergeAll(RoomFanout.layer, ConnectionLimits.layer, TypingThrottle.layer)),
  Layer.provideMerge(Layer.mergeAll(settings, rateLimits, noRevocations)),
  Layer.provideMerge(Layer.mergeAll(chatInProcess, roomsInProcess, presenceInProcess)),
  Layer.provideMerge(MemoryRealtimeBus.layer),
  Layer.provideMerge(TestDatabase)
)

const decodeFrame = Schema.decodeUnknownSync(Schema.fromJsonString(ServerFrameSchema))
const decodeClaims = Schema.decodeUnknownSync(AccessTokenClaims)

/** A socket the test drives: it records what the session writes and says how the connection ended. */
const fakeSocket = (options: { readonly answersPings: boolean }) => {
  const frameListeners: Array<(frame: Incoming) => void> = []
  const pongListeners: Array<() => void> = []
  const closedListeners: Array<() => void> = []
  const written: Array<string> = []
  /** Frames that arrived before the session listened (a real socket holds them in its buffer). */
  const unread: Array<Incoming> = []
  let open = true
  let bufferedAmount = 0
  let closedWith: { readonly code: number; readonly reason: string } | "terminated" | undefined
  const end = (how: NonNullable<typeof closedWith>) => {
    open = false
    closedWith = how
    for (const listener of closedListeners) listener()
  }
  const socket: SessionSocket = {
    get isOpen() {
      return open
    },
    get bufferedAmount() {
      return bufferedAmount
    },
    write: (frame) => void written.push(frame.json),
    close: (code, reason) => {
      if (!open) return false
      end({ code, reason })
      return true
    },
    terminate: () => {
      if (open) end("terminated")
    },
    ping: () => {
      if (options.answersPings) for (const listener of pongListeners) listener()
    },
    pause: () => undefined,
    resume: () => undefined,
    onFrame: (listener) => {
      frameListeners.push(listener)
      for (const frame of unread.splice(0)) listener(frame)
    },
    onPong: (listener) => void pongListeners.push(listener),
    onClosed: (listener) => void closedListeners.push(listener)
  }
  return {
    socket,
    /** The client sends `payload` as a JSON text frame. */
    receive: (payload: unknown) => {
      const data = JSON.stringify(payload)
      const frame: Incoming = { kind: "text", data, bytes: Buffer.byteLength(data) }
      if (frameListeners.length === 0) unread.push(frame)
      for (const listener of frameListeners) listener(frame)
    },
    /** The client stops reading: the socket's send buffer stays full from now on. */
    stall: () => {
      bufferedAmount = Number.MAX_SAFE_INTEGER
    },
    frames: (): ReadonlyArray<ServerFrame> => written.map((text) => decodeFrame(text)),
    closedWith: () => closedWith
  }
}
type FakeSocket = ReturnType<typeof fakeSocket>

const seqsOf = (frames: ReadonlyArray<ServerFrame>, roomId: RoomId) =>
  frames.flatMap((f) => f.type === "message" && f.room_id === roomId ? [f.seq] : [])

/** Polls `condition` on the live clock (the work it waits for is the database's) until it holds. */
const waitUntil = (what: string, condition: () => boolean) =>
  TestClock.withLive(Effect.gen(function*() {
    for (let i = 0; i < 2_000; i++) {
      if (condition()) return
      yield* Effect.sleep("10 millis")
    }
    return yield* Effect.die(new Error(`timed out waiting for ${what}`))
  }))

/** Lets every fiber woken so far run until it suspends again. */
const settle = TestClock.withLive(Effect.sleep("50 millis"))

/** The chat client the session uses, with optional gates the test opens. */
const gatedChat = (gates: {
  /** Awaited after a replay page was read (the session is replaying meanwhile). */
  readonly afterGetMessages?: Effect.Effect<void>
  /** Awaited before a send to `room` is stored. */
  readonly beforeSend?: { readonly room: RoomId; readonly gate: Effect.Effect<void> }
}) =>
  Effect.map(ChatClient, (chat) => {
    const GetMessages: typeof chat.GetMessages = (request, options) =>
      Effect.tap(chat.GetMessages(request, options), () => gates.afterGetMessages ?? Effect.void)
    const SendMessage: typeof chat.SendMessage = (request, options) =>
      Effect.andThen(
        gates.beforeSend !== undefined && gates.beforeSend.room === request.room_id ? gates.beforeSend.gate : Effect.void,
        chat.SendMessage(request, options)
      )
    return ChatClient.of({ ...chat, GetMessages, SendMessage })
  })

let nextSession = 0

/** Runs a session of `user` on a fake socket, its token expiring at `exp` (seconds, TestClock time). */
const connect = (
  user: { readonly id: UserId; readonly username: string },
  options: {
    readonly exp?: number
    readonly answersPings?: boolean
    readonly chat?: ChatClient["Service"]
    readonly outboundQueue?: number
  } = {}
) =>
  Effect.gen(function*() {
    const client = fakeSocket({ answersPings: options.answersPings ?? true })
    const base = yield* WsSettings
    const claims = decodeClaims({
      sub: user.id,
      username: user.username,
      sid: randomUUID(),
      jti: `jti-${++nextSession}`,
      token_type: "access",
      iat: 0,
      exp: options.exp ?? 24 * 3600
    })
    const session = runSession(client.socket, claims, "192.0.2.1").pipe(
      Effect.provideService(WsSettings, { ...base, outboundQueue: options.outboundQueue ?? base.outboundQueue })
    )
    const fiber = yield* (options.chat === undefined ? session : Effect.provideService(session, ChatClient, options.chat)).pipe(
      Effect.forkChild
    )
    // Answered once the session reads frames; its timers were started with its reader.
    client.receive({ type: "ping" })
    yield* waitUntil("the session to answer a ping", () => client.frames().some((f) => f.type === "pong"))
    return { ...client, fiber }
  })

const join = (client: FakeSocket, roomId: RoomId, sinceSeq?: number) =>
  Effect.gen(function*() {
    client.receive(sinceSeq === undefined ? { type: "join", room_id: roomId } : { type: "join", room_id: roomId, since_seq: sinceSeq })
    yield* waitUntil("user_joined", () => client.frames().some((f) => f.type === "user_joined" && f.room_id === roomId))
  })

/** A subscriber of its own on this node: once it has seen a seq, so has every other local socket. */
const witness = (roomId: RoomId, userId: UserId, lastSeq: number) =>
  Effect.gen(function*() {
    const seqs: Array<number> = []
    const subscriber: LocalSubscriber = {
      connectionId: `witness-${roomId}`,
      userId,
      onMessage: (_room, seq) => void seqs.push(seq),
      onEvent: () => undefined,
      onKicked: () => undefined
    }
    yield* (yield* RoomFanout).subscribe(subscriber, roomId, lastSeq)
    return seqs
  })

/** Stores a message of `userId` (the chat service's side of a send). */
const store = (userId: UserId, roomId: RoomId, content: string) =>
  Effect.gen(function*() {
    const { message } = yield* (yield* ChatClient).SendMessage({
      user_id: userId,
      room_id: roomId,
      content,
      msg_type: "text",
      client_msg_id: null
    })
    return message
  })

/** Publishes a stored message on its room channel, as the sending gateway does after the ack. */
const publish = (message: Parameters<typeof messageFrame>[0]) =>
  Effect.flatMap(RoomFanout, (fanout) =>
    fanout.publish(message.room_id, {
      kind: "message",
      roomId: message.room_id,
      seq: message.seq,
      json: encodeServerFrame(messageFrame(message))
    }))

layer(TestLive, { excludeTestServices: true, timeout: "120 seconds" })("WebSocket session in process", (it) => {
  it.effect("replay then live: messages published during the replay are held and released in seq order, none twice", () =>
    Effect.gen(function*() {
      const alice = yield* createUser("alice")
      const bob = yield* createUser("bob")
      const room = yield* createRoom(bob.id, [alice.id])
      for (const n of [1, 2, 3]) yield* store(bob.id, room, `history ${n}`)
      const seen = yield* witness(room, bob.id, 3)

      const replayRead = yield* Deferred.make<void>()
      const releaseReplay = yield* Deferred.make<void>()
      const chat = yield* gatedChat({
        afterGetMessages: Effect.andThen(Deferred.succeed(replayRead, undefined), Deferred.await(releaseReplay))
      })
      const client = yield* connect(alice, { chat })
      client.receive({ type: "join", room_id: room, since_seq: 0 })
      yield* Deferred.await(replayRead)

      // Live while the replay is between its read and its writes: 5 first (4 is filled from
      // history by the node), then 4 again as a late duplicate.
      const m4 = yield* store(bob.id, room, "live 4")
      const m5 = yield* store(bob.id, room, "live 5")
      yield* publish(m5)
      yield* publish(m4)
      yield* waitUntil("the node to deliver 4 and 5", () => seen.length >= 2)
      expect(seen).toEqual([4, 5])
      expect(seqsOf(client.frames(), room)).toEqual([])

      yield* Deferred.succeed(releaseReplay, undefined)
      yield* waitUntil("replay and held messages", () => seqsOf(client.frames(), room).length >= 5)
      yield* publish(yield* store(bob.id, room, "live 6"))
      yield* waitUntil("the live message after the replay", () => seqsOf(client.frames(), room).length >= 6)
      yield* settle
      expect(seqsOf(client.frames(), room)).toEqual([1, 2, 3, 4, 5, 6])
      const types = client.frames().map((f) => f.type)
      expect(types.indexOf("user_joined")).toBeLessThan(types.indexOf("message"))
      yield* Fiber.interrupt(client.fiber)
    }).pipe(Effect.provide(TestClock.layer())))

  it.effect("a kick (REST leave) stops delivery to the socket at once; its sends are NOT_JOINED", () =>
    Effect.gen(function*() {
      const alice = yield* createUser("alice")
      const bob = yield* createUser("bob")
      const room = yield* createRoom(bob.id, [alice.id])
      const seen = yield* witness(room, bob.id, 0)
      const client = yield* connect(alice)
      yield* join(client, room)
      yield* publish(yield* store(bob.id, room, "before the leave"))
      yield* waitUntil("the first message", () => seqsOf(client.frames(), room).length === 1)

      // What `POST /rooms/:id/leave` does after the room service agreed.
      yield* (yield* RoomsClient).LeaveRoom({ user_id: alice.id, room_id: room })
      yield* (yield* MembershipEvents).left(alice.id, room)
      const fanout = yield* RoomFanout
      yield* waitUntil("the kick", () => fanout.subscribersOf(room).every((s) => s.userId !== alice.id))

      yield* publish(yield* store(bob.id, room, "after the leave"))
      yield* waitUntil("the node to deliver the second message", () => seen.length === 2)
      client.receive({ type: "message", room_id: room, content: "still here?", client_msg_id: "k-1" })
      yield* waitUntil("the reply", () => client.frames().some((f) => f.type === "error"))
      yield* settle
      expect(seqsOf(client.frames(), room)).toEqual([1])
      expect(client.frames().filter((f) => f.type === "error")).toEqual([
        { type: "error", code: "NOT_JOINED", message: "join the room first", ref: "k-1" }
      ])
      yield* Fiber.interrupt(client.fiber)
    }).pipe(Effect.provide(TestClock.layer())))

  it.effect("acks leave in frame order although a later frame's send is stored first", () =>
    Effect.gen(function*() {
      const alice = yield* createUser("alice")
      const roomA = yield* createRoom(alice.id, [])
      const roomB = yield* createRoom(alice.id, [])
      const releaseA = yield* Deferred.make<void>()
      const chat = yield* gatedChat({ beforeSend: { room: roomA, gate: Deferred.await(releaseA) } })
      const client = yield* connect(alice, { chat })
      yield* join(client, roomA)
      yield* join(client, roomB)
      const send = (roomId: RoomId, ref: string) =>
        client.receive({ type: "message", room_id: roomId, content: ref, client_msg_id: ref })
      send(roomA, "a-1")
      send(roomB, "b-1")
      send(roomB, "b-2")

      // B's sends are stored while A's waits; their acks wait for A's.
      const stored = yield* ChatClient
      let storedInB = 0
      while (storedInB < 2) {
        const page = yield* stored.GetMessages({ user_id: alice.id, room_id: roomB, limit: 10, after_seq: 0 })
        storedInB = page.messages.length
        if (storedInB < 2) yield* TestClock.withLive(Effect.sleep("10 millis"))
      }
      yield* settle
      expect(client.frames().filter((f) => f.type === "ack")).toEqual([])

      yield* Deferred.succeed(releaseA, undefined)
      yield* waitUntil("three acks", () => client.frames().filter((f) => f.type === "ack").length === 3)
      expect(client.frames().flatMap((f) => f.type === "ack" ? [f.client_msg_id] : [])).toEqual([
        ClientMsgId.make("a-1"),
        ClientMsgId.make("b-1"),
        ClientMsgId.make("b-2")
      ])
      yield* Fiber.interrupt(client.fiber)
    }).pipe(Effect.provide(TestClock.layer())))

  it.effect("a client that stops reading is closed with 4008 once its outbound queue is full", () =>
    Effect.gen(function*() {
      const alice = yield* createUser("alice")
      const bob = yield* createUser("bob")
      const room = yield* createRoom(bob.id, [alice.id])
      const client = yield* connect(alice, { outboundQueue: 3 })
      yield* join(client, room)
      client.stall()
      for (const n of [1, 2, 3]) yield* publish(yield* store(bob.id, room, `queued ${n}`))
      yield* settle
      expect(client.closedWith()).toBeUndefined()
      yield* publish(yield* store(bob.id, room, "one too many"))
      yield* waitUntil("the slow-consumer close", () => client.closedWith() !== undefined)
      expect(client.closedWith()).toEqual({ code: WsCloseCode.SlowConsumer, reason: "slow consumer" })
      yield* Fiber.join(client.fiber)
    }).pipe(Effect.provide(TestClock.layer())))

  it.effect("a silent connection is dropped after exactly WS_IDLE_TIMEOUT_MS; one answering pings stays", () =>
    Effect.gen(function*() {
      const alice = yield* createUser("alice")
      const silent = yield* connect(alice, { answersPings: false })
      const live = yield* connect(alice, { answersPings: true })
      yield* TestClock.adjust(IDLE_TIMEOUT_MS - 1)
      yield* settle
      expect(silent.closedWith()).toBeUndefined()
      yield* TestClock.adjust(1)
      yield* waitUntil("the silent connection to be dropped", () => silent.closedWith() !== undefined)
      expect(silent.closedWith()).toBe("terminated")
      yield* Fiber.join(silent.fiber)

      yield* TestClock.adjust(3 * IDLE_TIMEOUT_MS)
      yield* settle
      expect(live.closedWith()).toBeUndefined()
      yield* Fiber.interrupt(live.fiber)
    }).pipe(Effect.provide(TestClock.layer())))

  it.effect("a frame restarts the idle timeout", () =>
    Effect.gen(function*() {
      const alice = yield* createUser("alice")
      const client = yield* connect(alice, { answersPings: false })
      yield* TestClock.adjust(IDLE_TIMEOUT_MS - 5_000)
      client.receive({ type: "ping" })
      yield* waitUntil("the pong", () => client.frames().filter((f) => f.type === "pong").length === 2)
      yield* TestClock.adjust(IDLE_TIMEOUT_MS - 1)
      yield* settle
      expect(client.closedWith()).toBeUndefined()
      yield* TestClock.adjust(1)
      yield* waitUntil("the connection to be dropped", () => client.closedWith() !== undefined)
      yield* Fiber.join(client.fiber)
    }).pipe(Effect.provide(TestClock.layer())))

  it.effect("the connection closes with 1008 when its access token expires, not before", () =>
    Effect.gen(function*() {
      const alice = yield* createUser("alice")
      const expiresAt = 5 * 60
      const client = yield* connect(alice, { exp: expiresAt, answersPings: true })
      yield* TestClock.adjust(expiresAt * 1000 - 1)
      yield* settle
      expect(client.closedWith()).toBeUndefined()
      yield* TestClock.adjust(1)
      yield* waitUntil("the expiry close", () => client.closedWith() !== undefined)
      expect(client.closedWith()).toEqual({ code: WsCloseCode.PolicyViolation, reason: "token expired" })
      yield* Fiber.join(client.fiber)
    }).pipe(Effect.provide(TestClock.layer())))
})
