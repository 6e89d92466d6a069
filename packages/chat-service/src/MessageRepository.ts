/**
 * The chat service's storage port: durable, per-room ordered messages. `send` is the whole
 * durability story of ARCHITECTURE.md rule 5 (membership check, next `seq`, message row and its
 * outbox row, all committed together or not at all); the reads serve history pages and catch-up.
 * Adapters map their infrastructure failures to `Unavailable` (or defects) at this edge.
 */
import { Context } from "effect"
import type { Effect } from "effect"
import type { MessagesPageJson, SendMessageResult } from "@pylon/contracts/ChatRpcs"
import type { BadRequest, MessageNotFound, NotRoomMember, RoomNotFound, Unavailable } from "@pylon/contracts/Errors"
import type { ClientMsgId, MessageId, RoomId, UserId } from "@pylon/contracts/Ids"
import type { Message, MsgType } from "@pylon/contracts/Messages"
import type { RoomType } from "@pylon/contracts/Rooms"

/** A message to store. `id` is used only if the send is new (not a `client_msg_id` retry). */
export interface NewMessage {
  readonly id: MessageId
  readonly room_id: RoomId
  readonly sender_id: UserId
  /** Already trimmed and 1–10,000 characters (the contract schema's job; the DB re-checks). */
  readonly content: string
  readonly msg_type: MsgType
  readonly client_msg_id: ClientMsgId | null
}

/** What `send` stored (or found for a retry): the contract's result, and the room's type. */
export interface StoredSend extends SendMessageResult {
  /** Read by the same statement that stored the message (for `pylon_messages_sent_total`). */
  readonly room_type: RoomType
}

/** One page of history in the order it is returned, and whether more lies beyond it. */
export interface MessagePage {
  readonly messages: ReadonlyArray<Message>
  readonly has_more: boolean
}

export class MessageRepository extends Context.Service<MessageRepository, {
  /**
   * Stores `message` with the room's next `seq` and its `message_created` outbox row in one
   * transaction. A repeated `(room_id, sender_id, client_msg_id)` returns the original message with
   * `created: false` and stores nothing (no `seq` is consumed). A value PostgreSQL refuses
   * (SQLSTATE class 22, e.g. a NUL the schemas missed) is `BadRequest`.
   */
  readonly send: (
    message: NewMessage
  ) => Effect.Effect<StoredSend, RoomNotFound | NotRoomMember | BadRequest | Unavailable>
  /** Succeeds when `user_id` is a member of the existing room `room_id`. */
  readonly requireMember: (
    room_id: RoomId,
    user_id: UserId
  ) => Effect.Effect<void, RoomNotFound | NotRoomMember | Unavailable>
  /**
   * A history page for a member, in ONE query (access check, cursor and page together): up to
   * `limit` messages newest first before `cursor.before_id` (or the newest), or oldest first
   * after `cursor.after_seq`. Unknown room, non-member, and a `before_id` that is not a
   * message of this room fail in that order. The page is its wire form as JSON text.
   */
  readonly memberPage: (
    room_id: RoomId,
    user_id: UserId,
    cursor: { readonly before_id?: MessageId | undefined; readonly after_seq?: number | undefined },
    limit: number
  ) => Effect.Effect<MessagesPageJson, RoomNotFound | NotRoomMember | MessageNotFound | Unavailable>
  /** Up to `limit` messages with `seq > after_seq`, oldest first. */
  readonly oldestAfter: (room_id: RoomId, after_seq: number, limit: number) => Effect.Effect<MessagePage, Unavailable>
}>()("pylon/chat/MessageRepository") {}
