/**
 * The group-commit mechanism on its own (no database): items submitted while a key's batch is
 * in flight go together in its next batch, keys do not wait for each other, each item gets its
 * own result, and a failing batch fails exactly its own items. Batches are held open with
 * Deferred gates, so what forms a batch is decided by the test, not by timing.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber } from "effect"
import { makeGroupCommit } from "../src/GroupCommit.ts"

interface Harness {
  /** Every batch run so far, as [key, items]. */
  readonly batches: Array<readonly [string, ReadonlyArray<number>]>
  /** Opens the gate of the n-th batch (0-based), letting it finish. */
  readonly release: (n: number) => Effect.Effect<void>
  /** Waits until n batches have started. */
  readonly started: (n: number) => Effect.Effect<void>
}

/** A committer whose batches double each item, refuse negative ones, and wait for their gate. */
const harness = (failWholeBatchOn?: number) =>
  Effect.gen(function*() {
    const batches: Array<readonly [string, ReadonlyArray<number>]> = []
    const gates: Array<Deferred.Deferred<void>> = []
    const gate = (n: number) =>
      Effect.suspend(() => {
        while (gates.length <= n) gates.push(Deferred.makeUnsafe<void>())
        const g = gates[n]
        return g === undefined ? Effect.die(new Error("no gate")) : Effect.succeed(g)
      })
    const committer = yield* makeGroupCommit<string, number, number, string>({
      maxBatch: 100,
      run: (key, items) =>
        Effect.gen(function*() {
          const n = batches.length
          batches.push([key, items])
          yield* Deferred.await(yield* gate(n))
          if (failWholeBatchOn !== undefined && items.includes(failWholeBatchOn)) return yield* Effect.fail("batch failed")
          return items.map((item) => item < 0 ? Exit.fail(`refused ${item}`) : Exit.succeed(item * 2))
        })
    })
    const h: Harness = {
      batches,
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
      expect(h.batches).toEqual([["room", [1]], ["room", [2, 3, 4, 5, 6]]])
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
      expect(h.batches[1]).toEqual(["room", [2, -3, 4]])
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
})
