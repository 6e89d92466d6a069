/**
 * Room routes of API.md §4: list/create rooms, get a room and its members, join, leave, and
 * channel discovery. Each authenticates the caller, decodes input with the contract Schemas
 * and calls the room service through `RoomsClient`; responses are the contract's encoded JSON.
 */
import { Effect, Layer } from "effect"
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
import { respondWith } from "@pylon/platform/http/HttpEnvelope"
import { decodeJsonBody, decodePathParam, decodeQuery } from "@pylon/platform/http/HttpRequestDecoding"
import { RoomsClient } from "../clients/ServiceClients.ts"
import { MembershipEvents } from "../ws/MembershipEvents.ts"
import { authenticatedResource, CurrentUser } from "./Authentication.ts"
import { failWithRpcError } from "./HttpErrors.ts"
import { withRateLimit } from "./RateLimitGuard.ts"

const roomIdParam = decodePathParam("id", RoomIdSchema)

export const RoomsRoutes = Layer.mergeAll(
  authenticatedResource("/api/v1/rooms", {
    GET: Effect.gen(function*() {
      const claims = yield* CurrentUser
      const rooms = yield* RoomsClient
      const list = yield* rooms.ListRooms({ user_id: claims.sub }).pipe(failWithRpcError)
      return yield* respondWith(RoomsResponse, { rooms: list })
    }),
    POST: Effect.gen(function*() {
      const claims = yield* CurrentUser
      return yield* withRateLimit("createRoom", claims.sub)(Effect.gen(function*() {
        const input = yield* decodeJsonBody(CreateRoomRequest)
        const rooms = yield* RoomsClient
        const result = yield* rooms.CreateRoom({ user_id: claims.sub, ...input }).pipe(failWithRpcError)
        // An existing direct room is returned as it is: 200, not 201.
        return yield* respondWith(RoomResponse, { room: result.room }, result.created ? 201 : 200)
      }))
    })
  }),
  authenticatedResource("/api/v1/rooms/:id", {
    GET: Effect.gen(function*() {
      const claims = yield* CurrentUser
      const roomId = yield* roomIdParam
      const rooms = yield* RoomsClient
      const room = yield* rooms.GetRoom({ user_id: claims.sub, room_id: roomId }).pipe(failWithRpcError)
      return yield* respondWith(RoomResponse, { room })
    })
  }),
  authenticatedResource("/api/v1/rooms/:id/members", {
    GET: Effect.gen(function*() {
      const claims = yield* CurrentUser
      const roomId = yield* roomIdParam
      const rooms = yield* RoomsClient
      const members = yield* rooms.GetRoomMembers({ user_id: claims.sub, room_id: roomId }).pipe(failWithRpcError)
      return yield* respondWith(MembersResponse, { members })
    })
  }),
  authenticatedResource("/api/v1/rooms/:id/join", {
    POST: Effect.gen(function*() {
      const claims = yield* CurrentUser
      return yield* withRateLimit("join", claims.sub)(Effect.gen(function*() {
        const roomId = yield* roomIdParam
        const rooms = yield* RoomsClient
        yield* rooms.JoinRoom({ user_id: claims.sub, room_id: roomId }).pipe(failWithRpcError)
        return yield* respondWith(JoinResult, { joined: true })
      }))
    })
  }),
  authenticatedResource("/api/v1/rooms/:id/leave", {
    POST: Effect.gen(function*() {
      const claims = yield* CurrentUser
      const roomId = yield* roomIdParam
      const rooms = yield* RoomsClient
      yield* rooms.LeaveRoom({ user_id: claims.sub, room_id: roomId }).pipe(failWithRpcError)
      const events = yield* MembershipEvents
      yield* events.left(claims.sub, roomId)
      return yield* respondWith(LeaveResult, { left: true })
    })
  }),
  authenticatedResource("/api/v1/channels", {
    GET: Effect.gen(function*() {
      const claims = yield* CurrentUser
      const query = yield* decodeQuery(ChannelsQuery)
      const rooms = yield* RoomsClient
      const channels = yield* rooms.ListChannels({ user_id: claims.sub, ...query }).pipe(failWithRpcError)
      return yield* respondWith(RoomsResponse, { rooms: channels })
    })
  })
)
