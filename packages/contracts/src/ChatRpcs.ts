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
 * A history page as JSON text: `MessagesResponse`'s wire form, built by PostgreSQL in the chat
 * service's one history query. The gateway's HTTP history route writes it into the response
 * body as it came, so a page is never parsed into objects and serialised again on its way out
 * (docs/perf.md §11: the trust decision and the figures). Everything that needs `Message`
 * values (WebSocket gap fill, Connect) calls `GetMessages` instead.
 */
export const MessagesPageJson = Schema.String.pipe(Schema.brand("MessagesPageJson"))
export type MessagesPageJson = typeof MessagesPageJson.Type

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
  /** `GetMessages`' page as JSON text (`MessagesPageJson`): the gateway's HTTP history route. */
  Rpc.make("GetMessagesJson", {
    payload: GetMessagesPayload,
    success: MessagesPageJson,
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
