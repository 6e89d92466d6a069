/**
 * `MessageRepository` on PostgreSQL (migrations 0003–0005).
 *
 * `send` is one transaction: an earlier send with the same `(room_id, sender_id, client_msg_id)` is
 * returned as is (migration 0007: the key is scoped to the room, so a reused id in another room is
 * a new message there, never a replay of the first room's message); otherwise the room row is bumped if the sender is a member (`UPDATE rooms …
 * RETURNING last_seq`, whose row lock serialises concurrent senders of a room and hands out
 * gap-free seqs), the message and its outbox row are inserted in one statement, and it commits.
 * Any failure rolls everything back, so a refused or failed send consumes no `seq`.
 *
 * History reads are keyset queries on the unique index `(room_id, seq)`, never OFFSET.
 */
import { Data, DateTime, Effect, Layer, Option, Schema } from "effect"
import { HttpTraceContext } from "effect/http"
import { SqlClient } from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import type { SendMessageResult } from "@pylon/contracts/ChatRpcs"
import { NotRoomMember, RoomNotFound } from "@pylon/contracts/Errors"
import { encodeMessageCreatedEvent, MESSAGE_EVENTS_TOPIC, messageCreatedEventOf } from "@pylon/contracts/Events"
import { ClientMsgId, EventId, MessageId, RoomId, UserId } from "@pylon/contracts/Ids"
import { Message, MsgType } from "@pylon/contracts/Messages"
import { newId } from "@pylon/platform/IdGenerator"
import { sqlFailureToUnavailable } from "@pylon/platform/SqlFailures"
import { MessageRepository } from "./MessageRepository.ts"
import type { MessagePage, NewMessage } from "./MessageRepository.ts"

export const MESSAGE_CREATED = "message_created"

/** A message row joined with its sender, as every query below selects it. */
const MessageRow = Schema.Struct({
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
type MessageRow = typeof MessageRow.Type

const MESSAGE_COLUMNS = `m.id, m.room_id, m.seq, m.sender_id, u.username, u.display_name, u.avatar_url,
  m.content, m.msg_type, m.client_msg_id, m.created_at`

const RoomAccessRow = Schema.Struct({ is_member: Schema.Boolean })
const SeqRow = Schema.Struct({ seq: Schema.BigInt })
const BumpRow = Schema.Struct({
  seq: Schema.BigInt,
  username: Schema.String,
  display_name: Schema.NullOr(Schema.String),
  avatar_url: Schema.NullOr(Schema.String),
  created_at: Schema.DateTimeUtcFromDate
})

const toMessage = (row: MessageRow): Message =>
  new Message({
    id: row.id,
    room_id: row.room_id,
    seq: Number(row.seq),
    sender: { id: row.sender_id, username: row.username, display_name: row.display_name, avatar_url: row.avatar_url },
    content: row.content,
    msg_type: row.msg_type,
    client_msg_id: row.client_msg_id,
    created_at: row.created_at
  })

/** `ON CONFLICT` on the idempotency index skipped our row: a concurrent send with this key committed first. */
class ClientMsgIdTaken extends Data.TaggedError("ClientMsgIdTaken")<{ readonly client_msg_id: ClientMsgId }> {}

/** The W3C trace context (plus b3) of the current span, for the outbox row's Kafka headers. */
const traceHeaders = Effect.map(
  Effect.option(Effect.currentSpan),
  Option.match({ onNone: () => ({}), onSome: (span): Record<string, string> => ({ ...HttpTraceContext.toHeaders(span) }) })
)

export const PgMessageRepository = Layer.effect(
  MessageRepository,
  Effect.gen(function*() {
    const sql = yield* SqlClient
    const columns = sql.literal(MESSAGE_COLUMNS)

    // Rows come from our own schema, so a row that does not decode is a bug (a defect).
    const decodeAll = <S extends Schema.Codec<unknown, unknown>>(schema: S) => {
      const decode = Schema.decodeUnknownEffect(Schema.Array(schema))
      return (effect: Effect.Effect<ReadonlyArray<unknown>, SqlError>) =>
        effect.pipe(Effect.flatMap((rows) => Effect.orDie(decode(rows))))
    }
    const messageRows = decodeAll(MessageRow)
    const accessRows = decodeAll(RoomAccessRow)
    const seqRows = decodeAll(SeqRow)
    const bumpRows = decodeAll(BumpRow)

    const findByClientMsgId = (room_id: RoomId, sender_id: UserId, client_msg_id: ClientMsgId) =>
      messageRows(sql`
        SELECT ${columns} FROM messages m JOIN users u ON u.id = m.sender_id
        WHERE m.room_id = ${room_id} AND m.sender_id = ${sender_id} AND m.client_msg_id = ${client_msg_id}`).pipe(
        Effect.map((rows) => Option.map(Option.fromNullishOr(rows[0]), toMessage))
      )

    const checkMember = Effect.fnUntraced(function*(room_id: RoomId, user_id: UserId) {
      const rows = yield* accessRows(sql`
        SELECT EXISTS (
          SELECT 1 FROM room_members m WHERE m.room_id = r.id AND m.user_id = ${user_id}
        ) AS is_member
        FROM rooms r WHERE r.id = ${room_id}`)
      const row = rows[0]
      if (row === undefined) return yield* new RoomNotFound({ room_id })
      if (!row.is_member) return yield* new NotRoomMember({ room_id })
    })

    /** The outbox row of `message`: its `message_created` event and the send's trace context. */
    const outboxEventOf = Effect.fnUntraced(function*(message: Message) {
      const event = messageCreatedEventOf(message, {
        event_id: EventId.make(yield* newId),
        timestamp: yield* DateTime.now
      })
      return { payload: encodeMessageCreatedEvent(event), headers: JSON.stringify(yield* traceHeaders) }
    })

    /**
     * The transaction body: three statements after the idempotency lookup (bump the room's seq if
     * the sender is a member, reading the sender's profile on the way; insert the message and its
     * outbox row together). Fails with `ClientMsgIdTaken` when a concurrent retry won.
     */
    const store = Effect.fnUntraced(function*(input: NewMessage) {
      const key = input.client_msg_id
      if (key !== null) {
        const existing = yield* findByClientMsgId(input.room_id, input.sender_id, key)
        if (Option.isSome(existing)) return { message: existing.value, created: false }
      }
      // The room row lock taken here serialises concurrent senders of the room until commit.
      const bumped = yield* bumpRows(sql`
        UPDATE rooms r SET last_seq = r.last_seq + 1, last_message_at = now()
        FROM users u
        WHERE r.id = ${input.room_id} AND u.id = ${input.sender_id}
          AND EXISTS (SELECT 1 FROM room_members rm WHERE rm.room_id = r.id AND rm.user_id = ${input.sender_id})
        RETURNING r.last_seq AS seq, u.username, u.display_name, u.avatar_url, now() AS created_at`)
      const bump = bumped[0]
      if (bump === undefined) {
        // Nothing changed: say why (unknown room or not a member); the transaction rolls back.
        yield* checkMember(input.room_id, input.sender_id)
        return yield* Effect.die(new Error("the sender of a message has no users row"))
      }
      const message = toMessage({
        id: input.id,
        room_id: input.room_id,
        seq: bump.seq,
        sender_id: input.sender_id,
        username: bump.username,
        display_name: bump.display_name,
        avatar_url: bump.avatar_url,
        content: input.content,
        msg_type: input.msg_type,
        client_msg_id: input.client_msg_id,
        created_at: bump.created_at
      })
      const outbox = yield* outboxEventOf(message)
      const stored = yield* sql`
        WITH m AS (
          INSERT INTO messages (id, room_id, seq, sender_id, client_msg_id, msg_type, content, created_at)
          VALUES (${input.id}, ${input.room_id}, ${Number(bump.seq)}, ${input.sender_id}, ${input.client_msg_id},
                  ${input.msg_type}, ${input.content}, ${DateTime.toDateUtc(bump.created_at)})
          ON CONFLICT (room_id, sender_id, client_msg_id) WHERE client_msg_id IS NOT NULL DO NOTHING
          RETURNING id
        )
        INSERT INTO outbox (topic, aggregate_key, event_type, payload, headers)
        SELECT ${MESSAGE_EVENTS_TOPIC}, ${input.room_id}, ${MESSAGE_CREATED}, ${outbox.payload}::jsonb,
               ${outbox.headers}::jsonb
        FROM m
        RETURNING id`
      if (stored.length === 0) {
        // Only the idempotency index can skip the insert, and only for a non-null key.
        if (key === null) return yield* Effect.die(new Error("INSERT INTO messages skipped a row without client_msg_id"))
        return yield* new ClientMsgIdTaken({ client_msg_id: key })
      }
      return { message, created: true }
    })

    const send = Effect.fn("MessageRepository.send")(function*(input: NewMessage) {
      return yield* sql.withTransaction(store(input)).pipe(
        // A concurrent send with the same key committed first: our transaction (and the seq it
        // took) is rolled back, and the caller gets the winner, exactly as for a later retry.
        Effect.catchTag("ClientMsgIdTaken", ({ client_msg_id }) =>
          findByClientMsgId(input.room_id, input.sender_id, client_msg_id).pipe(
            Effect.flatMap(Option.match({
              onNone: () => Effect.die(new Error("client_msg_id conflict, but no message holds it")),
              onSome: (message): Effect.Effect<SendMessageResult> => Effect.succeed({ message, created: false })
            }))
          )),
        sqlFailureToUnavailable
      )
    })

    const page = (rows: ReadonlyArray<MessageRow>, limit: number): MessagePage => ({
      messages: rows.slice(0, limit).map(toMessage),
      has_more: rows.length > limit
    })

    return MessageRepository.of({
      send,
      requireMember: Effect.fn("MessageRepository.requireMember")(function*(room_id: RoomId, user_id: UserId) {
        return yield* checkMember(room_id, user_id).pipe(sqlFailureToUnavailable)
      }),
      seqOf: Effect.fn("MessageRepository.seqOf")(function*(room_id: RoomId, message_id: MessageId) {
        const rows = yield* seqRows(sql`SELECT seq FROM messages WHERE id = ${message_id} AND room_id = ${room_id}`)
          .pipe(sqlFailureToUnavailable)
        return Option.map(Option.fromNullishOr(rows[0]), (row) => Number(row.seq))
      }),
      newestBefore: Effect.fn("MessageRepository.newestBefore")(
        function*(room_id: RoomId, before_seq: number | undefined, limit: number) {
          // One row beyond the page says whether there is more.
          const rows = yield* messageRows(sql`
            SELECT ${columns} FROM messages m JOIN users u ON u.id = m.sender_id
            WHERE m.room_id = ${room_id}
              ${before_seq === undefined ? sql`` : sql`AND m.seq < ${before_seq}`}
            ORDER BY m.seq DESC
            LIMIT ${limit + 1}`).pipe(sqlFailureToUnavailable)
          return page(rows, limit)
        }
      ),
      oldestAfter: Effect.fn("MessageRepository.oldestAfter")(
        function*(room_id: RoomId, after_seq: number, limit: number) {
          const rows = yield* messageRows(sql`
            SELECT ${columns} FROM messages m JOIN users u ON u.id = m.sender_id
            WHERE m.room_id = ${room_id} AND m.seq > ${after_seq}
            ORDER BY m.seq ASC
            LIMIT ${limit + 1}`).pipe(sqlFailureToUnavailable)
          return page(rows, limit)
        }
      )
    })
  })
)
