/**
 * A per-connection frame budget (fixed window): frames over budget get a RATE_LIMITED error
 * frame. Local to the connection by design — no network hop per frame.
 */
export class FrameBudget {
  readonly limit: number
  readonly windowMs: number
  private windowStart = 0
  private used = 0

  constructor(limit: number, windowMs: number) {
    this.limit = limit
    this.windowMs = windowMs
  }

  /** Takes one unit at `nowMs`; returns the seconds to wait when the budget is spent, else 0. */
  take(nowMs: number): number {
    if (nowMs - this.windowStart >= this.windowMs) {
      this.windowStart = nowMs
      this.used = 0
    }
    if (this.used >= this.limit) return Math.max(1, Math.ceil((this.windowStart + this.windowMs - nowMs) / 1000))
    this.used++
    return 0
  }
}
