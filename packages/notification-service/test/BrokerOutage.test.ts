/**
 * The whole path from a send to its notifications while the Kafka broker is unreachable: the
 * chat service stores messages and outbox rows (fresh PostgreSQL database), the outbox relay
 * publishes them, the notification consumer stores notifications. Both Kafka clients (the
 * relay's producer and the consumer) reach the real broker only through a TcpProxy (every
 * connection, via `kafkaSocketFactory`), so `block()` cuts them off without stopping the shared
 * broker. The relay's `message-events` records are redirected to a topic of this file's own.
 *
 * During the outage sends keep succeeding and no notification appears; once the proxy forwards
 * again, every message sent yields exactly its notifications: none lost, none twice.
 */
import { randomUUID } from "node:crypto"
import { expect, layer } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import { Kafka, logLevel } from "kafkajs"
import { MESSAGE_EVENTS_TOPIC } from "@pylon/contracts/Events"
import type { MessageId, RoomId } from "@pylon/contracts/Ids"
import { EventPublisher } from "@pylon/platform/events/EventPublisher"
import { KafkaClient, KafkaProducer } from "@pylon/platform/kafka/Kafka"
import * as KafkaEventPublisher from "@pylon/platform/events/KafkaEventPublisher"
import * as MemoryRealtimeBus from "@pylon/platform/bus/MemoryRealtimeBus"
import { ChatService } from "@pylon/chat-service/ChatService"
import { ChatServiceLive } from "@pylon/chat-service/ChatServiceApp"
import { OutboxRelay } from "@pylon/chat-service/outbox/OutboxRelay"
import { kafkaSocketFactory, startTcpProxy } from "@pylon/testkit/TcpProxy"
import { TestDatabase } from "@pylon/testkit/TestDatabase"
import * as KafkaEventConsumer from "../src/KafkaEventConsumer.ts"
import { notificationSettings } from "../src/NotificationConfig.ts"
import { startNotificationConsumer as startConsumer } from "../src/NotificationConsumer.ts"
import { NotificationServiceLive } from "../src/NotificationServiceApp.ts"
import { eventually } from "./support/Eventually.ts"
import { freshTopic, kafkaBrokers } from "./support/KafkaTopics.ts"
import type { TestUser } from "./support/NotificationFixtures.ts"
import { allNotifications, createRoom, createUser, notificationsOf } from "./support/NotificationFixtures.ts"

const run = randomUUID().slice(0, 8)

const TestLive = Layer.mergeAll(ChatServiceLive, NotificationServiceLive).pipe(
  Layer.provideMerge(MemoryRealtimeBus.layer),
  Layer.provideMerge(TestDatabase)
)

/** An admin client straight to the broker (topics are created and deleted outside the proxy). */
const directAdmin = Effect.acquireRelease(
  Effect.promise(async () => {
    const admin = new Kafka({ clientId: `pylon-test-outage-admin-${run}`, brokers: kafkaBrokers(), logLevel: logLevel.NOTHING }).admin()
    await admin.connect()
    return admin
  }),
  (admin) => Effect.promise(() => admin.disconnect())
)

/** The relay's `message-events` go to `topic` instead, through `inner`. */
const redirectedPublisher = (topic: string) =>
  Layer.effect(
    EventPublisher,
    EventPublisher.useSync((inner) =>
      EventPublisher.of({
        publish: (records) => inner.publish(records.map((r) => (r.topic === MESSAGE_EVENTS_TOPIC ? { ...r, topic } : r)))
      })
    )
  ).pipe(Layer.provide(KafkaEventPublisher.layer), Layer.provide(KafkaProducer.layer))

interface Sent {
  readonly messageId: MessageId
  readonly recipients: ReadonlyArray<string>
}

layer(TestLive, { excludeTestServices: true, timeout: "180 seconds" })("Kafka unreachable during a burst of sends", (it) => {
  it.effect("every message sent yields its notifications exactly once after the broker is back", () =>
    Effect.gen(function*() {
      const chat = yield* ChatService
      const admin = yield* directAdmin
      const topic = yield* freshTopic(admin, "outage", 2)
      const dlq = yield* freshTopic(admin, "outage-dlq")
      const [host, port] = (kafkaBrokers()[0] ?? "127.0.0.1:9092").split(":")
      const proxy = yield* startTcpProxy(host ?? "127.0.0.1", Number(port ?? 9092))
      const viaProxy = new Kafka({
        clientId: `pylon-test-outage-${run}`,
        brokers: [`${proxy.host}:${proxy.port}`],
        socketFactory: kafkaSocketFactory(proxy),
        connectionTimeout: 1_000,
        retry: { retries: 2, initialRetryTime: 100 },
        logLevel: logLevel.NOTHING
      })
      const settings = notificationSettings({
        topic,
        groupId: `pylon-test-outage-${run}`,
        dlqTopic: dlq,
        restartInitial: Duration.millis(100),
        restartMax: Duration.seconds(1),
        lagInterval: Duration.millis(500)
      })
      yield* Layer.build(
        Layer.mergeAll(
          OutboxRelay.layerWith({
            pollInterval: Duration.millis(50),
            batchSize: 25,
            retryInitial: Duration.millis(100),
            retryMax: Duration.millis(500),
            publishTimeout: Duration.seconds(5)
          }),
          Layer.effectDiscard(startConsumer(settings))
        ).pipe(
          Layer.provide([
            redirectedPublisher(topic),
            KafkaEventConsumer.layerWith({ sessionTimeout: "6 seconds", heartbeatInterval: "500 millis", maxWaitTime: "200 millis" })
          ]),
          Layer.provide(Layer.succeed(KafkaClient, viaProxy))
        )
      )

      const [alice, bob, carol, dave] = yield* Effect.all([createUser("alice"), createUser("bob"), createUser("carol"), createUser("dave")])
      const group = yield* createRoom("group", alice, [bob, carol])
      const channel = yield* createRoom("channel", alice, [bob, carol, dave])
      const send = (room: RoomId, content: string, recipients: ReadonlyArray<TestUser>) =>
        chat.send({ user_id: alice.id, room_id: room, content, msg_type: "text", client_msg_id: null }).pipe(
          Effect.map((result): Sent => ({ messageId: result.message.id, recipients: recipients.map((u) => u.id) }))
        )
      const expectExactly = (sent: ReadonlyArray<Sent>) =>
        Effect.gen(function*() {
          const rows = yield* notificationsOf(sent.map((s) => s.messageId))
          const actual = rows.map((r) => `${r.message_id} ${r.user_id}`).sort()
          const expected = sent.flatMap((s) => s.recipients.map((u) => `${s.messageId} ${u}`)).sort()
          expect(actual).toEqual(expected)
        })

      // Warm-up: the whole path works while the broker is reachable.
      const warmUp = yield* send(group, "before the outage", [bob, carol])
      yield* eventually("warm-up notifications", notificationsOf([warmUp.messageId]), (rows) => rows.length === 2, "60 seconds")
      const beforeOutage = (yield* allNotifications).length

      yield* proxy.block()
      const burst: Array<Sent> = []
      for (let i = 0; i < 30; i++) {
        const started = Date.now()
        burst.push(
          i % 3 === 0
            ? yield* send(group, `group message ${i}`, [bob, carol])
            : i % 3 === 1
            ? yield* send(channel, `@${dave.username} channel mention ${i}`, [dave])
            : yield* send(channel, `channel message ${i} without mentions`, [])
        )
        // Sends never wait for Kafka.
        expect(Date.now() - started).toBeLessThan(1_000)
      }
      yield* Effect.sleep("3 seconds")
      // Nothing got through while the broker was cut off.
      expect((yield* allNotifications).length).toBe(beforeOutage)

      yield* proxy.unblock
      const expectedRows = burst.reduce((sum, s) => sum + s.recipients.length, 0)
      yield* eventually(
        "every notification of the burst",
        notificationsOf(burst.map((s) => s.messageId)),
        (rows) => rows.length >= expectedRows,
        "90 seconds"
      )
      yield* Effect.sleep("1500 millis")
      yield* expectExactly([warmUp, ...burst])
      expect((yield* allNotifications).length).toBe(beforeOutage + expectedRows)
      const [dlqEnd] = yield* Effect.promise(() => admin.fetchTopicOffsets(dlq))
      expect(dlqEnd?.high).toBe("0")
    }))
})
