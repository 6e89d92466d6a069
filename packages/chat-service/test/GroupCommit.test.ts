/**
 * The group-commit mechanism on its own (no database): items submitted while a key's batch is
 * in flight go together in its next batch, keys waiting together share a batch, a key never has
 * two batches in flight, a key in flight does not hold back others while a slot is free, each
 * item gets its own result, and a failing batch fails exactly its own items. Batches are held open with
 * Deferred gates, so what forms a batch is decided by the test, not by timing.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Scope } from "effect"
import { TestClock } from "effect/testing"
import { makeGroupCommit } from "../src/GroupCommit.ts"

interface Harness {
  /** Every batch run so far, as its items. */
  readonly batches: Array<ReadonlyArray<number>>
  /** Opens the gate of the n-th batch (0-based), letting it finish. */
  readonly release: (n: number) => Effect.Effect<void>
  /** Waits until n batches have started. */
  readonly started: (n: number) => Effect.Effect<void>
  /** Batches that gave their slot up so far. */
  readonly stalls: () => number
}

/** A committer whose batches double each item, refuse negative ones, and wait for their gate. */
const harness = (failWholeBatchOn?: number, maxInFlight = 4) =>
  Effect.gen(function*() {
    let stalls = 0
    const batches: Array<ReadonlyArray<number>> = []
    const gates: Array<Deferred.Deferred<void>> = []
    const gate = (n: number) =>
      Effect.suspend(() => {
        while (gates.length <= n) gates.push(Deferred.makeUnsafe<void>())
        const g = gates[n]
        return g === undefined ? Effect.die(new Error("no gate")) : Effect.succeed(g)
      })
    const committer = yield* makeGroupCommit<string, number, number, string>({
      maxBatch: 100,
      maxInFlight,
      stallAfter: "100 millis",
      maxStalled: 1,
      onStall: Effect.sync(() => {
        stalls++
      }),
      run: (items) =>
        Effect.gen(function*() {
          const n = batches.length
          batches.push(items)
          yield* Deferred.await(yield* gate(n))
          if (failWholeBatchOn !== undefined && items.includes(failWholeBatchOn)) return yield* Effect.fail("batch failed")
          return items.map((item) => item < 0 ? Exit.fail(`refused ${item}`) : Exit.succeed(item * 2))
        })
    })
    const h: Harness = {
      batches,
      stalls: () => stalls,
      release: (n) => Effect.flatMap(gate(n), (g) => Deferred.succeed(g, undefined)),
      started: (n) =>
        Effect.gen(function*() {
          while (batches.length < n) yield* Effect.yieldNow
        }).pipe(Effect.timeout("30 seconds"), Effect.orDie)
    }
    return { committer, h }
  })

/** Waits until `count` items of `key` are queued behind its batch in flight. */
const waitQueued = (queued: (key: string) => Effect.Effect<number>, key: string, count: number) =>
  Effect.gen(function*() {
    while ((yield* queued(key)) < count) yield* Effect.yieldNow
  }).pipe(Effect.timeout("30 seconds"), Effect.orDie)

describe("GroupCommit", () => {
  it.effect("items that arrive while a key's batch is in flight all go in its next batch, in order", () =>
    Effect.scoped(Effect.gen(function*() {
      const { committer, h } = yield* harness()
      const first = yield* Effect.forkChild(committer.submit("room", 1))
      yield* h.started(1)
      const rest = yield* Effect.forkChild(
        Effect.forEach([2, 3, 4, 5, 6], (item) => committer.submit("room", item), { concurrency: "unbounded" })
      )
      yield* waitQueued(committer.queued, "room", 5)
      yield* h.release(0)
      yield* h.started(2)
      yield* h.release(1)
      expect(yield* Fiber.join(first)).toBe(2)
      expect(yield* Fiber.join(rest)).toEqual([4, 6, 8, 10, 12])
      expect(h.batches).toEqual([[1], [2, 3, 4, 5, 6]])
    })))

  it.effect("another key does not wait for a key's batch in flight", () =>
    Effect.scoped(Effect.gen(function*() {
      const { committer, h } = yield* harness()
      const a = yield* Effect.forkChild(committer.submit("a", 1))
      yield* h.started(1)
      const b = yield* Effect.forkChild(committer.submit("b", 7))
      yield* h.started(2)
      yield* h.release(1)
      expect(yield* Fiber.join(b)).toBe(14)
      yield* h.release(0)
      expect(yield* Fiber.join(a)).toBe(2)
    })))

  it.effect("an item refused in a batch fails alone; its batch-mates succeed", () =>
    Effect.scoped(Effect.gen(function*() {
      const { committer, h } = yield* harness()
      const first = yield* Effect.forkChild(committer.submit("room", 1))
      yield* h.started(1)
      const mixed = yield* Effect.forkChild(
        Effect.forEach([2, -3, 4], (item) => Effect.exit(committer.submit("room", item)), { concurrency: "unbounded" })
      )
      yield* waitQueued(committer.queued, "room", 3)
      yield* h.release(0)
      yield* h.started(2)
      yield* h.release(1)
      yield* Fiber.join(first)
      expect(yield* Fiber.join(mixed)).toEqual([Exit.succeed(4), Exit.fail("refused -3"), Exit.succeed(8)])
      expect(h.batches[1]).toEqual([2, -3, 4])
    })))

  it.effect("a batch that fails as a whole fails its own items only; the key keeps working", () =>
    Effect.scoped(Effect.gen(function*() {
      const { committer, h } = yield* harness(99)
      const first = yield* Effect.forkChild(committer.submit("room", 1))
      yield* h.started(1)
      const doomed = yield* Effect.forkChild(
        Effect.forEach([5, 99], (item) => Effect.exit(committer.submit("room", item)), { concurrency: "unbounded" })
      )
      yield* waitQueued(committer.queued, "room", 2)
      yield* h.release(0)
      yield* h.started(2)
      yield* h.release(1)
      expect(yield* Fiber.join(first)).toBe(2)
      expect(yield* Fiber.join(doomed)).toEqual([Exit.fail("batch failed"), Exit.fail("batch failed")])
      const later = yield* Effect.forkChild(committer.submit("room", 10))
      yield* h.started(3)
      yield* h.release(2)
      expect(yield* Fiber.join(later)).toBe(20)
    })))

  it.effect("keys waiting together share the next batch, in submission order", () =>
    Effect.scoped(Effect.gen(function*() {
      const { committer, h } = yield* harness(undefined, 1)
      const first = yield* Effect.forkChild(committer.submit("a", 1))
      yield* h.started(1)
      const rest = yield* Effect.forkChild(Effect.forEach(
        [["b", 2], ["c", 3], ["a", 4], ["b", 5]] as const,
        ([key, item]) => committer.submit(key, item),
        { concurrency: "unbounded" }
      ))
      yield* waitQueued(committer.queued, "b", 2)
      yield* waitQueued(committer.queued, "a", 1)
      yield* h.release(0)
      yield* h.started(2)
      yield* h.release(1)
      expect(yield* Fiber.join(first)).toBe(2)
      expect(yield* Fiber.join(rest)).toEqual([4, 6, 8, 10])
      expect(h.batches).toEqual([[1], [2, 3, 4, 5]])
    })))

  it.effect("a key never has two batches in flight, even with a slot free; other keys take the free slot", () =>
    Effect.scoped(Effect.gen(function*() {
      const { committer, h } = yield* harness(undefined, 2)
      const a1 = yield* Effect.forkChild(committer.submit("a", 1))
      yield* h.started(1)
      const a2 = yield* Effect.forkChild(committer.submit("a", 2))
      yield* waitQueued(committer.queued, "a", 1)
      const b = yield* Effect.forkChild(committer.submit("b", 3))
      yield* h.started(2)
      // "b" took the free slot; "a"'s second item still waits for its first batch.
      expect(h.batches).toEqual([[1], [3]])
      expect(yield* committer.queued("a")).toBe(1)
      yield* h.release(1)
      expect(yield* Fiber.join(b)).toBe(6)
      expect(h.batches.length).toBe(2)
      yield* h.release(0)
      yield* h.started(3)
      yield* h.release(2)
      expect(yield* Fiber.join(a1)).toBe(2)
      expect(yield* Fiber.join(a2)).toBe(4)
      expect(h.batches).toEqual([[1], [3], [2]])
    })))

  it.effect("with every slot busy, other keys wait for the first slot that frees", () =>
    Effect.scoped(Effect.gen(function*() {
      const { committer, h } = yield* harness(undefined, 2)
      const a = yield* Effect.forkChild(committer.submit("a", 1))
      yield* h.started(1)
      const b = yield* Effect.forkChild(committer.submit("b", 2))
      yield* h.started(2)
      const c = yield* Effect.forkChild(committer.submit("c", 3))
      yield* waitQueued(committer.queued, "c", 1)
      expect(h.batches.length).toBe(2)
      yield* h.release(1)
      yield* h.started(3)
      expect(h.batches[2]).toEqual([3])
      yield* h.release(2)
      expect(yield* Fiber.join(c)).toBe(6)
      yield* h.release(0)
      expect([yield* Fiber.join(a), yield* Fiber.join(b)]).toEqual([2, 4])
    })))

  it.effect("closing the scope ends what is in flight and what waits (nobody waits forever)", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const { committer, h } = yield* Scope.provide(harness(undefined, 1), scope)
      const inFlight = yield* Effect.forkChild(Effect.exit(committer.submit("a", 1)))
      yield* h.started(1)
      const waiting = yield* Effect.forkChild(Effect.exit(committer.submit("b", 2)))
      yield* waitQueued(committer.queued, "b", 1)
      yield* Scope.close(scope, Exit.void)
      expect(Exit.hasInterrupts(yield* Fiber.join(inFlight))).toBe(true)
      expect(Exit.hasInterrupts(yield* Fiber.join(waiting))).toBe(true)
    }))

  it.effect("a batch in flight past stallAfter gives its slot up: the next keys go on (TestClock)", () =>
    Effect.scoped(Effect.gen(function*() {
      const { committer, h } = yield* harness(undefined, 1)
      const stuck = yield* Effect.forkChild(committer.submit("a", 1))
      yield* h.started(1)
      const b = yield* Effect.forkChild(committer.submit("b", 2))
      yield* waitQueued(committer.queued, "b", 1)
      yield* TestClock.adjust("99 millis")
      expect(h.batches.length).toBe(1)
      expect(h.stalls()).toBe(0)
      yield* TestClock.adjust("1 millis")
      yield* h.started(2)
      expect(h.stalls()).toBe(1)
      yield* h.release(1)
      expect(yield* Fiber.join(b)).toBe(4)
      // maxStalled is 1: a second stuck batch keeps its slot, so "c" waits for a slot.
      const c = yield* Effect.forkChild(committer.submit("c", 3))
      yield* h.started(3)
      const d = yield* Effect.forkChild(committer.submit("d", 4))
      yield* waitQueued(committer.queued, "d", 1)
      yield* TestClock.adjust("1 second")
      expect(h.batches.length).toBe(3)
      expect(h.stalls()).toBe(1)
      yield* h.release(0)
      expect(yield* Fiber.join(stuck)).toBe(2)
      // "c" still holds the slot (its stall was refused), so "d" waits for it.
      expect(yield* committer.queued("d")).toBe(1)
      yield* h.release(2)
      expect(yield* Fiber.join(c)).toBe(6)
      yield* h.started(4)
      yield* h.release(3)
      expect(yield* Fiber.join(d)).toBe(8)
    })))
})
