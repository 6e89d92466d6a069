/**
 * The notification consumer on the real Kafka broker (KAFKA_BROKERS) and a fresh PostgreSQL
 * database (TestDatabase). Every test publishes `message_created` records (as the outbox relay
 * does) to a topic of its own and runs the consumer in a group of its own, so nothing here
 * touches `message-events`. Live announcements are read from an in-memory realtime bus; a wrapper
 * around `NotificationService` records the span each event is processed in and can simulate a
 * database outage.
 */
import { randomBytes, randomUUID } from "node:crypto"
import { describe, expect, layer } from "@effect/vitest"
import { Context, Duration, Effect, Layer, Option, Schema, Stream } from "effect"
import { Unavailable } from "@pylon/contracts/Errors"
import { EVENT_TYPE_HEADER } from "@pylon/contracts/Events"
import { NotificationFrame } from "@pylon/contracts/WsFrames"
import { PrometheusMetrics } from "effect/observability"
import { EventPublisher } from "@pylon/platform/events/EventPublisher"
import { KafkaAdmin, KafkaClient, KafkaProducer } from "@pylon/platform/kafka/Kafka"
import * as KafkaEventPublisher from "@pylon/platform/events/KafkaEventPublisher"
import * as MemoryRealtimeBus from "@pylon/platform/bus/MemoryRealtimeBus"
import { RealtimeBus } from "@pylon/platform/bus/RealtimeBus"
import { userChannel } from "@pylon/platform/bus/Channels"
import { TestDatabase } from "@pylon/testkit/TestDatabase"
import * as KafkaEventConsumer from "../src/KafkaEventConsumer.ts"
import { notificationSettings } from "../src/NotificationConfig.ts"
import type { NotificationSettings } from "../src/NotificationConfig.ts"
import { startNotificationConsumer as startConsumer } from "../src/NotificationConsumer.ts"
import { NotificationService } from "../src/NotificationService.ts"
import { NotificationServiceLive } from "../src/NotificationServiceApp.ts"
import { eventually } from "./support/Eventually.ts"
import { freshTopic, kafkaBrokers, readTopic } from "./support/KafkaTopics.ts"
import type { TestUser } from "./support/NotificationFixtures.ts"
import { allNotifications, createRoom, createUser, eventRecord, messageEvent, notificationsOf } from "./support/NotificationFixtures.ts"

const run = randomUUID().slice(0, 8)

interface ProcessedIn {
  readonly eventId: string
  readonly spanName: string
  readonly traceId: string
  readonly parentSpanId: string | undefined
}

/** What the wrapped `NotificationService` saw, and a switch to make it fail as if the database were down. */
class Probe extends Context.Service<Probe, {
  readonly processed: Array<ProcessedIn>
  /** The next this many `notifyMessage` calls fail with `Unavailable`. */
  readonly outage: { calls: number }
}>()("pylon/notification/test/Probe") {}

const ProbedNotificationService = Layer.effect(
  NotificationService,
  Effect.gen(function*() {
    const real = yield* NotificationService
    const probe = yield* Probe
    return NotificationService.of({
      ...real,
      notifyMessage: (event) =>
        Effect.gen(function*() {
          const span = yield* Effect.currentSpan.pipe(Effect.orDie)
          probe.processed.push({
            eventId: event.event_id,
            spanName: span.name,
            traceId: span.traceId,
            parentSpanId: Option.getOrUndefined(Option.map(span.parent, (parent) => parent.spanId))
          })
          if (probe.outage.calls > 0) {
            probe.outage.calls--
            return yield* new Unavailable({ message: "database unavailable (simulated)" })
          }
          return yield* real.notifyMessage(event)
        })
    })
  })
).pipe(Layer.provide(NotificationServiceLive))

const kafkaClient = KafkaClient.layerWith({ brokers: kafkaBrokers(), clientId: `pylon-test-notif-${run}` })

const TestLive = Layer.mergeAll(
  ProbedNotificationService,
  KafkaEventConsumer.layerWith({ sessionTimeout: "6 seconds", heartbeatInterval: "500 millis", maxWaitTime: "200 millis" }),
  KafkaEventPublisher.layer.pipe(Layer.provide(KafkaProducer.layer)),
  KafkaAdmin.layer
).pipe(
  Layer.provideMerge(Layer.sync(Probe, () => ({ processed: [], outage: { calls: 0 } }))),
  Layer.provideMerge(kafkaClient),
  Layer.provideMerge(MemoryRealtimeBus.layer),
  Layer.provideMerge(TestDatabase)
)

/** A fresh topic and group, and the consumer on them (fast retries and restarts), in the test's scope. */
const consumerOn = (label: string, overrides: Partial<NotificationSettings> = {}) =>
  Effect.gen(function*() {
    const admin = yield* KafkaAdmin
    const topic = yield* freshTopic(admin, label, 2)
    const settings = notificationSettings({
      topic,
      groupId: `pylon-test-notif-${label}-${randomUUID().slice(0, 8)}`,
      retryInitial: Duration.millis(20),
      retryMax: Duration.millis(100),
      restartInitial: Duration.millis(100),
      restartMax: Duration.seconds(1),
      lagInterval: Duration.millis(200),
      ...overrides
    })
    yield* startConsumer(settings)
    return settings
  })

/** Collects the frames announced on users' channels. */
const listen = (users: ReadonlyArray<TestUser>) =>
  Effect.gen(function*() {
    const bus = yield* RealtimeBus
    const frames = new Map<string, Array<NotificationFrame>>()
    const decode = Schema.decodeUnknownSync(Schema.fromJsonString(NotificationFrame))
    for (const user of users) {
      const list: Array<NotificationFrame> = []
      frames.set(user.id, list)
      const stream = yield* bus.subscribe(userChannel(user.id))
      yield* Stream.runForEach(stream, (event) =>
        Effect.sync(() => {
          if (event._tag === "Message") list.push(decode(event.payload))
        })).pipe(Effect.forkScoped)
    }
    return (user: TestUser) => frames.get(user.id) ?? []
  })

const publish = Effect.fnUntraced(function*(records: Parameters<EventPublisher["Service"]["publish"]>[0]) {
  const publisher = yield* EventPublisher
  yield* Effect.orDie(publisher.publish(records))
})

const metricLine = (name: string, settings: NotificationSettings) =>
  Effect.map(PrometheusMetrics.format(), (text) =>
    text.split("\n").find((line) =>
      line.startsWith(`${name}{`) && line.includes(`topic="${settings.topic}"`) &&
      line.includes(`consumer_group="${settings.groupId}"`)
    ))

const metricValue = (name: string, settings: NotificationSettings) =>
  Effect.map(metricLine(name, settings), (line) => (line === undefined ? undefined : Number(line.split(" ").pop())))

const traceparent = () => {
  const traceId = randomBytes(16).toString("hex")
  const spanId = randomBytes(8).toString("hex")
  return { traceId, spanId, header: `00-${traceId}-${spanId}-01` }
}

layer(TestLive, { excludeTestServices: true, timeout: "120 seconds" })("NotificationConsumer on Kafka", (it) => {
  describe("who is notified", () => {
    it.effect("group: every member but the sender; channel: only mentions; stored once, announced once, traced", () =>
      Effect.gen(function*() {
        const [alice, bob, carol, dave] = yield* Effect.all([createUser("alice"), createUser("bob"), createUser("carol"), createUser("dave")])
        const group = yield* createRoom("group", alice, [bob, carol])
        const channel = yield* createRoom("channel", alice, [bob, carol, dave])
        const framesOf = yield* listen([alice, bob, carol, dave])
        const settings = yield* consumerOn("who")

        const trace = traceparent()
        const hello = yield* messageEvent(group, alice, "hello team")
        const quiet = yield* messageEvent(channel, alice, "nobody is mentioned here", 1)
        const loud = yield* messageEvent(channel, alice, `hey @${carol.username} and @${dave.username.toUpperCase()}.`, 2)
        yield* publish([
          eventRecord(settings.topic, hello, { traceparent: trace.header }),
          eventRecord(settings.topic, quiet),
          eventRecord(settings.topic, loud)
        ])

        const ids = [hello, quiet, loud].map((e) => e.data.message_id)
        const rows = yield* eventually("4 notifications", notificationsOf(ids), (r) => r.length >= 4)
        yield* Effect.sleep("500 millis")
        const settled = yield* notificationsOf(ids)
        expect(settled).toHaveLength(4)
        const summary = settled.map((r) => [r.message_id, r.user_id, r.type]).sort()
        expect(summary).toEqual([
          [hello.data.message_id, bob.id, "message"],
          [hello.data.message_id, carol.id, "message"],
          [loud.data.message_id, carol.id, "mention"],
          [loud.data.message_id, dave.id, "mention"]
        ].sort())
        for (const row of rows) {
          const event = row.message_id === hello.data.message_id ? hello : loud
          expect(row.event_id).toBe(event.event_id)
          expect(row.body).toBe(event.data.content)
        }
        expect(settled.find((r) => r.message_id === loud.data.message_id)?.title).toBe(`${alice.username} mentioned you in channel room`)

        // Live: each new notification announced once on its recipient's channel.
        yield* eventually("frames", Effect.sync(() => framesOf(carol).length), (n) => n >= 2)
        expect(framesOf(alice)).toEqual([])
        expect(framesOf(bob).map((f) => [f.notification.message_id, f.notification.type, f.notification.read])).toEqual([
          [hello.data.message_id, "message", false]
        ])
        // Different rooms are different keys, so no order between them.
        expect(framesOf(carol).map((f) => f.notification.type).sort()).toEqual(["mention", "message"])
        expect(framesOf(dave).map((f) => f.notification.title)).toEqual([`${alice.username} mentioned you in channel room`])

        // One trace: the processing span is the Kafka consumer span, a child of the record's traceparent.
        const probe = yield* Probe
        const seen = probe.processed.find((p) => p.eventId === hello.event_id)
        expect(seen).toEqual({
          eventId: hello.event_id,
          spanName: `kafka.consume ${settings.topic}`,
          traceId: trace.traceId,
          parentSpanId: trace.spanId
        })

        yield* eventually("consumed metric", metricValue("pylon_kafka_messages_consumed_total", settings), (v) => v === 3)
        expect(yield* metricLine("pylon_kafka_message_processing_seconds_count", settings)).toMatch(/ 3$/)
        yield* eventually("lag 0", metricValue("pylon_kafka_consumer_lag", settings), (v) => v === 0)
      }))

    it.effect("a redelivered event (and a replay by another group) stores and announces nothing twice", () =>
      Effect.gen(function*() {
        const [alice, bob] = yield* Effect.all([createUser("alice"), createUser("bob")])
        const direct = yield* createRoom("direct", alice, [bob])
        const framesOf = yield* listen([bob])
        const settings = yield* consumerOn("dedupe")
        const event = yield* messageEvent(direct, alice, "once only")
        yield* publish([eventRecord(settings.topic, event), eventRecord(settings.topic, event)])
        yield* eventually("consumed twice", metricValue("pylon_kafka_messages_consumed_total", settings), (v) => v === 2)
        // A second group reading the whole topic again: the same events, nothing new.
        const replay = yield* startConsumer({ ...settings, groupId: `${settings.groupId}-replay` }).pipe(Effect.as(`${settings.groupId}-replay`))
        yield* eventually(
          "replayed",
          metricValue("pylon_kafka_messages_consumed_total", { ...settings, groupId: replay }),
          (v) => v === 2
        )
        const rows = yield* notificationsOf([event.data.message_id])
        expect(rows.map((r) => [r.user_id, r.type, r.title])).toEqual([[bob.id, "message", `New message from ${alice.username}`]])
        expect(framesOf(bob)).toHaveLength(1)
      }))
  })

  describe("poison events and failures", () => {
    it.effect("undecodable and unprocessable events go to the DLQ with the reason; later events are still processed", () =>
      Effect.gen(function*() {
        const kafka = yield* KafkaClient
        const admin = yield* KafkaAdmin
        const [alice, bob] = yield* Effect.all([createUser("alice"), createUser("bob")])
        const group = yield* createRoom("group", alice, [bob])
        const dlq = yield* freshTopic(admin, "dlq")
        const settings = yield* consumerOn("poison", { dlqTopic: dlq, maxAttempts: 3 })

        const before = yield* messageEvent(group, alice, "before the poison", 1)
        // Decodes, but its title breaks the table's length check: processing dies every time.
        const unstorable = yield* messageEvent(group, { ...alice, username: "x".repeat(2_000) }, "cannot be stored", 2)
        const after = yield* messageEvent(group, alice, "after the poison", 3)
        yield* publish([
          eventRecord(settings.topic, before),
          { topic: settings.topic, key: group, value: "{not json", headers: { [EVENT_TYPE_HEADER]: "message_created", "x-origin": "test" } },
          eventRecord(settings.topic, unstorable),
          { topic: settings.topic, key: group, value: JSON.stringify({ event_type: "message_created", version: 1 }), headers: {} },
          eventRecord(settings.topic, after)
        ])

        yield* eventually(
          "both good events stored",
          notificationsOf([before.data.message_id, after.data.message_id]),
          (rows) => rows.length === 2
        )
        const dead = yield* readTopic(kafka, dlq, 3)
        expect(dead).toHaveLength(3)
        const [garbage, unstored, incomplete] = dead
        expect(garbage?.value).toBe("{not json")
        expect(garbage?.key).toBe(group)
        expect(garbage?.headers).toMatchObject({
          "x-origin": "test",
          [EVENT_TYPE_HEADER]: "message_created",
          dlq_source_topic: settings.topic,
          dlq_consumer_group: settings.groupId,
          dlq_attempts: "1"
        })
        expect(garbage?.headers["dlq_reason"]).toMatch(/^undecodable event/)
        expect(garbage?.headers["dlq_failed_at"]).toMatch(/^\d{4}-\d{2}-\d{2}T/)
        expect(unstored?.headers).toMatchObject({ dlq_attempts: "3" })
        expect(unstored?.headers["dlq_reason"]).toMatch(/notifications_title_length|check/i)
        expect(unstored?.value).toBe(eventRecord(settings.topic, unstorable).value)
        expect(incomplete?.headers["dlq_reason"]).toMatch(/^undecodable event/)
        for (const record of dead) expect(Number(record.headers["dlq_source_offset"])).toBeGreaterThanOrEqual(0)

        expect(yield* notificationsOf([unstorable.data.message_id])).toEqual([])
        yield* eventually("dlq metric", metricValue("pylon_kafka_dlq_messages_total", settings), (v) => v === 3)
        expect(yield* metricValue("pylon_kafka_consumer_retries_total", settings)).toBe(2)
        yield* eventually("consumed metric", metricValue("pylon_kafka_messages_consumed_total", settings), (v) => v === 5)
        yield* eventually("lag 0", metricValue("pylon_kafka_consumer_lag", settings), (v) => v === 0)
      }))

    it.effect("a database outage restarts the session with backoff and dead-letters nothing", () =>
      Effect.gen(function*() {
        const admin = yield* KafkaAdmin
        const probe = yield* Probe
        const [alice, bob] = yield* Effect.all([createUser("alice"), createUser("bob")])
        const group = yield* createRoom("group", alice, [bob])
        const dlq = yield* freshTopic(admin, "outage-dlq")
        const events = yield* Effect.forEach([1, 2, 3], (seq) => messageEvent(group, alice, `message ${seq}`, seq))
        probe.outage.calls = 4
        const settings = yield* consumerOn("outage", { dlqTopic: dlq, maxAttempts: 2 })
        yield* publish(events.map((e) => eventRecord(settings.topic, e)))
        const ids = events.map((e) => e.data.message_id)
        yield* eventually("all stored", notificationsOf(ids), (rows) => rows.length === 3)
        expect(probe.outage.calls).toBe(0)
        expect(yield* metricValue("pylon_kafka_consumer_restarts_total", settings)).toBe(4)
        expect(yield* metricValue("pylon_kafka_dlq_messages_total", settings)).toBe(0)
        const [dlqEnd] = yield* Effect.promise(() => admin.fetchTopicOffsets(dlq))
        expect(dlqEnd?.high).toBe("0")
      }))

    it.effect("records of other event types are ignored and committed", () =>
      Effect.gen(function*() {
        const [alice, bob] = yield* Effect.all([createUser("alice"), createUser("bob")])
        const group = yield* createRoom("group", alice, [bob])
        const settings = yield* consumerOn("other-types")
        const event = yield* messageEvent(group, alice, "deleted later")
        const before = (yield* allNotifications).length
        yield* publish([{ ...eventRecord(settings.topic, event), headers: { [EVENT_TYPE_HEADER]: "message_deleted" } }])
        yield* eventually("consumed", metricValue("pylon_kafka_messages_consumed_total", settings), (v) => v === 1)
        yield* eventually("lag 0", metricValue("pylon_kafka_consumer_lag", settings), (v) => v === 0)
        expect((yield* allNotifications).length).toBe(before)
        expect(yield* metricValue("pylon_kafka_dlq_messages_total", settings)).toBe(0)
      }))
  })
})
