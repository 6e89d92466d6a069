/**
 * The notification consumer through a real PostgreSQL outage (issue #13 item 8): the service's
 * SQL client reaches the test database only through a TcpProxy, which the test cuts. While it is
 * cut, consumed events cannot be stored; the consumer session restarts with backoff, nothing is
 * dead-lettered and no offset is committed past an unstored event. Once the proxy forwards again,
 * every event is stored exactly once. (NotificationConsumer.test.ts has the simulated twin.)
 */
import { randomUUID } from "node:crypto"
import { expect, layer } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import { PrometheusMetrics } from "effect/observability"
import { EventPublisher } from "@pylon/platform/events/EventPublisher"
import { KafkaAdmin, KafkaClient, KafkaProducer } from "@pylon/platform/kafka/Kafka"
import * as KafkaEventPublisher from "@pylon/platform/events/KafkaEventPublisher"
import * as MemoryRealtimeBus from "@pylon/platform/bus/MemoryRealtimeBus"
import { DatabaseProxy, ProxiedDatabase } from "@pylon/testkit/ProxiedDatabase"
import { TestDatabase } from "@pylon/testkit/TestDatabase"
import * as KafkaEventConsumer from "../src/KafkaEventConsumer.ts"
import { notificationSettings } from "../src/NotificationConfig.ts"
import { startNotificationConsumer } from "../src/NotificationConsumer.ts"
import { NotificationServiceLive } from "../src/NotificationServiceApp.ts"
import { eventually } from "./support/Eventually.ts"
import { freshTopic, kafkaBrokers } from "./support/KafkaTopics.ts"
import { createRoom, createUser, eventRecord, messageEvent, notificationsOf } from "./support/NotificationFixtures.ts"

const run = randomUUID().slice(0, 8)

/** The notification service on the proxied client; fixtures and assertions use the direct one. */
const TestLive = Layer.mergeAll(
  KafkaEventConsumer.layerWith({ sessionTimeout: "6 seconds", heartbeatInterval: "500 millis", maxWaitTime: "200 millis" }),
  KafkaEventPublisher.layer.pipe(Layer.provide(KafkaProducer.layer)),
  KafkaAdmin.layer,
  NotificationServiceLive.pipe(Layer.provide(ProxiedDatabase)),
  // The same (memoized) proxy, for the test to cut; not its SQL client.
  Layer.effect(DatabaseProxy, Effect.service(DatabaseProxy)).pipe(Layer.provide(ProxiedDatabase))
).pipe(
  Layer.provideMerge(MemoryRealtimeBus.layer),
  Layer.provideMerge(KafkaClient.layerWith({ brokers: kafkaBrokers(), clientId: `pylon-test-dbout-${run}` })),
  Layer.provideMerge(TestDatabase)
)

const metricValue = (name: string, topic: string) =>
  Effect.map(PrometheusMetrics.format(), (text) => {
    const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && l.includes(`topic="${topic}"`))
    return line === undefined ? 0 : Number(line.split(" ").pop())
  })

layer(TestLive, { excludeTestServices: true, timeout: "120 seconds" })("NotificationConsumer during a real database outage", (it) => {
  it.effect("restarts with backoff while PostgreSQL is unreachable, dead-letters nothing, stores everything once after", () =>
    Effect.gen(function*() {
      const admin = yield* KafkaAdmin
      const proxy = yield* DatabaseProxy
      const [alice, bob] = yield* Effect.all([createUser("alice"), createUser("bob")])
      const room = yield* createRoom("group", alice, [bob])
      const events = yield* Effect.forEach([1, 2, 3], (seq) => messageEvent(room, alice, `message ${seq}`, seq))
      const topic = yield* freshTopic(admin, "db-outage", 2)
      const dlq = yield* freshTopic(admin, "db-outage-dlq")
      const settings = notificationSettings({
        topic,
        dlqTopic: dlq,
        maxAttempts: 2,
        groupId: `pylon-test-dbout-${randomUUID().slice(0, 8)}`,
        retryInitial: Duration.millis(20),
        retryMax: Duration.millis(100),
        restartInitial: Duration.millis(100),
        restartMax: Duration.seconds(1),
        lagInterval: Duration.millis(200)
      })

      yield* proxy.block("refuse")
      yield* startNotificationConsumer(settings)
      const publisher = yield* EventPublisher
      yield* Effect.orDie(publisher.publish(events.map((e) => eventRecord(topic, e))))
      // The consumer meets the outage: its session restarts (more than once), nothing is stored.
      yield* eventually("restarts", metricValue("pylon_kafka_consumer_restarts_total", topic), (n) => n >= 2, 60_000)
      const ids = events.map((e) => e.data.message_id)
      expect(yield* notificationsOf(ids)).toEqual([])

      yield* proxy.unblock
      yield* eventually("all stored", notificationsOf(ids), (rows) => rows.length === 3, 60_000)
      expect(yield* metricValue("pylon_kafka_dlq_messages_total", topic)).toBe(0)
      const [dlqEnd] = yield* Effect.promise(() => admin.fetchTopicOffsets(dlq))
      expect(dlqEnd?.high).toBe("0")
      expect(yield* proxy.accepted).toBeGreaterThan(0)
    }))
})
