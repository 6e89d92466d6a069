/**
 * The fixed-window arithmetic every `RateLimiter` adapter shares (the algorithm is described in
 * `RateLimiter.ts`), so the memory and Redis twins agree on limits, windows and rounding.
 */
import { Duration } from "effect"
import type { RateLimitDecision } from "./RateLimiter.ts"

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
