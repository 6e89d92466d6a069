/**
 * The one retry backoff of background loops (outbox relay, notification consumer): delays grow as
 * `initial · 2^(n-1)`, are capped at `max`, then scaled by a random 0.8–1.2 so processes that
 * failed together (a broker or database outage) do not retry in step.
 */
import { Clock, Duration, Effect, Ref, Schedule } from "effect"

export interface BackoffSettings {
  /** Delay before the first retry (before jitter). */
  readonly initial: Duration.Input
  /** Longest delay (before jitter). */
  readonly max: Duration.Input
}

/** The backoff as a `Schedule`, for `Effect.retry` / `Effect.repeat`; it never ends by itself. */
export const backoffSchedule = (settings: BackoffSettings): Schedule.Schedule<Duration.Duration> => {
  const max = Duration.fromInputUnsafe(settings.max)
  return Schedule.exponential(settings.initial).pipe(
    Schedule.modifyDelay(({ duration }) => Effect.succeed(Duration.min(duration, max))),
    Schedule.jittered
  )
}

/** A backoff driven by hand from a loop that counts its own failures. */
export interface Backoff {
  /** The delay before the next retry: each call is one more failure. */
  readonly next: Effect.Effect<Duration.Duration>
  /** Back to the first delay (after a success). */
  readonly reset: Effect.Effect<void>
}

/** A fresh `Backoff` over `backoffSchedule(settings)`. */
export const makeBackoff = Effect.fnUntraced(function*(settings: BackoffSettings) {
  const schedule = backoffSchedule(settings)
  const step = yield* Ref.make(yield* Schedule.toStep(schedule))
  const next: Effect.Effect<Duration.Duration> = Effect.gen(function*() {
    const pull = yield* Ref.get(step)
    // The schedule never ends, so the step cannot halt: a halt would be a bug here (a defect).
    const [, delay] = yield* Effect.orDie(pull(yield* Clock.currentTimeMillis, undefined))
    return delay
  })
  const reset = Effect.flatMap(Schedule.toStep(schedule), (fresh) => Ref.set(step, fresh))
  return { next, reset } satisfies Backoff
})
