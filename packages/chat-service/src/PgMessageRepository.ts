/**
 * `MessageRepository` on PostgreSQL (migrations 0003–0005, 0007).
 *
 * `send` is group-committed (`BatchedSend.ts`: one statement per batch, which may span rooms,
 * `PgSendBatch.ts`; up to `CHAT_SEND_CONCURRENCY` at once):
 * an earlier send with the same `(room_id, sender_id, client_msg_id)` is returned as is; a member's
 * send takes the room's next gap-free `seq` and is stored with its outbox row; a refused or failed
 * send consumes no `seq`.
 *
 * History reads are keyset queries on the unique index `(room_id, seq)`, never OFFSET. A history
 * page is built as the contract's JSON text by PostgreSQL (`MESSAGE_JSON`), so no row is decoded
 * or encoded here.
 * The other services' tables are read through `ForeignTables.ts` only.
 */
import { Effect, Layer, Schema } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import { MessagesPageJson } from "@pylon/contracts/ChatRpcs"
import { MessageNotFound, NotRoomMember, RoomNotFound } from "@pylon/contracts/Errors"
import type { MessageId, RoomId, UserId } from "@pylon/contracts/Ids"
import { sqlFailureToUnavailable } from "@pylon/platform/sql/SqlFailures"
import { makeBatchedSend, SendConcurrencyConfig } from "./BatchedSend.ts"
import { isMember, roomRow, senderJoin } from "./ForeignTables.ts"
import { MessageRepository } from "./MessageRepository.ts"
import type { MessagePage } from "./MessageRepository.ts"
import { decodeMessageRows, MESSAGE_COLUMNS, MESSAGE_JSON, toMessage } from "./MessageRow.ts"

/** `memberPage`'s one row: the access flags and the page's JSON text (empty unless the caller is a member). */
const PageRow = Schema.Struct({
  room_exists: Schema.Boolean,
  is_member: Schema.Boolean,
  cursor_found: Schema.Boolean,
  page: MessagesPageJson
})
const RoomAccessRow = Schema.Struct({ is_member: Schema.Boolean })

// Rows come from our own schema, so a row that does not decode is a bug (a defect).
const decodePageRow = Schema.decodeUnknownEffect(PageRow)
const decodeAccessRows = Schema.decodeUnknownEffect(Schema.Array(RoomAccessRow))

export const PgMessageRepository = Layer.effect(
  MessageRepository,
  Effect.gen(function*() {
    const sql = yield* SqlClient
    const columns = sql.literal(MESSAGE_COLUMNS)
    const messageJson = sql.literal(MESSAGE_JSON)
    const sender = senderJoin(sql, "m.sender_id")

    // Sends are group-committed, several rooms to a statement: see BatchedSend.ts.
    const { send } = yield* makeBatchedSend(sql, { concurrency: yield* SendConcurrencyConfig })

    const requireMember = Effect.fn("MessageRepository.requireMember")(function*(room_id: RoomId, user_id: UserId) {
      const rows = yield* sql`SELECT ${isMember(sql, room_id, user_id)} AS is_member FROM (${roomRow(sql, room_id)}) r`
        .pipe(sqlFailureToUnavailable, Effect.flatMap((rows) => Effect.orDie(decodeAccessRows(rows))))
      const row = rows[0]
      if (row === undefined) return yield* new RoomNotFound({ room_id })
      if (!row.is_member) return yield* new NotRoomMember({ room_id })
    })

    /** Access check, cursor and page in one statement; one round trip per history request. */
    const memberPage = Effect.fn("MessageRepository.memberPage")(function*(
      room_id: RoomId,
      user_id: UserId,
      cursor: { readonly before_id?: MessageId | undefined; readonly after_seq?: number | undefined },
      limit: number
    ) {
      const { after_seq, before_id } = cursor
      const cursorSeq = before_id === undefined
        ? sql`NULL::bigint`
        : sql`(SELECT seq FROM messages WHERE id = ${before_id} AND room_id = ${room_id})`
      const order = after_seq !== undefined ? sql`ASC` : sql`DESC`
      // One row beyond the page says whether there is more.
      const rows = yield* sql`
        WITH access AS (
          SELECT EXISTS (${roomRow(sql, room_id)}) AS room_exists,
                 ${isMember(sql, room_id, user_id)} AS is_member,
                 ${cursorSeq} AS cursor_seq
        ),
        page AS (
          SELECT m.seq, ${messageJson} AS message FROM access a, messages m JOIN ${sender}
          WHERE a.is_member AND m.room_id = ${room_id}
            ${
        after_seq !== undefined
          ? sql`AND m.seq > ${after_seq}`
          : before_id !== undefined
          ? sql`AND m.seq < a.cursor_seq`
          : sql``
      }
          ORDER BY m.seq ${order}
          LIMIT ${limit + 1}
        )
        SELECT a.room_exists, a.is_member, (${before_id === undefined} OR a.cursor_seq IS NOT NULL) AS cursor_found,
          json_build_object(
            'messages', (SELECT COALESCE(json_agg(p.message ORDER BY p.seq ${order}), '[]'::json)
                           FROM (SELECT * FROM page ORDER BY seq ${order} LIMIT ${limit}) p),
            'has_more', (SELECT count(*) FROM page) > ${limit}
          )::text AS page
        FROM access a`.pipe(sqlFailureToUnavailable)
      const row = yield* Effect.orDie(decodePageRow(rows[0]))
      if (!row.room_exists) return yield* new RoomNotFound({ room_id })
      if (!row.is_member) return yield* new NotRoomMember({ room_id })
      if (!row.cursor_found && before_id !== undefined) return yield* new MessageNotFound({ message_id: before_id })
      return row.page
    })

    const oldestAfter = Effect.fn("MessageRepository.oldestAfter")(
      function*(room_id: RoomId, after_seq: number, limit: number) {
        const rows = yield* sql`
          SELECT ${columns} FROM messages m JOIN ${sender}
          WHERE m.room_id = ${room_id} AND m.seq > ${after_seq}
          ORDER BY m.seq ASC
          LIMIT ${limit + 1}`.pipe(sqlFailureToUnavailable, Effect.flatMap((rows) => Effect.orDie(decodeMessageRows(rows))))
        // One row beyond the page says whether there is more.
        const page: MessagePage = { messages: rows.slice(0, limit).map(toMessage), has_more: rows.length > limit }
        return page
      }
    )

    return MessageRepository.of({ send, requireMember, memberPage, oldestAfter })
  })
)
