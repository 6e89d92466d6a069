/**
 * Notifications end to end (API.md §5a, §8) through the gateway on a real socket: the harness's
 * gateway (support/GatewayHarness.ts: fresh PostgreSQL database, real Redis realtime bus, services
 * in process, `NotificationsClient` included) plus the event path on the real Kafka broker, the
 * outbox relay publishing to a topic of this file's own (its `message-events` records are
 * redirected) and the notification consumer reading it in a group of its own. A send over
 * WebSocket becomes a notification row, is listed by `GET /api/v1/notifications` and arrives as
 * a `notification` frame on every socket of the recipient. Also: channel mentions, keyset
 * pagination over REST, and the owner-only read / read-all rules.
 */
import { randomUUID } from "node:crypto"
import { describe, expect, it, layer } from "@effect/vitest"
import { Context, Duration, Effect, Exit, Layer, Schema, Scope } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import WebSocket from "ws"
import { MESSAGE_EVENTS_TOPIC } from "@pylon/contracts/Events"
import type { ServerFrame } from "@pylon/contracts/WsFrames"
import { ServerFrame as ServerFrameSchema } from "@pylon/contracts/WsFrames"
import { EventPublisher } from "@pylon/platform/events/EventPublisher"
import { newId } from "@pylon/platform/runtime/IdGenerator"
import { KafkaAdmin, KafkaClient, KafkaProducer } from "@pylon/platform/kafka/Kafka"
import * as KafkaEventPublisher from "@pylon/platform/events/KafkaEventPublisher"
import * as MemoryRealtimeBus from "@pylon/platform/bus/MemoryRealtimeBus"
import * as RedisRealtimeBus from "@pylon/platform/bus/RedisRealtimeBus"
import { RealtimeBus } from "@pylon/platform/bus/RealtimeBus"
import { userChannel } from "@pylon/platform/bus/Channels"
import { UserId } from "@pylon/contracts/Ids"
import { OutboxRelay } from "@pylon/chat-service/outbox/OutboxRelay"
import * as KafkaEventConsumer from "@pylon/notification-service/KafkaEventConsumer"
import { notificationSettings } from "@pylon/notification-service/NotificationConfig"
import { startNotificationConsumer as startConsumer } from "@pylon/notification-service/NotificationConsumer"
import { NotificationService } from "@pylon/notification-service/NotificationService"
import { NotificationServiceLive } from "@pylon/notification-service/NotificationServiceApp"
import { UserSockets } from "../src/ws/UserChannelFanout.ts"
import { Gateway, gatewayLayer } from "./support/GatewayHarness.ts"
import type { AuthResultJson } from "./support/Http.ts"
import { expectError, expectOk, get, http, newUser, post, RFC3339_MS_UTC } from "./support/Http.ts"
import { createTestTopic } from "@pylon/testkit/KafkaTestTopics"

interface NotificationJson {
  readonly id: string
  readonly type: string
  readonly title: string
  readonly body: string
  readonly room_id: string
  readonly message_id: string | null
  readonly read: boolean
  readonly created_at: string
}

interface PageJson {
  readonly notifications: ReadonlyArray<NotificationJson>
  readonly unread_count: number
  readonly next_cursor: string | null
}

const NOTIFICATION_KEYS = ["body", "created_at", "id", "message_id", "read", "room_id", "title", "type"]

const brokers = () => {
  const value = process.env["KAFKA_BROKERS"]
  if (value === undefined || value.trim() === "") {
    throw new Error("KAFKA_BROKERS is not set: these tests need the real broker (source .pylon/infra/env.sh)")
  }
  return value.split(",").map((b) => b.trim())
}

const run = randomUUID().slice(0, 8)

/** The topic this file's relay publishes to and its consumer reads. */
class EventsTopic extends Context.Service<EventsTopic, string>()("pylon/gateway/test/EventsTopic") {}

/** The trace id of the span each message's event was processed in by the consumer. */
class ConsumerTraces extends Context.Service<ConsumerTraces, Map<string, string>>()("pylon/gateway/test/ConsumerTraces") {}

/** `NotificationServiceLive`, recording the consumer's span per message. */
const TracedNotificationService = Layer.effect(
  NotificationService,
  Effect.gen(function*() {
    const real = yield* NotificationService
    const traces = yield* ConsumerTraces
    return NotificationService.of({
      ...real,
      notifyMessage: (event) =>
        Effect.gen(function*() {
          const span = yield* Effect.currentSpan.pipe(Effect.orDie)
          traces.set(event.data.message_id, span.traceId)
          return yield* real.notifyMessage(event)
        })
    })
  })
).pipe(Layer.provide(NotificationServiceLive))

/** Relay (redirected to a fresh topic) + notification consumer on it, on the harness's database and Redis. */
const EventPath = Layer.unwrap(Effect.gen(function*() {
  const admin = yield* KafkaAdmin
  const topic = `pylon-test-gw-notif-${run}`
  yield* Effect.acquireRelease(
    Effect.promise(() => createTestTopic(admin, topic, 2)),
    () => Effect.promise(() => admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => undefined))
  )
  const redirected = Layer.effect(
    EventPublisher,
    EventPublisher.useSync((inner) =>
      EventPublisher.of({
        publish: (records) => inner.publish(records.map((r) => (r.topic === MESSAGE_EVENTS_TOPIC ? { ...r, topic } : r)))
      })
    )
  ).pipe(Layer.provide(KafkaEventPublisher.layer), Layer.provide(KafkaProducer.layer))
  const settings = notificationSettings({ topic, groupId: `pylon-test-gw-notif-${run}`, restartMax: Duration.seconds(1) })
  return Layer.mergeAll(
    OutboxRelay.layerWith({ pollInterval: Duration.millis(50) }),
    Layer.effectDiscard(startConsumer(settings)),
    Layer.succeed(EventsTopic, topic)
  ).pipe(
    Layer.provide([
      redirected,
      KafkaEventConsumer.layerWith({ sessionTimeout: "6 seconds", heartbeatInterval: "500 millis", maxWaitTime: "200 millis" })
    ]),
    Layer.provide(TracedNotificationService),
    Layer.provideMerge(Layer.sync(ConsumerTraces, () => new Map<string, string>())),
    Layer.provide(RedisRealtimeBus.layer)
  )
})).pipe(
  Layer.provide(KafkaAdmin.layer),
  Layer.provide(KafkaClient.layerWith({ brokers: brokers(), clientId: `pylon-test-gw-notif-${run}` }))
)

const TestLive = EventPath.pipe(Layer.provideMerge(gatewayLayer()))

// --- a small WebSocket client -------------------------------------------------------------------

interface WsClient {
  readonly frames: ReadonlyArray<ServerFrame>
  readonly send: (frame: unknown) => Effect.Effect<void>
  /** The first frame (from `from` on) matching `match`, waiting up to `timeout`. */
  readonly next: <F extends ServerFrame>(match: (f: ServerFrame) => f is F, timeout?: Duration.Input) => Effect.Effect<F>
  /** Sends ping and waits for pong: the session is fully set up (its user channel subscribed). */
  readonly ready: Effect.Effect<void>
}

const decodeServerFrame = Schema.decodeUnknownSync(Schema.fromJsonString(ServerFrameSchema))

const connect = (token: string): Effect.Effect<WsClient, never, Gateway | Scope.Scope> =>
  Effect.gen(function*() {
    const { baseUrl } = yield* Gateway
    const frames: Array<ServerFrame> = []
    const consumed = new Set<ServerFrame>()
    const socket = yield* Effect.acquireRelease(
      Effect.promise(() =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(`${baseUrl.replace(/^http/, "ws")}/ws`, { headers: { authorization: `Bearer ${token}` } })
          ws.on("message", (data: WebSocket.RawData) => {
            const text = Buffer.isBuffer(data)
              ? data.toString("utf8")
              : Array.isArray(data)
              ? Buffer.concat(data).toString("utf8")
              : Buffer.from(data).toString("utf8")
            frames.push(decodeServerFrame(text))
          })
          ws.once("open", () => resolve(ws))
          ws.once("error", reject)
        })
      ),
      (ws) => Effect.sync(() => ws.terminate())
    )
    const next = <F extends ServerFrame>(match: (f: ServerFrame) => f is F, timeout: Duration.Input = "20 seconds") =>
      Effect.gen(function*() {
        const deadline = Date.now() + Duration.toMillis(Duration.fromInputUnsafe(timeout))
        while (true) {
          const found = frames.find((f): f is F => !consumed.has(f) && match(f))
          if (found !== undefined) {
            consumed.add(found)
            return found
          }
          if (Date.now() > deadline) {
            return yield* Effect.die(new Error(`no matching frame; got ${JSON.stringify(frames)}`))
          }
          yield* Effect.sleep("20 millis")
        }
      })
    const send = (frame: unknown) => Effect.sync(() => socket.send(JSON.stringify(frame)))
    const ready = Effect.andThen(send({ type: "ping" }), next((f): f is Extract<ServerFrame, { type: "pong" }> => f.type === "pong"))
    return { frames, send, next, ready: Effect.asVoid(ready) }
  })

type NotificationFrameOf = Extract<ServerFrame, { readonly type: "notification" }>
const isNotification = (f: ServerFrame): f is NotificationFrameOf => f.type === "notification"
const notificationsIn = (client: WsClient) => client.frames.filter(isNotification)

// --- helpers ------------------------------------------------------------------------------------

const createRoom = (owner: AuthResultJson, type: string, members: ReadonlyArray<AuthResultJson>) =>
  Effect.map(
    post("/api/v1/rooms", { bearer: owner.token, json: { name: `${type} ${run}`, type, member_ids: members.map((m) => m.user.id) } }),
    (result) => expectOk<{ readonly room: { readonly id: string } }>(result, 201).room.id
  )

const listOf = (user: AuthResultJson, query = "") =>
  Effect.map(get(`/api/v1/notifications${query}`, { bearer: user.token }), (result) => expectOk<PageJson>(result))

/** Joins `roomId` on `client` and sends `content`; returns the acked message id. */
const sendMessage = (client: WsClient, roomId: string, content: string) =>
  Effect.gen(function*() {
    const clientMsgId = `c-${randomUUID().slice(0, 8)}`
    yield* client.send({ type: "message", room_id: roomId, content, client_msg_id: clientMsgId })
    const ack = yield* client.next((f): f is Extract<ServerFrame, { type: "ack" }> => f.type === "ack" && f.client_msg_id === clientMsgId)
    return ack.message_id
  })

const joinRoom = (client: WsClient, roomId: string, userId: string) =>
  Effect.andThen(
    client.send({ type: "join", room_id: roomId }),
    client.next((f): f is Extract<ServerFrame, { type: "user_joined" }> =>
      f.type === "user_joined" && f.room_id === roomId && f.user.id === userId && f.last_seq !== undefined)
  )

/** Inserts `count` unread notifications for `userId` straight into the table. */
const seed = Effect.fn("test.seed")(function*(userId: string, roomId: string, count: number) {
  const sql = yield* SqlClient
  for (let i = 0; i < count; i++) {
    yield* sql`
      INSERT INTO notifications (id, user_id, type, title, body, room_id, message_id, created_at)
      VALUES (${yield* newId}, ${userId}, 'message', ${`title ${i}`}, ${`body ${i}`}, ${roomId}, ${yield* newId},
              timestamptz '2026-01-01 00:00:00+00' + ${i % 5}::int * interval '1 second')`
  }
})

layer(TestLive, { excludeTestServices: true, timeout: "120 seconds" })("notifications through the gateway", (it) => {
  describe("send → notification row → REST list → WebSocket frame", () => {
    it.effect("group members but the sender are notified, live on every socket, and listed over REST", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient
        const [alice, bob, carol] = (yield* Effect.all([newUser("alice"), newUser("bob"), newUser("carol")])).map((u) => u.session)
        if (alice === undefined || bob === undefined || carol === undefined) return
        const room = yield* createRoom(alice, "group", [bob, carol])
        const bobSocket = yield* connect(bob.token)
        const carolPhone = yield* connect(carol.token)
        const carolLaptop = yield* connect(carol.token)
        const aliceSocket = yield* connect(alice.token)
        yield* Effect.all([bobSocket.ready, carolPhone.ready, carolLaptop.ready, aliceSocket.ready])

        yield* joinRoom(aliceSocket, room, alice.user.id)
        const content = `hi @${carol.user.username}, and bob: ${"long ".repeat(40)}`
        const messageId = yield* sendMessage(aliceSocket, room, content)

        // Live: a `notification` frame on every socket of each recipient.
        const bobFrame = yield* bobSocket.next(isNotification)
        expect(bobFrame.notification).toMatchObject({
          type: "message",
          title: `New message from ${alice.user.username} in group ${run}`,
          body: content.slice(0, 100),
          room_id: room,
          message_id: messageId,
          read: false
        })
        const carolFrames = yield* Effect.all([carolPhone.next(isNotification), carolLaptop.next(isNotification)])
        for (const frame of carolFrames) {
          expect(frame.notification).toMatchObject({ type: "mention", message_id: messageId })
          expect(frame.notification.title).toBe(`${alice.user.username} mentioned you in group ${run}`)
        }
        expect(carolFrames[0].notification).toEqual(carolFrames[1].notification)

        // The rows, written by the consumer with the event id.
        const rows = yield* sql<{ readonly user_id: string; readonly event_id: string | null }>`
          SELECT user_id, event_id FROM notifications WHERE message_id = ${messageId} ORDER BY user_id`
        expect(rows.map((r) => r.user_id).sort()).toEqual([bob.user.id, carol.user.id].sort())
        expect(rows.every((r) => r.event_id !== null)).toBe(true)

        // One trace: the consumer processed the event in the trace the send started (the
        // outbox row keeps the send's traceparent; the relay and Kafka headers carry it on).
        const [outbox] = yield* sql<{ readonly traceparent: string | null }>`
          SELECT headers->>'traceparent' AS traceparent FROM outbox WHERE payload->'data'->>'message_id' = ${messageId}`
        const sendTrace = /^00-([0-9a-f]{32})-/.exec(outbox?.traceparent ?? "")?.[1]
        expect(sendTrace).toBeDefined()
        expect((yield* ConsumerTraces).get(messageId)).toBe(sendTrace)

        // REST: the same notification, in the contract's shape.
        const bobs = yield* listOf(bob)
        expect(bobs.unread_count).toBe(1)
        expect(bobs.next_cursor).toBeNull()
        expect(bobs.notifications).toHaveLength(1)
        const [listed] = bobs.notifications
        expect(Object.keys(listed ?? {}).sort()).toEqual(NOTIFICATION_KEYS)
        expect(listed?.created_at).toMatch(RFC3339_MS_UTC)
        expect(listed).toEqual(JSON.parse(JSON.stringify(bobFrame.notification)))

        // The sender is not notified.
        yield* Effect.sleep("300 millis")
        expect(notificationsIn(aliceSocket)).toEqual([])
        expect((yield* listOf(alice)).notifications).toEqual([])
        expect(notificationsIn(bobSocket)).toHaveLength(1)
      }))

    it.effect("channels: only mentioned members are notified, with type mention", () =>
      Effect.gen(function*() {
        const [alice, bob, carol] = (yield* Effect.all([newUser("alice"), newUser("bob"), newUser("carol")])).map((u) => u.session)
        if (alice === undefined || bob === undefined || carol === undefined) return
        const channel = yield* createRoom(alice, "channel", [])
        for (const user of [bob, carol]) {
          expectOk(yield* post(`/api/v1/rooms/${channel}/join`, { bearer: user.token }))
        }
        const bobSocket = yield* connect(bob.token)
        const carolSocket = yield* connect(carol.token)
        const aliceSocket = yield* connect(alice.token)
        yield* Effect.all([bobSocket.ready, carolSocket.ready, aliceSocket.ready])
        yield* joinRoom(aliceSocket, channel, alice.user.id)

        const quiet = yield* sendMessage(aliceSocket, channel, "hello channel, nobody mentioned")
        const loud = yield* sendMessage(aliceSocket, channel, `@${bob.user.username.toUpperCase()} look at this`)
        // Per-room order: once the second message's notification is here, the first was processed.
        const frame = yield* bobSocket.next(isNotification)
        expect(frame.notification).toMatchObject({ type: "mention", message_id: loud, body: `@${bob.user.username.toUpperCase()} look at this` })
        yield* Effect.sleep("300 millis")
        expect(notificationsIn(bobSocket)).toHaveLength(1)
        expect(notificationsIn(carolSocket)).toEqual([])
        expect((yield* listOf(carol)).notifications).toEqual([])
        const bobs = yield* listOf(bob)
        expect(bobs.notifications.map((n) => n.message_id)).toEqual([loud])
        expect(bobs.notifications.map((n) => n.message_id)).not.toContain(quiet)
      }))
  })

  describe("REST rules", () => {
    it.effect("pages newest first with a keyset cursor; limit defaults to 20 and is clamped to 100", () =>
      Effect.gen(function*() {
        const { session: dave } = yield* newUser("dave")
        const { session: erin } = yield* newUser("erin")
        const room = yield* createRoom(erin, "group", [dave])
        yield* seed(dave.user.id, room, 45)
        const seen: Array<NotificationJson> = []
        let query = "?limit=20"
        const sizes: Array<number> = []
        for (let i = 0; i < 10; i++) {
          const page = yield* listOf(dave, query)
          expect(page.unread_count).toBe(45)
          seen.push(...page.notifications)
          sizes.push(page.notifications.length)
          if (page.next_cursor === null) break
          query = `?limit=20&cursor=${page.next_cursor}`
        }
        expect(sizes).toEqual([20, 20, 5])
        expect(new Set(seen.map((n) => n.id)).size).toBe(45)
        expect(seen.map((n) => n.created_at)).toEqual([...seen.map((n) => n.created_at)].sort().reverse())
        expect((yield* listOf(dave)).notifications).toHaveLength(20)
        expect((yield* listOf(dave, "?limit=500")).notifications).toHaveLength(45)
        expect((yield* listOf(dave, "?limit=&cursor=&unread_only=")).notifications).toHaveLength(20)
        expectError(yield* get("/api/v1/notifications?limit=0", { bearer: dave.token }), 400, "bad_request")
        expectError(yield* get("/api/v1/notifications?limit=ten", { bearer: dave.token }), 400, "bad_request")
        expectError(yield* get("/api/v1/notifications?unread_only=maybe", { bearer: dave.token }), 400, "bad_request")
        const forged = expectError(yield* get("/api/v1/notifications?cursor=bm90LWEtY3Vyc29y", { bearer: dave.token }), 400, "bad_request")
        expect(forged.message).toMatch(/cursor/)
        expectError(yield* get("/api/v1/notifications?cursor=%24%24%24", { bearer: dave.token }), 400, "bad_request")
        // Someone else's list is their own.
        expect((yield* listOf(erin)).notifications).toEqual([])
      }))

    it.effect("read marks are owner-only; read-all counts; unread_only filters", () =>
      Effect.gen(function*() {
        const { session: frank } = yield* newUser("frank")
        const { session: grace } = yield* newUser("grace")
        const room = yield* createRoom(grace, "group", [frank])
        yield* seed(frank.user.id, room, 6)
        const [first, second] = (yield* listOf(frank)).notifications
        if (first === undefined || second === undefined) return

        expectError(yield* post(`/api/v1/notifications/${first.id}/read`, { bearer: grace.token }), 404, "not_found")
        expectError(yield* post(`/api/v1/notifications/${randomUUID()}/read`, { bearer: frank.token }), 404, "not_found")
        expectError(yield* post("/api/v1/notifications/not-a-uuid/read", { bearer: frank.token }), 400, "bad_request")
        expect(expectOk(yield* post(`/api/v1/notifications/${first.id}/read`, { bearer: frank.token }))).toEqual({ read: true })
        expect(expectOk(yield* post(`/api/v1/notifications/${first.id}/read`, { bearer: frank.token }))).toEqual({ read: true })

        const unread = yield* listOf(frank, "?unread_only=true")
        expect(unread.unread_count).toBe(5)
        expect(unread.notifications.map((n) => n.id)).not.toContain(first.id)
        expect(unread.notifications.every((n) => !n.read)).toBe(true)
        expect((yield* listOf(frank)).notifications.find((n) => n.id === first.id)?.read).toBe(true)

        expect(expectOk(yield* post("/api/v1/notifications/read-all", { bearer: grace.token }))).toEqual({ updated: 0 })
        expect(expectOk(yield* post("/api/v1/notifications/read-all", { bearer: frank.token }))).toEqual({ updated: 5 })
        expect(expectOk(yield* post("/api/v1/notifications/read-all", { bearer: frank.token }))).toEqual({ updated: 0 })
        const after = yield* listOf(frank, "?unread_only=true")
        expect(after).toEqual({ notifications: [], unread_count: 0, next_cursor: null })
      }))

    it.effect("authentication and methods", () =>
      Effect.gen(function*() {
        expectError(yield* get("/api/v1/notifications"), 401, "unauthorized")
        expectError(yield* post("/api/v1/notifications/read-all"), 401, "unauthorized")
        expectError(yield* post(`/api/v1/notifications/${randomUUID()}/read`), 401, "unauthorized")
        const { session } = yield* newUser("henry")
        expectError(yield* http("DELETE", "/api/v1/notifications", { bearer: session.token }), 405, "method_not_allowed")
        expectError(yield* post("/api/v1/notifications", { bearer: session.token }), 405, "method_not_allowed")
        expectError(yield* get("/api/v1/notifications/read-all", { bearer: session.token }), 405, "method_not_allowed")
      }))
  })
})

describe("UserSockets (per-user frames on one gateway node)", () => {
  const frame = (title: string) =>
    JSON.stringify({
      type: "notification",
      notification: {
        id: randomUUID(),
        type: "message",
        title,
        body: "b",
        room_id: randomUUID(),
        message_id: null,
        read: false,
        created_at: "2026-06-23T00:00:00.000Z"
      }
    })

  it.live("one bus subscription per local user, shared by their sockets, dropped with the last one", () =>
    Effect.gen(function*() {
      const broker = MemoryRealtimeBus.makeBroker()
      const context = yield* Layer.build(UserSockets.layer.pipe(Layer.provideMerge(MemoryRealtimeBus.layerWithBroker(broker))))
      const sockets = Context.get(context, UserSockets)
      const bus = Context.get(context, RealtimeBus)
      const user = UserId.make(randomUUID())
      const channel = userChannel(user)
      const phone: Array<string> = []
      const laptop: Array<string> = []
      const phoneScope = yield* Scope.make()
      const laptopScope = yield* Scope.make()
      yield* sockets.add(user, (json) => phone.push(json)).pipe(Scope.provide(phoneScope))
      yield* sockets.add(user, (json) => laptop.push(json)).pipe(Scope.provide(laptopScope))
      expect(broker.numsub(channel)).toBe(1)

      const first = frame("first")
      yield* bus.publish(channel, first)
      // Not a notification frame: dropped, not forwarded.
      yield* bus.publish(channel, JSON.stringify({ type: "message" }))
      yield* bus.publish(userChannel(randomUUID()), frame("someone else's"))
      yield* Effect.sleep("50 millis")
      expect(phone).toEqual([first])
      expect(laptop).toEqual([first])

      yield* Scope.close(phoneScope, Exit.void)
      expect(broker.numsub(channel)).toBe(1)
      const second = frame("second")
      yield* bus.publish(channel, second)
      yield* Effect.sleep("50 millis")
      expect(phone).toEqual([first])
      expect(laptop).toEqual([first, second])

      yield* Scope.close(laptopScope, Exit.void)
      expect(broker.numsub(channel)).toBe(0)
    }))
})
