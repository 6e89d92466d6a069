/**
 * The room service's RPC handlers: `RoomRpcs` answered by `RoomService`. Payloads arrive
 * decoded (ids canonical, names trimmed, `member_ids` de-duplicated) and name the acting user,
 * whom the gateway authenticated; `InternalAuth` vouches for the gateway.
 */
import { Effect } from "effect"
import { RoomRpcs } from "@pylon/contracts/RoomRpcs"
import { RoomService } from "./RoomService.ts"

export const RoomHandlersLive = RoomRpcs.toLayer(Effect.gen(function*() {
  const rooms = yield* RoomService
  return RoomRpcs.of({
    CreateRoom: ({ user_id, name, type, member_ids }) => rooms.create(user_id, { name, type, member_ids }),
    GetRoom: ({ user_id, room_id }) => rooms.get(user_id, room_id),
    ListRooms: ({ user_id }) => rooms.list(user_id),
    GetRoomMembers: ({ user_id, room_id }) => rooms.members(user_id, room_id),
    JoinRoom: ({ user_id, room_id }) => rooms.join(user_id, room_id),
    LeaveRoom: ({ user_id, room_id }) => rooms.leave(user_id, room_id),
    CheckMembership: ({ user_id, room_id }) => rooms.checkMembership(user_id, room_id),
    ListChannels: ({ q, limit }) => rooms.listChannels({ q, limit })
  })
}))
