/**
 * A stored message as the chat service's queries select it (the `messages` row joined with its
 * sender's `users` row), and its conversion to the contract's `Message`.
 */
import { Schema } from "effect"
import { ClientMsgId, MessageId, RoomId, UserId } from "@pylon/contracts/Ids"
import { Message, MsgType } from "@pylon/contracts/Messages"
import { SENDER_COLUMNS } from "./ForeignTables.ts"

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
