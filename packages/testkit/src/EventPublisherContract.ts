/**
 * The behaviour every `EventPublisher` adapter must show, registered once per adapter by
 * `EventPublisher.test.ts`: what is published can be read back from the log with its key, value
 * and headers intact, a batch arrives completely and exactly once, and records with the same key
 * keep their order (within a batch and across batches). Each adapter brings an `EventLogReader`
 * that creates fresh topics and reads them back the way a consumer would (Kafka: a kafkajs
 * consumer in a new group; memory: a bus subscription), so tests never share a topic.
 */
import { readKafkaTopic } from "./KafkaTopicReader.ts"
import { randomUUID } from "node:crypto"
import { expect, layer } from "@effect/vitest"
import { Context, Duration, Effect, Layer, Schema, Stream } from "effect"
import { EventPublisher } from "@pylon/platform/events/EventPublisher"
import type { EventRecord } from "@pylon/platform/events/EventPublisher"
import { KafkaAdmin, KafkaClient } from "@pylon/platform/kafka/Kafka"
import { MemoryEventBus } from "@pylon/platform/events/MemoryEventBus"
import { createTestTopic } from "./KafkaTestTopics.ts"

export interface ReadRecord {
  readonly topic: string
  readonly partition: number
  readonly key: string
  readonly value: string
  readonly headers: Readonly<Record<string, string>>
}

export class EventLogReader extends Context.Service<EventLogReader, {
  /** A topic no other test uses (Kafka: created with 3 partitions). */
  readonly freshTopic: (label: string) => Effect.Effect<string>
  /**
   * Reads `topic` from its beginning as a new consumer group until `count` records arrived (or
   * a deadline passed), then briefly longer, so duplicates and extras show up in the result.
   */
  readonly readBack: (topic: string, count: number) => Effect.Effect<ReadonlyArray<ReadRecord>>
}>()("pylon/platform/test/EventLogReader") {}

const READ_DEADLINE = Duration.seconds(30)
/** How long a reader keeps listening after it has `count` records, to catch extras. */
const LINGER = Duration.millis(750)



/**
 * Reads Kafka with the surrounding `KafkaClient`: every `readBack` is a kafkajs consumer in a
 * group of its own, from the beginning of the topic. Topics are created with the admin client
 * (3 partitions, leaders awaited) and deleted when the layer is released.
 */
export const kafkaEventLogReader: Layer.Layer<EventLogReader, never, KafkaClient | KafkaAdmin> = Layer.effect(
  EventLogReader,
  Effect.gen(function*() {
    const kafka = yield* KafkaClient
    const admin = yield* KafkaAdmin
    const run = randomUUID().slice(0, 8)
    const created: Array<string> = []
    yield* Effect.addFinalizer(() =>
      created.length === 0 ? Effect.void : Effect.promise(() => admin.deleteTopics({ topics: created }).catch(() => undefined))
    )

    const freshTopic = (label: string) =>
      Effect.promise(async () => {
        const topic = `pylon-test-${label}-${run}-${randomUUID().slice(0, 8)}`
        await createTestTopic(admin, topic, 3)
        created.push(topic)
        return topic
      })

    const readBack = (topic: string, count: number) =>
      readKafkaTopic(kafka, topic, count, { deadline: READ_DEADLINE, linger: LINGER })

    return EventLogReader.of({ freshTopic, readBack })
  })
)

/** Reads the `MemoryEventBus` through a subscription in a group of its own. */
export const memoryEventLogReader: Layer.Layer<EventLogReader, never, MemoryEventBus> = Layer.effect(
  EventLogReader,
  Effect.gen(function*() {
    const bus = yield* MemoryEventBus
    const run = randomUUID().slice(0, 8)
    return EventLogReader.of({
      freshTopic: (label) => Effect.sync(() => `pylon-test-${label}-${run}-${randomUUID().slice(0, 8)}`),
      readBack: (topic, count) =>
        Effect.gen(function*() {
          const received: Array<ReadRecord> = []
          // Runs until the scope below closes, like a consumer that keeps listening.
          yield* bus.subscribe(topic, `pylon-test-reader-${randomUUID()}`).pipe(
            Stream.runForEach(({ topic, partition, key, value, headers }) =>
              Effect.sync(() => {
                received.push({ topic, partition, key, value, headers })
              })
            ),
            Effect.forkScoped
          )
          yield* Effect.sleep("10 millis").pipe(
            Effect.repeat({ until: () => received.length >= count }),
            Effect.timeoutOption(READ_DEADLINE)
          )
          yield* Effect.sleep(LINGER)
          return [...received]
        }).pipe(Effect.scoped)
    })
  })
)

const TestValue = Schema.fromJsonString(Schema.Struct({ key: Schema.String, n: Schema.Number }))
const decodeTestValue = Schema.decodeUnknownSync(TestValue)

const valueOf = (record: ReadRecord): { readonly key: string; readonly n: number } => {
  const { key, n } = decodeTestValue(record.value)
  return { key, n }
}

/** The `n`s seen per key, in arrival order. */
const sequencesByKey = (records: ReadonlyArray<ReadRecord>): Map<string, Array<number>> => {
  const out = new Map<string, Array<number>>()
  for (const record of records) {
    const { key, n } = valueOf(record)
    expect(record.key).toBe(key)
    const seen = out.get(key) ?? []
    seen.push(n)
    out.set(key, seen)
  }
  return out
}

export const eventPublisherContract = <E>(
  name: string,
  implementation: Layer.Layer<EventPublisher | EventLogReader, E>
): void => {
  const run = randomUUID().slice(0, 8)
  const record = (topic: string, key: string, n: number, headers: Record<string, string> = {}): EventRecord => ({
    topic,
    key,
    value: JSON.stringify({ key, n }),
    headers: { "x-run": run, ...headers }
  })

  layer(implementation, { excludeTestServices: true, timeout: "90 seconds" })(`EventPublisher contract: ${name}`, (it) => {
    it.effect("round-trips key, value and headers", () =>
      Effect.gen(function*() {
        const publisher = yield* EventPublisher
        const reader = yield* EventLogReader
        const topic = yield* reader.freshTopic("roundtrip")
        const headers = {
          traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
          tracestate: "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7",
          event_type: "message_created",
          "x-unicode": "héllo wörld ✓",
          "x-empty": ""
        }
        const value = JSON.stringify({ key: "room-1", n: 1, content: "ünïcödé 🎉 \"quoted\" \\ back" })
        yield* publisher.publish([{ topic, key: "room-1", value, headers }])
        const [read, ...extra] = yield* reader.readBack(topic, 1)
        expect(extra).toEqual([])
        expect(read).toMatchObject({ topic, key: "room-1", value })
        expect(read?.headers).toEqual(headers)
      }))

    it.effect("delivers a batch completely, exactly once, in order per key", () =>
      Effect.gen(function*() {
        const publisher = yield* EventPublisher
        const reader = yield* EventLogReader
        const topic = yield* reader.freshTopic("batch")
        const keys = ["room-a", "room-b", "room-c", "room-d", "room-e", "room-f"]
        // Interleaved keys: 20 records per key, 120 in one batch.
        const batch = Array.from({ length: 120 }, (_, i) => record(topic, keys[i % keys.length]!, Math.floor(i / keys.length)))
        yield* publisher.publish(batch)
        const read = yield* reader.readBack(topic, batch.length)
        expect(read).toHaveLength(batch.length)
        const sequences = sequencesByKey(read)
        expect([...sequences.keys()].sort()).toEqual(keys)
        for (const key of keys) expect(sequences.get(key)).toEqual(Array.from({ length: 20 }, (_, n) => n))
        // Same key, same partition: the property per-key order rests on.
        for (const key of keys) {
          expect(new Set(read.filter((r) => r.key === key).map((r) => r.partition)).size).toBe(1)
        }
      }))

    it.effect("keeps per-key order across consecutive publishes", () =>
      Effect.gen(function*() {
        const publisher = yield* EventPublisher
        const reader = yield* EventLogReader
        const topic = yield* reader.freshTopic("sequence")
        for (let n = 0; n < 10; n++) {
          yield* publisher.publish([record(topic, "room-x", n), record(topic, "room-y", n)])
        }
        const read = yield* reader.readBack(topic, 20)
        const sequences = sequencesByKey(read)
        expect(sequences.get("room-x")).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
        expect(sequences.get("room-y")).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
      }))

    it.effect("delivers a batch that spans several topics", () =>
      Effect.gen(function*() {
        const publisher = yield* EventPublisher
        const reader = yield* EventLogReader
        const first = yield* reader.freshTopic("multi-1")
        const second = yield* reader.freshTopic("multi-2")
        yield* publisher.publish([
          record(first, "room-1", 0),
          record(second, "room-1", 0),
          record(first, "room-1", 1),
          record(second, "room-2", 0)
        ])
        const fromFirst = yield* reader.readBack(first, 2)
        const fromSecond = yield* reader.readBack(second, 2)
        expect(sequencesByKey(fromFirst).get("room-1")).toEqual([0, 1])
        expect(fromSecond.map(valueOf).sort((a, b) => a.key.localeCompare(b.key))).toEqual([
          { key: "room-1", n: 0 },
          { key: "room-2", n: 0 }
        ])
      }))

    it.effect("treats an empty batch as a no-op", () =>
      Effect.gen(function*() {
        const publisher = yield* EventPublisher
        const reader = yield* EventLogReader
        const topic = yield* reader.freshTopic("empty")
        yield* publisher.publish([])
        yield* publisher.publish([record(topic, "room-1", 0)])
        const read = yield* reader.readBack(topic, 1)
        expect(read.map(valueOf)).toEqual([{ key: "room-1", n: 0 }])
      }))
  })
}
