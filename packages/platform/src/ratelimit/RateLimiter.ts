/**
 * The rate-limit port (API.md §7): a fixed-window counter per `(bucket, key)`. Its budgets are
 * read from the environment by `RateLimitConfig.ts`, a decision becomes response headers in
 * `RateLimitHeaders.ts`, and the window arithmetic both adapters share is `FixedWindow.ts`.
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
import { Context, Schema } from "effect"
import type { Duration, Effect } from "effect"

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
