/**
 * Presence on this gateway node: a user with open sockets here holds a lease in the presence service
 * (renewed while any is open, dropped with the last, expiring on its own if this node dies), and every change
 * the presence service publishes becomes a `presence` frame for local sockets in rooms the user
 * belongs to. Changes lost to a bus gap are recovered by re-reading the rooms' presence.
 */
import { Context, Effect, Fiber, Layer, Option, Schema, Semaphore, Stream } from "effect"
import type { Scope } from "effect"
import { ConnectionId, UserPresence } from "@pylon/contracts/Presence"
import type { RoomId, UserId } from "@pylon/contracts/Ids"
import { encodeServerFrame } from "@pylon/contracts/WsFrames"
import { newId } from "@pylon/platform/runtime/IdGenerator"
import { RealtimeBus } from "@pylon/platform/bus/RealtimeBus"
import { PRESENCE_CHANNEL } from "@pylon/platform/bus/Channels"
import { PresenceClient, RoomsClient } from "../clients/ServiceClients.ts"
import { OutgoingFrame } from "./OutgoingFrame.ts"
import { RoomFanout } from "./RoomFanout.ts"
import { WsSettings } from "./WsSettings.ts"

const MEMBERS_CACHE_MS = 30_000

const decodePresence = Schema.decodeUnknownEffect(Schema.fromJsonString(UserPresence))

/** One lease per user on this node, shared by that user's local sockets. */
interface NodeLease {
  count: number
  readonly lock: Semaphore.Semaphore
  renewal: Fiber.Fiber<never> | undefined
}

export class PresenceLeases extends Context.Service<PresenceLeases, {
  /** Keeps the user online (from this node) until the surrounding scope closes. */
  readonly hold: (userId: UserId) => Effect.Effect<void, never, Scope.Scope>
  /** Records a typing mark (best effort). */
  readonly typing: (userId: UserId, roomId: RoomId) => Effect.Effect<void>
}>()("pylon/gateway/PresenceLeases") {
  /**
   * The presence service counts leases per connection id; this node uses one id per user
   * (`<node>:<user>`), taken by the user's first local socket and dropped with the last, so
   * renewals cost one call per user per interval instead of one per socket. A dead node's leases
   * expire on their own.
   */
  static readonly layer = Layer.effect(
    PresenceLeases,
    Effect.gen(function*() {
      const presence = yield* PresenceClient
      const settings = yield* WsSettings
      const scope = yield* Effect.scope
      const nodeId = yield* newId
      const renewEvery = Math.max(1_000, Math.floor(settings.presenceLeaseMs / 3))
      const leases = new Map<UserId, NodeLease>()

      const refOf = (userId: UserId) => ({ user_id: userId, connection_id: ConnectionId.make(`${nodeId}:${userId}`) })
      const setOnline = (userId: UserId) =>
        presence.SetOnline(refOf(userId)).pipe(
          Effect.catchCause((cause) => Effect.logWarning("presence SetOnline failed", cause))
        )
      const setOffline = (userId: UserId) =>
        presence.SetOffline(refOf(userId)).pipe(
          Effect.timeout("3 seconds"),
          Effect.catchCause((cause) => Effect.logWarning("presence SetOffline failed", cause))
        )

      /** Runs `f` on the user's current lease under its lock (retrying if it was replaced meanwhile). */
      const withLease = <A>(userId: UserId, f: (lease: NodeLease) => Effect.Effect<A>): Effect.Effect<A> =>
        Effect.suspend(() => {
          let lease = leases.get(userId)
          if (lease === undefined) {
            lease = { count: 0, lock: Semaphore.makeUnsafe(1), renewal: undefined }
            leases.set(userId, lease)
          }
          const current = lease
          return current.lock.withPermits(1)(
            Effect.suspend(() => leases.get(userId) === current ? Effect.map(f(current), Option.some) : Effect.succeedNone)
          ).pipe(Effect.flatMap(Option.match({ onNone: () => withLease(userId, f), onSome: Effect.succeed })))
        })

      const hold = (userId: UserId) =>
        Effect.gen(function*() {
          yield* withLease(userId, (lease) =>
            Effect.gen(function*() {
              lease.count++
              if (lease.count > 1) return
              yield* setOnline(userId)
              lease.renewal = yield* Effect.forever(Effect.andThen(Effect.sleep(renewEvery), setOnline(userId))).pipe(
                Effect.forkIn(scope)
              )
            }))
          yield* Effect.addFinalizer(() =>
            withLease(userId, (lease) =>
              Effect.gen(function*() {
                lease.count--
                if (lease.count > 0) return
                leases.delete(userId)
                if (lease.renewal !== undefined) yield* Fiber.interrupt(lease.renewal)
                yield* setOffline(userId)
              }))
          )
        })

      const typing = (userId: UserId, roomId: RoomId) =>
        presence.SetTyping({ user_id: userId, room_id: roomId }).pipe(
          Effect.catchCause(() => Effect.void),
          Effect.forkDetach,
          Effect.asVoid
        )
      return PresenceLeases.of({ hold, typing })
    })
  )
}

/** Follows `pylon:presence` and turns changes into `presence` frames for local room sockets. */
export const PresenceFanoutLive = Layer.effectDiscard(Effect.gen(function*() {
  const bus = yield* RealtimeBus
  const fanout = yield* RoomFanout
  const rooms = yield* RoomsClient
  const presence = yield* PresenceClient
  const members = new Map<RoomId, { readonly at: number; readonly ids: ReadonlySet<string> }>()

  const membersOf = (roomId: RoomId) =>
    Effect.gen(function*() {
      const cached = members.get(roomId)
      if (cached !== undefined && Date.now() - cached.at < MEMBERS_CACHE_MS) return cached.ids
      const reader = fanout.subscribersOf(roomId)[0]
      if (reader === undefined) return new Set<string>()
      const list = yield* rooms.GetRoomMembers({ user_id: reader.userId, room_id: roomId })
      const ids = new Set(list.map((m) => m.user_id))
      members.set(roomId, { at: Date.now(), ids })
      return ids
    }).pipe(Effect.catchCause(() => Effect.succeed(new Set<string>())))

  /** The status this node last told its sockets for each user, so a re-read sends only changes. */
  const announced = new Map<UserId, UserPresence["status"]>()

  const announce = (roomId: RoomId, userId: UserId, status: UserPresence["status"]) => {
    const json = encodeServerFrame({ type: "presence", room_id: roomId, user_id: userId, status })
    const frame = new OutgoingFrame(json)
    for (const subscriber of fanout.subscribersOf(roomId)) subscriber.onEvent(roomId, json, frame)
  }

  const onChange = (change: UserPresence) =>
    Effect.forEach(fanout.localRooms(), (roomId) =>
      Effect.gen(function*() {
        const ids = yield* membersOf(roomId)
        if (!ids.has(change.user_id)) return
        announced.set(change.user_id, change.status)
        announce(roomId, change.user_id, change.status)
      }), { discard: true })

  /**
   * After a bus gap (lagged, reconnected, resubscribed) changes may have been lost: re-read the
   * presence of every local room's members and announce whatever differs from what was said.
   */
  const reread = Effect.suspend(() => Effect.forEach(fanout.localRooms(), (roomId) =>
    Effect.gen(function*() {
      const reader = fanout.subscribersOf(roomId)[0]
      if (reader === undefined) return
      const current = yield* presence.GetRoomPresence({ user_id: reader.userId, room_id: roomId })
      for (const member of current) {
        if ((announced.get(member.user_id) ?? "offline") === member.status) continue
        announced.set(member.user_id, member.status)
        announce(roomId, member.user_id, member.status)
      }
    }).pipe(Effect.catchCause((cause) => Effect.logWarning("presence re-read after a bus gap failed", cause))), {
    discard: true
  }))

  yield* Effect.gen(function*() {
    const stream = yield* bus.subscribe(PRESENCE_CHANNEL)
    yield* Stream.runForEach(stream, (event) =>
      event._tag === "Message"
        ? decodePresence(event.payload).pipe(
          Effect.flatMap(onChange),
          Effect.catchCause((cause) => Effect.logWarning("ignoring presence event", cause))
        )
        : reread)
  }).pipe(
    Effect.scoped,
    Effect.catchCause((cause) => Effect.logWarning("presence subscription lost; resubscribing", cause)),
    // Keep following: a resubscription re-reads, since changes may have been missed meanwhile.
    Effect.andThen(Effect.sleep("1 second")),
    Effect.andThen(reread),
    Effect.forever,
    Effect.forkScoped
  )
}))
