/**
 * Room routes of API.md §4: list/create rooms, get a room and its members, join, leave, and
 * channel discovery. Each authenticates the caller, decodes input with the contract Schemas
 * and calls the room service through `RoomsClient`; responses are the contract's encoded JSON.
 */
import { Effect, Layer, Schema } from "effect"
import type { HttpServerResponse } from "effect/http"
import { RoomId as RoomIdSchema } from "@pylon/contracts/Ids"
import {
  ChannelsQuery,
  CreateRoomRequest,
  JoinResult,
  LeaveResult,
  MembersResponse,
  RoomResponse,
  RoomsResponse
} from "@pylon/contracts/Rooms"
import { respondOk } from "@pylon/platform/http/HttpEnvelope"
import { decodeJsonBody, decodePathParam, decodeQuery } from "@pylon/platform/http/HttpRequestDecoding"
import { resource } from "@pylon/platform/http/Resource"
import { RoomsClient } from "../clients/ServiceClients.ts"
import { MembershipEvents } from "../ws/MembershipEvents.ts"
import { requireAuth } from "./AuthHttp.ts"
import { failWithRpcError } from "./HttpErrors.ts"
import { withRateLimit } from "./RateLimitGuard.ts"

// Re-exported for `connect/RoomConnect.ts`, which still imports it from here.
export { MembershipEvents } from "../ws/MembershipEvents.ts"

/** 200 (or `status`) with `value` encoded by `schema`; an unencodable value is a bug. */
const respondWith = <S extends Schema.Top & { readonly EncodingServices: never }>(
  schema: S,
  value: S["Type"],
  status = 200
): Effect.Effect<HttpServerResponse.HttpServerResponse> =>
  Schema.encodeEffect(schema)(value).pipe(
    Effect.orDie,
    Effect.map((data) => respondOk(data, { status }))
  )

const roomIdParam = decodePathParam("id", RoomIdSchema)

export const RoomsRoutes = Layer.mergeAll(
  resource("/api/v1/rooms", {
    GET: Effect.gen(function*() {
      const claims = yield* requireAuth
      const rooms = yield* RoomsClient
      const list = yield* rooms.ListRooms({ user_id: claims.sub }).pipe(failWithRpcError)
      return yield* respondWith(RoomsResponse, { rooms: list })
    }),
    POST: Effect.gen(function*() {
      const claims = yield* requireAuth
      return yield* withRateLimit("createRoom", claims.sub)(Effect.gen(function*() {
        const input = yield* decodeJsonBody(CreateRoomRequest)
        const rooms = yield* RoomsClient
        const result = yield* rooms.CreateRoom({ user_id: claims.sub, ...input }).pipe(failWithRpcError)
        // An existing direct room is returned as it is: 200, not 201.
        return yield* respondWith(RoomResponse, { room: result.room }, result.created ? 201 : 200)
      }))
    })
  }),
  resource("/api/v1/rooms/:id", {
    GET: Effect.gen(function*() {
      const claims = yield* requireAuth
      const roomId = yield* roomIdParam
      const rooms = yield* RoomsClient
      const room = yield* rooms.GetRoom({ user_id: claims.sub, room_id: roomId }).pipe(failWithRpcError)
      return yield* respondWith(RoomResponse, { room })
    })
  }),
  resource("/api/v1/rooms/:id/members", {
    GET: Effect.gen(function*() {
      const claims = yield* requireAuth
      const roomId = yield* roomIdParam
      const rooms = yield* RoomsClient
      const members = yield* rooms.GetRoomMembers({ user_id: claims.sub, room_id: roomId }).pipe(failWithRpcError)
      return yield* respondWith(MembersResponse, { members })
    })
  }),
  resource("/api/v1/rooms/:id/join", {
    POST: Effect.gen(function*() {
      const claims = yield* requireAuth
      return yield* withRateLimit("join", claims.sub)(Effect.gen(function*() {
        const roomId = yield* roomIdParam
        const rooms = yield* RoomsClient
        yield* rooms.JoinRoom({ user_id: claims.sub, room_id: roomId }).pipe(failWithRpcError)
        return yield* respondWith(JoinResult, { joined: true })
      }))
    })
  }),
  resource("/api/v1/rooms/:id/leave", {
    POST: Effect.gen(function*() {
      const claims = yield* requireAuth
      const roomId = yield* roomIdParam
      const rooms = yield* RoomsClient
      yield* rooms.LeaveRoom({ user_id: claims.sub, room_id: roomId }).pipe(failWithRpcError)
      const events = yield* MembershipEvents
      yield* events.left(claims.sub, roomId)
      return yield* respondWith(LeaveResult, { left: true })
    })
  }),
  resource("/api/v1/channels", {
    GET: Effect.gen(function*() {
      const claims = yield* requireAuth
      const query = yield* decodeQuery(ChannelsQuery)
      const rooms = yield* RoomsClient
      const channels = yield* rooms.ListChannels({ user_id: claims.sub, ...query }).pipe(failWithRpcError)
      return yield* respondWith(RoomsResponse, { rooms: channels })
    })
  })
)
