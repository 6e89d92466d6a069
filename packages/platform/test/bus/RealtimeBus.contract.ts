/**
 * The behaviour every `RealtimeBus` adapter must show, registered once per adapter by
 * `RealtimeBus.test.ts`. An adapter is given as a `RealtimeBusKit`: a way to start another gateway
 * "node" on the same broker (for Redis: its own connections) and to ask the broker how many
 * nodes subscribe to a channel (`PUBSUB NUMSUB`). Channels are unique per run and per test, so
 * parallel test files sharing one Redis never see each other's traffic.
 */
import { randomUUID } from "node:crypto"
import { expect, layer } from "@effect/vitest"
import { Context, Effect, Exit, Fiber, Scope, Stream } from "effect"
import type { Layer } from "effect"
import type { RealtimeBusEvent, RealtimeBusService } from "../../src/bus/RealtimeBus.ts"

export class RealtimeBusKit extends Context.Service<RealtimeBusKit, {
  /** A new node on the shared broker, closed with the caller's scope. */
  readonly node: Effect.Effect<RealtimeBusService, unknown, Scope.Scope>
  /** Nodes subscribed to `channel` at the broker. */
  readonly numsub: (channel: string) => Effect.Effect<number, unknown>
}>()("pylon/platform/test/RealtimeBusKit") {}

const payloads = (events: ReadonlyArray<RealtimeBusEvent>) =>
  events.flatMap((event) => (event._tag === "Message" ? [event.payload] : []))

/** The first `n` events; a stream is run once, so read everything a test needs in one go. */
export const takeEvents = (stream: Stream.Stream<RealtimeBusEvent>, n: number) =>
  stream.pipe(Stream.take(n), Stream.runCollect, Effect.timeout("5 seconds"))

const untilPayload = (stream: Stream.Stream<RealtimeBusEvent>, last: string) =>
  stream.pipe(
    Stream.takeUntil((event) => event._tag === "Message" && event.payload === last),
    Stream.runCollect,
    Effect.timeout("5 seconds")
  )

const numbered = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`)

export const realtimeBusContract = <E>(name: string, kit: Layer.Layer<RealtimeBusKit, E>): void => {
  const run = randomUUID().slice(0, 8)
  let counter = 0
  const freshChannel = (label: string) => `pylon:test:${run}:${label}:${++counter}`

  layer(kit, { excludeTestServices: true, timeout: "30 seconds" })(`RealtimeBus contract: ${name}`, (it) => {
    it.effect("delivers a channel's messages to every subscriber in publish order, and nothing else", () =>
      Effect.gen(function*() {
        const { node } = yield* RealtimeBusKit
        const bus = yield* node
        const channel = freshChannel("order")
        const other = freshChannel("other")
        const first = yield* bus.subscribe(channel)
        const second = yield* bus.subscribe(channel)
        const elsewhere = yield* bus.subscribe(other)
        for (const payload of ["a", "b", "c"]) yield* bus.publish(channel, payload)
        yield* bus.publish(other, "only-here")
        expect(payloads(yield* takeEvents(first, 3))).toEqual(["a", "b", "c"])
        expect(payloads(yield* takeEvents(second, 3))).toEqual(["a", "b", "c"])
        expect(payloads(yield* takeEvents(elsewhere, 1))).toEqual(["only-here"])
      }))

    it.effect("two nodes see each other's publishes, in the order the broker got them", () =>
      Effect.gen(function*() {
        const { node } = yield* RealtimeBusKit
        const a = yield* node
        const b = yield* node
        const channel = freshChannel("nodes")
        const onA = yield* a.subscribe(channel)
        const onB = yield* b.subscribe(channel)
        // Subscriptions are live once `subscribe` returns: nothing published from here on is missed.
        yield* a.publish(channel, "from-a")
        yield* b.publish(channel, "from-b")
        yield* a.publish(channel, "from-a-again")
        const expected = ["from-a", "from-b", "from-a-again"]
        expect(payloads(yield* takeEvents(onA, 3))).toEqual(expected)
        expect(payloads(yield* takeEvents(onB, 3))).toEqual(expected)
      }))

    it.effect("shares one broker subscription per node and releases it with the last subscriber", () =>
      Effect.gen(function*() {
        const { node, numsub } = yield* RealtimeBusKit
        const a = yield* node
        const b = yield* node
        const channel = freshChannel("refcount")
        expect(yield* numsub(channel)).toBe(0)

        const firstScope = yield* Scope.make()
        const secondScope = yield* Scope.make()
        const first = yield* a.subscribe(channel).pipe(Scope.provide(firstScope))
        const second = yield* a.subscribe(channel).pipe(Scope.provide(secondScope))
        expect(yield* numsub(channel)).toBe(1)

        const remote = yield* b.subscribe(channel)
        expect(yield* numsub(channel)).toBe(2)

        yield* Scope.close(firstScope, Exit.void)
        expect(yield* numsub(channel)).toBe(2)
        // The closed subscriber's stream has ended; the other one still receives.
        expect(yield* takeEvents(first, 10)).toEqual([])
        yield* b.publish(channel, "still-here")
        expect(payloads(yield* takeEvents(remote, 1))).toEqual(["still-here"])
        expect(payloads(yield* takeEvents(second, 1))).toEqual(["still-here"])

        yield* Scope.close(secondScope, Exit.void)
        expect(yield* numsub(channel)).toBe(1)
      }))

    it.effect("concurrent first subscribers share one subscription and all receive", () =>
      Effect.gen(function*() {
        const { node, numsub } = yield* RealtimeBusKit
        const bus = yield* node
        const publisher = yield* node
        const channel = freshChannel("race")
        const streams = yield* Effect.all(Array.from({ length: 10 }, () => bus.subscribe(channel)), {
          concurrency: "unbounded"
        })
        expect(yield* numsub(channel)).toBe(1)
        yield* publisher.publish(channel, "hello")
        const received = yield* Effect.forEach(streams, (stream) => takeEvents(stream, 1))
        expect(received.map(payloads)).toEqual(Array.from({ length: 10 }, () => ["hello"]))
      }))

    it.effect("re-subscribing after the last subscriber left works", () =>
      Effect.gen(function*() {
        const { node, numsub } = yield* RealtimeBusKit
        const bus = yield* node
        const channel = freshChannel("again")
        const released = yield* Effect.scoped(bus.subscribe(channel))
        expect(yield* numsub(channel)).toBe(0)
        expect(yield* takeEvents(released, 1)).toEqual([])
        const stream = yield* bus.subscribe(channel)
        expect(yield* numsub(channel)).toBe(1)
        yield* bus.publish(channel, "back")
        expect(payloads(yield* takeEvents(stream, 1))).toEqual(["back"])
      }))

    it.effect("a slow subscriber neither blocks a fast one nor loses messages silently", () =>
      Effect.gen(function*() {
        const { node } = yield* RealtimeBusKit
        const bus = yield* node
        const publisher = yield* node
        const channel = freshChannel("slow")
        const slow = yield* bus.subscribe(channel, { bufferSize: 8 })
        const fast = yield* bus.subscribe(channel)
        const sent = numbered("m", 100)
        const reading = yield* Effect.forkChild(takeEvents(fast, 100))
        for (const payload of sent) yield* publisher.publish(channel, payload)
        expect(payloads(yield* Fiber.join(reading))).toEqual(sent)

        // The slow one never read: its backlog was replaced by a Gap, then the newest messages.
        const events = yield* untilPayload(slow, "m99")
        expect(events.length).toBeLessThanOrEqual(9)
        const [gap, ...rest] = events
        expect(gap).toMatchObject({ _tag: "Gap", reason: "Lagged" })
        expect(gap?._tag === "Gap" ? gap.dropped : 0).toBeGreaterThan(0)
        const tail = payloads(rest)
        expect(rest).toHaveLength(tail.length)
        expect(tail).toEqual(sent.slice(sent.length - tail.length))
      }))

    it.effect("1,000 messages arrive complete and in order on another node", () =>
      Effect.gen(function*() {
        const { node } = yield* RealtimeBusKit
        const sender = yield* node
        const receiver = yield* node
        const channel = freshChannel("thousand")
        const stream = yield* receiver.subscribe(channel)
        const sent = numbered("n", 1_000)
        const reading = yield* Effect.forkChild(
          stream.pipe(Stream.take(1_000), Stream.runCollect, Effect.timeout("20 seconds"))
        )
        for (const payload of sent) yield* sender.publish(channel, payload)
        const events = yield* Fiber.join(reading)
        expect(events.every((event) => event._tag === "Message")).toBe(true)
        expect(payloads(events)).toEqual(sent)
      }))

    it.effect("publishing to a channel nobody subscribes to succeeds", () =>
      Effect.gen(function*() {
        const { node } = yield* RealtimeBusKit
        const bus = yield* node
        yield* bus.publish(freshChannel("void"), "into the void")
      }))
  })
}
