/**
 * Drain semantics for work that must not be cut in half at shutdown (a batch and its commit):
 * when the caller is interrupted, the work keeps running for up to `grace`, and only then is it
 * interrupted. The caller still ends interrupted; the work's outcome is its own business.
 */
import { Duration, Effect, Fiber } from "effect"

export const finishOnInterrupt = (grace: Duration.Input) =>
<A, E, R>(work: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function*() {
      const fiber = yield* Effect.forkDetach(work)
      return yield* restore(Fiber.join(fiber)).pipe(
        Effect.onInterrupt(() =>
          Fiber.await(fiber).pipe(
            Effect.timeout(Duration.fromInputUnsafe(grace)),
            Effect.ignore,
            Effect.andThen(Fiber.interrupt(fiber))
          )
        )
      )
    })
  )
