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
    return this.takeMany(1, nowMs)
  }

  /**
   * Takes `units` at once, or none of them: returns the seconds to wait when fewer are left, else
   * 0. A request larger than the whole budget is cut to it (it may use a full window, never more),
   * so a big one is admitted once per window rather than never; a budget of 0 admits nothing.
   */
  takeMany(units: number, nowMs: number): number {
    if (nowMs - this.windowStart >= this.windowMs) {
      this.windowStart = nowMs
      this.used = 0
    }
    const wanted = Math.max(1, Math.min(units, this.limit))
    if (this.used + wanted > this.limit) return Math.max(1, Math.ceil((this.windowStart + this.windowMs - nowMs) / 1000))
    this.used += wanted
    return 0
  }
}
