/**
 * The frame budgets of one connection (API.md §7): messages, typing, join/leave and replay pages
 * (charged to the history budget), each a `FrameBudget` over the `RATE_LIMIT_*` window, read on
 * Effect's `Clock` so `TestClock` drives the windows.
 */
import { Clock, Duration, Effect } from "effect"
import type { RateLimitSettings } from "@pylon/platform/ratelimit/RateLimitConfig"
import { FrameBudget } from "./FrameBudget.ts"

export type BudgetName = "message" | "typing" | "join" | "history"

export interface SessionBudgets {
  /** Takes `units` (default 1) of a budget, or none: the seconds to wait when it is spent, else 0. */
  readonly take: (name: BudgetName, units?: number) => Effect.Effect<number>
}

export const makeSessionBudgets = (settings: RateLimitSettings): SessionBudgets => {
  const windowMs = Math.max(1, Duration.toMillis(settings.window))
  const budgets: Record<BudgetName, FrameBudget> = {
    message: new FrameBudget(settings.limits.wsMessages, windowMs),
    typing: new FrameBudget(settings.limits.wsTyping, windowMs),
    join: new FrameBudget(settings.limits.join, windowMs),
    history: new FrameBudget(settings.limits.history, windowMs)
  }
  return {
    take: (name, units = 1) => Effect.map(Clock.currentTimeMillis, (now) => budgets[name].takeMany(units, now))
  }
}
