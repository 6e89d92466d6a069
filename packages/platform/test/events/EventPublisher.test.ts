/**
 * Runs the `EventPublisher` contract against the in-memory bus and against Kafka (the real broker
 * from KAFKA_BROKERS, read back with kafkajs consumers), then checks what only one of them has:
 * the Kafka adapter's failure while the broker is unreachable (through a TcpProxy that every
 * kafkajs connection is routed through) and recovery afterwards; the memory bus' consumer side
 * (groups, commits, at-least-once redelivery, one session per group, retention).
 */
import { randomUUID } from "node:crypto"
import { describe, expect, it, layer } from "@effect/vitest"
import { Context, Effect, Fiber, Layer, Stream } from "effect"
import { Kafka, logLevel } from "kafkajs"
import type { EventRecord } from "../../src/events/EventPublisher.ts"
import { EventPublisher } from "../../src/events/EventPublisher.ts"
import { KafkaAdmin, KafkaClient, KafkaProducer } from "../../src/kafka/Kafka.ts"
import * as KafkaEventPublisher from "../../src/events/KafkaEventPublisher.ts"
import { MemoryEventBus } from "../../src/events/MemoryEventBus.ts"
import type { ConsumedRecord } from "../../src/events/MemoryEventBus.ts"
import {
  eventPublisherContract,
  EventLogReader,
  kafkaEventLogReader,
  memoryEventLogReader
} from "@pylon/testkit/EventPublisherContract"
import { kafkaSocketFactory, startTcpProxy } from "@pylon/testkit/TcpProxy"

const run = randomUUID().slice(0, 8)

eventPublisherContract("MemoryEventBus", memoryEventLogReader.pipe(Layer.provideMerge(MemoryEventBus.layer)))

const brokersEnv = process.env["KAFKA_BROKERS"]

if (brokersEnv === undefined || brokersEnv.trim() === "") {
  describe("KafkaEventPublisher", () => {
    it("needs KAFKA_BROKERS", () => {
      throw new Error(
        "KAFKA_BROKERS is not set: the KafkaEventPublisher tests need the real broker " +
          "(bash scripts/infra.sh up kafka; KAFKA_BROKERS=127.0.0.1:9092)"
      )
    })
  })
} else {
  const brokers = brokersEnv.split(",").map((broker) => broker.trim()).filter((broker) => broker.length > 0)
  const kafkaClient = KafkaClient.layerWith({ brokers, clientId: `pylon-test-publisher-${run}` })
  const reader = kafkaEventLogReader.pipe(Layer.provide(KafkaAdmin.layer))

  eventPublisherContract(
    "KafkaEventPublisher",
    Layer.merge(KafkaEventPublisher.layer.pipe(Layer.provide(KafkaProducer.layer)), reader).pipe(
      Layer.provide(kafkaClient)
    )
  )

  const [brokerHost, brokerPort] = (brokers[0] ?? "").split(":")

  layer(reader.pipe(Layer.provide(kafkaClient)), { excludeTestServices: true, timeout: "90 seconds" })(
    "KafkaEventPublisher when the broker is unreachable",
    (it) => {
      it.effect("fails with EventPublishError, then publishes again once the broker is back", () =>
        Effect.gen(function*() {
          const logReader = yield* EventLogReader
          const topic = yield* logReader.freshTopic("down")
          const proxy = yield* startTcpProxy(brokerHost ?? "127.0.0.1", Number(brokerPort ?? 9092))
          // Every connection through the proxy: seed broker and advertised listener alike.
          const kafka = new Kafka({
            clientId: `pylon-test-down-${run}`,
            brokers: [`${proxy.host}:${proxy.port}`],
            socketFactory: kafkaSocketFactory(proxy),
            connectionTimeout: 500,
            retry: { retries: 1, initialRetryTime: 100 },
            logLevel: logLevel.NOTHING
          })
          const publisher = Context.get(
            yield* Layer.build(
              KafkaEventPublisher.layer.pipe(
                Layer.provide(KafkaProducer.layer),
                Layer.provide(Layer.succeed(KafkaClient, kafka))
              )
            ),
            EventPublisher
          )
          const record = (n: number): EventRecord => ({ topic, key: "room-1", value: String(n), headers: {} })

          yield* publisher.publish([record(0)])
          yield* proxy.block()
          const error = yield* Effect.flip(publisher.publish([record(1)]))
          expect(error._tag).toBe("EventPublishError")
          expect(error.message).toMatch(/^Kafka send failed: /)

          yield* proxy.unblock
          yield* publisher.publish([record(2)])
          const read = yield* logReader.readBack(topic, 2)
          expect(read.map((r) => r.value)).toEqual(["0", "2"])
        }))
    }
  )
}

describe("MemoryEventBus consumer side", () => {
  const topic = "message-events"
  const record = (key: string, n: number): EventRecord => ({ topic, key, value: String(n), headers: { n: String(n) } })
  const values = (records: ReadonlyArray<ConsumedRecord>) => records.map((r) => r.value)

  /** The next `count` records of a new session of `groupId`; the session ends afterwards. */
  const session = (bus: MemoryEventBus["Service"], groupId: string, count: number) =>
    bus.subscribe(topic, groupId).pipe(Stream.take(count), Stream.runCollect)

  it.effect("a new group starts at the oldest record and then follows the log live", () =>
    Effect.gen(function*() {
      const bus = yield* MemoryEventBus
      yield* bus.publish([record("a", 0), record("b", 1)])
      const reading = yield* Effect.forkChild(session(bus, "g", 4))
      yield* Effect.yieldNow
      yield* bus.publish([record("a", 2), record("a", 3)])
      const read = yield* Fiber.join(reading)
      expect(values(read)).toEqual(["0", "1", "2", "3"])
      expect(read.map((r) => r.offset)).toEqual([0, 1, 2, 3])
      expect(read[2]).toMatchObject({ topic, partition: 0, key: "a", headers: { n: "2" } })
    }).pipe(Effect.provide(MemoryEventBus.layer)))

  it.effect("redelivers what a session did not commit to the group's next session", () =>
    Effect.gen(function*() {
      const bus = yield* MemoryEventBus
      yield* bus.publish([0, 1, 2, 3, 4].map((n) => record("a", n)))
      const first = yield* session(bus, "g", 3)
      // Handled 0 and 1, then crashed while handling 2.
      yield* first[1]!.commit
      expect(yield* bus.committedOffset(topic, "g")).toBe(2)
      const second = yield* session(bus, "g", 3)
      expect(values(second)).toEqual(["2", "3", "4"])
    }).pipe(Effect.provide(MemoryEventBus.layer)))

  it.effect("keeps groups and topics independent", () =>
    Effect.gen(function*() {
      const bus = yield* MemoryEventBus
      yield* bus.publish([record("a", 0), record("a", 1), { ...record("a", 9), topic: "other" }])
      const one = yield* session(bus, "one", 2)
      yield* one[1]!.commit
      expect(values(yield* session(bus, "two", 2))).toEqual(["0", "1"])
      expect(yield* bus.committedOffset(topic, "two")).toBe(0)
      expect(yield* bus.committedOffset("other", "one")).toBe(0)
      expect((yield* bus.records("other")).map((r) => r.value)).toEqual(["9"])
    }).pipe(Effect.provide(MemoryEventBus.layer)))

  it.effect("never moves a committed offset back", () =>
    Effect.gen(function*() {
      const bus = yield* MemoryEventBus
      yield* bus.commit(topic, "g", 5)
      yield* bus.commit(topic, "g", 3)
      expect(yield* bus.committedOffset(topic, "g")).toBe(5)
    }).pipe(Effect.provide(MemoryEventBus.layer)))

  it.effect("runs one session per group at a time; the next takes over from the committed offset", () =>
    Effect.gen(function*() {
      const bus = yield* MemoryEventBus
      yield* bus.publish([0, 1, 2].map((n) => record("a", n)))
      const seenByFirst: Array<string> = []
      const first = yield* bus.subscribe(topic, "g").pipe(
        Stream.runForEach((r) => Effect.andThen(Effect.sync(() => seenByFirst.push(r.value)), r.commit)),
        Effect.forkChild
      )
      yield* Effect.yieldNow
      const second = yield* Effect.forkChild(session(bus, "g", 2))
      yield* bus.publish([record("a", 3)])
      yield* Effect.yieldNow
      // The second member waits while the first owns the group.
      expect(second.pollUnsafe()).toBeUndefined()
      expect(seenByFirst).toEqual(["0", "1", "2", "3"])
      yield* Fiber.interrupt(first)
      yield* bus.publish([record("a", 4), record("a", 5)])
      expect(values(yield* Fiber.join(second))).toEqual(["4", "5"])
    }).pipe(Effect.provide(MemoryEventBus.layer)))

  it.effect("retains a bounded log; a group behind it skips to the oldest retained record", () =>
    Effect.gen(function*() {
      const bus = yield* MemoryEventBus
      yield* bus.publish(Array.from({ length: 10 }, (_, n) => record("a", n)))
      const retained = yield* bus.records(topic)
      expect(retained.map((r) => r.offset)).toEqual([6, 7, 8, 9])
      expect(values(yield* session(bus, "g", 2))).toEqual(["6", "7"])
    }).pipe(Effect.provide(MemoryEventBus.layerWith({ retainRecords: 4 }))))
})
