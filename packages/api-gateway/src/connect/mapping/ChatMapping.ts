/**
 * pylon.chat.v1 messages ⇄ the contract's message values (Messages.ts, ChatRpcs.ts). The
 * original `Message` flattens the contract's `sender` into `sender_*` fields; Pylon's `seq` and
 * `client_msg_id` ride in fields 20 and 21.
 */
import { create } from "@bufbuild/protobuf"
import { Effect, Schema } from "effect"
import { ChatRpcs, GetMessagesPayload, SendMessageResult } from "@pylon/contracts/ChatRpcs"
import type { BadRequest } from "@pylon/contracts/Errors"
import type { UserId } from "@pylon/contracts/Ids"
import { Message, MessagesResponse } from "@pylon/contracts/Messages"
import type { MsgType } from "@pylon/contracts/Messages"
import * as ChatPb from "@pylon/proto-gen/chat/v1/chat"
import type { MappingError, PayloadOf } from "./Common.ts"
import {
  decodeForCaller,
  decodeWith,
  emptyAsNull,
  enumMapping,
  int64ToProto,
  int64Wire,
  pageLimit,
  payloadSchema,
  timestampToProto,
  timestampWire
} from "./Common.ts"

export type SendMessagePayload = PayloadOf<typeof ChatRpcs, "SendMessage">

const streamMessagesRpcPayload = payloadSchema(ChatRpcs, "StreamMessages")

/**
 * The Connect `StreamMessagesRequest`: the contract's StreamMessages payload, except that
 * `after_seq` may be absent — the original clients never set it — meaning live messages only.
 */
export const StreamMessagesRequestPayload = Schema.Struct({
  ...streamMessagesRpcPayload.fields,
  after_seq: Schema.optionalKey(streamMessagesRpcPayload.fields.after_seq)
})
export type StreamMessagesPayload = typeof StreamMessagesRequestPayload.Type

/** REST's history page defaults (API.md §5). */
const DEFAULT_PAGE = 50
const MAX_PAGE = 100

export const msgType = enumMapping<MsgType, ChatPb.MessageType>({
  text: ChatPb.MessageType.TEXT,
  image: ChatPb.MessageType.IMAGE,
  file: ChatPb.MessageType.FILE,
  system: ChatPb.MessageType.SYSTEM
})

const decodeSendMessage = decodeWith(payloadSchema(ChatRpcs, "SendMessage"))
const decodeStreamMessages = decodeWith(StreamMessagesRequestPayload)
const decodeGetMessages = decodeWith(GetMessagesPayload)

// --- requests -----------------------------------------------------------------------------

export const sendMessageRequestToProto = (payload: SendMessagePayload): ChatPb.SendMessageRequest =>
  create(ChatPb.SendMessageRequestSchema, {
    roomId: payload.room_id,
    senderId: payload.user_id,
    content: payload.content,
    type: msgType.toProto(payload.msg_type),
    clientMsgId: payload.client_msg_id ?? ""
  })

/** Unspecified type means text (CONNECT-COMPAT.md rule 7); `system` is refused by the contract. */
export const sendMessageRequestFromProto = (
  message: ChatPb.SendMessageRequest,
  caller: UserId
): Effect.Effect<SendMessagePayload, MappingError> =>
  decodeForCaller(decodeSendMessage, "sender_id", message.senderId, caller, (userId) => ({
    user_id: userId,
    room_id: message.roomId,
    content: message.content,
    msg_type: message.type === ChatPb.MessageType.UNSPECIFIED ? "text" : msgType.fromProto(message.type),
    client_msg_id: emptyAsNull(message.clientMsgId)
  }))

export const streamMessagesRequestToProto = (payload: StreamMessagesPayload): ChatPb.StreamMessagesRequest =>
  create(ChatPb.StreamMessagesRequestSchema, {
    roomId: payload.room_id,
    userId: payload.user_id,
    afterSeq: payload.after_seq === undefined ? undefined : int64ToProto(payload.after_seq)
  })

export const streamMessagesRequestFromProto = (
  message: ChatPb.StreamMessagesRequest,
  caller: UserId
): Effect.Effect<StreamMessagesPayload, MappingError> =>
  decodeForCaller(decodeStreamMessages, "user_id", message.userId, caller, (userId) => ({
    user_id: userId,
    room_id: message.roomId,
    ...(message.afterSeq === undefined ? {} : { after_seq: int64Wire(message.afterSeq) })
  }))

export const getMessagesRequestToProto = (payload: GetMessagesPayload): ChatPb.GetMessagesRequest =>
  create(ChatPb.GetMessagesRequestSchema, {
    roomId: payload.room_id,
    limit: payload.limit,
    beforeId: payload.before_id ?? "",
    userId: payload.user_id,
    afterSeq: payload.after_seq === undefined ? undefined : int64ToProto(payload.after_seq)
  })

/** `limit` 0 → 50, above 100 clamped (like REST); `before_id` empty → none. */
export const getMessagesRequestFromProto = (
  message: ChatPb.GetMessagesRequest,
  caller: UserId
): Effect.Effect<GetMessagesPayload, MappingError> =>
  decodeForCaller(decodeGetMessages, "user_id", message.userId, caller, (userId) => ({
    user_id: userId,
    room_id: message.roomId,
    limit: pageLimit(message.limit, DEFAULT_PAGE, MAX_PAGE),
    ...(message.beforeId === "" ? {} : { before_id: message.beforeId }),
    ...(message.afterSeq === undefined ? {} : { after_seq: int64Wire(message.afterSeq) })
  }))

// --- responses ----------------------------------------------------------------------------

export const messageToProto = (message: Message): ChatPb.Message =>
  create(ChatPb.MessageSchema, {
    id: message.id,
    roomId: message.room_id,
    senderId: message.sender.id,
    content: message.content,
    type: msgType.toProto(message.msg_type),
    createdAt: timestampToProto(message.created_at),
    senderUsername: message.sender.username,
    senderDisplayName: message.sender.display_name ?? undefined,
    senderAvatarUrl: message.sender.avatar_url ?? undefined,
    seq: int64ToProto(message.seq),
    clientMsgId: message.client_msg_id ?? ""
  })

const messageWire = (message: ChatPb.Message | undefined) =>
  message === undefined ? undefined : {
    id: message.id,
    room_id: message.roomId,
    seq: int64Wire(message.seq),
    sender: {
      id: message.senderId,
      username: message.senderUsername,
      display_name: message.senderDisplayName ?? null,
      avatar_url: message.senderAvatarUrl ?? null
    },
    content: message.content,
    msg_type: msgType.fromProto(message.type),
    client_msg_id: emptyAsNull(message.clientMsgId),
    created_at: timestampWire(message.createdAt)
  }

export const messageFromProto = (message: ChatPb.Message): Effect.Effect<Message, BadRequest> =>
  decodeWith(Message)(messageWire(message))

export const sendMessageResponseToProto = (result: SendMessageResult): ChatPb.SendMessageResponse =>
  create(ChatPb.SendMessageResponseSchema, { message: messageToProto(result.message), created: result.created })

export const sendMessageResponseFromProto = (
  message: ChatPb.SendMessageResponse
): Effect.Effect<SendMessageResult, BadRequest> =>
  decodeWith(SendMessageResult)({ message: messageWire(message.message), created: message.created })

export const getMessagesResponseToProto = (page: MessagesResponse): ChatPb.GetMessagesResponse =>
  create(ChatPb.GetMessagesResponseSchema, { messages: page.messages.map(messageToProto), hasMore: page.has_more })

export const getMessagesResponseFromProto = (
  message: ChatPb.GetMessagesResponse
): Effect.Effect<MessagesResponse, BadRequest> =>
  decodeWith(MessagesResponse)({ messages: message.messages.map(messageWire), has_more: message.hasMore })
