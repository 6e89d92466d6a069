/** Polling helper for integration tests: waits until an effect's value satisfies a condition. */
import { Duration, Effect } from "effect"

/** Polls `effect` every 50 ms until `done` holds; dies (failing the test) after `timeout`. */
export const eventually = <A, E, R>(
  what: string,
  effect: Effect.Effect<A, E, R>,
  done: (a: A) => boolean,
  timeout: Duration.Input = Duration.seconds(30)
) =>
  Effect.gen(function*() {
    const deadline = Date.now() + Duration.toMillis(Duration.fromInputUnsafe(timeout))
    while (true) {
      const a = yield* effect
      if (done(a)) return a
      if (Date.now() > deadline) {
        return yield* Effect.die(new Error(`timed out waiting for ${what}: ${JSON.stringify(a)}`))
      }
      yield* Effect.sleep("50 millis")
    }
  })
