/**
 * The rate-limit port (API.md §7): a fixed-window counter per `(bucket, key)`, its budgets read
 * from the environment, and the `X-RateLimit-*` / `Retry-After` headers a decision turns into.
 *
 * Algorithm: a fixed window that opens on the first hit and lasts `window`; every hit in it
 * counts, and a hit is allowed while the count is at most `limit`. Chosen over a sliding window
 * because it is one atomic counter (Redis: one Lua script doing INCR + PEXPIRE), so several
 * gateway processes sharing Redis never admit more than `limit` per window between them. The
 * window is timed by the store (Redis TTL), not by the gateways' clocks, so clock skew between
 * gateways does not widen it. The cost is the usual fixed-window burst: up to `2 × limit` in a
 * short span around a window boundary, acceptable for abuse protection.
 *
 * Failure policy: `consume` fails only with `RateLimiterUnavailable` (the store did not answer).
 * The Redis adapter's default layer fails open instead (see `RedisRateLimiter.ts`), so callers of
 * that layer never see the error; a fail-closed variant exists for callers that want it, and
 * the gateway maps the error to `503 service_unavailable`, never to a 500.
 */
import { Config, Context, Duration, Effect, Layer, Schema } from "effect"

export class RateLimiterUnavailable extends Schema.TaggedError<RateLimiterUnavailable>()("RateLimiterUnavailable", {
  cause: Schema.Defect()
}) {}

export interface RateLimitDecision {
  readonly allowed: boolean
  readonly limit: number
  /** Hits left in the current window after this one (0 when denied). */
  readonly remaining: number
  /** When the current window ends, in epoch seconds (rounded up). */
  readonly resetAt: number
  /** Seconds until a denied caller may retry (at least 1); 0 when allowed. */
  readonly retryAfterSeconds: number
}

export interface RateLimiterService {
  /**
   * Counts one hit for `key` in `bucket` and says whether it is within `limit` per `window`.
   * Buckets are independent namespaces (one per route or frame kind); keys are user ids,
   * connection ids or client addresses. `limit` 0 denies everything.
   */
  readonly consume: (
    bucket: string,
    key: string,
    limit: number,
    window: Duration.Input
  ) => Effect.Effect<RateLimitDecision, RateLimiterUnavailable>
}

export class RateLimiter extends Context.Service<RateLimiter, RateLimiterService>()("pylon/platform/RateLimiter") {}

/** Milliseconds of a window; a non-finite or sub-millisecond window is a programming error. */
export const windowMillis = (window: Duration.Input): number => {
  const millis = Math.ceil(Duration.toMillis(window))
  if (!Number.isFinite(millis) || millis < 1) {
    throw new RangeError(`rate-limit window must be a finite duration of at least 1ms, got ${String(millis)}ms`)
  }
  return millis
}

/** Limits are whole hits; anything below zero means "deny everything" like 0. */
export const normalizeLimit = (limit: number): number => Number.isFinite(limit) ? Math.max(0, Math.floor(limit)) : 0

/**
 * The decision for the `count`-th hit of a window that ends `ttlMillis` after `nowMillis`.
 * Shared by every adapter so they agree on rounding.
 */
export const decide = (limit: number, count: number, nowMillis: number, ttlMillis: number): RateLimitDecision => {
  const allowed = count <= limit
  const ttl = Math.max(0, ttlMillis)
  return {
    allowed,
    limit,
    remaining: Math.max(0, limit - count),
    resetAt: Math.ceil((nowMillis + ttl) / 1000),
    retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil(ttl / 1000))
  }
}

/** The headers API.md §7 puts on every limited response; `Retry-After` only when denied. */
export const rateLimitHeaders = (decision: RateLimitDecision): Record<string, string> => {
  const headers: Record<string, string> = {
    "X-RateLimit-Limit": String(decision.limit),
    "X-RateLimit-Remaining": String(decision.remaining),
    "X-RateLimit-Reset": String(decision.resetAt)
  }
  if (!decision.allowed) headers["Retry-After"] = String(decision.retryAfterSeconds)
  return headers
}

/** The budgets of API.md §7; each name doubles as the limiter's bucket. */
export const RateLimitBucket = Schema.Literals([
  "register",
  "login",
  "refresh",
  "createRoom",
  "join",
  "history",
  "wsMessages",
  "wsTyping"
])
export type RateLimitBucket = typeof RateLimitBucket.Type

export interface RateLimitSettings {
  /** Length of every window (`RATE_LIMIT_WINDOW_SECONDS`, default 60). */
  readonly window: Duration.Duration
  /** Hits allowed per window, by bucket. */
  readonly limits: { readonly [B in RateLimitBucket]: number }
}

const budget = (name: string, fallback: number) =>
  Config.schema(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)), name).pipe(Config.withDefault(fallback))

/** Reads the `RATE_LIMIT_*` variables; a malformed value fails startup rather than disabling a limit. */
export const RateLimitSettingsConfig: Config.Config<RateLimitSettings> = Config.all({
  windowSeconds: Config.schema(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)), "RATE_LIMIT_WINDOW_SECONDS").pipe(
    Config.withDefault(60)
  ),
  register: budget("RATE_LIMIT_REGISTER", 5),
  login: budget("RATE_LIMIT_LOGIN", 10),
  refresh: budget("RATE_LIMIT_REFRESH", 30),
  createRoom: budget("RATE_LIMIT_CREATE_ROOM", 30),
  join: budget("RATE_LIMIT_JOIN", 60),
  history: budget("RATE_LIMIT_HISTORY", 600),
  wsMessages: budget("RATE_LIMIT_WS_MESSAGES", 600),
  wsTyping: budget("RATE_LIMIT_WS_TYPING", 60)
}).pipe(
  Config.map(({ windowSeconds, ...limits }): RateLimitSettings => ({
    window: Duration.seconds(windowSeconds),
    limits
  }))
)

export class RateLimitConfig extends Context.Service<RateLimitConfig, RateLimitSettings>()(
  "pylon/platform/RateLimitConfig"
) {
  static readonly layer = Layer.effect(
    RateLimitConfig,
    Effect.gen(function*() {
      return RateLimitConfig.of(yield* RateLimitSettingsConfig)
    })
  )

  static readonly make = (settings: RateLimitSettings) => Layer.succeed(RateLimitConfig, settings)
}
