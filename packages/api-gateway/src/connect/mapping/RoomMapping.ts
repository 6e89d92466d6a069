/**
 * pylon.room.v1 messages ⇄ the contract's room values (Rooms.ts, RoomRpcs.ts). Requests become
 * `RoomRpcs` payloads for the caller of the bearer token; `RoomMember` carries the room id the
 * contract's `Member` leaves implicit, so it is passed in.
 */
import { create } from "@bufbuild/protobuf"
import { Effect, Schema } from "effect"
import type { BadRequest } from "@pylon/contracts/Errors"
import type { RoomId, UserId } from "@pylon/contracts/Ids"
import { CreateRoomResult, RoomRpcs } from "@pylon/contracts/RoomRpcs"
import { Member, Room } from "@pylon/contracts/Rooms"
import type { RoomType } from "@pylon/contracts/Rooms"
import * as RoomPb from "@pylon/proto-gen/room/v1/room"
import type { MappingError, PayloadOf } from "./Common.ts"
import {
  decodeForCaller,
  decodeWith,
  enumMapping,
  int64ToProto,
  int64Wire,
  nullableTimestampToProto,
  nullableTimestampWire,
  payloadSchema,
  timestampToProto,
  timestampWire
} from "./Common.ts"

export type CreateRoomPayload = PayloadOf<typeof RoomRpcs, "CreateRoom">
export type ListRoomsPayload = PayloadOf<typeof RoomRpcs, "ListRooms">
/** `{ user_id, room_id }`: GetRoom, JoinRoom, LeaveRoom and GetRoomMembers. */
export type RoomRefPayload = PayloadOf<typeof RoomRpcs, "GetRoom">

export const roomType = enumMapping<RoomType, RoomPb.RoomType>({
  direct: RoomPb.RoomType.DIRECT,
  group: RoomPb.RoomType.GROUP,
  channel: RoomPb.RoomType.CHANNEL
})

const decodeCreateRoom = decodeWith(payloadSchema(RoomRpcs, "CreateRoom"))
const decodeListRooms = decodeWith(payloadSchema(RoomRpcs, "ListRooms"))
const decodeRoomRef = decodeWith(payloadSchema(RoomRpcs, "GetRoom"))

// --- requests -----------------------------------------------------------------------------

export const createRoomRequestToProto = (payload: CreateRoomPayload): RoomPb.CreateRoomRequest =>
  create(RoomPb.CreateRoomRequestSchema, {
    name: payload.name,
    type: roomType.toProto(payload.type),
    creatorId: payload.user_id,
    memberIds: [...payload.member_ids]
  })

export const createRoomRequestFromProto = (
  message: RoomPb.CreateRoomRequest,
  caller: UserId
): Effect.Effect<CreateRoomPayload, MappingError> =>
  decodeForCaller(decodeCreateRoom, "creator_id", message.creatorId, caller, (userId) => ({
    user_id: userId,
    name: message.name,
    type: roomType.fromProto(message.type),
    member_ids: message.memberIds
  }))

export const listRoomsRequestToProto = (payload: ListRoomsPayload): RoomPb.ListRoomsRequest =>
  create(RoomPb.ListRoomsRequestSchema, { userId: payload.user_id })

export const listRoomsRequestFromProto = (
  message: RoomPb.ListRoomsRequest,
  caller: UserId
): Effect.Effect<ListRoomsPayload, MappingError> =>
  decodeForCaller(decodeListRooms, "user_id", message.userId, caller, (userId) => ({ user_id: userId }))

/** GetRoom and GetRoomMembers name no user: the caller is always the token's subject. */
export const roomRefFromProto = (
  message: RoomPb.GetRoomRequest | RoomPb.GetRoomMembersRequest,
  caller: UserId
): Effect.Effect<RoomRefPayload, BadRequest> => decodeRoomRef({ user_id: caller, room_id: message.roomId })

export const getRoomRequestToProto = (payload: RoomRefPayload): RoomPb.GetRoomRequest =>
  create(RoomPb.GetRoomRequestSchema, { roomId: payload.room_id })

export const getRoomMembersRequestToProto = (payload: RoomRefPayload): RoomPb.GetRoomMembersRequest =>
  create(RoomPb.GetRoomMembersRequestSchema, { roomId: payload.room_id })

/** JoinRoom and LeaveRoom: `user_id` empty or the caller. */
export const membershipRequestFromProto = (
  message: RoomPb.JoinRoomRequest | RoomPb.LeaveRoomRequest,
  caller: UserId
): Effect.Effect<RoomRefPayload, MappingError> =>
  decodeForCaller(decodeRoomRef, "user_id", message.userId, caller, (userId) => ({
    user_id: userId,
    room_id: message.roomId
  }))

export const joinRoomRequestToProto = (payload: RoomRefPayload): RoomPb.JoinRoomRequest =>
  create(RoomPb.JoinRoomRequestSchema, { roomId: payload.room_id, userId: payload.user_id })

export const leaveRoomRequestToProto = (payload: RoomRefPayload): RoomPb.LeaveRoomRequest =>
  create(RoomPb.LeaveRoomRequestSchema, { roomId: payload.room_id, userId: payload.user_id })

// --- responses ----------------------------------------------------------------------------

export const roomToProto = (room: Room): RoomPb.Room =>
  create(RoomPb.RoomSchema, {
    id: room.id,
    name: room.name,
    type: roomType.toProto(room.type),
    createdBy: room.created_by,
    createdAt: timestampToProto(room.created_at),
    memberCount: int64ToProto(room.member_count),
    lastSeq: int64ToProto(room.last_seq),
    lastMessageAt: nullableTimestampToProto(room.last_message_at)
  })

const roomWire = (message: RoomPb.Room | undefined) =>
  message === undefined ? undefined : {
    id: message.id,
    name: message.name,
    type: roomType.fromProto(message.type),
    created_by: message.createdBy,
    created_at: timestampWire(message.createdAt),
    member_count: int64Wire(message.memberCount),
    last_seq: int64Wire(message.lastSeq),
    last_message_at: nullableTimestampWire(message.lastMessageAt)
  }

export const roomFromProto = (message: RoomPb.Room): Effect.Effect<Room, BadRequest> =>
  decodeWith(Room)(roomWire(message))

export const memberToProto = (member: Member, roomId: RoomId): RoomPb.RoomMember =>
  create(RoomPb.RoomMemberSchema, {
    userId: member.user_id,
    roomId,
    role: member.role,
    joinedAt: timestampToProto(member.joined_at),
    username: member.username,
    displayName: member.display_name ?? undefined,
    avatarUrl: member.avatar_url ?? undefined
  })

const memberWire = (message: RoomPb.RoomMember) => ({
  user_id: message.userId,
  username: message.username,
  display_name: message.displayName ?? null,
  avatar_url: message.avatarUrl ?? null,
  role: message.role,
  joined_at: timestampWire(message.joinedAt)
})

/** The contract `Member` (its room is the one asked about; `room_id` is not re-checked here). */
export const memberFromProto = (message: RoomPb.RoomMember): Effect.Effect<Member, BadRequest> =>
  decodeWith(Member)(memberWire(message))

export const createRoomResponseToProto = (result: CreateRoomResult): RoomPb.CreateRoomResponse =>
  create(RoomPb.CreateRoomResponseSchema, { room: roomToProto(result.room), created: result.created })

export const createRoomResponseFromProto = (
  message: RoomPb.CreateRoomResponse
): Effect.Effect<CreateRoomResult, BadRequest> =>
  decodeWith(CreateRoomResult)({ room: roomWire(message.room), created: message.created })

export const getRoomResponseToProto = (room: Room): RoomPb.GetRoomResponse =>
  create(RoomPb.GetRoomResponseSchema, { room: roomToProto(room) })

export const getRoomResponseFromProto = (message: RoomPb.GetRoomResponse): Effect.Effect<Room, BadRequest> =>
  decodeWith(Room, "room")(roomWire(message.room))

const Rooms = Schema.Array(Room)
const Members = Schema.Array(Member)

export const listRoomsResponseToProto = (rooms: ReadonlyArray<Room>): RoomPb.ListRoomsResponse =>
  create(RoomPb.ListRoomsResponseSchema, { rooms: rooms.map(roomToProto) })

export const listRoomsResponseFromProto = (
  message: RoomPb.ListRoomsResponse
): Effect.Effect<ReadonlyArray<Room>, BadRequest> => decodeWith(Rooms, "rooms")(message.rooms.map(roomWire))

export const getRoomMembersResponseToProto = (
  members: ReadonlyArray<Member>,
  roomId: RoomId
): RoomPb.GetRoomMembersResponse =>
  create(RoomPb.GetRoomMembersResponseSchema, { members: members.map((member) => memberToProto(member, roomId)) })

export const getRoomMembersResponseFromProto = (
  message: RoomPb.GetRoomMembersResponse
): Effect.Effect<ReadonlyArray<Member>, BadRequest> => decodeWith(Members, "members")(message.members.map(memberWire))
