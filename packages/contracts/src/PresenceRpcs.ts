/** Internal RPC of the presence service. Every payload names the acting user. */
import { Schema } from "effect"
import { Rpc, RpcGroup } from "effect/rpc"
import { NotRoomMember, RoomNotFound, Unavailable } from "./Errors.ts"
import { RoomId, UserId } from "./Ids.ts"
import { InternalAuth } from "./InternalAuth.ts"
import { ConnectionId, UserPresence } from "./Presence.ts"

const ConnectionRef = { user_id: UserId, connection_id: ConnectionId }

export class PresenceRpcs extends RpcGroup.make(
  /** Starts (or renews) the lease of one connection; a user is online while any lease lives. */
  Rpc.make("SetOnline", { payload: ConnectionRef, error: Unavailable }),
  Rpc.make("SetOffline", { payload: ConnectionRef, error: Unavailable }),
  /** Marks the user typing in the room for 5 s. */
  Rpc.make("SetTyping", { payload: { user_id: UserId, room_id: RoomId }, error: Unavailable }),
  /** Presence of the given users, in the given order. */
  Rpc.make("GetPresence", {
    payload: { user_id: UserId, target_user_ids: Schema.Array(UserId) },
    success: Schema.Array(UserPresence),
    error: Unavailable
  }),
  /** Presence of every member of a room the caller belongs to. */
  Rpc.make("GetRoomPresence", {
    payload: { user_id: UserId, room_id: RoomId },
    success: Schema.Array(UserPresence),
    error: Schema.Union([RoomNotFound, NotRoomMember, Unavailable])
  })
).middleware(InternalAuth) {}
