/**
 * In-process adapter of `RateLimiter` for embedded mode (one process, no Redis), passing the same
 * contract suite as the Redis one: fixed windows that open on the first hit. Time comes from the
 * Effect `Clock`, so tests may drive it with `TestClock`. A hit is a synchronous step, so
 * concurrent fibers cannot interleave inside it.
 *
 * Memory: expired windows are swept at most once per `sweepInterval` (default 10 s) on the
 * consume path, so the map holds only keys hit within the last window plus one interval, with no
 * background fiber to manage.
 */
import { Clock, Duration, Effect, Layer } from "effect"
import { decide, normalizeLimit, windowMillis } from "./FixedWindow.ts"
import { RateLimiter } from "./RateLimiter.ts"

export interface MemoryRateLimiterOptions {
  readonly sweepInterval?: Duration.Input
}

interface Window {
  count: number
  readonly expiresAt: number
}

export const make = Effect.fnUntraced(function*(options: MemoryRateLimiterOptions = {}) {
  const sweepMillis = Duration.toMillis(options.sweepInterval ?? Duration.seconds(10))
  const windows = new Map<string, Window>()
  let nextSweepAt = Number.NEGATIVE_INFINITY

  const sweep = (now: number) => {
    for (const [id, window] of windows) {
      if (window.expiresAt <= now) windows.delete(id)
    }
    nextSweepAt = now + sweepMillis
  }

  const consume = Effect.fn("MemoryRateLimiter.consume")(function*(
    bucket: string,
    key: string,
    limit: number,
    window: Duration.Input
  ) {
    const max = normalizeLimit(limit)
    const millis = windowMillis(window)
    const now = yield* Clock.currentTimeMillis
    if (now >= nextSweepAt) sweep(now)
    // Bucket names are code constants without NUL, so distinct (bucket, key) pairs never share an id.
    const id = `${bucket}\u0000${key}`
    let current = windows.get(id)
    if (current === undefined || current.expiresAt <= now) {
      current = { count: 0, expiresAt: now + millis }
      windows.set(id, current)
    }
    current.count += 1
    return decide(max, current.count, now, current.expiresAt - now)
  })

  /** Live windows, for tests that check eviction. */
  const size = Effect.sync(() => windows.size)

  return { limiter: RateLimiter.of({ consume }), size }
})

export const layer: Layer.Layer<RateLimiter> = Layer.effect(
  RateLimiter,
  Effect.map(make(), ({ limiter }) => limiter)
)
