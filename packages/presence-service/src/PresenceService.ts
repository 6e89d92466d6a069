/**
 * The presence domain behind `PresenceRpcs`: connection leases in the `PresenceStore`, room
 * membership from PostgreSQL, and every online/offline CHANGE published once on the `RealtimeBus`
 * channel `PRESENCE_CHANNEL` as a JSON `UserPresence` (contracts/Presence.ts), so every gateway
 * node learns of it and sends `presence` frames to the sockets of the user's rooms.
 *
 * Publishing policy: the store reports each transition exactly once (see `PresenceStore.ts`); the
 * change is then published with a few retries. If the bus stays unavailable the change is logged
 * and counted (`pylon_presence_publish_failures_total`) and the RPC still succeeds: the state is
 * recorded, and repeating the call would not publish it again. Gateways that saw a bus `Gap`
 * re-read presence with `GetPresence`. Changes are published in the order the store made them
 * within one replica; two replicas racing on the same user may publish out of order, which the
 * next change of that user corrects.
 */
import { Context, Duration, Effect, Layer, Metric, Option, Schedule, Schema } from "effect"
import { NotRoomMember, RoomNotFound } from "@pylon/contracts/Errors"
import type { Unavailable } from "@pylon/contracts/Errors"
import type { RoomId, UserId } from "@pylon/contracts/Ids"
import { UserPresence } from "@pylon/contracts/Presence"
import type { ConnectionId, PresenceStatus } from "@pylon/contracts/Presence"
import { timestampFromDate } from "@pylon/contracts/Time"
import { RealtimeBus } from "@pylon/platform/bus/RealtimeBus"
import { PRESENCE_CHANNEL } from "@pylon/platform/bus/Channels"
import { PresenceConfig } from "./PresenceConfig.ts"
import { PresenceStore } from "./PresenceStore.ts"
import type { PresenceState } from "./PresenceStore.ts"
import { RoomMembership } from "./RoomMembership.ts"

const encodeChange = Schema.encodeEffect(Schema.fromJsonString(UserPresence))

const changesPublished = Metric.counter("pylon_presence_changes_total", {
  description: "Presence changes published on the bus, by status"
})
const publishFailures = Metric.counter("pylon_presence_publish_failures_total", {
  description: "Presence changes that could not be published on the bus"
})

const publishRetry = { schedule: Schedule.exponential(Duration.millis(50)), times: 3 }

const toUserPresence = (userId: UserId, state: PresenceState | undefined): UserPresence => ({
  user_id: userId,
  status: state?.online === true ? "online" : "offline",
  last_seen_at: state === undefined || state.online || state.lastSeenAt === null
    ? null
    : timestampFromDate(new Date(state.lastSeenAt))
})

export class PresenceService extends Context.Service<PresenceService, {
  /** Starts or renews one connection's lease; publishes `online` if the user just came online. */
  readonly setOnline: (userId: UserId, connectionId: ConnectionId) => Effect.Effect<void, Unavailable>
  /** Ends one connection's lease; publishes `offline` if it was the user's last. */
  readonly setOffline: (userId: UserId, connectionId: ConnectionId) => Effect.Effect<void, Unavailable>
  readonly setTyping: (userId: UserId, roomId: RoomId) => Effect.Effect<void, Unavailable>
  /** Users typing in the room right now. */
  readonly typingIn: (roomId: RoomId) => Effect.Effect<ReadonlyArray<UserId>, Unavailable>
  /** Presence of the given users, in the given order. */
  readonly getPresence: (userIds: ReadonlyArray<UserId>) => Effect.Effect<ReadonlyArray<UserPresence>, Unavailable>
  /** Presence of every member of a room `userId` belongs to, oldest member first. */
  readonly getRoomPresence: (
    userId: UserId,
    roomId: RoomId
  ) => Effect.Effect<ReadonlyArray<UserPresence>, RoomNotFound | NotRoomMember | Unavailable>
  /** Publishes `offline` for users whose last lease expired (their node died); returns how many. */
  readonly sweepExpired: Effect.Effect<number, Unavailable>
}>()("pylon/presence/PresenceService") {
  static readonly layer = Layer.effect(
    PresenceService,
    Effect.gen(function*() {
      const store = yield* PresenceStore
      const bus = yield* RealtimeBus
      const membership = yield* RoomMembership
      const config = yield* PresenceConfig
      yield* Metric.update(publishFailures, 0) // a series before the first failure (dashboards show 0)

      const publishChange = Effect.fn("PresenceService.publishChange")(function*(change: UserPresence) {
        const payload = yield* Effect.orDie(encodeChange(change))
        yield* bus.publish(PRESENCE_CHANNEL, payload).pipe(
          Effect.retry(publishRetry),
          Effect.tap(() => Metric.update(Metric.withAttributes(changesPublished, { status: change.status }), 1)),
          Effect.catch((error) =>
            Effect.logError("presence: could not publish a change", error).pipe(
              Effect.annotateLogs({ user_id: change.user_id, status: change.status }),
              Effect.andThen(Metric.update(publishFailures, 1))
            )
          )
        )
      })

      const change = (userId: UserId, status: PresenceStatus, at: number) =>
        publishChange({
          user_id: userId,
          status,
          last_seen_at: status === "online" ? null : timestampFromDate(new Date(at))
        })

      const setOnline = Effect.fn("PresenceService.setOnline")(function*(userId: UserId, connectionId: ConnectionId) {
        const { at, changed } = yield* store.connect(userId, connectionId, config.leaseTtl)
        if (changed) yield* change(userId, "online", at)
      })

      const setOffline = Effect.fn("PresenceService.setOffline")(function*(userId: UserId, connectionId: ConnectionId) {
        const { at, changed } = yield* store.disconnect(userId, connectionId)
        if (changed) yield* change(userId, "offline", at)
      })

      const setTyping = Effect.fn("PresenceService.setTyping")(function*(userId: UserId, roomId: RoomId) {
        yield* store.typing(roomId, userId, config.typingTtl)
      })

      const typingIn = Effect.fn("PresenceService.typingIn")(function*(roomId: RoomId) {
        return yield* store.typingIn(roomId)
      })

      const getPresence = Effect.fn("PresenceService.getPresence")(function*(userIds: ReadonlyArray<UserId>) {
        const states = yield* store.presence(userIds)
        return userIds.map((userId) => toUserPresence(userId, states.get(userId)))
      })

      const getRoomPresence = Effect.fn("PresenceService.getRoomPresence")(function*(userId: UserId, roomId: RoomId) {
        const members = yield* membership.members(roomId)
        if (Option.isNone(members)) return yield* new RoomNotFound({ room_id: roomId })
        if (!members.value.includes(userId)) return yield* new NotRoomMember({ room_id: roomId })
        return yield* getPresence(members.value)
      })

      const sweepExpired = Effect.gen(function*() {
        const expired = yield* store.sweep
        yield* Effect.forEach(expired, ({ lastSeenAt, userId }) => change(userId, "offline", lastSeenAt), {
          discard: true
        })
        return expired.length
      }).pipe(Effect.withSpan("PresenceService.sweepExpired"))

      return PresenceService.of({
        setOnline,
        setOffline,
        setTyping,
        typingIn,
        getPresence,
        getRoomPresence,
        sweepExpired
      })
    })
  )
}
