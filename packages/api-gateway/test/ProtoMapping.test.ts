/**
 * The Connect mapping layer (src/connect/ProtoMapping.ts) against the contract Schemas.
 *
 * Property (fast-check, values derived from the contract Schemas by Effect's `Arbitrary.schema`):
 * for every message, contract value → proto → bytes (binary and JSON) → proto → contract value is
 * the identity. Then the original wire: each response, decoded by a message type of the frozen
 * image of the original protos (proto/compat/pylon-v1.binpb), carries the same original fields;
 * and the request rules (caller fields, enum defaults, limits) hold on examples.
 */
import { create, fromBinary, fromJson, toBinary, toJson } from "@bufbuild/protobuf"
import type { DescEnum, DescMessage, JsonObject, JsonValue, Message as ProtoMessage } from "@bufbuild/protobuf"
import type { GenMessage } from "@bufbuild/protobuf/codegenv2"
import { timestampFromMs } from "@bufbuild/protobuf/wkt"
import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, DateTime, Effect, Exit, Schema } from "effect"
import fc from "fast-check"
import {
  AuthResult,
  LoginRequest,
  RefreshRequest,
  RegisterRequest,
  TokenPair,
  User
} from "@pylon/contracts/Auth"
import { ChatRpcs, GetMessagesPayload, SendMessageResult } from "@pylon/contracts/ChatRpcs"
import { RoomId, SessionId, UserId } from "@pylon/contracts/Ids"
import { Message, MessagesResponse, MsgType } from "@pylon/contracts/Messages"
import { NotificationRpcs } from "@pylon/contracts/NotificationRpcs"
import { Notification, NotificationsResponse, NotificationType } from "@pylon/contracts/Notifications"
import { PresenceStatus, UserPresence } from "@pylon/contracts/Presence"
import { PresenceRpcs } from "@pylon/contracts/PresenceRpcs"
import { CreateRoomResult, RoomRpcs } from "@pylon/contracts/RoomRpcs"
import { Member, Room, RoomType } from "@pylon/contracts/Rooms"
import { Timestamp } from "@pylon/contracts/Time"
import { PresenceFrame, UserTypingFrame } from "@pylon/contracts/WsFrames"
import * as ChatPb from "@pylon/proto-gen/chat/v1/chat"
import * as NotificationPb from "@pylon/proto-gen/notification/v1/notification"
import * as PresencePb from "@pylon/proto-gen/presence/v1/presence"
import * as RoomPb from "@pylon/proto-gen/room/v1/room"
import * as AuthPb from "@pylon/proto-gen/auth/v1/auth"
import * as GatewayPb from "@pylon/proto-gen/gateway/v1/gateway"
import { originalProtos as original } from "@pylon/testkit/OriginalProtos"
import { payloadSchema } from "../src/connect/mapping/Common.ts"
import type { MappingError } from "../src/connect/ProtoMapping.ts"
import {
  AuthMapping,
  ChatMapping,
  NotificationMapping,
  PresenceMapping,
  RoomMapping
} from "../src/connect/ProtoMapping.ts"

// --- fast-check over Schema-derived values ------------------------------------------------

/**
 * fast-check drives the run (seed, replay, counterexample report); each of its values is a seed
 * that picks one deterministic sample of the Schema-derived Effect Arbitrary.
 */
const fromSchema = <S extends Schema.Top>(schema: S): fc.Arbitrary<S["Type"]> => {
  const arbitrary = Arbitrary.schema(schema)
  return fc.noShrink(fc.integer({ min: 0, max: 0x7fff_ffff }).map((seed) => {
    const [value] = Effect.runSync(Arbitrary.sampleEffect(arbitrary, { count: 1, seed, size: 6 }))
    if (value === undefined) throw new Error("Arbitrary.sampleEffect returned no sample")
    return value
  }))
}

/**
 * Whether every string in an encoded value is well-formed Unicode. Protobuf strings are UTF-8, so
 * a lone surrogate (which a JS string, and so a Schema-derived sample, can hold) has no wire form;
 * the contract's stored values never hold one (PostgreSQL text is UTF-8), so such samples are left out.
 */
const isWellFormed = (encoded: unknown): boolean => {
  if (typeof encoded === "string") return encoded.isWellFormed()
  if (Array.isArray(encoded)) return encoded.every(isWellFormed)
  if (typeof encoded === "object" && encoded !== null) return Object.values(encoded).every(isWellFormed)
  return true
}

const isObject = (json: JsonValue | undefined): json is JsonObject =>
  typeof json === "object" && json !== null && !Array.isArray(json)

/**
 * What an original client sees of our JSON: Pylon's fields (numbers ≥ 20) dropped, recursively,
 * and `""` dropped (proto3 omits an empty original string; ours shows it only for a set
 * `optional` one, which the original reads as "" all the same).
 */
const originalView = (desc: DescMessage, json: JsonValue): JsonValue => {
  if (!isObject(json)) return json
  const view: JsonObject = {}
  for (const field of desc.fields) {
    const value = json[field.jsonName]
    if (field.number >= 20 || value === undefined || value === "") continue
    const nested = field.fieldKind === "message" ? field.message : field.fieldKind === "list" ? field.message : undefined
    const wellKnown = nested === undefined || nested.typeName.startsWith("google.protobuf.")
    view[field.jsonName] = wellKnown
      ? value
      : Array.isArray(value)
      ? value.map((item) => originalView(nested, item))
      : originalView(nested, value)
  }
  return view
}

/** A mapping case: contract values of `schema` ⇄ messages of `proto`. */
interface Case<S extends Schema.Top & { readonly EncodingServices: never }, M extends ProtoMessage> {
  readonly name: string
  readonly schema: S
  readonly proto: GenMessage<M>
  readonly toProto: (value: S["Type"]) => M
  readonly fromProto: (message: M, value: S["Type"]) => Effect.Effect<S["Type"], MappingError>
  /** Values the original wire cannot carry, left out on purpose (documented per case). */
  readonly where?: (value: S["Type"]) => boolean
}

/** The two properties of a case, ready to run. */
interface CheckedCase {
  readonly name: string
  /** Contract value → proto → binary / JSON → proto → contract value is the identity. */
  readonly roundTrip: () => void
  /** The same bytes decoded by the original protos' type carry the same original fields. */
  readonly originalFields: () => void
}

const mappingCase = <S extends Schema.Top & { readonly EncodingServices: never }, M extends ProtoMessage>(
  c: Case<S, M>
): CheckedCase => {
  const encode = Schema.encodeSync(c.schema)
  const values = fromSchema(c.schema).filter((value) => isWellFormed(encode(value)) && (c.where?.(value) ?? true))
  return {
    name: c.name,
    roundTrip: () =>
      fc.assert(
        fc.property(values, (value) => {
          const message = c.toProto(value)
          const overTheWire: ReadonlyArray<[string, M]> = [
            ["binary", fromBinary(c.proto, toBinary(c.proto, message))],
            ["json", fromJson(c.proto, toJson(c.proto, message))]
          ]
          for (const [wire, decoded] of overTheWire) {
            const back = Effect.runSync(Effect.result(c.fromProto(decoded, value)))
            if (back._tag === "Failure") throw new Error(`${wire}: ${JSON.stringify(back.failure)}`)
            expect(encode(back.success), wire).toEqual(encode(value))
          }
        }),
        { numRuns: 60 }
      ),
    originalFields: () => {
      const compat = original.getMessage(c.proto.typeName)
      if (compat === undefined) throw new Error(`${c.proto.typeName} is not in the original protos`)
      fc.assert(
        fc.property(values, (value) => {
          const message = c.toProto(value)
          const expected = originalView(c.proto, toJson(c.proto, message))
          expect(toJson(compat, fromBinary(compat, toBinary(c.proto, message))), "binary").toEqual(expected)
          const fromJsonWire = fromJson(compat, toJson(c.proto, message), { ignoreUnknownFields: true })
          expect(toJson(compat, fromJsonWire), "json").toEqual(expected)
        }),
        { numRuns: 20 }
      )
    }
  }
}

const withRoom = <S extends Schema.Top>(value: S) => Schema.Struct({ value, room_id: RoomId })
const withUser = <S extends Schema.Top>(value: S) => Schema.Struct({ value, user_id: UserId })

const INT32_MAX = 2 ** 31 - 1

const cases = [
  // pylon.auth.v1 / pylon.gateway.v1
  mappingCase({
    name: "auth RegisterRequest",
    schema: RegisterRequest,
    proto: AuthPb.RegisterRequestSchema,
    toProto: AuthMapping.registerRequestToProto,
    fromProto: AuthMapping.registerRequestFromProto
  }),
  mappingCase({
    name: "auth LoginRequest",
    schema: LoginRequest,
    proto: AuthPb.LoginRequestSchema,
    toProto: AuthMapping.loginRequestToProto,
    fromProto: AuthMapping.loginRequestFromProto
  }),
  mappingCase({
    name: "auth RefreshTokenRequest",
    schema: RefreshRequest,
    proto: AuthPb.RefreshTokenRequestSchema,
    toProto: AuthMapping.refreshRequestToProto,
    fromProto: AuthMapping.refreshRequestFromProto
  }),
  mappingCase({
    name: "auth User",
    schema: User,
    proto: AuthPb.UserSchema,
    toProto: AuthMapping.userToProto,
    fromProto: AuthMapping.userFromProto
  }),
  mappingCase({
    name: "auth RegisterResponse",
    schema: AuthResult,
    proto: AuthPb.RegisterResponseSchema,
    toProto: AuthMapping.registerResponseToProto,
    fromProto: AuthMapping.authResultFromProto
  }),
  mappingCase({
    name: "auth LoginResponse",
    schema: AuthResult,
    proto: AuthPb.LoginResponseSchema,
    toProto: AuthMapping.loginResponseToProto,
    fromProto: AuthMapping.authResultFromProto
  }),
  mappingCase({
    name: "auth RefreshTokenResponse",
    schema: TokenPair,
    proto: AuthPb.RefreshTokenResponseSchema,
    toProto: AuthMapping.tokenPairToProto,
    fromProto: AuthMapping.tokenPairFromProto
  }),
  mappingCase({
    name: "gateway RefreshTokenRequest",
    schema: RefreshRequest,
    proto: GatewayPb.RefreshTokenRequestSchema,
    toProto: AuthMapping.gatewayRefreshRequestToProto,
    fromProto: AuthMapping.refreshRequestFromProto
  }),
  mappingCase({
    name: "gateway RefreshTokenResponse",
    schema: TokenPair,
    proto: GatewayPb.RefreshTokenResponseSchema,
    toProto: AuthMapping.gatewayTokenPairToProto,
    fromProto: AuthMapping.gatewayTokenPairFromProto
  }),
  // pylon.room.v1 (requests decode for the caller named in the payload)
  mappingCase({
    name: "room CreateRoomRequest",
    schema: payloadSchema(RoomRpcs, "CreateRoom"),
    proto: RoomPb.CreateRoomRequestSchema,
    toProto: RoomMapping.createRoomRequestToProto,
    fromProto: (message, payload) => RoomMapping.createRoomRequestFromProto(message, payload.user_id)
  }),
  mappingCase({
    name: "room ListRoomsRequest",
    schema: payloadSchema(RoomRpcs, "ListRooms"),
    proto: RoomPb.ListRoomsRequestSchema,
    toProto: RoomMapping.listRoomsRequestToProto,
    fromProto: (message, payload) => RoomMapping.listRoomsRequestFromProto(message, payload.user_id)
  }),
  mappingCase({
    name: "room GetRoomRequest",
    schema: payloadSchema(RoomRpcs, "GetRoom"),
    proto: RoomPb.GetRoomRequestSchema,
    toProto: RoomMapping.getRoomRequestToProto,
    fromProto: (message, payload) => RoomMapping.roomRefFromProto(message, payload.user_id)
  }),
  mappingCase({
    name: "room GetRoomMembersRequest",
    schema: payloadSchema(RoomRpcs, "GetRoomMembers"),
    proto: RoomPb.GetRoomMembersRequestSchema,
    toProto: RoomMapping.getRoomMembersRequestToProto,
    fromProto: (message, payload) => RoomMapping.roomRefFromProto(message, payload.user_id)
  }),
  mappingCase({
    name: "room JoinRoomRequest",
    schema: payloadSchema(RoomRpcs, "JoinRoom"),
    proto: RoomPb.JoinRoomRequestSchema,
    toProto: RoomMapping.joinRoomRequestToProto,
    fromProto: (message, payload) => RoomMapping.membershipRequestFromProto(message, payload.user_id)
  }),
  mappingCase({
    name: "room LeaveRoomRequest",
    schema: payloadSchema(RoomRpcs, "LeaveRoom"),
    proto: RoomPb.LeaveRoomRequestSchema,
    toProto: RoomMapping.leaveRoomRequestToProto,
    fromProto: (message, payload) => RoomMapping.membershipRequestFromProto(message, payload.user_id)
  }),
  mappingCase({
    name: "room Room",
    schema: Room,
    proto: RoomPb.RoomSchema,
    toProto: RoomMapping.roomToProto,
    fromProto: RoomMapping.roomFromProto
  }),
  mappingCase({
    name: "room RoomMember",
    schema: withRoom(Member),
    proto: RoomPb.RoomMemberSchema,
    toProto: ({ room_id, value }) => RoomMapping.memberToProto(value, room_id),
    fromProto: (message, { room_id }) =>
      RoomMapping.memberFromProto(message).pipe(Effect.map((value) => ({ value, room_id })))
  }),
  mappingCase({
    name: "room CreateRoomResponse",
    schema: CreateRoomResult,
    proto: RoomPb.CreateRoomResponseSchema,
    toProto: RoomMapping.createRoomResponseToProto,
    fromProto: RoomMapping.createRoomResponseFromProto
  }),
  mappingCase({
    name: "room GetRoomResponse",
    schema: Room,
    proto: RoomPb.GetRoomResponseSchema,
    toProto: RoomMapping.getRoomResponseToProto,
    fromProto: RoomMapping.getRoomResponseFromProto
  }),
  mappingCase({
    name: "room ListRoomsResponse",
    schema: Schema.Array(Room),
    proto: RoomPb.ListRoomsResponseSchema,
    toProto: RoomMapping.listRoomsResponseToProto,
    fromProto: RoomMapping.listRoomsResponseFromProto
  }),
  mappingCase({
    name: "room GetRoomMembersResponse",
    schema: withRoom(Schema.Array(Member)),
    proto: RoomPb.GetRoomMembersResponseSchema,
    toProto: ({ room_id, value }) => RoomMapping.getRoomMembersResponseToProto(value, room_id),
    fromProto: (message, { room_id }) =>
      RoomMapping.getRoomMembersResponseFromProto(message).pipe(Effect.map((value) => ({ value, room_id })))
  }),
  // pylon.chat.v1
  mappingCase({
    name: "chat SendMessageRequest",
    schema: payloadSchema(ChatRpcs, "SendMessage"),
    proto: ChatPb.SendMessageRequestSchema,
    toProto: ChatMapping.sendMessageRequestToProto,
    fromProto: (message, payload) => ChatMapping.sendMessageRequestFromProto(message, payload.user_id)
  }),
  mappingCase({
    name: "chat StreamMessagesRequest",
    schema: ChatMapping.StreamMessagesRequestPayload,
    proto: ChatPb.StreamMessagesRequestSchema,
    toProto: ChatMapping.streamMessagesRequestToProto,
    fromProto: (message, payload) => ChatMapping.streamMessagesRequestFromProto(message, payload.user_id)
  }),
  mappingCase({
    name: "chat GetMessagesRequest",
    schema: GetMessagesPayload,
    proto: ChatPb.GetMessagesRequestSchema,
    toProto: ChatMapping.getMessagesRequestToProto,
    fromProto: (message, payload) => ChatMapping.getMessagesRequestFromProto(message, payload.user_id)
  }),
  mappingCase({
    name: "chat Message",
    schema: Message,
    proto: ChatPb.MessageSchema,
    toProto: ChatMapping.messageToProto,
    fromProto: ChatMapping.messageFromProto
  }),
  mappingCase({
    name: "chat SendMessageResponse",
    schema: SendMessageResult,
    proto: ChatPb.SendMessageResponseSchema,
    toProto: ChatMapping.sendMessageResponseToProto,
    fromProto: ChatMapping.sendMessageResponseFromProto
  }),
  mappingCase({
    name: "chat GetMessagesResponse",
    schema: MessagesResponse,
    proto: ChatPb.GetMessagesResponseSchema,
    toProto: ChatMapping.getMessagesResponseToProto,
    fromProto: ChatMapping.getMessagesResponseFromProto
  }),
  // pylon.presence.v1
  mappingCase({
    name: "presence SetOnlineRequest",
    schema: payloadSchema(PresenceRpcs, "SetOnline"),
    proto: PresencePb.SetOnlineRequestSchema,
    toProto: PresenceMapping.setOnlineRequestToProto,
    fromProto: (message, payload) => PresenceMapping.leaseRequestFromProto(message, payload.user_id)
  }),
  mappingCase({
    name: "presence SetOfflineRequest",
    schema: payloadSchema(PresenceRpcs, "SetOffline"),
    proto: PresencePb.SetOfflineRequestSchema,
    toProto: PresenceMapping.setOfflineRequestToProto,
    fromProto: (message, payload) => PresenceMapping.leaseRequestFromProto(message, payload.user_id)
  }),
  mappingCase({
    name: "presence SetTypingRequest",
    schema: payloadSchema(PresenceRpcs, "SetTyping"),
    proto: PresencePb.SetTypingRequestSchema,
    toProto: PresenceMapping.setTypingRequestToProto,
    fromProto: (message, payload) => PresenceMapping.setTypingRequestFromProto(message, payload.user_id)
  }),
  mappingCase({
    name: "presence GetPresenceRequest",
    schema: payloadSchema(PresenceRpcs, "GetPresence"),
    proto: PresencePb.GetPresenceRequestSchema,
    toProto: PresenceMapping.getPresenceRequestToProto,
    fromProto: (message, payload) => PresenceMapping.getPresenceRequestFromProto(message, payload.user_id),
    // The original request names exactly one user.
    where: (payload) => payload.target_user_ids.length === 1
  }),
  mappingCase({
    name: "presence GetRoomPresenceRequest",
    schema: payloadSchema(PresenceRpcs, "GetRoomPresence"),
    proto: PresencePb.GetRoomPresenceRequestSchema,
    toProto: PresenceMapping.getRoomPresenceRequestToProto,
    fromProto: (message, payload) => PresenceMapping.getRoomPresenceRequestFromProto(message, payload.user_id)
  }),
  mappingCase({
    name: "presence StreamPresenceRequest",
    schema: PresenceMapping.StreamPresencePayload,
    proto: PresencePb.StreamPresenceRequestSchema,
    toProto: PresenceMapping.streamPresenceRequestToProto,
    fromProto: (message, payload) => PresenceMapping.streamPresenceRequestFromProto(message, payload.user_id)
  }),
  mappingCase({
    name: "presence GetPresenceResponse",
    schema: UserPresence,
    proto: PresencePb.GetPresenceResponseSchema,
    toProto: PresenceMapping.getPresenceResponseToProto,
    fromProto: PresenceMapping.getPresenceResponseFromProto
  }),
  mappingCase({
    name: "presence GetRoomPresenceResponse",
    schema: withRoom(Schema.Array(UserPresence)),
    proto: PresencePb.GetRoomPresenceResponseSchema,
    toProto: ({ room_id, value }) => PresenceMapping.getRoomPresenceResponseToProto(value, room_id),
    fromProto: (message, { room_id }) =>
      PresenceMapping.getRoomPresenceResponseFromProto(message).pipe(Effect.map((value) => ({ value, room_id })))
  }),
  mappingCase({
    name: "presence PresenceEvent (stream)",
    schema: Schema.Struct({ value: Schema.Union([PresenceFrame, UserTypingFrame]), at: Timestamp }),
    proto: PresencePb.PresenceEventSchema,
    toProto: ({ at, value }) => PresenceMapping.presenceEventToProto(value, at),
    fromProto: (message, { at }) => PresenceMapping.presenceEventFromProto(message).pipe(Effect.map((value) => ({ value, at })))
  }),
  // pylon.notification.v1
  mappingCase({
    name: "notification SendNotificationRequest",
    schema: payloadSchema(NotificationRpcs, "SendNotification"),
    proto: NotificationPb.SendNotificationRequestSchema,
    toProto: NotificationMapping.sendNotificationRequestToProto,
    fromProto: NotificationMapping.sendNotificationRequestFromProto
  }),
  mappingCase({
    name: "notification GetNotificationsRequest",
    schema: payloadSchema(NotificationRpcs, "GetNotifications"),
    proto: NotificationPb.GetNotificationsRequestSchema,
    toProto: NotificationMapping.getNotificationsRequestToProto,
    fromProto: (message, payload) => NotificationMapping.getNotificationsRequestFromProto(message, payload.user_id)
  }),
  mappingCase({
    name: "notification MarkAsReadRequest",
    schema: payloadSchema(NotificationRpcs, "MarkAsRead"),
    proto: NotificationPb.MarkAsReadRequestSchema,
    toProto: NotificationMapping.markAsReadRequestToProto,
    fromProto: (message, payload) => NotificationMapping.markAsReadRequestFromProto(message, payload.user_id)
  }),
  mappingCase({
    name: "notification Notification",
    schema: withUser(Notification),
    proto: NotificationPb.NotificationSchema,
    toProto: ({ user_id, value }) => NotificationMapping.notificationToProto(value, user_id),
    fromProto: (message, { user_id }) =>
      NotificationMapping.notificationFromProto(message).pipe(Effect.map((value) => ({ value, user_id })))
  }),
  mappingCase({
    name: "notification GetNotificationsResponse",
    schema: withUser(NotificationsResponse),
    proto: NotificationPb.GetNotificationsResponseSchema,
    toProto: ({ user_id, value }) => NotificationMapping.getNotificationsResponseToProto(value, user_id),
    fromProto: (message, { user_id }) =>
      NotificationMapping.getNotificationsResponseFromProto(message).pipe(Effect.map((value) => ({ value, user_id }))),
    // `unread_count` is int32 on the original wire (it saturates beyond, tested below).
    where: ({ value }) => value.unread_count <= INT32_MAX
  })
]

describe("ProtoMapping: contract value → proto → wire → proto → contract value is the identity", () => {
  for (const c of cases) it(c.name, c.roundTrip)
})

// --- the original wire ----------------------------------------------------------------------

describe("ProtoMapping: an original client reads every message's original fields", () => {
  for (const c of cases) it(c.name, c.originalFields)
})

// --- request rules (CONNECT-COMPAT.md rules 3, 4, 7) ---------------------------------------

const ALICE = UserId.make("0190a5c4-0000-7000-8000-00000000000a")
const BOB = "0190a5c4-0000-7000-8000-00000000000b"
const ROOM = "0190a5c4-0000-7000-8000-0000000000f1"

const failureTag = <A>(effect: Effect.Effect<A, MappingError>) =>
  Effect.runSync(Effect.exit(effect).pipe(Effect.map((exit) =>
    Exit.isFailure(exit) ? exit.cause.reasons.map((reason) => reason._tag === "Fail" ? reason.error._tag : reason._tag) : []
  )))

const run = <A>(effect: Effect.Effect<A, MappingError>): A => Effect.runSync(effect)

describe("ProtoMapping: request rules", () => {
  it("a caller field left empty is the token's subject; another user is permission_denied; garbage is invalid", () => {
    const send = (senderId: string) =>
      ChatMapping.sendMessageRequestFromProto(
        create(ChatPb.SendMessageRequestSchema, { roomId: ROOM, senderId, content: "hi" }),
        ALICE
      )
    expect(run(send("")).user_id).toBe(ALICE)
    expect(run(send(ALICE.toUpperCase())).user_id).toBe(ALICE)
    expect(failureTag(send(BOB))).toEqual(["Forbidden"])
    expect(failureTag(send("not-a-uuid"))).toEqual(["BadRequest"])
    const list = (userId: string) =>
      RoomMapping.listRoomsRequestFromProto(create(RoomPb.ListRoomsRequestSchema, { userId }), ALICE)
    expect(run(list("")).user_id).toBe(ALICE)
    expect(failureTag(list(BOB))).toEqual(["Forbidden"])
    const create_ = (creatorId: string) =>
      RoomMapping.createRoomRequestFromProto(
        create(RoomPb.CreateRoomRequestSchema, { name: "r", type: RoomPb.RoomType.GROUP, creatorId }),
        ALICE
      )
    expect(run(create_("")).user_id).toBe(ALICE)
    expect(failureTag(create_(BOB))).toEqual(["Forbidden"])
  })

  it("message type unspecified means text; system and unknown values are invalid_argument", () => {
    const send = (type: number) =>
      ChatMapping.sendMessageRequestFromProto(
        create(ChatPb.SendMessageRequestSchema, { roomId: ROOM, content: "hi", type }),
        ALICE
      )
    expect(run(send(ChatPb.MessageType.UNSPECIFIED)).msg_type).toBe("text")
    expect(run(send(ChatPb.MessageType.FILE)).msg_type).toBe("file")
    expect(failureTag(send(ChatPb.MessageType.SYSTEM))).toEqual(["BadRequest"])
    expect(failureTag(send(42))).toEqual(["BadRequest"])
  })

  it("enums without a default refuse UNSPECIFIED with the contract's message", () => {
    const room = Effect.runSync(Effect.flip(RoomMapping.createRoomRequestFromProto(
      create(RoomPb.CreateRoomRequestSchema, { name: "r" }),
      ALICE
    )))
    expect(room).toMatchObject({ _tag: "BadRequest", message: "type: must be one of direct, group, channel" })
    const notification = NotificationMapping.sendNotificationRequestFromProto(
      create(NotificationPb.SendNotificationRequestSchema, { userId: BOB, roomId: ROOM, title: "t", body: "b" })
    )
    expect(failureTag(notification)).toEqual(["BadRequest"])
  })

  it("limits: 0 is the REST default, above the maximum is clamped, negative is invalid; offset must be 0", () => {
    const history = (limit: number) =>
      ChatMapping.getMessagesRequestFromProto(create(ChatPb.GetMessagesRequestSchema, { roomId: ROOM, limit }), ALICE)
    expect(run(history(0)).limit).toBe(50)
    expect(run(history(7)).limit).toBe(7)
    expect(run(history(1000)).limit).toBe(100)
    expect(failureTag(history(-1))).toEqual(["BadRequest"])
    const page = (limit: number, offset: number) =>
      NotificationMapping.getNotificationsRequestFromProto(
        create(NotificationPb.GetNotificationsRequestSchema, { limit, offset }),
        ALICE
      )
    expect(run(page(0, 0)).limit).toBe(20)
    expect(run(page(500, 0)).limit).toBe(100)
    expect(failureTag(page(0, 10))).toEqual(["BadRequest"])
  })

  it("history cursors: empty before_id is none; before_id with after_seq is invalid; an int64 beyond 2^53 is invalid", () => {
    const history = (init: { beforeId?: string; afterSeq?: bigint }) =>
      ChatMapping.getMessagesRequestFromProto(create(ChatPb.GetMessagesRequestSchema, { roomId: ROOM, ...init }), ALICE)
    expect(run(history({ beforeId: "" }))).not.toHaveProperty("before_id")
    expect(run(history({ afterSeq: 0n })).after_seq).toBe(0)
    expect(failureTag(history({ beforeId: BOB, afterSeq: 3n }))).toEqual(["BadRequest"])
    expect(failureTag(history({ afterSeq: 2n ** 60n }))).toEqual(["BadRequest"])
  })

  it("requests of an original client (no Pylon fields) are accepted", () => {
    const bytes = (typeName: string, json: JsonValue) => {
      const desc = original.getMessage(typeName)
      if (desc === undefined) throw new Error(typeName)
      return toBinary(desc, fromJson(desc, json))
    }
    const send = fromBinary(ChatPb.SendMessageRequestSchema, bytes("pylon.chat.v1.SendMessageRequest", {
      roomId: ROOM,
      senderId: ALICE,
      content: " hello ",
      type: "MESSAGE_TYPE_IMAGE"
    }))
    expect(run(ChatMapping.sendMessageRequestFromProto(send, ALICE))).toEqual({
      user_id: ALICE,
      room_id: ROOM,
      content: "hello",
      msg_type: "image",
      client_msg_id: null
    })
    const online = fromBinary(PresencePb.SetOnlineRequestSchema, bytes("pylon.presence.v1.SetOnlineRequest", { roomId: ROOM }))
    expect(run(PresenceMapping.leaseRequestFromProto(online, ALICE))).toEqual({
      user_id: ALICE,
      connection_id: PresenceMapping.CONNECT_LEASE
    })
    const presence = fromBinary(PresencePb.GetPresenceRequestSchema, bytes("pylon.presence.v1.GetPresenceRequest", {}))
    expect(run(PresenceMapping.getPresenceRequestFromProto(presence, ALICE)).target_user_ids).toEqual([ALICE])
  })
})

describe("ProtoMapping: enums", () => {
  it("map each contract literal to the original enum value of the same name, both ways", () => {
    // Method syntax: each mapping takes its own literal union, checked here with the Schema's literals.
    interface AnyEnumMapping {
      toProto(literal: string): number
      fromProto(value: number): string
    }
    const enums: ReadonlyArray<[DescEnum, ReadonlyArray<string>, AnyEnumMapping]> = [
      [RoomPb.RoomTypeSchema, RoomType.literals, RoomMapping.roomType],
      [ChatPb.MessageTypeSchema, MsgType.literals, ChatMapping.msgType],
      [PresencePb.PresenceStatusSchema, PresenceStatus.literals, PresenceMapping.presenceStatus],
      [NotificationPb.NotificationTypeSchema, NotificationType.literals, NotificationMapping.notificationType]
    ]
    for (const [desc, literals, mapping] of enums) {
      const compat = original.getEnum(desc.typeName)
      for (const literal of literals) {
        const number = mapping.toProto(literal)
        expect(compat?.values.find((value) => value.number === number)?.name, desc.typeName).toBe(
          `${desc.values[0]?.name.replace(/UNSPECIFIED$/, "")}${literal.toUpperCase()}`
        )
        expect(mapping.fromProto(number)).toBe(literal)
      }
    }
  })
})

describe("ProtoMapping: responses the original wire cannot hold exactly", () => {
  it("unread_count saturates at the int32 maximum", () => {
    const page = NotificationMapping.getNotificationsResponseToProto(
      { notifications: [], unread_count: 2 ** 40, next_cursor: null },
      ALICE
    )
    expect(page.unreadCount).toBe(INT32_MAX)
  })

  it("ValidateToken answers valid claims with the subject and expiry, and anything else with valid = false", () => {
    const exp = 1_900_000_000
    const valid = AuthMapping.validateTokenResponseToProto({
      sub: ALICE,
      username: "alice",
      sid: SessionId.make("0190a5c4-0000-7000-8000-0000000000c1"),
      jti: "j",
      token_type: "access",
      iat: exp - 900,
      exp
    })
    expect(valid).toMatchObject({ valid: true, userId: ALICE, username: "alice", expiresAt: timestampFromMs(exp * 1000) })
    expect(AuthMapping.validateTokenResponseToProto(null)).toMatchObject({ valid: false, userId: "", username: "" })
    expect(AuthMapping.validateTokenResponseToProto(null).expiresAt).toBeUndefined()
  })

  it("a presence stream event carries the relay time and, for typing, the username", () => {
    const at = DateTime.makeUnsafe("2026-12-02T12:00:00.000Z")
    const typing = PresenceMapping.presenceEventToProto(
      { type: "typing", room_id: RoomId.make(ROOM), user_id: ALICE, username: "alice" },
      at
    )
    expect(typing).toMatchObject({ status: PresencePb.PresenceStatus.TYPING, username: "alice", timestamp: timestampFromMs(DateTime.toEpochMillis(at)) })
  })
})
