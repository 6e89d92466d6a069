/**
 * In-process adapter of `PresenceStore` for embedded mode (one process, no Redis), with the same
 * semantics as the Redis one (see `PresenceStore.ts`). Time is the Effect `Clock`, so tests may
 * drive it with `TestClock`. Every operation is one synchronous step, so concurrent fibers
 * cannot interleave inside it and transitions are reported exactly once. Expired leases and
 * typing marks are pruned on access and by `sweep`, which the service runs every few seconds.
 */
import { Clock, Duration, Effect, Layer } from "effect"
import type { RoomId, UserId } from "@pylon/contracts/Ids"
import type { ConnectionId } from "@pylon/contracts/Presence"
import { LAST_SEEN_RETENTION, PresenceStore, ttlMillis } from "./PresenceStore.ts"
import type { ExpiredPresence, PresenceState } from "./PresenceStore.ts"

const latestOf = (expiries: Map<string, number>): number => Math.max(...expiries.values())

/** Drops entries at or past `now`; an emptied map is removed from `owner`. */
const prune = <K, I>(owner: Map<K, Map<I, number>>, key: K, now: number): Map<I, number> | undefined => {
  const entries = owner.get(key)
  if (entries === undefined) return undefined
  for (const [id, expiry] of entries) if (expiry <= now) entries.delete(id)
  if (entries.size > 0) return entries
  owner.delete(key)
  return undefined
}

export const make = Effect.sync(() => {
  const leases = new Map<UserId, Map<ConnectionId, number>>()
  /** Users reported online, by the expiry of their latest lease. */
  const reported = new Map<UserId, number>()
  const seen = new Map<UserId, number>()
  const typingMarks = new Map<RoomId, Map<UserId, number>>()
  const retention = Duration.toMillis(LAST_SEEN_RETENTION)

  const wentOffline = (userId: UserId, at: number) => {
    reported.delete(userId)
    seen.set(userId, at)
  }

  const connect = Effect.fn("PresenceStore.connect")(function*(
    userId: UserId,
    connectionId: ConnectionId,
    ttl: Duration.Input
  ) {
    const millis = ttlMillis(ttl)
    const now = yield* Clock.currentTimeMillis
    const live = prune(leases, userId, now) ?? new Map<ConnectionId, number>()
    live.set(connectionId, now + millis)
    leases.set(userId, live)
    const changed = !reported.has(userId)
    reported.set(userId, latestOf(live))
    return { changed, at: now }
  })

  const disconnect = Effect.fn("PresenceStore.disconnect")(function*(userId: UserId, connectionId: ConnectionId) {
    const now = yield* Clock.currentTimeMillis
    leases.get(userId)?.delete(connectionId)
    const live = prune(leases, userId, now)
    if (live !== undefined) {
      if (reported.has(userId)) reported.set(userId, latestOf(live))
      return { changed: false, at: now }
    }
    if (!reported.has(userId)) return { changed: false, at: now }
    wentOffline(userId, now)
    return { changed: true, at: now }
  })

  const presence = Effect.fn("PresenceStore.presence")(function*(userIds: ReadonlyArray<UserId>) {
    const now = yield* Clock.currentTimeMillis
    const states = new Map<UserId, PresenceState>()
    for (const userId of userIds) {
      const online = prune(leases, userId, now) !== undefined
      const lastSeen = seen.get(userId)
      const lastSeenAt = lastSeen !== undefined && now - lastSeen < retention ? lastSeen : null
      states.set(userId, { online, lastSeenAt })
    }
    return states
  })

  const typing = Effect.fn("PresenceStore.typing")(function*(roomId: RoomId, userId: UserId, ttl: Duration.Input) {
    const millis = ttlMillis(ttl)
    const now = yield* Clock.currentTimeMillis
    const marks = prune(typingMarks, roomId, now) ?? new Map<UserId, number>()
    marks.set(userId, now + millis)
    typingMarks.set(roomId, marks)
  })

  const typingIn = Effect.fn("PresenceStore.typingIn")(function*(roomId: RoomId) {
    const now = yield* Clock.currentTimeMillis
    return Array.from(prune(typingMarks, roomId, now)?.keys() ?? [])
  })

  const sweep = Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const expired: Array<ExpiredPresence> = []
    for (const [userId, latest] of reported) {
      if (latest > now) continue
      const live = prune(leases, userId, now)
      if (live !== undefined) {
        reported.set(userId, latestOf(live))
        continue
      }
      const lastSeenAt = Math.min(latest, now)
      wentOffline(userId, lastSeenAt)
      expired.push({ userId, lastSeenAt })
    }
    for (const roomId of Array.from(typingMarks.keys())) prune(typingMarks, roomId, now)
    for (const [userId, at] of seen) if (now - at >= retention) seen.delete(userId)
    return expired
  }).pipe(Effect.withSpan("PresenceStore.sweep"))

  const onlineCount = Effect.sync(() => reported.size)

  return PresenceStore.of({ connect, disconnect, presence, typing, typingIn, sweep, onlineCount })
})

export const layer: Layer.Layer<PresenceStore> = Layer.effect(PresenceStore, make)
