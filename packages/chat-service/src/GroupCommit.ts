/**
 * Group commit: items are submitted under a key (a room) and run in batches, with at most one
 * batch in flight per key and at most `maxInFlight` batches in flight at all. A batch takes, in
 * submission order, every waiting item whose key has no batch in flight (up to `maxBatch`), so it
 * may hold several keys. With a free slot, an item of an idle key starts a batch at once (no added
 * latency when there is no contention); under load the slots are busy and what arrives meanwhile
 * waits and goes together in the next batch. So many busy keys share one database round trip
 * and commit instead of each paying for its own, and a key's items still run in submission
 * order (never two batches of one key at once).
 *
 * A batch still in flight after `stallAfter` (stuck on a lock held elsewhere, say) stops counting
 * against `maxInFlight`, so the other keys go on in a new batch (up to `maxStalled` such
 * batches): one stuck room does not hold back the rest, and in normal operation few slots make
 * big batches.
 *
 * `run` returns one `Exit` per item, in order, so one item's failure (a non-member sender) does
 * not fail its batch-mates; a failure or defect of `run` as a whole is every item's result.
 * An item whose submitter is interrupted stays in its batch (it may already be in flight).
 */
import { Deferred, Duration, Effect, Exit, Fiber } from "effect"
import type { Scope } from "effect"

export interface GroupCommit<K, I, A, E> {
  /** Runs `item` in a batch, after every earlier item of `key`, and returns its own result. */
  readonly submit: (key: K, item: I) => Effect.Effect<A, E>
  /** Items of `key` waiting for a batch (not counting those in flight). */
  readonly queued: (key: K) => Effect.Effect<number>
}

export interface GroupCommitOptions<I, A, E> {
  /** Most items in one batch (the rest wait for the next). */
  readonly maxBatch: number
  /** Most batches in flight at once, not counting stalled ones. */
  readonly maxInFlight: number
  /** A batch in flight this long no longer takes a slot. */
  readonly stallAfter: Duration.Input
  /** Most stalled batches (beyond `maxInFlight`) at once. */
  readonly maxStalled: number
  /** Runs when a batch gives its slot up (for a metric). */
  readonly onStall?: Effect.Effect<void>
  /** Runs one batch; returns one `Exit` per item, in the items' order. */
  readonly run: (items: ReadonlyArray<I>) => Effect.Effect<ReadonlyArray<Exit.Exit<A, E>>, E>
}

interface Waiting<K, I, A, E> {
  readonly key: K
  readonly item: I
  readonly done: Deferred.Deferred<A, E>
}

/** A group committer whose batch fibers live in the current scope (stopped when it closes). */
export const makeGroupCommit = <K, I, A, E>(
  options: GroupCommitOptions<I, A, E>
): Effect.Effect<GroupCommit<K, I, A, E>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const maxBatch = Math.max(1, options.maxBatch)
    const maxInFlight = Math.max(1, options.maxInFlight)
    const maxStalled = Math.max(0, options.maxStalled)
    const stallAfter = Duration.fromInputUnsafe(options.stallAfter)
    let waiting: Array<Waiting<K, I, A, E>> = []
    /** Keys with a batch in flight. */
    const busy = new Set<K>()
    let inFlight = 0
    /** Batches in flight for longer than `stallAfter` (they do not take a slot). */
    let stalled = 0
    let closed = false

    const settle = (batch: ReadonlyArray<Waiting<K, I, A, E>>, exit: Exit.Exit<ReadonlyArray<Exit.Exit<A, E>>, E>) => {
      batch.forEach((entry, i) => {
        if (Exit.isFailure(exit)) {
          Deferred.doneUnsafe(entry.done, Exit.failCause(exit.cause))
          return
        }
        const own = exit.value[i]
        Deferred.doneUnsafe(
          entry.done,
          own ?? Exit.die(new Error(`group commit: run returned ${exit.value.length} results for ${batch.length} items`))
        )
      })
    }

    /** Takes the next batch off `waiting`: in order, every item whose key has no batch in flight. */
    const takeBatch = (): ReadonlyArray<Waiting<K, I, A, E>> => {
      const batch: Array<Waiting<K, I, A, E>> = []
      const rest: Array<Waiting<K, I, A, E>> = []
      for (const entry of waiting) {
        if (batch.length < maxBatch && !busy.has(entry.key)) batch.push(entry)
        else rest.push(entry)
      }
      // A key cut off by `maxBatch` must not start a batch of its own ahead of its cut items:
      // it is busy from here on, so its rest waits for this batch.
      for (const entry of batch) busy.add(entry.key)
      waiting = rest
      return batch
    }

    const finish = (batch: ReadonlyArray<Waiting<K, I, A, E>>, wasStalled: boolean) => {
      inFlight--
      if (wasStalled) stalled--
      for (const entry of batch) busy.delete(entry.key)
    }

    const runBatch = (batch: ReadonlyArray<Waiting<K, I, A, E>>): Effect.Effect<void> =>
      Effect.gen(function*() {
        let wasStalled = false
        // Past `stallAfter` the batch gives its slot up (the others may start more batches).
        const watchdog = yield* Effect.forkIn(
          Effect.andThen(
            Effect.sleep(stallAfter),
            Effect.suspend(() => {
              if (stalled >= maxStalled) return Effect.void
              wasStalled = true
              stalled++
              return options.onStall === undefined ? pump : Effect.andThen(options.onStall, pump)
            })
          ),
          scope
        )
        const exit = yield* Effect.exit(Effect.suspend(() => options.run(batch.map((entry) => entry.item))))
        yield* Fiber.interrupt(watchdog)
        settle(batch, exit)
        finish(batch, wasStalled)
        return yield* pump
      }).pipe(
        // Interrupted (scope closing): nobody may wait forever, so the batch gets that end.
        Effect.onInterrupt(() => Effect.sync(() => settle(batch, Exit.interrupt())))
      )

    /** Starts batches while there are free slots and items whose keys are free. */
    const pump: Effect.Effect<void> = Effect.suspend(() => {
      const started: Array<ReadonlyArray<Waiting<K, I, A, E>>> = []
      while (!closed && inFlight - stalled < maxInFlight) {
        const batch = takeBatch()
        if (batch.length === 0) break
        inFlight++
        started.push(batch)
      }
      return Effect.forEach(started, (batch) => Effect.forkIn(runBatch(batch), scope), { discard: true })
    })

    // Closing the scope: what still waits for a batch gets interrupted too.
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        closed = true
        const stranded = waiting
        waiting = []
        for (const entry of stranded) Deferred.doneUnsafe(entry.done, Exit.interrupt())
      })
    )

    const submit = (key: K, item: I): Effect.Effect<A, E> =>
      Effect.flatMap(Deferred.make<A, E>(), (done) =>
        Effect.suspend(() => {
          if (closed) return Effect.interrupt
          waiting.push({ key, item, done })
          return Effect.andThen(pump, Deferred.await(done))
        }))

    const queued = (key: K) => Effect.sync(() => waiting.reduce((n, entry) => entry.key === key ? n + 1 : n, 0))

    return { submit, queued }
  })
