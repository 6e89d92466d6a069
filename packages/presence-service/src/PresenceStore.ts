/**
 * The presence port: connection leases and typing marks, shared by every presence-service
 * replica (Redis) or held in-process (embedded mode). Both adapters pass
 * `test/PresenceStore.contract.ts`.
 *
 * Model. A user is online while any of their connection leases is live. A lease is started
 * and renewed by `connect` (the gateway heartbeats it) and ends by `disconnect` or by expiring
 * when its gateway node died. Separately the store remembers which users it has REPORTED
 * online: `connect` reports `changed: true` only for a user not reported online, `disconnect`
 * only when it ends the last live lease of a reported user, and `sweep` reports (exactly once,
 * across replicas) reported users whose last lease expired. Callers publish exactly these
 * transitions, so observers never see two `online`s or two `offline`s in a row. A user whose
 * lease lapsed but who reconnects before the next sweep never flaps to offline. `presence`
 * answers from the leases themselves, so it may say offline up to one sweep interval before
 * the `offline` change is published.
 *
 * Time is the store's: Redis `TIME` in the Redis adapter (gateway and service clocks may
 * disagree), the Effect `Clock` in memory. Typing marks are per room and expire on their own.
 */
import { Context, Duration } from "effect"
import type { Effect } from "effect"
import type { Unavailable } from "@pylon/contracts/Errors"
import type { RoomId, UserId } from "@pylon/contracts/Ids"
import type { ConnectionId } from "@pylon/contracts/Presence"

/** The outcome of `connect` / `disconnect`: did the user's reported state flip, and when (epoch ms). */
export interface PresenceTransition {
  readonly changed: boolean
  readonly at: number
}

export interface PresenceState {
  readonly online: boolean
  /**
   * When the user last went offline (epoch ms), if the store still remembers it; kept while
   * they are online again (`UserPresence.last_seen_at` shows it only for offline users).
   */
  readonly lastSeenAt: number | null
}

/** A user whose last lease expired without a `disconnect` (their gateway node died). */
export interface ExpiredPresence {
  readonly userId: UserId
  /** When the last lease expired (epoch ms). */
  readonly lastSeenAt: number
}

export interface PresenceStoreService {
  /**
   * Starts or renews the lease of `connectionId` for `ttl`; `changed` when the user came online.
   * Connection ids are unique across gateway nodes (the gateway names them).
   */
  readonly connect: (
    userId: UserId,
    connectionId: ConnectionId,
    ttl: Duration.Input
  ) => Effect.Effect<PresenceTransition, Unavailable>
  /** Ends the lease; `changed` when it was the user's last one. Unknown connections are a no-op. */
  readonly disconnect: (userId: UserId, connectionId: ConnectionId) => Effect.Effect<PresenceTransition, Unavailable>
  /** The state of each given user (every id is a key of the result). */
  readonly presence: (
    userIds: ReadonlyArray<UserId>
  ) => Effect.Effect<ReadonlyMap<UserId, PresenceState>, Unavailable>
  /** Marks `userId` typing in `roomId` for `ttl`. */
  readonly typing: (roomId: RoomId, userId: UserId, ttl: Duration.Input) => Effect.Effect<void, Unavailable>
  /** Users currently typing in `roomId`. */
  readonly typingIn: (roomId: RoomId) => Effect.Effect<ReadonlyArray<UserId>, Unavailable>
  /**
   * Reports users whose last lease has expired and marks them offline; each such user is
   * reported by exactly one call, however many replicas sweep concurrently.
   */
  readonly sweep: Effect.Effect<ReadonlyArray<ExpiredPresence>, Unavailable>
  /**
   * How many users the store has reported online (and not yet offline), across every replica:
   * the number behind `pylon_users_online`. One cheap read (Redis `ZCARD`), not a scan; a user
   * whose last lease lapsed counts until the next sweep reports them offline.
   */
  readonly onlineCount: Effect.Effect<number, Unavailable>
}

export class PresenceStore extends Context.Service<PresenceStore, PresenceStoreService>()(
  "pylon/presence/PresenceStore"
) {}

/** How long `lastSeenAt` is remembered after a user went offline. */
export const LAST_SEEN_RETENTION = Duration.days(30)

/** Milliseconds of a lease or typing ttl; anything non-finite or below 1 ms is a programming error. */
export const ttlMillis = (ttl: Duration.Input): number => {
  const millis = Math.ceil(Duration.toMillis(ttl))
  if (!Number.isFinite(millis) || millis < 1) {
    throw new RangeError(`presence ttl must be a finite duration of at least 1ms, got ${String(millis)}ms`)
  }
  return millis
}
