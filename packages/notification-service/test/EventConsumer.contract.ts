/**
 * The behaviour every `EventConsumer` adapter must show (see the port's header), registered once
 * per adapter by `EventConsumer.test.ts`: delivery in per-key order from the committed offset,
 * commit only after a batch was handled (a failed batch comes again in the next session), drain
 * of the batch in flight on interruption, independent groups, and lag. Each adapter brings a
 * `ConsumerHarness` that creates fresh topics and publishes to them, so tests never share one.
 */
import { randomUUID } from "node:crypto"
import { expect, layer } from "@effect/vitest"
import { Cause, Context, Deferred, Duration, Effect, Exit, Fiber, Schema } from "effect"
import type { Layer } from "effect"
import type { EventRecord } from "@pylon/platform/events/EventPublisher"
import { EventConsumer } from "../src/EventConsumer.ts"
import type { ConsumedEvent } from "../src/EventConsumer.ts"
import { eventually } from "./support/Eventually.ts"

export class ConsumerHarness extends Context.Service<ConsumerHarness, {
  /** A topic no other test uses (Kafka: 2 partitions, leaders awaited). */
  readonly freshTopic: (label: string) => Effect.Effect<string>
  readonly publish: (records: ReadonlyArray<EventRecord>) => Effect.Effect<void>
}>()("pylon/notification/test/ConsumerHarness") {}

class HandlerFailed extends Schema.TaggedError<HandlerFailed>()("HandlerFailed", { batch: Schema.Number }) {}

const TestValue = Schema.fromJsonString(Schema.Struct({ key: Schema.String, n: Schema.Number }))
const decodeTestValue = Schema.decodeUnknownSync(TestValue)

const record = (topic: string, key: string, n: number): EventRecord => ({
  topic,
  key,
  value: JSON.stringify({ key, n }),
  headers: { "x-test": "contract", traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" }
})

/** `perKey` records for each key, keys interleaved, `n` counting from `from`. */
const records = (topic: string, keys: ReadonlyArray<string>, perKey: number, from = 0) =>
  Array.from({ length: perKey }, (_, i) => keys.map((key) => record(topic, key, from + i))).flat()

const ns = (events: ReadonlyArray<ConsumedEvent>, key: string) =>
  events.map((e) => decodeTestValue(e.value)).filter((v) => v.key === key).map((v) => v.n)

const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i)

/** Runs a session in the test's scope, collecting what it handles. */
const session = (topic: string, groupId: string, handle?: (batch: ReadonlyArray<ConsumedEvent>) => Effect.Effect<void, HandlerFailed>) =>
  Effect.gen(function*() {
    const consumer = yield* EventConsumer
    const handled: Array<ConsumedEvent> = []
    const batches: Array<number> = []
    const fiber = yield* consumer.run({
      topic,
      groupId,
      handle: (batch) =>
        (handle ?? (() => Effect.void))(batch).pipe(
          Effect.tap(() =>
            Effect.sync(() => {
              handled.push(...batch)
              batches.push(batch.length)
            })
          )
        )
    }).pipe(Effect.forkScoped)
    return { fiber, handled, batches }
  })

const groupName = (label: string) => `pylon-test-group-${label}-${randomUUID().slice(0, 8)}`

export const eventConsumerContract = <E>(
  name: string,
  implementation: Layer.Layer<EventConsumer | ConsumerHarness, E>
): void => {
  layer(implementation, { excludeTestServices: true, timeout: "120 seconds" })(`EventConsumer contract: ${name}`, (it) => {
    it.effect("delivers every record once, per key in order, with key and headers, then live ones", () =>
      Effect.gen(function*() {
        const harness = yield* ConsumerHarness
        const topic = yield* harness.freshTopic("order")
        const keys = ["room-a", "room-b", "room-c", "room-d"]
        yield* harness.publish(records(topic, keys, 10))
        const s = yield* session(topic, groupName("order"))
        yield* eventually("40 records", Effect.sync(() => s.handled.length), (n) => n >= 40)
        yield* harness.publish(records(topic, keys, 5, 10))
        yield* eventually("60 records", Effect.sync(() => s.handled.length), (n) => n >= 60)
        yield* Effect.sleep("500 millis")
        expect(s.handled).toHaveLength(60)
        for (const key of keys) expect(ns(s.handled, key)).toEqual(range(0, 15))
        for (const event of s.handled) {
          expect(event.topic).toBe(topic)
          expect(event.key).toBe(decodeTestValue(event.value).key)
          expect(event.headers).toMatchObject({ "x-test": "contract" })
          expect(Number.isSafeInteger(Number(event.offset))).toBe(true)
          expect(event.timestamp).toBeGreaterThan(0)
        }
        yield* Fiber.interrupt(s.fiber)
      }))

    it.effect("a failed batch ends the session with its error, commits nothing of it, and comes again", () =>
      Effect.gen(function*() {
        const harness = yield* ConsumerHarness
        const topic = yield* harness.freshTopic("retry")
        const groupId = groupName("retry")
        yield* harness.publish(records(topic, ["room-a"], 6))
        const failing = yield* session(topic, groupId, (batch) => Effect.fail(new HandlerFailed({ batch: batch.length })))
        const exit = yield* Fiber.await(failing.fiber).pipe(Effect.timeout("30 seconds"))
        expect(Exit.isFailure(exit)).toBe(true)
        if (Exit.isFailure(exit)) {
          const error = Cause.findErrorOption(exit.cause)
          expect(error._tag === "Some" && error.value._tag === "HandlerFailed").toBe(true)
        }
        expect(failing.handled).toHaveLength(0)

        // The next session of the group gets everything again, from the first record.
        const again = yield* session(topic, groupId)
        yield* eventually("6 records again", Effect.sync(() => again.handled.length), (n) => n >= 6)
        expect(ns(again.handled, "room-a")).toEqual(range(0, 6))
        yield* Fiber.interrupt(again.fiber)

        // Those were committed: a third session sees only what is new.
        yield* harness.publish(records(topic, ["room-a"], 1, 6))
        const third = yield* session(topic, groupId)
        yield* eventually("the new record", Effect.sync(() => third.handled.length), (n) => n >= 1)
        yield* Effect.sleep("500 millis")
        expect(ns(third.handled, "room-a")).toEqual([6])
        yield* Fiber.interrupt(third.fiber)
      }))

    it.effect("a defect in the handler ends the session too, and nothing is skipped", () =>
      Effect.gen(function*() {
        const harness = yield* ConsumerHarness
        const topic = yield* harness.freshTopic("defect")
        const groupId = groupName("defect")
        yield* harness.publish(records(topic, ["room-a"], 3))
        const dying = yield* session(topic, groupId, () => Effect.die(new Error("boom")))
        const exit = yield* Fiber.await(dying.fiber).pipe(Effect.timeout("30 seconds"))
        expect(Exit.isFailure(exit) && Cause.hasDies(exit.cause)).toBe(true)
        const again = yield* session(topic, groupId)
        yield* eventually("3 records again", Effect.sync(() => again.handled.length), (n) => n >= 3)
        expect(ns(again.handled, "room-a")).toEqual([0, 1, 2])
        yield* Fiber.interrupt(again.fiber)
      }))

    it.effect("interrupting a session lets the batch in flight finish and commits it", () =>
      Effect.gen(function*() {
        const harness = yield* ConsumerHarness
        const topic = yield* harness.freshTopic("drain")
        const groupId = groupName("drain")
        yield* harness.publish(records(topic, ["room-a"], 4))
        const started = yield* Deferred.make<void>()
        let finished = 0
        const slow = yield* session(topic, groupId, (batch) =>
          Effect.gen(function*() {
            yield* Deferred.succeed(started, undefined)
            yield* Effect.sleep("1 second")
            finished += batch.length
          }))
        yield* Deferred.await(started).pipe(Effect.timeout("30 seconds"))
        // Interrupt while the batch sleeps; the interruption returns once the session is closed.
        yield* Fiber.interrupt(slow.fiber)
        expect(finished).toBeGreaterThan(0)
        expect(slow.handled.length).toBe(finished)
        const firstBatch = slow.handled.length

        // The next session starts right after the drained batch: nothing comes twice.
        yield* harness.publish(records(topic, ["room-a"], 1, 4))
        const next = yield* session(topic, groupId)
        yield* eventually("the rest", Effect.sync(() => next.handled.length), (n) => firstBatch + n >= 5)
        yield* Effect.sleep("500 millis")
        expect([...ns(slow.handled, "room-a"), ...ns(next.handled, "room-a")]).toEqual(range(0, 5))
        yield* Fiber.interrupt(next.fiber)
      }))

    it.effect("consumer groups are independent: a new group reads from the beginning", () =>
      Effect.gen(function*() {
        const harness = yield* ConsumerHarness
        const topic = yield* harness.freshTopic("groups")
        yield* harness.publish(records(topic, ["room-a", "room-b"], 3))
        const first = yield* session(topic, groupName("groups-1"))
        yield* eventually("6 records in group 1", Effect.sync(() => first.handled.length), (n) => n >= 6)
        yield* Fiber.interrupt(first.fiber)
        const second = yield* session(topic, groupName("groups-2"))
        yield* eventually("6 records in group 2", Effect.sync(() => second.handled.length), (n) => n >= 6)
        expect(ns(second.handled, "room-a")).toEqual([0, 1, 2])
        expect(ns(second.handled, "room-b")).toEqual([0, 1, 2])
        yield* Fiber.interrupt(second.fiber)
      }))

    it.effect("lag counts the records a group has not committed", () =>
      Effect.gen(function*() {
        const harness = yield* ConsumerHarness
        const consumer = yield* EventConsumer
        const topic = yield* harness.freshTopic("lag")
        const groupId = groupName("lag")
        yield* harness.publish(records(topic, ["room-a", "room-b"], 4))
        const total = (parts: ReadonlyArray<{ readonly lag: number }>) => parts.reduce((sum, p) => sum + p.lag, 0)
        expect(total(yield* consumer.lag(topic, groupId))).toBe(8)
        const s = yield* session(topic, groupId)
        yield* eventually("8 records", Effect.sync(() => s.handled.length), (n) => n >= 8)
        yield* eventually("lag 0", Effect.map(consumer.lag(topic, groupId), total), (lag) => lag === 0, Duration.seconds(10))
        yield* Fiber.interrupt(s.fiber)
        yield* consumer.ready
      }))
  })
}
