/**
 * A stored message as the chat service's queries select it (the `messages` row joined with its
 * sender's `users` row), and its conversion to the contract's `Message`.
 */
import { Schema } from "effect"
import { ClientMsgId, MessageId, RoomId, UserId } from "@pylon/contracts/Ids"
import { Message, MsgType } from "@pylon/contracts/Messages"
import { SENDER_COLUMNS, SENDER_JSON } from "./ForeignTables.ts"

export const MessageRow = Schema.Struct({
  id: MessageId,
  room_id: RoomId,
  seq: Schema.BigInt,
  sender_id: UserId,
  username: Schema.String,
  display_name: Schema.NullOr(Schema.String),
  avatar_url: Schema.NullOr(Schema.String),
  content: Schema.String,
  msg_type: MsgType,
  client_msg_id: Schema.NullOr(ClientMsgId),
  created_at: Schema.DateTimeUtcFromDate
})
export type MessageRow = typeof MessageRow.Type

/** The select list of `MessageRow` over `messages m JOIN users u ON u.id = m.sender_id` (`senderJoin`). */
export const MESSAGE_COLUMNS = `m.id, m.room_id, m.seq, m.sender_id, ${SENDER_COLUMNS},
  m.content, m.msg_type, m.client_msg_id, m.created_at`

/**
 * The contract `Message` in its wire form, built by PostgreSQL over the same
 * `messages m JOIN users u` as `MESSAGE_COLUMNS`: keys in `Message` order, `seq` a number, the
 * timestamp as `Timestamp` encodes it (UTC, milliseconds truncated like a JS `Date`, `Z`).
 * Equality with `Schema.encode(Message)` of the same row: chat-service/test/HistoryPage.test.ts.
 */
export const MESSAGE_JSON = `json_build_object('id', m.id, 'room_id', m.room_id, 'seq', m.seq,
  'sender', ${SENDER_JSON}, 'content', m.content, 'msg_type', m.msg_type,
  'client_msg_id', m.client_msg_id,
  'created_at', to_char(m.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))`

/**
 * The row was decoded by `MessageRow` (ids, type, timestamp) and PostgreSQL's CHECKs hold for it
 * (seq > 0, content length), so the constructor's checks are not run a second time: a history
 * page builds 50 of these per request.
 */
export const toMessage = (row: MessageRow): Message =>
  new Message({
    id: row.id,
    room_id: row.room_id,
    seq: Number(row.seq),
    sender: { id: row.sender_id, username: row.username, display_name: row.display_name, avatar_url: row.avatar_url },
    content: row.content,
    msg_type: row.msg_type,
    client_msg_id: row.client_msg_id,
    created_at: row.created_at
  }, { disableChecks: true })

/** Decodes rows selected with `MESSAGE_COLUMNS` (ours: a row that does not decode is a defect for the caller). */
export const decodeMessageRows = Schema.decodeUnknownEffect(Schema.Array(MessageRow))
