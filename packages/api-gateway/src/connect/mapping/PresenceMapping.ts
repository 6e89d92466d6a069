/**
 * pylon.presence.v1 messages ⇄ the contract's presence values (Presence.ts, PresenceRpcs.ts and
 * the `presence`/`typing` frames of WsFrames.ts). The original API is per user and room, Pylon's
 * presence is a set of leases per user: `connection_id` (field 20) names the lease, and without
 * it every Connect client of a user shares one lease (`CONNECT_LEASE`).
 */
import { create } from "@bufbuild/protobuf"
import { Effect, Schema } from "effect"
import type { BadRequest } from "@pylon/contracts/Errors"
import { RoomId, UserId } from "@pylon/contracts/Ids"
import { UserPresence } from "@pylon/contracts/Presence"
import type { PresenceStatus } from "@pylon/contracts/Presence"
import type { Timestamp } from "@pylon/contracts/Time"
import { PresenceRpcs } from "@pylon/contracts/PresenceRpcs"
import { PresenceFrame, UserTypingFrame } from "@pylon/contracts/WsFrames"
import * as PresencePb from "@pylon/proto-gen/presence/v1/presence"
import type { MappingError, PayloadOf } from "./Common.ts"
import {
  decodeForCaller,
  decodeWith,
  enumMapping,
  nullableTimestampToProto,
  nullableTimestampWire,
  payloadSchema,
  timestampToProto
} from "./Common.ts"

/** `{ user_id, connection_id }`: SetOnline and SetOffline. */
export type LeasePayload = PayloadOf<typeof PresenceRpcs, "SetOnline">
export type SetTypingPayload = PayloadOf<typeof PresenceRpcs, "SetTyping">
export type GetPresencePayload = PayloadOf<typeof PresenceRpcs, "GetPresence">
export type GetRoomPresencePayload = PayloadOf<typeof PresenceRpcs, "GetRoomPresence">

/** StreamPresence has no internal RPC (the gateway serves it from the room bus). */
export const StreamPresencePayload = Schema.Struct({ user_id: UserId, room_id: RoomId })
export type StreamPresencePayload = typeof StreamPresencePayload.Type

/** The lease of a Connect client that names none. */
export const CONNECT_LEASE = "connect"

export const presenceStatus = enumMapping<PresenceStatus, PresencePb.PresenceStatus>({
  online: PresencePb.PresenceStatus.ONLINE,
  offline: PresencePb.PresenceStatus.OFFLINE
})

const decodeLease = decodeWith(payloadSchema(PresenceRpcs, "SetOnline"))
const decodeSetTyping = decodeWith(payloadSchema(PresenceRpcs, "SetTyping"))
const decodeGetPresence = decodeWith(payloadSchema(PresenceRpcs, "GetPresence"))
const decodeGetRoomPresence = decodeWith(payloadSchema(PresenceRpcs, "GetRoomPresence"))
const decodeStreamPresence = decodeWith(StreamPresencePayload)

// --- requests -----------------------------------------------------------------------------

export const setOnlineRequestToProto = (payload: LeasePayload): PresencePb.SetOnlineRequest =>
  create(PresencePb.SetOnlineRequestSchema, { userId: payload.user_id, connectionId: payload.connection_id })

export const setOfflineRequestToProto = (payload: LeasePayload): PresencePb.SetOfflineRequest =>
  create(PresencePb.SetOfflineRequestSchema, { userId: payload.user_id, connectionId: payload.connection_id })

/** SetOnline and SetOffline: `room_id` is accepted and ignored (presence is per user). */
export const leaseRequestFromProto = (
  message: PresencePb.SetOnlineRequest | PresencePb.SetOfflineRequest,
  caller: UserId
): Effect.Effect<LeasePayload, MappingError> =>
  decodeForCaller(decodeLease, "user_id", message.userId, caller, (userId) => ({
    user_id: userId,
    connection_id: message.connectionId === "" ? CONNECT_LEASE : message.connectionId
  }))

export const setTypingRequestToProto = (payload: SetTypingPayload): PresencePb.SetTypingRequest =>
  create(PresencePb.SetTypingRequestSchema, { userId: payload.user_id, roomId: payload.room_id })

export const setTypingRequestFromProto = (
  message: PresencePb.SetTypingRequest,
  caller: UserId
): Effect.Effect<SetTypingPayload, MappingError> =>
  decodeForCaller(decodeSetTyping, "user_id", message.userId, caller, (userId) => ({
    user_id: userId,
    room_id: message.roomId
  }))

/** The original asks about one user (`user_id`, empty → the caller); the payload's first target. */
export const getPresenceRequestToProto = (payload: GetPresencePayload): PresencePb.GetPresenceRequest =>
  create(PresencePb.GetPresenceRequestSchema, { userId: payload.target_user_ids[0] ?? "" })

export const getPresenceRequestFromProto = (
  message: PresencePb.GetPresenceRequest,
  caller: UserId
): Effect.Effect<GetPresencePayload, BadRequest> =>
  decodeGetPresence({ user_id: caller, target_user_ids: [message.userId === "" ? caller : message.userId] })

export const getRoomPresenceRequestToProto = (payload: GetRoomPresencePayload): PresencePb.GetRoomPresenceRequest =>
  create(PresencePb.GetRoomPresenceRequestSchema, { roomId: payload.room_id })

export const getRoomPresenceRequestFromProto = (
  message: PresencePb.GetRoomPresenceRequest,
  caller: UserId
): Effect.Effect<GetRoomPresencePayload, BadRequest> => decodeGetRoomPresence({ user_id: caller, room_id: message.roomId })

export const streamPresenceRequestToProto = (payload: StreamPresencePayload): PresencePb.StreamPresenceRequest =>
  create(PresencePb.StreamPresenceRequestSchema, { roomId: payload.room_id })

export const streamPresenceRequestFromProto = (
  message: PresencePb.StreamPresenceRequest,
  caller: UserId
): Effect.Effect<StreamPresencePayload, BadRequest> => decodeStreamPresence({ user_id: caller, room_id: message.roomId })

// --- responses ----------------------------------------------------------------------------

export const getPresenceResponseToProto = (presence: UserPresence): PresencePb.GetPresenceResponse =>
  create(PresencePb.GetPresenceResponseSchema, {
    status: presenceStatus.toProto(presence.status),
    lastSeen: nullableTimestampToProto(presence.last_seen_at),
    userId: presence.user_id
  })

export const getPresenceResponseFromProto = (
  message: PresencePb.GetPresenceResponse
): Effect.Effect<UserPresence, BadRequest> =>
  decodeWith(UserPresence)({
    user_id: message.userId,
    status: presenceStatus.fromProto(message.status),
    last_seen_at: nullableTimestampWire(message.lastSeen)
  })

/** A member's presence in a room snapshot: `timestamp` is when they were last seen. */
const snapshotEventToProto = (presence: UserPresence, roomId: RoomId): PresencePb.PresenceEvent =>
  create(PresencePb.PresenceEventSchema, {
    userId: presence.user_id,
    roomId,
    status: presenceStatus.toProto(presence.status),
    timestamp: nullableTimestampToProto(presence.last_seen_at)
  })

const snapshotEventWire = (event: PresencePb.PresenceEvent) => ({
  user_id: event.userId,
  status: presenceStatus.fromProto(event.status),
  last_seen_at: nullableTimestampWire(event.timestamp)
})

const Presences = Schema.Array(UserPresence)

export const getRoomPresenceResponseToProto = (
  presences: ReadonlyArray<UserPresence>,
  roomId: RoomId
): PresencePb.GetRoomPresenceResponse =>
  create(PresencePb.GetRoomPresenceResponseSchema, {
    presences: presences.map((presence) => snapshotEventToProto(presence, roomId))
  })

export const getRoomPresenceResponseFromProto = (
  message: PresencePb.GetRoomPresenceResponse
): Effect.Effect<ReadonlyArray<UserPresence>, BadRequest> =>
  decodeWith(Presences, "presences")(message.presences.map(snapshotEventWire))

/** A live event of StreamPresence: the WebSocket `presence` or `typing` frame, stamped `at`. */
export type PresenceStreamEvent = PresenceFrame | UserTypingFrame

export const presenceEventToProto = (event: PresenceStreamEvent, at: Timestamp): PresencePb.PresenceEvent =>
  create(PresencePb.PresenceEventSchema, {
    userId: event.user_id,
    roomId: event.room_id,
    timestamp: timestampToProto(at),
    ...(event.type === "typing"
      ? { status: PresencePb.PresenceStatus.TYPING, username: event.username }
      : { status: presenceStatus.toProto(event.status) })
  })

export const presenceEventFromProto = (
  event: PresencePb.PresenceEvent
): Effect.Effect<PresenceStreamEvent, BadRequest> =>
  event.status === PresencePb.PresenceStatus.TYPING
    ? decodeWith(UserTypingFrame)({ type: "typing", room_id: event.roomId, user_id: event.userId, username: event.username })
    : decodeWith(PresenceFrame)({
      type: "presence",
      room_id: event.roomId,
      user_id: event.userId,
      status: presenceStatus.fromProto(event.status)
    })
