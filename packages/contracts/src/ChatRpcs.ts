/** Internal RPC of the chat service. Every payload names the acting user. */
import { Schema } from "effect"
import { Rpc, RpcGroup } from "effect/rpc"
import { BadRequest, MessageNotFound, NotRoomMember, RoomNotFound, Unavailable } from "./Errors.ts"
import { ClientMsgId, MessageId, RoomId, UserId } from "./Ids.ts"
import { InternalAuth } from "./InternalAuth.ts"
import { ClientMsgType, Message, MessageContent, MessagesResponse } from "./Messages.ts"
import { Natural, PageLimit } from "./Numbers.ts"

/** `created: false` when `client_msg_id` matched an earlier send: the original is returned. */
export const SendMessageResult = Schema.Struct({
  message: Message,
  created: Schema.Boolean
})
export type SendMessageResult = typeof SendMessageResult.Type

/**
 * A history page request: `{ user_id, room_id, ...GetMessagesQuery }`. Without cursor: newest
 * first; `before_id`: older than that message, newest first; `after_seq`: `seq > after_seq`,
 * oldest first. The two cursors are mutually exclusive.
 */
export const GetMessagesPayload = Schema.Struct({
  user_id: UserId,
  room_id: RoomId,
  limit: PageLimit(100),
  before_id: Schema.optionalKey(MessageId),
  after_seq: Schema.optionalKey(Natural)
}).check(
  Schema.makeFilter(
    (p) =>
      p.before_id !== undefined && p.after_seq !== undefined
        ? { path: ["after_seq"], issue: "cannot be combined with before_id" }
        : undefined
  )
)
export type GetMessagesPayload = typeof GetMessagesPayload.Type

const RoomAccess = Schema.Union([RoomNotFound, NotRoomMember, Unavailable])

const GetMessagesError = Schema.Union([RoomNotFound, NotRoomMember, MessageNotFound, Unavailable])

/**
 * A value already in `S`'s wire (encoded) form, checked only to be a JSON object: for a value
 * built by our own service (docs/perf.md §8, the trust decision), never for outside input.
 */
const trustedEncoded = <S extends Schema.Top>() =>
  Schema.declare(
    (u: unknown): u is S["Encoded"] => typeof u === "object" && u !== null && !Array.isArray(u),
    { expected: "an encoded object" }
  )

/**
 * `MessagesResponse` in its wire form, passed through: the envelope (`messages` an array,
 * `has_more` a boolean) is checked, each message only to be an object. Encoding and decoding it
 * are the identity, so a page built as JSON by the chat service reaches the HTTP response without
 * being decoded into `Message`s and encoded again. Same wire as `MessagesResponse`
 * (contracts/test/MessagesPage.test.ts checks both directions).
 */
export const MessagesPage = Schema.Struct({
  ...MessagesResponse.fields,
  messages: Schema.Array(trustedEncoded<typeof Message>())
})
export type MessagesPage = typeof MessagesPage.Type

/**
 * `GetMessages` answering a `MessagesPage`: the same tag, payload, errors and middleware as in
 * `ChatRpcs`, the same wire. The chat service serves it over `/rpc` (its page is JSON from SQL),
 * the gateway's HTTP history route calls it; everything that needs `Message` values (WebSocket
 * replay, Connect) keeps `ChatRpcs.GetMessages`.
 */
export const GetMessagesPassThrough = Rpc.make("GetMessages", {
  payload: GetMessagesPayload,
  success: MessagesPage,
  error: GetMessagesError
}).middleware(InternalAuth)

export class ChatRpcs extends RpcGroup.make(
  /**
   * Membership check, `seq`, message and outbox row in one transaction; idempotent per sender.
   * `BadRequest` when PostgreSQL refuses a value anyway (the SQLSTATE class 22 backstop).
   */
  Rpc.make("SendMessage", {
    payload: {
      user_id: UserId,
      room_id: RoomId,
      content: MessageContent,
      msg_type: ClientMsgType,
      client_msg_id: Schema.NullOr(ClientMsgId)
    },
    success: SendMessageResult,
    error: Schema.Union([RoomNotFound, NotRoomMember, BadRequest, Unavailable])
  }),
  Rpc.make("GetMessages", {
    payload: GetMessagesPayload,
    success: MessagesResponse,
    error: GetMessagesError
  }),
  /** Messages with `seq > after_seq` in order, then live ones (the Connect `StreamMessages`). */
  Rpc.make("StreamMessages", {
    payload: { user_id: UserId, room_id: RoomId, after_seq: Natural },
    success: Message,
    error: RoomAccess,
    stream: true
  })
).middleware(InternalAuth) {}

/** `ChatRpcs` with `GetMessagesPassThrough` in place of `GetMessages`: what the chat service serves over `/rpc`. */
export const ChatRpcsPassThrough = ChatRpcs.omit("GetMessages").add(GetMessagesPassThrough)

/** Only `GetMessagesPassThrough`: the gateway's HTTP history client. */
export class ChatPageRpcs extends RpcGroup.make(GetMessagesPassThrough) {}
