/** How a `RateLimitDecision` shows on a response (API.md §7). */
import type { RateLimitDecision } from "./RateLimiter.ts"

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
