/**
 * The outbox relay against a real PostgreSQL (a fresh migrated database, TestDatabase) and the
 * real Kafka broker (KAFKA_BROKERS). Outbox rows are inserted with plain SQL, the way the send
 * transaction writes them (realistic `message_created` payloads); every test uses a topic of its
 * own (the relay takes the topic from the row) and reads it back with a kafkajs consumer in a new
 * group, counting records by `event_id`.
 *
 * How "Kafka is down" is simulated: a TcpProxy (@pylon/testkit/TcpProxy) in front of
 * the shared broker, and a kafkajs client whose `socketFactory` dials the proxy for every broker
 * address. A proxy given only as the seed broker is not enough: kafkajs connects to the
 * advertised listener (127.0.0.1:9092) after its first metadata response and bypasses it
 * (checked: with the proxy blocked, such a producer kept sending). Through the socket factory,
 * `block()` cuts the producer off completely (sends fail with ECONNRESET, or hang with "hang"),
 * `unblock()` restores it, and the same producer recovers; the shared broker is never stopped.
 */
import { randomUUID } from "node:crypto"
import { describe, expect, it, layer } from "@effect/vitest"
import { Context, DateTime, Duration, Effect, Exit, Layer, Metric, Option, Schema, Scope, Tracer } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import { Kafka, logLevel } from "kafkajs"
import { decodeMessageCreatedEvent, encodeMessageCreatedEvent, MessageCreatedEvent } from "@pylon/contracts/Events"
import { EventId, MessageId, RoomId, UserId } from "@pylon/contracts/Ids"
import { EventPublisher } from "@pylon/platform/events/EventPublisher"
import type { EventRecord } from "@pylon/platform/events/EventPublisher"
import { KafkaAdmin, KafkaClient, KafkaProducer } from "@pylon/platform/kafka/Kafka"
import * as KafkaEventPublisher from "@pylon/platform/events/KafkaEventPublisher"
import { EventLogReader, kafkaEventLogReader } from "@pylon/testkit/EventPublisherContract"
import type { ReadRecord } from "@pylon/testkit/EventPublisherContract"
import { TestDatabase } from "@pylon/testkit/TestDatabase"
import { kafkaSocketFactory, startTcpProxy } from "@pylon/testkit/TcpProxy"
import { OutboxRelay } from "../src/outbox/OutboxRelay.ts"
import type { OutboxRelaySettings } from "../src/outbox/OutboxRelayConfig.ts"

const run = randomUUID().slice(0, 8)
const brokersEnv = process.env["KAFKA_BROKERS"]

/** Fast settings for tests: short polls and backoff, small batches. */
const fast: Partial<OutboxRelaySettings> = {
  pollInterval: Duration.millis(50),
  batchSize: 10,
  retryInitial: Duration.millis(100),
  retryMax: Duration.millis(500),
  publishTimeout: Duration.seconds(5)
}

interface Inserted {
  readonly eventId: string
  readonly roomId: string
  readonly seq: number
}

/** Inserts `perRoom` message_created rows per room, rooms interleaved, as the send path would. */
const insertEvents = Effect.fnUntraced(function*(
  topic: string,
  rooms: ReadonlyArray<string>,
  perRoom: number,
  options: { readonly firstSeq?: number; readonly headers?: Record<string, string> } = {}
) {
  const sql = yield* SqlClient
  const sender = UserId.make(randomUUID())
  const inserted: Array<Inserted> = []
  for (let i = 0; i < perRoom; i++) {
    for (const room of rooms) {
      const seq = (options.firstSeq ?? 1) + i
      const now = yield* DateTime.now
      const event = new MessageCreatedEvent({
        event_id: EventId.make(randomUUID()),
        event_type: "message_created",
        version: 1,
        timestamp: now,
        data: {
          message_id: MessageId.make(randomUUID()),
          room_id: RoomId.make(room),
          seq,
          sender_id: sender,
          sender_username: "alice",
          content: `hello ${seq} ✓`,
          type: "text",
          created_at: now
        }
      })
      yield* sql`
        INSERT INTO outbox (topic, aggregate_key, event_type, payload, headers)
        VALUES (${topic}, ${room}, 'message_created', ${encodeMessageCreatedEvent(event)}::jsonb,
                ${JSON.stringify(options.headers ?? {})}::jsonb)`
      inserted.push({ eventId: event.event_id, roomId: room, seq })
    }
  }
  return inserted
})

const OutboxState = Schema.Struct({
  total: Schema.Number,
  published: Schema.Number,
  failed_attempts: Schema.Number,
  with_error: Schema.Number
})
const decodeOutboxState = Schema.decodeUnknownEffect(Schema.Array(OutboxState))

const outboxState = (topic: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient
    const rows = yield* sql`
      SELECT count(*)::int AS total,
             count(published_at)::int AS published,
             coalesce(sum(attempts), 0)::int AS failed_attempts,
             count(last_error)::int AS with_error
      FROM outbox WHERE topic = ${topic}`.pipe(Effect.flatMap(decodeOutboxState), Effect.orDie)
    const [state] = rows
    if (state === undefined) return yield* Effect.die(new Error("no outbox state row"))
    return state
  })

/**
 * Marks whatever an earlier (failed) test left unpublished as published, so every test starts
 * with an empty queue: relays publish every topic, and leftovers would be claimed first.
 */
const settleOutbox = Effect.gen(function*() {
  const sql = yield* SqlClient
  yield* sql`UPDATE outbox SET published_at = clock_timestamp() WHERE published_at IS NULL`
})

/** Polls `effect` until `done` holds (or fails the test after `timeout`). */
const eventually = <A, E, R>(
  what: string,
  effect: Effect.Effect<A, E, R>,
  done: (a: A) => boolean,
  timeout: Duration.Input = Duration.seconds(30)
) =>
  Effect.gen(function*() {
    const deadline = Date.now() + Duration.toMillis(timeout)
    while (true) {
      const a = yield* effect
      if (done(a)) return a
      if (Date.now() > deadline) return yield* Effect.die(new Error(`timed out waiting for ${what}: ${JSON.stringify(a)}`))
      yield* Effect.sleep("50 millis")
    }
  })

/** Decodes the records and checks each event arrived once, per room in seq order, keyed by room. */
const expectExactlyOnceInOrder = Effect.fnUntraced(function*(
  read: ReadonlyArray<ReadRecord>,
  inserted: ReadonlyArray<Inserted>
) {
  const events = yield* Effect.forEach(read, (record) =>
    Effect.map(Effect.orDie(decodeMessageCreatedEvent(record.value)), (event) => ({ record, event })))
  const counts = new Map<string, number>()
  for (const { event } of events) counts.set(event.event_id, (counts.get(event.event_id) ?? 0) + 1)
  expect(counts.size).toBe(inserted.length)
  for (const { eventId } of inserted) expect(counts.get(eventId)).toBe(1)
  const rooms = new Set(inserted.map((i) => i.roomId))
  for (const room of rooms) {
    const seqs = events.filter(({ event }) => event.data.room_id === room).map(({ event }) => event.data.seq)
    expect(seqs).toEqual(inserted.filter((i) => i.roomId === room).map((i) => i.seq))
  }
  for (const { record, event } of events) {
    expect(record.key).toBe(event.data.room_id)
    expect(record.headers["event_type"]).toBe("message_created")
  }
})

/**
 * Starts a relay in a child scope of the test's, so the test can stop it (as at shutdown) and go
 * on; it is stopped with the test at the latest.
 */
const startRelay = (relay: Layer.Layer<OutboxRelay, never, SqlClient | EventPublisher>) =>
  Effect.gen(function*() {
    const scope = yield* Scope.fork(yield* Effect.scope)
    const context = yield* Layer.buildWithScope(relay, scope)
    return { relay: Context.get(context, OutboxRelay), stop: Scope.close(scope, Exit.void) }
  })

/** An `EventPublisher` over the surrounding one that counts what it published and can be slowed. */
const instrumentedPublisher = (options: { readonly delay?: Duration.Input } = {}) => {
  const published: Array<EventRecord> = []
  const layer = Layer.effect(
    EventPublisher,
    EventPublisher.useSync((inner) =>
      EventPublisher.of({
        publish: (records) =>
          Effect.sleep(options.delay ?? Duration.zero).pipe(
            Effect.andThen(inner.publish(records)),
            Effect.tap(() => Effect.sync(() => published.push(...records)))
          )
      })
    )
  )
  return { layer, published }
}

const counterValue = (name: string) =>
  Effect.map(Metric.snapshot, (snapshots) => {
    let total = 0
    for (const snapshot of snapshots) {
      if (snapshot.id === name && snapshot.type === "Counter") total += Number(snapshot.state.count)
    }
    return total
  })

/**
 * A Kafka `EventPublisher` with a producer of its own on `kafka`. `Layer.fresh`, because a layer
 * built inside a test shares the memo map of the suite's layer, which already holds a
 * `KafkaProducer` (on the direct client) that would otherwise be reused.
 */
const publisherOn = (kafka: Kafka) =>
  Layer.fresh(
    KafkaEventPublisher.layer.pipe(Layer.provide(KafkaProducer.layer), Layer.provide(Layer.succeed(KafkaClient, kafka)))
  )

const rooms = (n: number) => Array.from({ length: n }, () => randomUUID())

if (brokersEnv === undefined || brokersEnv.trim() === "") {
  describe("OutboxRelay", () => {
    it("needs KAFKA_BROKERS", () => {
      throw new Error("KAFKA_BROKERS is not set: the outbox relay tests need the real broker (127.0.0.1:9092)")
    })
  })
} else {
  const brokers = brokersEnv.split(",").map((broker) => broker.trim()).filter((broker) => broker.length > 0)
  const [brokerHost, brokerPort] = (brokers[0] ?? "").split(":")
  const kafkaClient = KafkaClient.layerWith({ brokers, clientId: `pylon-test-outbox-${run}` })
  const kafka = Layer.merge(
    KafkaEventPublisher.layer.pipe(Layer.provide(KafkaProducer.layer)),
    kafkaEventLogReader.pipe(Layer.provide(KafkaAdmin.layer))
  ).pipe(Layer.provide(kafkaClient))

  layer(Layer.merge(TestDatabase, kafka), { excludeTestServices: true, timeout: "120 seconds" })("OutboxRelay", (it) => {
    it.effect("publishes every row exactly once, in order per room, and marks it published", () =>
      Effect.gen(function*() {
        yield* settleOutbox
        const reader = yield* EventLogReader
        const topic = yield* reader.freshTopic("outbox-once")
        const publishedBefore = yield* counterValue("pylon_outbox_published_total")
        const inserted = yield* insertEvents(topic, rooms(3), 15)
        yield* OutboxRelay.layerWith(fast).pipe(Layer.build)
        const state = yield* eventually("all rows published", outboxState(topic), (s) => s.published === 45)
        expect(state).toEqual({ total: 45, published: 45, failed_attempts: 0, with_error: 0 })
        yield* expectExactlyOnceInOrder(yield* reader.readBack(topic, 45), inserted)
        expect((yield* counterValue("pylon_outbox_published_total")) - publishedBefore).toBeGreaterThanOrEqual(45)
      }))

    it.effect("continues the send's trace: producer spans parented on the stored context", () =>
      Effect.gen(function*() {
        yield* settleOutbox
        const reader = yield* EventLogReader
        const topic = yield* reader.freshTopic("outbox-trace")
        const traceId = "4bf92f3577b34da6a3ce929d0e0e4736"
        const sendSpanId = "00f067aa0ba902b7"
        const traced = yield* insertEvents(topic, rooms(1), 1, {
          headers: {
            traceparent: `00-${traceId}-${sendSpanId}-01`,
            tracestate: "pylon=send",
            b3: `${traceId}-${sendSpanId}-1`
          }
        })
        const untraced = yield* insertEvents(topic, rooms(1), 1)

        const spans: Array<Tracer.NativeSpan> = []
        const recording = Tracer.make({
          span: (options) => {
            const span = new Tracer.NativeSpan(options)
            spans.push(span)
            return span
          }
        })
        yield* OutboxRelay.layerWith(fast).pipe(Layer.provide(Layer.succeed(Tracer.Tracer, recording)), Layer.build)
        yield* eventually("both rows published", outboxState(topic), (s) => s.published === 2)
        const read = yield* reader.readBack(topic, 2)
        const recordOf = (eventId: string) =>
          read.find((r) => r.value.includes(eventId)) ?? expect.fail(`no record for ${eventId}`)

        const withContext = recordOf(traced[0]!.eventId)
        const [, recordTraceId, producerSpanId, flags] = (withContext.headers["traceparent"] ?? "").split("-")
        expect(recordTraceId).toBe(traceId)
        expect(producerSpanId).toMatch(/^[0-9a-f]{16}$/)
        expect(producerSpanId).not.toBe(sendSpanId)
        expect(flags).toBe("01")
        expect(withContext.headers["tracestate"]).toBe("pylon=send")
        expect(withContext.headers["b3"]).toMatch(new RegExp(`^${traceId}-${producerSpanId}-1`))

        const producer = spans.find((s) => s.spanId === producerSpanId) ?? expect.fail("no producer span recorded")
        expect(producer.name).toBe(`outbox.publish ${topic}`)
        expect(producer.kind).toBe("producer")
        expect(Option.map(producer.parent, (p) => p.spanId)).toEqual(Option.some(sendSpanId))
        expect(producer.status._tag).toBe("Ended")
        if (producer.status._tag === "Ended") expect(Exit.isSuccess(producer.status.exit)).toBe(true)

        // A row written outside any span still gets a context consumers can continue.
        const withoutContext = recordOf(untraced[0]!.eventId)
        expect(withoutContext.headers["traceparent"]).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/)
      }))

    it.effect("stops after its in-flight batch and a new relay resumes: nothing lost, nothing repeated", () =>
      Effect.gen(function*() {
        yield* settleOutbox
        const reader = yield* EventLogReader
        const topic = yield* reader.freshTopic("outbox-restart")
        const inserted = yield* insertEvents(topic, rooms(2), 30)
        const slow = instrumentedPublisher({ delay: "150 millis" })
        const first = yield* startRelay(OutboxRelay.layerWith({ ...fast, batchSize: 5 }).pipe(Layer.provide(slow.layer)))
        yield* eventually("two batches published", outboxState(topic), (s) => s.published >= 10)
        // Closing the scope mid-batch (a publish takes 150 ms) waits for that batch to finish.
        yield* first.stop
        const stopped = yield* outboxState(topic)
        expect(stopped.published).toBeLessThan(60)
        expect(stopped.published % 5).toBe(0)
        expect(slow.published).toHaveLength(stopped.published)
        yield* Effect.sleep("300 millis")
        expect((yield* outboxState(topic)).published).toBe(stopped.published)

        const second = yield* startRelay(OutboxRelay.layerWith(fast))
        yield* eventually("all rows published", outboxState(topic), (s) => s.published === 60)
        yield* second.stop
        yield* expectExactlyOnceInOrder(yield* reader.readBack(topic, 60), inserted)
      }))

    it.effect("keeps sends instant while Kafka is down, then publishes everything exactly once", () =>
      Effect.gen(function*() {
        yield* settleOutbox
        const reader = yield* EventLogReader
        const topic = yield* reader.freshTopic("outbox-down")
        const proxy = yield* startTcpProxy(brokerHost ?? "127.0.0.1", Number(brokerPort ?? 9092))
        const viaProxy = new Kafka({
          clientId: `pylon-test-outbox-down-${run}`,
          brokers: [`${proxy.host}:${proxy.port}`],
          socketFactory: kafkaSocketFactory(proxy),
          connectionTimeout: 500,
          retry: { retries: 1, initialRetryTime: 100 },
          logLevel: logLevel.NOTHING
        })
        const publisher = publisherOn(viaProxy)
        const failuresBefore = yield* counterValue("pylon_outbox_publish_failures_total")
        yield* OutboxRelay.layerWith(fast).pipe(Layer.provide(publisher), Layer.build)
        const room = rooms(1)
        const before = yield* insertEvents(topic, room, 5)
        yield* eventually("rows published while Kafka is up", outboxState(topic), (s) => s.published === 5)

        yield* proxy.block()
        const during: Array<Inserted> = []
        for (let i = 0; i < 20; i++) {
          const started = Date.now()
          during.push(...(yield* insertEvents(topic, room, 1, { firstSeq: 6 + i })))
          // The send path never waits for the relay or for Kafka.
          expect(Date.now() - started).toBeLessThan(1_000)
          yield* Effect.sleep("25 millis")
        }
        // The relay keeps retrying the oldest unpublished rows (one batch of 10), never skipping them.
        const failing = yield* eventually(
          "failed attempts recorded",
          outboxState(topic),
          (s) => s.with_error === 10 && s.failed_attempts >= 20
        )
        expect(failing.published).toBe(5)
        expect((yield* counterValue("pylon_outbox_publish_failures_total")) - failuresBefore).toBeGreaterThan(0)

        yield* proxy.unblock
        yield* eventually("all rows published after Kafka is back", outboxState(topic), (s) => s.published === 25)
        yield* expectExactlyOnceInOrder(yield* reader.readBack(topic, 25), [...before, ...during])
      }))

    it.effect("times out a publish that hangs, and publishes once the network heals", () =>
      Effect.gen(function*() {
        yield* settleOutbox
        const sql = yield* SqlClient
        const reader = yield* EventLogReader
        const topic = yield* reader.freshTopic("outbox-hang")
        const proxy = yield* startTcpProxy(brokerHost ?? "127.0.0.1", Number(brokerPort ?? 9092))
        const viaProxy = new Kafka({
          clientId: `pylon-test-outbox-hang-${run}`,
          brokers: [`${proxy.host}:${proxy.port}`],
          socketFactory: kafkaSocketFactory(proxy),
          retry: { retries: 1, initialRetryTime: 100 },
          logLevel: logLevel.NOTHING
        })
        const publisher = publisherOn(viaProxy)
        yield* OutboxRelay.layerWith({ ...fast, publishTimeout: Duration.millis(500) }).pipe(
          Layer.provide(publisher),
          Layer.build
        )
        yield* proxy.block("hang")
        const inserted = yield* insertEvents(topic, rooms(1), 3)
        yield* eventually("a timed-out attempt", outboxState(topic), (s) => s.failed_attempts >= 3)
        const errors = yield* sql<{ readonly last_error: string | null }>`
          SELECT last_error FROM outbox WHERE topic = ${topic}`
        for (const row of errors) expect(row.last_error).toMatch(/timed out/)
        yield* proxy.unblock
        yield* eventually("rows published after the network healed", outboxState(topic), (s) => s.published === 3)
        // A send abandoned by the timeout may still complete later: at least once, possibly twice.
        const read = yield* reader.readBack(topic, 3)
        const seen = new Set(read.map((r) => r.value.match(/"event_id":\s*"([^"]+)"/)?.[1]))
        for (const { eventId } of inserted) expect(seen.has(eventId)).toBe(true)
      }))

    it.effect("two relays on one table publish every row once and keep per-room order", () =>
      Effect.gen(function*() {
        yield* settleOutbox
        const reader = yield* EventLogReader
        const topic = yield* reader.freshTopic("outbox-pair")
        const a = instrumentedPublisher()
        const b = instrumentedPublisher()
        // Each relay has a producer of its own, like two chat-service processes.
        const ownProducer = () =>
          publisherOn(new Kafka({ clientId: `pylon-test-outbox-pair-${run}`, brokers, logLevel: logLevel.NOTHING }))
        const settings = { ...fast, batchSize: 5, pollInterval: Duration.millis(20) }
        yield* OutboxRelay.layerWith(settings).pipe(Layer.provide(a.layer), Layer.provide(ownProducer()), Layer.build)
        yield* OutboxRelay.layerWith(settings).pipe(Layer.provide(b.layer), Layer.provide(ownProducer()), Layer.build)
        const roomIds = rooms(4)
        const inserted: Array<Inserted> = []
        for (let chunk = 0; chunk < 5; chunk++) {
          inserted.push(...(yield* insertEvents(topic, roomIds, 5, { firstSeq: 1 + chunk * 5 })))
          yield* Effect.sleep("30 millis")
        }
        yield* eventually("all rows published", outboxState(topic), (s) => s.published === 100)
        const ours = (published: ReadonlyArray<EventRecord>) => published.filter((r) => r.topic === topic).length
        expect(ours(a.published) + ours(b.published)).toBe(100)
        yield* expectExactlyOnceInOrder(yield* reader.readBack(topic, 100), inserted)
      }))

    it.effect("wake publishes at once instead of at the next poll", () =>
      Effect.gen(function*() {
        yield* settleOutbox
        const reader = yield* EventLogReader
        const topic = yield* reader.freshTopic("outbox-wake")
        const { relay } = yield* startRelay(OutboxRelay.layerWith({ ...fast, pollInterval: Duration.minutes(5) }))
        // Let the relay find the outbox empty and settle into its (long) idle wait.
        yield* Effect.sleep("300 millis")
        yield* insertEvents(topic, rooms(1), 2)
        yield* Effect.sleep("300 millis")
        expect((yield* outboxState(topic)).published).toBe(0)
        yield* relay.wake
        yield* eventually("rows published after wake", outboxState(topic), (s) => s.published === 2, "5 seconds")
      }))
  })
}
