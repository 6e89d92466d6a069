/** Internal RPC of the room service. Every payload names the acting user. */
import { Schema } from "effect"
import { Rpc, RpcGroup } from "effect/rpc"
import { BadRequest, Forbidden, NotRoomMember, RoomNotFound, Unavailable } from "./Errors.ts"
import { RoomId, UserId } from "./Ids.ts"
import { InternalAuth } from "./InternalAuth.ts"
import { Natural, PageLimit } from "./Numbers.ts"
import { CreateRoomRequest, Member, MemberRole, Room, RoomType } from "./Rooms.ts"
import { TextWithoutNul } from "./Text.ts"

/** `created: false` when a `direct` room with that pair already existed (HTTP 200, not 201). */
export const CreateRoomResult = Schema.Struct({
  room: Room,
  created: Schema.Boolean
})
export type CreateRoomResult = typeof CreateRoomResult.Type

/**
 * The caller's standing in a room, for the gateway's WS `join` check: `role` is `null` for a
 * non-member. `last_seq` feeds the joiner's `user_joined.last_seq`.
 */
export const Membership = Schema.Struct({
  room_id: RoomId,
  room_type: RoomType,
  role: Schema.NullOr(MemberRole),
  last_seq: Natural
})
export type Membership = typeof Membership.Type

const RoomRef = { user_id: UserId, room_id: RoomId }

export class RoomRpcs extends RpcGroup.make(
  Rpc.make("CreateRoom", {
    payload: { user_id: UserId, ...CreateRoomRequest.fields },
    success: CreateRoomResult,
    error: Schema.Union([BadRequest, Unavailable])
  }),
  /** Members only; channels are visible to anyone. */
  Rpc.make("GetRoom", {
    payload: RoomRef,
    success: Room,
    error: Schema.Union([RoomNotFound, NotRoomMember, Unavailable])
  }),
  /** The caller's rooms, newest activity first. */
  Rpc.make("ListRooms", {
    payload: { user_id: UserId },
    success: Schema.Array(Room),
    error: Unavailable
  }),
  Rpc.make("GetRoomMembers", {
    payload: RoomRef,
    success: Schema.Array(Member),
    error: Schema.Union([RoomNotFound, NotRoomMember, Unavailable])
  }),
  /** Channels only (else `Forbidden`); idempotent. */
  Rpc.make("JoinRoom", {
    payload: RoomRef,
    error: Schema.Union([RoomNotFound, Forbidden, Unavailable])
  }),
  /** Non-member → `RoomNotFound`; the owner while others remain → `Forbidden`. */
  Rpc.make("LeaveRoom", {
    payload: RoomRef,
    error: Schema.Union([RoomNotFound, Forbidden, Unavailable])
  }),
  Rpc.make("CheckMembership", {
    payload: RoomRef,
    success: Membership,
    error: Schema.Union([RoomNotFound, Unavailable])
  }),
  /**
   * Public channel discovery **(later)**: `q` matches names; already trimmed. `BadRequest` when
   * PostgreSQL refuses `q` anyway (the SQLSTATE class 22 backstop of `SqlFailures`).
   */
  Rpc.make("ListChannels", {
    payload: { user_id: UserId, q: Schema.optionalKey(TextWithoutNul), limit: PageLimit(100) },
    success: Schema.Array(Room),
    error: Schema.Union([BadRequest, Unavailable])
  })
).middleware(InternalAuth) {}
