/** Messages (API.md §5): the entity, its content rule, and the history query and page. */
import { Schema } from "effect"
import { ClientMsgId, MessageId, RoomId, UserId } from "./Ids.ts"
import { Seq } from "./Numbers.ts"
import { LimitParam, NaturalFromString, optionalParam } from "./QueryParams.ts"
import { isWithoutNul } from "./Text.ts"
import { Timestamp } from "./Time.ts"

export const MsgType = Schema.Literals(["text", "image", "file", "system"]).annotate({
  message: "must be one of text, image, file, system"
})
export type MsgType = typeof MsgType.Type

/** The types a client may send; `system` messages are only ever produced by the server. */
export const ClientMsgType = Schema.Literals(["text", "image", "file"]).annotate({
  message: "must be one of text, image, file"
})
export type ClientMsgType = typeof ClientMsgType.Type

export const MAX_CONTENT_LENGTH = 10_000

/** Message text: trimmed on decode, then 1–10,000 characters (code points), no NUL. */
export const MessageContent = Schema.Trim.check(
  isWithoutNul(),
  Schema.isMinCodePoints(1, { message: "must not be empty" }),
  Schema.isMaxCodePoints(MAX_CONTENT_LENGTH, { message: `must be at most ${MAX_CONTENT_LENGTH} characters` })
)

export const Sender = Schema.Struct({
  id: UserId,
  username: Schema.String,
  display_name: Schema.NullOr(Schema.String),
  avatar_url: Schema.NullOr(Schema.String)
})
export type Sender = typeof Sender.Type

export class Message extends Schema.Class<Message>("Message")({
  id: MessageId,
  room_id: RoomId,
  seq: Seq,
  sender: Sender,
  content: Schema.String,
  msg_type: MsgType,
  client_msg_id: Schema.NullOr(ClientMsgId),
  created_at: Timestamp
}) {}

/**
 * `GET /rooms/{id}/messages` query, decoded from the raw query-string record: `limit` default
 * 50, clamped to 100, "abc"/"0"/"1.5" rejected; `before_id` (newest-first keyset page) and
 * `after_seq` (oldest-first catch-up) are mutually exclusive.
 */
export const GetMessagesQuery = Schema.Struct({
  limit: LimitParam({ default: 50, max: 100 }),
  before_id: optionalParam(MessageId),
  after_seq: optionalParam(NaturalFromString)
}).check(
  Schema.makeFilter(
    (q) =>
      q.before_id !== undefined && q.after_seq !== undefined
        ? { path: ["after_seq"], issue: "cannot be combined with before_id" }
        : undefined
  )
)
export type GetMessagesQuery = typeof GetMessagesQuery.Type

export const MessagesResponse = Schema.Struct({
  messages: Schema.Array(Message),
  has_more: Schema.Boolean
})
export type MessagesResponse = typeof MessagesResponse.Type
