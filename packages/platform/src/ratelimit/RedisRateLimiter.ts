/**
 * Redis adapter of `RateLimiter`, shared by every gateway process. One Lua script per hit
 * (INCR, then PEXPIRE when the window opens), so concurrent hits from any number of processes
 * are serialised by Redis and the window is timed by Redis, not by the gateways' clocks.
 * Keys: `pylon:rl:<bucket>:<key>`, each expiring with its window.
 *
 * Redis-down policy: FAIL OPEN by default. When Redis errors or does not answer within `timeout`
 * (default 500 ms, so a dead Redis cannot stall every request behind ioredis' retries), the hit
 * is allowed, a warning is logged at most once per 10 s, and `pylon_rate_limiter_fail_open_total`
 * counts it. Rate limits protect against abuse; refusing all logins and messages because Redis
 * blinked would turn a degraded dependency into a full outage (and `/ready` already reports Redis).
 * `layerWith({ onUnavailable: "fail" })` instead fails with `RateLimiterUnavailable`, which the
 * gateway must map to 503 — never 500.
 */
import { createHash } from "node:crypto"
import { Clock, Duration, Effect, Layer, Metric, Predicate, Schema } from "effect"
import { RedisClient, RedisError } from "../redis/Redis.ts"
import { describeError } from "../runtime/CauseText.ts"
import { decide, normalizeLimit, windowMillis } from "./FixedWindow.ts"
import { RateLimitBucket } from "./RateLimitConfig.ts"
import { RateLimiter, RateLimiterUnavailable } from "./RateLimiter.ts"

export interface RedisRateLimiterOptions {
  /** Prefix of every key; default `pylon:rl:`. Tests use their own to stay apart. */
  readonly keyPrefix?: string
  /** What a hit gets when Redis is unavailable: `"allow"` (default) or `"fail"`. */
  readonly onUnavailable?: "allow" | "fail"
  /** How long to wait for Redis before treating it as unavailable; default 500 ms. */
  readonly timeout?: Duration.Input
}

// KEYS[1] counter key, ARGV[1] window in ms. `ttl < 0` also repairs a counter that somehow lost
// its expiry, so no key can live forever and pin a caller at "denied".
const SCRIPT = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if count == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`
const SCRIPT_SHA = createHash("sha1").update(SCRIPT).digest("hex")

const ScriptReply = Schema.Tuple([Schema.Int, Schema.Int])
const decodeReply = Schema.decodeUnknownEffect(ScriptReply)

const WARN_INTERVAL_MILLIS = 10_000

const failOpenTotal = Metric.counter("pylon_rate_limiter_fail_open_total", {
  description: "Rate-limit checks allowed without Redis because it was unavailable"
})

const isNoScript = (error: RedisError): boolean =>
  Predicate.hasProperty(error.cause, "message") && Predicate.isString(error.cause.message) &&
  error.cause.message.startsWith("NOSCRIPT")

export const make = Effect.fnUntraced(function*(options: RedisRateLimiterOptions = {}) {
  const redis = yield* RedisClient
  const keyPrefix = options.keyPrefix ?? "pylon:rl:"
  const onUnavailable = options.onUnavailable ?? "allow"
  const timeout = options.timeout ?? Duration.millis(500)
  let lastWarnAt = Number.NEGATIVE_INFINITY
  // A series per bucket at 0 before Redis ever fails (dashboards show 0, not "No data").
  yield* Effect.forEach(RateLimitBucket.literals, (bucket) =>
    Metric.update(Metric.withAttributes(failOpenTotal, { bucket }), 0), { discard: true })

  // EVALSHA keeps the script off the wire; after a Redis restart the cache is empty, so load it once more.
  const hit = (key: string, window: number) =>
    redis.use("rateLimit.evalsha", (c) => c.evalsha(SCRIPT_SHA, 1, key, window)).pipe(
      Effect.catchIf(isNoScript, () => redis.use("rateLimit.eval", (c) => c.eval(SCRIPT, 1, key, window))),
      Effect.flatMap(decodeReply),
      Effect.timeout(timeout),
      Effect.mapError((cause) => new RateLimiterUnavailable({ cause }))
    )

  const allowWithoutStore = Effect.fnUntraced(function*(
    bucket: string,
    limit: number,
    window: number,
    error: RateLimiterUnavailable
  ) {
    const now = yield* Clock.currentTimeMillis
    yield* Metric.update(Metric.withAttributes(failOpenTotal, { bucket }), 1)
    if (now - lastWarnAt >= WARN_INTERVAL_MILLIS) {
      lastWarnAt = now
      yield* Effect.logWarning("rate limiter: Redis unavailable, allowing requests unchecked").pipe(
        Effect.annotateLogs({ bucket, cause: describeError(error.cause) })
      )
    }
    return decide(limit, 1, now, window)
  })

  const consume = Effect.fn("RedisRateLimiter.consume")(function*(
    bucket: string,
    key: string,
    limit: number,
    window: Duration.Input
  ) {
    const max = normalizeLimit(limit)
    const millis = windowMillis(window)
    return yield* hit(`${keyPrefix}${encodeURIComponent(bucket)}:${key}`, millis).pipe(
      Effect.flatMap(([count, ttl]) => Effect.map(Clock.currentTimeMillis, (now) => decide(max, count, now, ttl))),
      Effect.catch((error) =>
        onUnavailable === "allow" ? allowWithoutStore(bucket, max, millis, error) : Effect.fail(error)
      )
    )
  })

  return RateLimiter.of({ consume })
})

export const layerWith = (options: RedisRateLimiterOptions): Layer.Layer<RateLimiter, never, RedisClient> =>
  Layer.effect(RateLimiter, make(options))

/** Fails open when Redis is unavailable (see the header). */
export const layer: Layer.Layer<RateLimiter, never, RedisClient> = layerWith({})
