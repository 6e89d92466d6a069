/**
 * `pylon.room.v1.RoomService` over Connect: the caller comes from the bearer token by the same
 * check REST's authentication middleware runs (`requireAuth`, http/Authentication.ts), requests
 * become `RoomRpcs` payloads through the mapping layer (caller fields checked), and the calls,
 * budgets (`createRoom`, `join` per user) and the leave hook are those of the REST room routes
 * (RoomsHttp.ts).
 */
import { create } from "@bufbuild/protobuf"
import { EmptySchema } from "@bufbuild/protobuf/wkt"
import type { ServiceImpl } from "@connectrpc/connect"
import { Effect } from "effect"
import { RoomService as RoomServiceDesc } from "@pylon/proto-gen/room/v1/room"
import { RoomsClient } from "../clients/ServiceClients.ts"
import { requireAuth } from "../http/Authentication.ts"
import { failWithHttpError, failWithRpcError } from "../http/HttpErrors.ts"
import { MembershipEvents } from "../ws/MembershipEvents.ts"
import { effectMethod, spendBudget } from "./ConnectBridge.ts"
import { RoomMapping } from "./ProtoMapping.ts"

export const roomServiceImpl: ServiceImpl<typeof RoomServiceDesc> = {
  createRoom: effectMethod((request) =>
    Effect.gen(function*() {
      const claims = yield* requireAuth
      yield* spendBudget("createRoom", claims.sub)
      const payload = yield* RoomMapping.createRoomRequestFromProto(request, claims.sub).pipe(failWithHttpError)
      const rooms = yield* RoomsClient
      const result = yield* rooms.CreateRoom(payload).pipe(failWithRpcError)
      return RoomMapping.createRoomResponseToProto(result)
    })
  ),
  getRoom: effectMethod((request) =>
    Effect.gen(function*() {
      const claims = yield* requireAuth
      const payload = yield* RoomMapping.roomRefFromProto(request, claims.sub).pipe(failWithHttpError)
      const rooms = yield* RoomsClient
      const room = yield* rooms.GetRoom(payload).pipe(failWithRpcError)
      return RoomMapping.getRoomResponseToProto(room)
    })
  ),
  listRooms: effectMethod((request) =>
    Effect.gen(function*() {
      const claims = yield* requireAuth
      const payload = yield* RoomMapping.listRoomsRequestFromProto(request, claims.sub).pipe(failWithHttpError)
      const rooms = yield* RoomsClient
      const list = yield* rooms.ListRooms(payload).pipe(failWithRpcError)
      return RoomMapping.listRoomsResponseToProto(list)
    })
  ),
  joinRoom: effectMethod((request) =>
    Effect.gen(function*() {
      const claims = yield* requireAuth
      yield* spendBudget("join", claims.sub)
      const payload = yield* RoomMapping.membershipRequestFromProto(request, claims.sub).pipe(failWithHttpError)
      const rooms = yield* RoomsClient
      yield* rooms.JoinRoom(payload).pipe(failWithRpcError)
      return create(EmptySchema)
    })
  ),
  leaveRoom: effectMethod((request) =>
    Effect.gen(function*() {
      const claims = yield* requireAuth
      const payload = yield* RoomMapping.membershipRequestFromProto(request, claims.sub).pipe(failWithHttpError)
      const rooms = yield* RoomsClient
      yield* rooms.LeaveRoom(payload).pipe(failWithRpcError)
      // As on REST: the user's live sockets stop receiving the room at once.
      const events = yield* MembershipEvents
      yield* events.left(payload.user_id, payload.room_id)
      return create(EmptySchema)
    })
  ),
  getRoomMembers: effectMethod((request) =>
    Effect.gen(function*() {
      const claims = yield* requireAuth
      const payload = yield* RoomMapping.roomRefFromProto(request, claims.sub).pipe(failWithHttpError)
      const rooms = yield* RoomsClient
      const members = yield* rooms.GetRoomMembers(payload).pipe(failWithRpcError)
      return RoomMapping.getRoomMembersResponseToProto(members, payload.room_id)
    })
  )
}
