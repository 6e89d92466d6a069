/**
 * One batch of sends, into one room or several, stored by ONE SQL statement (autocommit, so one
 * round trip, and the room rows are locked only while PostgreSQL executes and commits it —
 * never across a round trip to a busy Node process). For every item, in order, the statement
 *
 * - returns the stored original when `(room_id, sender_id, client_msg_id)` already exists
 *   (idempotent retry, migration 0007), storing nothing and consuming no seq;
 * - refuses a sender who is not a member (or an unknown room) for that item only;
 * - otherwise takes the next seq of its room: the batch's rooms are locked in id order (so
 *   batches spanning rooms, also of other chat-service replicas, cannot deadlock), each room row
 *   is bumped ONCE by the number of its accepted items (the lock serialises the room's batches)
 *   and they get consecutive seqs in submission order, so seqs stay gap-free;
 * - inserts each accepted message with its `message_created` outbox row (in submission order, so
 *   a room's events are in seq order);
 * - returns the room's type (from the room row it locks anyway) with each stored or found
 *   message, which is what `pylon_messages_sent_total{room_type}` is counted by.
 *
 * Storing several rooms' sends in one statement is what makes a send cheap when many rooms are
 * busy: one statement, one commit and one round trip for the batch instead of one per room
 * (docs/perf.md §13).
 *
 * The outbox payload is encoded by the contract schema here in Node with placeholders for the
 * two fields only PostgreSQL knows at that point (`seq` and `sender_username`), which the
 * statement fills in with `jsonb_set`. Everything commits together or not at all: a statement
 * that fails (a concurrent replica stored the same idempotency key first: unique violation)
 * consumed no seq and stored nothing, and the caller may simply run the batch again.
 */
import { DateTime, Effect, Schema } from "effect"
import type { SqlClient } from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import { MESSAGE_EVENTS_TOPIC } from "@pylon/contracts/Events"
import { ClientMsgId, MessageId, RoomId, UserId } from "@pylon/contracts/Ids"
import { MsgType } from "@pylon/contracts/Messages"
import type { Message } from "@pylon/contracts/Messages"
import { RoomType } from "@pylon/contracts/Rooms"
import { bumpLastSeqs, isMember, lockRoomRows, SENDER_COLUMNS, senderJoin } from "./ForeignTables.ts"
import type { NewMessage } from "./MessageRepository.ts"
import { toMessage } from "./MessageRow.ts"

export const MESSAGE_CREATED = "message_created"

/** One send of a batch, with its outbox event already encoded (placeholders for seq and username). */
export interface BatchItem {
  readonly input: NewMessage
  /** When the send was received: the message's `created_at` (also in `payload`). */
  readonly created_at: DateTime.Utc
  /** `encodeMessageCreatedEvent` of the event with `seq` 1 and `sender_username` "" (filled in by SQL). */
  readonly payload: string
  /** JSON object of the send's trace-context headers. */
  readonly headers: string
}

export type BatchOutcome =
  | { readonly _tag: "Created"; readonly message: Message; readonly room_type: RoomType }
  | { readonly _tag: "Existing"; readonly message: Message; readonly room_type: RoomType }
  | { readonly _tag: "NotMember"; readonly room_id: RoomId }
  | { readonly _tag: "NoRoom"; readonly room_id: RoomId }

const OutcomeRow = Schema.Struct({
  ord: Schema.Number,
  room_id: RoomId,
  outcome: Schema.Literals(["created", "existing", "not_member", "no_room"]),
  id: Schema.NullOr(MessageId),
  seq: Schema.NullOr(Schema.BigInt),
  sender_id: UserId,
  username: Schema.NullOr(Schema.String),
  display_name: Schema.NullOr(Schema.String),
  avatar_url: Schema.NullOr(Schema.String),
  content: Schema.NullOr(Schema.String),
  msg_type: Schema.NullOr(MsgType),
  client_msg_id: Schema.NullOr(ClientMsgId),
  created_at: Schema.NullOr(Schema.DateTimeUtcFromDate),
  room_type: Schema.NullOr(RoomType)
})
type OutcomeRow = typeof OutcomeRow.Type
const decodeRows = Schema.decodeUnknownEffect(Schema.Array(OutcomeRow))

const toOutcome = (row: OutcomeRow): BatchOutcome => {
  if (row.outcome === "no_room") return { _tag: "NoRoom", room_id: row.room_id }
  if (row.outcome === "not_member") return { _tag: "NotMember", room_id: row.room_id }
  if (
    row.id === null || row.seq === null || row.username === null || row.content === null || row.msg_type === null ||
    row.created_at === null || row.room_type === null
  ) {
    throw new Error(`send batch: a ${row.outcome} row without its message columns`)
  }
  const message = toMessage({
    ...row,
    id: row.id,
    seq: row.seq,
    username: row.username,
    content: row.content,
    msg_type: row.msg_type,
    created_at: row.created_at
  })
  const room_type = row.room_type
  return row.outcome === "created" ? { _tag: "Created", message, room_type } : { _tag: "Existing", message, room_type }
}

/** Stores `items` (of any rooms, at most one per idempotency key); one outcome per item, in order. */
export const storeSendBatch = (
  sql: SqlClient,
  items: ReadonlyArray<BatchItem>
): Effect.Effect<ReadonlyArray<BatchOutcome>, SqlError> => {
  const input = JSON.stringify(items.map(({ created_at, headers, input: m, payload }, ord) => ({
    ord,
    room_id: m.room_id,
    id: m.id,
    sender_id: m.sender_id,
    client_msg_id: m.client_msg_id,
    msg_type: m.msg_type,
    content: m.content,
    created_at: DateTime.formatIso(created_at),
    payload: JSON.parse(payload) as unknown,
    headers: JSON.parse(headers) as unknown
  })))
  return sql`
    WITH input AS (
      SELECT * FROM jsonb_to_recordset(${input}::jsonb) AS i(
        ord int, room_id uuid, id uuid, sender_id uuid, client_msg_id text, msg_type text, content text,
        created_at timestamptz, payload jsonb, headers jsonb)
    ),
    room AS (${lockRoomRows(sql, sql`SELECT DISTINCT room_id FROM input`)}),
    existing AS (
      SELECT i.ord, m.id, m.seq, m.content, m.msg_type, m.created_at
      FROM input i JOIN messages m
        ON m.room_id = i.room_id AND m.sender_id = i.sender_id AND m.client_msg_id = i.client_msg_id
    ),
    accepted AS (
      SELECT i.ord, i.room_id, i.id, i.sender_id, i.client_msg_id, i.msg_type, i.content, i.created_at, i.payload,
             i.headers, u.username,
             row_number() OVER (PARTITION BY i.room_id ORDER BY i.ord) AS n
      FROM input i JOIN ${senderJoin(sql, "i.sender_id")}
      WHERE EXISTS (SELECT 1 FROM room r WHERE r.id = i.room_id)
        AND NOT EXISTS (SELECT 1 FROM existing e WHERE e.ord = i.ord)
        AND ${isMember(sql, sql.literal("i.room_id"), sql.literal("i.sender_id"))}
    ),
    bump AS (${bumpLastSeqs(sql, sql`SELECT room_id, count(*) AS n FROM accepted GROUP BY room_id`)}),
    inserted AS (
      INSERT INTO messages (id, room_id, seq, sender_id, client_msg_id, msg_type, content, created_at)
      SELECT a.id, a.room_id, b.base + a.n, a.sender_id, a.client_msg_id, a.msg_type, a.content, a.created_at
      FROM accepted a JOIN bump b ON b.room_id = a.room_id
      RETURNING id, seq, created_at
    ),
    outboxed AS (
      INSERT INTO outbox (topic, aggregate_key, event_type, payload, headers)
      SELECT ${MESSAGE_EVENTS_TOPIC}, a.room_id::text, ${MESSAGE_CREATED},
             jsonb_set(jsonb_set(a.payload, '{data,seq}', to_jsonb(ins.seq)), '{data,sender_username}', to_jsonb(a.username)),
             a.headers
      FROM accepted a JOIN inserted ins ON ins.id = a.id
      ORDER BY a.ord
      RETURNING id
    )
    SELECT i.ord, i.room_id,
           CASE WHEN e.ord IS NOT NULL THEN 'existing'
                WHEN ins.id IS NOT NULL THEN 'created'
                WHEN r.id IS NULL THEN 'no_room'
                ELSE 'not_member' END AS outcome,
           COALESCE(e.id, ins.id) AS id, COALESCE(e.seq, ins.seq) AS seq, i.sender_id,
           ${sql.literal(SENDER_COLUMNS)},
           CASE WHEN e.ord IS NOT NULL THEN e.content ELSE i.content END AS content,
           CASE WHEN e.ord IS NOT NULL THEN e.msg_type ELSE i.msg_type END AS msg_type,
           i.client_msg_id, COALESCE(e.created_at, ins.created_at) AS created_at,
           r.type AS room_type
    FROM input i
    LEFT JOIN room r ON r.id = i.room_id
    LEFT JOIN existing e ON e.ord = i.ord
    LEFT JOIN accepted a ON a.ord = i.ord
    LEFT JOIN inserted ins ON ins.id = a.id
    LEFT JOIN ${senderJoin(sql, "i.sender_id")}
    ORDER BY i.ord`.pipe(
    // Rows come from our own statement, so a row that does not decode is a bug (a defect).
    Effect.flatMap((rows) => Effect.orDie(decodeRows(rows))),
    Effect.flatMap((rows) =>
      rows.length === items.length
        ? Effect.sync(() => rows.map(toOutcome))
        : Effect.die(new Error(`send batch: ${rows.length} result rows for ${items.length} sends`))
    )
  )
}
