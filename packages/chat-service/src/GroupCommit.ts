/**
 * Group commit: work items submitted under the same key (a room) are run in batches, at most one
 * batch per key at a time. The first item of an idle key starts a batch at once (no added
 * latency when there is no contention); items that arrive while a key's batch is in flight wait
 * and all go together in the next one (up to `maxBatch`). So a hot room costs one database
 * round trip per batch instead of one transaction per message, and its throughput is no longer
 * bounded by one transaction's latency. Keys are independent: different rooms run in parallel.
 *
 * `run` returns one `Exit` per item, in order, so one item's failure (a non-member sender) does
 * not fail its batch-mates; a failure or defect of `run` as a whole is every item's result.
 * An item whose submitter is interrupted stays in its batch (it may already be in flight).
 */
import { Deferred, Effect, Exit } from "effect"
import type { Scope } from "effect"

export interface GroupCommit<K, I, A, E> {
  /** Runs `item` in the next batch of `key` and returns its own result. */
  readonly submit: (key: K, item: I) => Effect.Effect<A, E>
  /** Items of `key` waiting for its next batch (not counting the batch in flight). */
  readonly queued: (key: K) => Effect.Effect<number>
}

export interface GroupCommitOptions<K, I, A, E> {
  /** Most items in one batch (the rest wait for the next). */
  readonly maxBatch: number
  /** Runs one batch of one key; returns one `Exit` per item, in the items' order. */
  readonly run: (key: K, items: ReadonlyArray<I>) => Effect.Effect<ReadonlyArray<Exit.Exit<A, E>>, E>
}

interface Waiting<I, A, E> {
  readonly item: I
  readonly done: Deferred.Deferred<A, E>
}

/** A group committer whose batch fibers live in the current scope (stopped when it closes). */
export const makeGroupCommit = <K, I, A, E>(
  options: GroupCommitOptions<K, I, A, E>
): Effect.Effect<GroupCommit<K, I, A, E>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const maxBatch = Math.max(1, options.maxBatch)
    /** Keys with a batch in flight, and what waits for their next batch. */
    const lanes = new Map<K, Array<Waiting<I, A, E>>>()

    const settle = (batch: ReadonlyArray<Waiting<I, A, E>>, exit: Exit.Exit<ReadonlyArray<Exit.Exit<A, E>>, E>) =>
      Effect.sync(() => {
        batch.forEach((waiting, i) => {
          if (Exit.isFailure(exit)) {
            Deferred.doneUnsafe(waiting.done, Exit.failCause(exit.cause))
            return
          }
          const own = exit.value[i]
          Deferred.doneUnsafe(
            waiting.done,
            own ?? Exit.die(new Error(`group commit: run returned ${exit.value.length} results for ${batch.length} items`))
          )
        })
      })

    /** Runs the key's batches until nothing waits, then retires the lane. */
    const drain = (key: K): Effect.Effect<void> => {
      let inFlight: ReadonlyArray<Waiting<I, A, E>> = []
      return Effect.gen(function*() {
        while (true) {
          const waiting = lanes.get(key)
          if (waiting === undefined || waiting.length === 0) {
            lanes.delete(key)
            return
          }
          const batch = waiting.splice(0, maxBatch)
          inFlight = batch
          const exit = yield* Effect.exit(Effect.suspend(() => options.run(key, batch.map((w) => w.item))))
          yield* settle(batch, exit)
          inFlight = []
        }
      }).pipe(
        // Interrupted (scope closing) or died: nobody may wait forever, so what is in flight or
        // queued gets the same end.
        Effect.onExit((exit) =>
          Exit.isSuccess(exit) ? Effect.void : Effect.sync(() => {
            const stranded = [...inFlight, ...(lanes.get(key) ?? [])]
            lanes.delete(key)
            for (const waiting of stranded) Deferred.doneUnsafe(waiting.done, Exit.failCause(exit.cause))
          })
        )
      )
    }

    const submit = (key: K, item: I): Effect.Effect<A, E> =>
      Effect.flatMap(Deferred.make<A, E>(), (done) =>
        Effect.suspend(() => {
          const waiting = lanes.get(key)
          if (waiting !== undefined) {
            waiting.push({ item, done })
            return Deferred.await(done)
          }
          lanes.set(key, [{ item, done }])
          return Effect.andThen(Effect.forkIn(drain(key), scope), Deferred.await(done))
        }))

    return { submit, queued: (key: K) => Effect.sync(() => lanes.get(key)?.length ?? 0) }
  })
