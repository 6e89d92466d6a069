/**
 * Presence on this gateway node: every socket holds a lease in the presence service (renewed
 * while it is open, dropped on close, expiring on its own if this node dies), and every change
 * the presence service publishes becomes a `presence` frame for local sockets in rooms the user
 * belongs to.
 */
import { Context, Effect, Layer, Schema, Stream } from "effect"
import type { Scope } from "effect"
import { ConnectionId, UserPresence } from "@pylon/contracts/Presence"
import type { RoomId, UserId } from "@pylon/contracts/Ids"
import { encodeServerFrame } from "@pylon/contracts/WsFrames"
import { PRESENCE_CHANNEL, RoomBus } from "@pylon/platform/RoomBus"
import { PresenceClient, RoomsClient } from "../clients/ServiceClients.ts"
import { RoomFanout } from "./RoomFanout.ts"
import { WsSettings } from "./WsSettings.ts"

const MEMBERS_CACHE_MS = 30_000

const decodePresence = Schema.decodeUnknownEffect(Schema.fromJsonString(UserPresence))

export class PresenceLeases extends Context.Service<PresenceLeases, {
  /** Holds the connection's lease until the surrounding scope closes. */
  readonly hold: (userId: UserId, connectionId: string) => Effect.Effect<void, never, Scope.Scope>
  /** Records a typing mark (best effort). */
  readonly typing: (userId: UserId, roomId: RoomId) => Effect.Effect<void>
}>()("pylon/gateway/PresenceLeases") {
  static readonly layer = Layer.effect(
    PresenceLeases,
    Effect.gen(function*() {
      const presence = yield* PresenceClient
      const settings = yield* WsSettings
      const renewEvery = Math.max(1_000, Math.floor(settings.presenceLeaseMs / 3))
      const hold = (userId: UserId, connectionId: string) =>
        Effect.gen(function*() {
          const ref = { user_id: userId, connection_id: ConnectionId.make(connectionId) }
          const setOnline = presence.SetOnline(ref).pipe(
            Effect.catchCause((cause) => Effect.logWarning("presence SetOnline failed", cause))
          )
          yield* setOnline
          yield* Effect.addFinalizer(() =>
            presence.SetOffline(ref).pipe(
              Effect.timeout("3 seconds"),
              Effect.catchCause((cause) => Effect.logWarning("presence SetOffline failed", cause))
            )
          )
          yield* Effect.forkScoped(Effect.forever(Effect.andThen(Effect.sleep(renewEvery), setOnline)))
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
  const bus = yield* RoomBus
  const fanout = yield* RoomFanout
  const rooms = yield* RoomsClient
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

  const onChange = (change: UserPresence) =>
    Effect.forEach(fanout.localRooms(), (roomId) =>
      Effect.gen(function*() {
        const ids = yield* membersOf(roomId)
        if (!ids.has(change.user_id)) return
        const json = encodeServerFrame({ type: "presence", room_id: roomId, user_id: change.user_id, status: change.status })
        for (const subscriber of fanout.subscribersOf(roomId)) subscriber.onEvent(roomId, json)
      }), { discard: true })

  yield* Effect.gen(function*() {
    const stream = yield* bus.subscribe(PRESENCE_CHANNEL)
    yield* Stream.runForEach(stream, (event) =>
      event._tag === "Message"
        ? decodePresence(event.payload).pipe(
          Effect.flatMap(onChange),
          Effect.catchCause((cause) => Effect.logWarning("ignoring presence event", cause))
        )
        : Effect.void)
  }).pipe(
    Effect.scoped,
    Effect.catchCause((cause) => Effect.logWarning("presence subscription ended", cause)),
    Effect.forkScoped
  )
}))
