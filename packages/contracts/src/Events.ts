/**
 * Kafka events (API.md §8). `message_created` is produced from the transactional outbox onto
 * `message-events`, keyed by room id; consumers are idempotent by `event_id`.
 */
import { Effect, Schema } from "effect"
import { EventId, MessageId, RoomId, UserId } from "./Ids.ts"
import type { Message } from "./Messages.ts"
import { MsgType } from "./Messages.ts"
import { Seq } from "./Numbers.ts"
import { Timestamp } from "./Time.ts"

export const MESSAGE_EVENTS_TOPIC = "message-events"

/** Kafka header carrying the event type, so consumers can skip what they do not handle. */
export const EVENT_TYPE_HEADER = "event_type"

export const MessageCreatedData = Schema.Struct({
  message_id: MessageId,
  room_id: RoomId,
  seq: Seq,
  sender_id: UserId,
  sender_username: Schema.String,
  content: Schema.String,
  type: MsgType,
  created_at: Timestamp
})
export type MessageCreatedData = typeof MessageCreatedData.Type

export class MessageCreatedEvent extends Schema.Class<MessageCreatedEvent>("MessageCreatedEvent")({
  event_id: EventId,
  event_type: Schema.Literal("message_created"),
  version: Schema.Literal(1),
  timestamp: Timestamp,
  data: MessageCreatedData
}) {}

/** The event for a freshly stored message. */
export const messageCreatedEventOf = (
  message: Message,
  meta: { readonly event_id: EventId; readonly timestamp: Timestamp }
): MessageCreatedEvent =>
  new MessageCreatedEvent({
    event_id: meta.event_id,
    event_type: "message_created",
    version: 1,
    timestamp: meta.timestamp,
    data: {
      message_id: message.id,
      room_id: message.room_id,
      seq: message.seq,
      sender_id: message.sender.id,
      sender_username: message.sender.username,
      content: message.content,
      type: message.msg_type,
      created_at: message.created_at
    }
  })

/** `MessageCreatedEvent` ⇄ the JSON text stored in the outbox and sent as the Kafka value. */
export const MessageCreatedEventJson = Schema.fromJsonString(MessageCreatedEvent)

/** Serialises an event. Throws (a defect) only if the event violates its schema. */
export const encodeMessageCreatedEvent: (event: MessageCreatedEvent) => string = Schema.encodeSync(
  MessageCreatedEventJson
)

/** Parses a Kafka value / outbox payload; fails with `SchemaError` on anything malformed. */
export const decodeMessageCreatedEvent: (
  raw: string
) => Effect.Effect<MessageCreatedEvent, Schema.SchemaError> = Schema.decodeUnknownEffect(MessageCreatedEventJson)
