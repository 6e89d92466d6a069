/**
 * Reads a server stream (any `AsyncIterable`, e.g. a Connect `StreamMessages` call) in the
 * background for a test: every item is kept in arrival order, `take` waits for the next ones
 * (failing with what was seen on timeout), and `end` waits for the stream to finish and says how
 * (completed, or the error it ended with). Deadlines are generous waits, never assertions on speed.
 */
import { Data, Effect } from "effect"

export class StreamReaderError extends Data.TaggedError("StreamReaderError")<{ readonly message: string }> {}

export type StreamEnd =
  | { readonly _tag: "Completed" }
  | { readonly _tag: "Failed"; readonly error: unknown }

export interface StreamReader<A> {
  /** Every item received so far, in arrival order. */
  readonly items: ReadonlyArray<A>
  /** The next `count` items not taken yet, waiting up to `timeoutMs` for them. */
  readonly take: (count: number, timeoutMs?: number) => Effect.Effect<ReadonlyArray<A>, StreamReaderError>
  /** How the stream ended, waiting up to `timeoutMs` for it to end. */
  readonly end: (timeoutMs?: number) => Effect.Effect<StreamEnd, StreamReaderError>
}

const DEFAULT_TIMEOUT_MS = 20_000
const POLL_MS = 10

export const readStream = <A>(iterable: AsyncIterable<A>): StreamReader<A> => {
  const items: Array<A> = []
  let taken = 0
  let ended: StreamEnd | undefined
  void (async () => {
    try {
      for await (const item of iterable) items.push(item)
      ended = { _tag: "Completed" }
    } catch (error) {
      ended = { _tag: "Failed", error }
    }
  })()

  const waitUntil = (done: () => boolean, timeoutMs: number, what: () => string) =>
    Effect.gen(function*() {
      const deadline = Date.now() + timeoutMs
      while (!done()) {
        if (Date.now() > deadline) return yield* new StreamReaderError({ message: what() })
        yield* Effect.sleep(POLL_MS)
      }
    })

  return {
    get items() {
      return items
    },
    take: (count, timeoutMs = DEFAULT_TIMEOUT_MS) =>
      Effect.gen(function*() {
        yield* waitUntil(
          () => items.length >= taken + count || (ended !== undefined && items.length < taken + count),
          timeoutMs,
          () => `waited ${timeoutMs} ms for ${count} items after ${taken}; have ${items.length}`
        )
        if (items.length < taken + count) {
          return yield* new StreamReaderError({
            message: `stream ended (${JSON.stringify(ended)}) with ${items.length} items; wanted ${taken + count}`
          })
        }
        const batch = items.slice(taken, taken + count)
        taken += count
        return batch
      }),
    end: (timeoutMs = DEFAULT_TIMEOUT_MS) =>
      Effect.gen(function*() {
        yield* waitUntil(() => ended !== undefined, timeoutMs, () => `stream still open after ${timeoutMs} ms`)
        return ended ?? { _tag: "Completed" }
      })
  }
}

/** Runs `use` with an abort controller that is aborted afterwards (the streams given its signal are cancelled). */
export const cancelling = <A, E, R>(use: (controller: AbortController) => Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => new AbortController()),
    use,
    (controller) => Effect.sync(() => controller.abort())
  )
