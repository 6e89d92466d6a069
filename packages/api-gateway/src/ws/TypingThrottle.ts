/**
 * Typing is throttled per user and room (API.md §6): at most one `typing` of a user in a room is
 * forwarded per `WS_TYPING_THROTTLE_MS`, whichever of the user's sockets on this gateway node
 * sent it. The state is per node on purpose: a user whose sockets sit on two nodes may be
 * forwarded once per node per interval, which is harmless (typing expires after 5 s anyway) and
 * keeps a network hop off every keystroke.
 */
import { Clock, Context, Effect, Layer } from "effect"
import type { RoomId, UserId } from "@pylon/contracts/Ids"
import { WsSettings } from "./WsSettings.ts"

/** Stale entries are swept whenever the map has doubled since the last sweep (and is this big). */
const SWEEP_FLOOR = 1_024

/** The throttle itself, clocked by the caller. */
export class TypingWindows {
  private readonly intervalMs: number
  private readonly lastForwarded = new Map<string, number>()
  private sweepAt = SWEEP_FLOOR

  constructor(intervalMs: number) {
    this.intervalMs = intervalMs
  }

  /** Entries held (for tests of the sweep). */
  get size(): number {
    return this.lastForwarded.size
  }

  /** Whether a `typing` of `userId` in `roomId` at `nowMs` is forwarded; if so it starts a new interval. */
  admit(userId: UserId, roomId: RoomId, nowMs: number): boolean {
    const key = `${userId} ${roomId}`
    const last = this.lastForwarded.get(key)
    if (last !== undefined && nowMs - last < this.intervalMs) return false
    this.lastForwarded.set(key, nowMs)
    if (this.lastForwarded.size >= this.sweepAt) this.sweep(nowMs)
    return true
  }

  private sweep(nowMs: number): void {
    for (const [key, at] of this.lastForwarded) {
      if (nowMs - at >= this.intervalMs) this.lastForwarded.delete(key)
    }
    this.sweepAt = Math.max(SWEEP_FLOOR, this.lastForwarded.size * 2)
  }
}

export class TypingThrottle extends Context.Service<TypingThrottle, {
  /** Whether this `typing` is forwarded (see `TypingWindows.admit`), on the caller's `Clock`. */
  readonly admit: (userId: UserId, roomId: RoomId) => Effect.Effect<boolean>
}>()("pylon/gateway/TypingThrottle") {
  static readonly layer = Layer.effect(
    TypingThrottle,
    Effect.gen(function*() {
      const settings = yield* WsSettings
      const windows = new TypingWindows(settings.typingThrottleMs)
      return TypingThrottle.of({
        admit: (userId, roomId) => Effect.map(Clock.currentTimeMillis, (now) => windows.admit(userId, roomId, now))
      })
    })
  )
}
