/**
 * Notifications in embedded mode (`pylon dev`): PGlite (a temporary data directory), the outbox
 * relay and the notification consumer sharing ONE `MemoryEventBus` (as DevMode.ts wires them),
 * the in-memory realtime bus for live delivery, and the RPCs answered in process. The same consumer
 * code as on Kafka: sends become notifications, a stopped consumer catches up from its committed
 * offset without duplicates, and a poison event lands on the bus's dead-letter topic.
 */
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { expect, layer } from "@effect/vitest"
import { Context, Duration, Effect, Exit, Layer, Schema, Scope, Stream } from "effect"
import type { RpcClient, RpcClientError } from "effect/rpc"
import { EVENT_TYPE_HEADER, MESSAGE_EVENTS_TOPIC } from "@pylon/contracts/Events"
import type { RoomId } from "@pylon/contracts/Ids"
import { NotificationRpcs } from "@pylon/contracts/NotificationRpcs"
import { NotificationFrame } from "@pylon/contracts/WsFrames"
import { embeddedDatabaseLayer } from "@pylon/platform/sql/EmbeddedPostgres"
import { EventPublisher } from "@pylon/platform/events/EventPublisher"
import { inProcessClientLayer } from "@pylon/platform/rpc/InternalRpc"
import { MemoryEventBus } from "@pylon/platform/events/MemoryEventBus"
import * as MemoryRealtimeBus from "@pylon/platform/bus/MemoryRealtimeBus"
import { migrationsLayer } from "@pylon/platform/sql/Migrations"
import { RealtimeBus } from "@pylon/platform/bus/RealtimeBus"
import { userChannel } from "@pylon/platform/bus/Channels"
import { ChatService } from "@pylon/chat-service/ChatService"
import { ChatServiceLive } from "@pylon/chat-service/ChatServiceApp"
import { OutboxRelay } from "@pylon/chat-service/outbox/OutboxRelay"
import * as MemoryEventConsumer from "../src/MemoryEventConsumer.ts"
import { notificationSettings } from "../src/NotificationConfig.ts"
import { startNotificationConsumer as startConsumer } from "../src/NotificationConsumer.ts"
import { NotificationHandlersLive } from "../src/NotificationHandlers.ts"
import { NotificationServiceLive } from "../src/NotificationServiceApp.ts"
import { eventually } from "./support/Eventually.ts"
import type { TestUser } from "./support/NotificationFixtures.ts"
import { createRoom, createUser, notificationsOf } from "./support/NotificationFixtures.ts"

class Notifications extends Context.Service<
  Notifications,
  RpcClient.FromGroup<typeof NotificationRpcs, RpcClientError.RpcClientError>
>()("pylon/notification/test/EmbeddedNotifications") {}

const Database = Layer.unwrap(Effect.gen(function*() {
  const dataDir = yield* Effect.acquireRelease(
    Effect.promise(() => mkdtemp(join(tmpdir(), "pylon-notification-pglite-"))),
    (directory) => Effect.promise(() => rm(directory, { recursive: true, force: true }))
  )
  return migrationsLayer().pipe(Layer.provideMerge(embeddedDatabaseLayer({ dataDir })))
}))

const TestLive = Layer.mergeAll(
  inProcessClientLayer(Notifications, NotificationRpcs).pipe(Layer.provide(NotificationHandlersLive)),
  ChatServiceLive,
  MemoryEventConsumer.layer,
  OutboxRelay.layerWith({ pollInterval: Duration.millis(20) })
).pipe(
  Layer.provideMerge(NotificationServiceLive),
  Layer.provideMerge(Layer.mergeAll(MemoryEventBus.layer, MemoryRealtimeBus.layer)),
  Layer.provideMerge(Database)
)

const settings = notificationSettings({ restartInitial: Duration.millis(50), lagInterval: Duration.millis(100) })

/** Runs the consumer in a scope of its own, so a test can stop it (as at shutdown) and go on. */
const runConsumer = Effect.gen(function*() {
  const scope = yield* Scope.fork(yield* Effect.scope)
  yield* startConsumer(settings).pipe(Scope.provide(scope))
  return { stop: Scope.close(scope, Exit.void) }
})

const sendAs = Effect.fnUntraced(function*(sender: TestUser, room: RoomId, content: string) {
  const chat = yield* ChatService
  const result = yield* chat.send({ user_id: sender.id, room_id: room, content, msg_type: "text", client_msg_id: null })
  return result.message.id
})

layer(TestLive, { excludeTestServices: true, timeout: "120 seconds" })("notifications in embedded mode", (it) => {
  it.effect("sends become notifications, listed by the RPCs (on PGlite) and announced live", () =>
    Effect.gen(function*() {
      const client = yield* Notifications
      const bus = yield* RealtimeBus
      const [alice, bob, carol] = yield* Effect.all([createUser("alice"), createUser("bob"), createUser("carol")])
      const group = yield* createRoom("group", alice, [bob, carol])
      const channel = yield* createRoom("channel", alice, [bob, carol])
      const frames: Array<NotificationFrame> = []
      const decode = Schema.decodeUnknownSync(Schema.fromJsonString(NotificationFrame))
      yield* Stream.runForEach(yield* bus.subscribe(userChannel(carol.id)), (event) =>
        Effect.sync(() => {
          if (event._tag === "Message") frames.push(decode(event.payload))
        })).pipe(Effect.forkScoped)
      yield* runConsumer

      const ids = [
        yield* sendAs(alice, group, "hello group"),
        yield* sendAs(alice, channel, "hello channel"),
        yield* sendAs(alice, channel, `hello @${carol.username}`)
      ]
      yield* eventually("3 notifications", notificationsOf(ids), (rows) => rows.length >= 3)
      const page = yield* client.GetNotifications({ user_id: carol.id, limit: 1, unread_only: false })
      expect(page.unread_count).toBe(2)
      expect(page.notifications.map((n) => [n.type, n.body])).toEqual([["mention", `hello @${carol.username}`]])
      expect(page.next_cursor).not.toBeNull()
      const rest = yield* client.GetNotifications({ user_id: carol.id, limit: 5, unread_only: false, cursor: page.next_cursor ?? "" })
      expect(rest.notifications.map((n) => [n.type, n.body])).toEqual([["message", "hello group"]])
      expect(rest.next_cursor).toBeNull()
      const bobs = yield* client.GetNotifications({ user_id: bob.id, limit: 5, unread_only: false })
      expect(bobs.notifications.map((n) => n.body)).toEqual(["hello group"])
      yield* eventually("carol's frames", Effect.sync(() => frames.length), (n) => n >= 2)
      expect(frames.map((f) => f.notification.type)).toEqual(["message", "mention"])
    }))

  it.effect("a stopped consumer catches up from its committed offset, nothing twice", () =>
    Effect.gen(function*() {
      const bus = yield* MemoryEventBus
      const [alice, bob] = yield* Effect.all([createUser("alice"), createUser("bob")])
      const room = yield* createRoom("group", alice, [bob])
      const { stop } = yield* runConsumer
      const before = yield* Effect.forEach([1, 2, 3], (i) => sendAs(alice, room, `before ${i}`))
      yield* eventually("first notifications", notificationsOf(before), (rows) => rows.length === 3)
      yield* stop
      const during = yield* Effect.forEach([1, 2, 3, 4], (i) => sendAs(alice, room, `while stopped ${i}`))
      yield* Effect.sleep("300 millis")
      expect(yield* notificationsOf(during)).toEqual([])
      expect(yield* bus.committedOffset(MESSAGE_EVENTS_TOPIC, settings.groupId)).toBeLessThan(
        (yield* bus.records(MESSAGE_EVENTS_TOPIC)).length
      )
      yield* runConsumer
      yield* eventually("caught up", notificationsOf(during), (rows) => rows.length === 4)
      yield* Effect.sleep("200 millis")
      expect((yield* notificationsOf([...before, ...during])).map((r) => r.user_id)).toEqual(Array(7).fill(bob.id))
      expect(yield* bus.committedOffset(MESSAGE_EVENTS_TOPIC, settings.groupId)).toBe(
        (yield* bus.records(MESSAGE_EVENTS_TOPIC)).length
      )
    }))

  it.effect("a poison event goes to the dead-letter topic on the bus; later events are processed", () =>
    Effect.gen(function*() {
      const bus = yield* MemoryEventBus
      const publisher = yield* EventPublisher
      const [alice, bob] = yield* Effect.all([createUser("alice"), createUser("bob")])
      const room = yield* createRoom("group", alice, [bob])
      yield* runConsumer
      yield* Effect.orDie(publisher.publish([{
        topic: MESSAGE_EVENTS_TOPIC,
        key: room,
        value: "[]",
        headers: { [EVENT_TYPE_HEADER]: "message_created" }
      }]))
      const after = yield* sendAs(alice, room, "after the poison")
      yield* eventually("later event processed", notificationsOf([after]), (rows) => rows.length === 1)
      const dead = yield* bus.records(settings.dlqTopic)
      expect(dead.map((r) => [r.key, r.value, r.headers["dlq_attempts"]])).toEqual([[room, "[]", "1"]])
      expect(dead[0]?.headers["dlq_reason"]).toMatch(/^undecodable event/)
    }))
})
