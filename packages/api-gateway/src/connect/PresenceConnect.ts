/**
 * `pylon.presence.v1.PresenceService` over Connect. The caller comes from the bearer token; the
 * calls are the presence service's (PresenceRpcs), and the events those of the WebSocket path:
 *
 * - SetOnline / SetOffline hold and drop one presence lease of the caller (`connection_id`,
 *   default one lease shared by the user's Connect clients); the lease expires on its own after
 *   `PRESENCE_LEASE_TTL_SECONDS` unless renewed, as a WebSocket node's does.
 * - SetTyping is the WebSocket `typing` frame: members only, the user's `wsTyping` budget of
 *   their Connect lane (`connect:<user>`), the per-node typing throttle (a throttled call
 *   succeeds and sends nothing), then a typing mark and a `typing` event on the room bus.
 * - GetPresence answers for the caller or a user who shares a room with the caller (anyone else
 *   is `permission_denied`, so presence cannot be probed for strangers); GetRoomPresence for
 *   the members of a room the caller belongs to.
 * - StreamPresence is a live room stream (LiveRoomStream.ts) of the room's `presence` and
 *   `typing` events, from any gateway node; `timestamp` is when this gateway relayed it.
 */
import { create } from "@bufbuild/protobuf"
import { EmptySchema } from "@bufbuild/protobuf/wkt"
import type { ServiceImpl } from "@connectrpc/connect"
import { Clock, Effect, Option, Schema, Stream } from "effect"
import type { AccessTokenClaims } from "@pylon/contracts/Auth"
import type { UserId } from "@pylon/contracts/Ids"
import { timestampFromDate } from "@pylon/contracts/Time"
import { encodeServerFrame, PresenceFrame, UserTypingFrame } from "@pylon/contracts/WsFrames"
import { HttpFailure } from "@pylon/platform/http/HttpEnvelope"
import { PresenceService as PresenceServiceDesc } from "@pylon/proto-gen/presence/v1/presence"
import type * as PresencePb from "@pylon/proto-gen/presence/v1/presence"
import { PresenceClient, RoomsClient } from "../clients/ServiceClients.ts"
import { requireAuth } from "../http/Authentication.ts"
import { failWithHttpError, failWithRpcError } from "../http/HttpErrors.ts"
import { RoomFanout } from "../ws/RoomFanout.ts"
import { TypingThrottle } from "../ws/TypingThrottle.ts"
import { effectMethod, effectServerStream, spendBudget } from "./ConnectBridge.ts"
import { liveRoomStream } from "./LiveRoomStream.ts"
import { PresenceMapping } from "./ProtoMapping.ts"
import type { PresenceStreamEvent } from "./mapping/PresenceMapping.ts"

const decodeStreamEvent = Schema.decodeUnknownOption(Schema.fromJsonString(Schema.Union([PresenceFrame, UserTypingFrame])))

const empty = () => create(EmptySchema)

/** Fails with `permission_denied` unless `caller` and `target` are the same user or share a room. */
const requireSharedRoom = (caller: UserId, target: UserId) =>
  Effect.gen(function*() {
    if (caller === target) return
    const rooms = yield* RoomsClient
    const [mine, theirs] = yield* Effect.all(
      [rooms.ListRooms({ user_id: caller }), rooms.ListRooms({ user_id: target })],
      { concurrency: 2 }
    ).pipe(failWithRpcError)
    const ids = new Set(mine.map((room) => room.id))
    if (!theirs.some((room) => ids.has(room.id))) {
      return yield* HttpFailure.forbidden("no room shared with this user")
    }
  })

const streamPresence = (claims: AccessTokenClaims, payload: PresenceMapping.StreamPresencePayload) =>
  liveRoomStream<PresenceStreamEvent, never>(claims, payload.room_id, (sink) =>
    Effect.succeed({
      onEvent: (json: string) => {
        // The room's other events (user_joined, user_left) are not presence.
        Option.map(decodeStreamEvent(json), sink.push)
      }
    })).pipe(
      Stream.mapEffect((event) =>
        Effect.map(Clock.currentTimeMillis, (now) => PresenceMapping.presenceEventToProto(event, timestampFromDate(new Date(now))))
      )
    )

/** SetOnline / SetOffline: one call on one of the caller's leases. */
const lease = (
  request: PresencePb.SetOnlineRequest | PresencePb.SetOfflineRequest,
  rpc: (presence: PresenceClient["Service"]) => PresenceClient["Service"]["SetOnline"]
) =>
  Effect.gen(function*() {
    const claims = yield* requireAuth
    const payload = yield* PresenceMapping.leaseRequestFromProto(request, claims.sub).pipe(failWithHttpError)
    yield* rpc(yield* PresenceClient)(payload).pipe(failWithRpcError)
    return empty()
  })

export const presenceServiceImpl: ServiceImpl<typeof PresenceServiceDesc> = {
  setOnline: effectMethod((request) => lease(request, (presence) => presence.SetOnline)),
  setOffline: effectMethod((request) => lease(request, (presence) => presence.SetOffline)),
  setTyping: effectMethod((request) =>
    Effect.gen(function*() {
      const claims = yield* requireAuth
      yield* spendBudget("wsTyping", `connect:${claims.sub}`)
      const payload = yield* PresenceMapping.setTypingRequestFromProto(request, claims.sub).pipe(failWithHttpError)
      const membership = yield* (yield* RoomsClient).CheckMembership(payload).pipe(failWithRpcError)
      if (membership.role === null) return yield* HttpFailure.forbidden("not a member of this room")
      if (!(yield* (yield* TypingThrottle).admit(claims.sub, payload.room_id))) return empty()
      yield* (yield* PresenceClient).SetTyping(payload).pipe(failWithRpcError)
      yield* (yield* RoomFanout).publish(payload.room_id, {
        kind: "event",
        excludeUserId: claims.sub,
        json: encodeServerFrame({ type: "typing", room_id: payload.room_id, user_id: claims.sub, username: claims.username })
      })
      return empty()
    })
  ),
  getPresence: effectMethod((request) =>
    Effect.gen(function*() {
      const claims = yield* requireAuth
      const payload = yield* PresenceMapping.getPresenceRequestFromProto(request, claims.sub).pipe(failWithHttpError)
      const target = payload.target_user_ids[0] ?? claims.sub
      yield* requireSharedRoom(claims.sub, target)
      const [presence] = yield* (yield* PresenceClient).GetPresence(payload).pipe(failWithRpcError)
      if (presence === undefined) return yield* HttpFailure.of("internal_error", "internal error")
      return PresenceMapping.getPresenceResponseToProto(presence)
    })
  ),
  getRoomPresence: effectMethod((request) =>
    Effect.gen(function*() {
      const claims = yield* requireAuth
      const payload = yield* PresenceMapping.getRoomPresenceRequestFromProto(request, claims.sub).pipe(failWithHttpError)
      const presences = yield* (yield* PresenceClient).GetRoomPresence(payload).pipe(failWithRpcError)
      return PresenceMapping.getRoomPresenceResponseToProto(presences, payload.room_id)
    })
  ),
  streamPresence: effectServerStream((request) =>
    Stream.unwrap(Effect.gen(function*() {
      const claims = yield* requireAuth
      const payload = yield* PresenceMapping.streamPresenceRequestFromProto(request, claims.sub).pipe(failWithHttpError)
      return streamPresence(claims, payload)
    }))
  )
}
