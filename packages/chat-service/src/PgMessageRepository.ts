/**
 * `MessageRepository` on PostgreSQL (migrations 0003–0005, 0007).
 *
 * `send` is group-committed per room (`BatchedSend.ts`, one statement per batch: `PgSendBatch.ts`):
 * an earlier send with the same `(room_id, sender_id, client_msg_id)` is returned as is; a member's
 * send takes the room's next gap-free `seq` and is stored with its outbox row; a refused or failed
 * send consumes no `seq`.
 *
 * History reads are keyset queries on the unique index `(room_id, seq)`, never OFFSET.
 */
import { Effect, Layer, Option, Schema } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import { MessageNotFound, NotRoomMember, RoomNotFound } from "@pylon/contracts/Errors"
import type { MessageId, RoomId, UserId } from "@pylon/contracts/Ids"
import { sqlFailureToUnavailable } from "@pylon/platform/sql/SqlFailures"
import { makeBatchedSend } from "./BatchedSend.ts"
import { MessageRepository } from "./MessageRepository.ts"
import type { MessagePage } from "./MessageRepository.ts"
import { MESSAGE_COLUMNS, MessageRow, toMessage } from "./MessageRow.ts"

const RoomAccessRow = Schema.Struct({ is_member: Schema.Boolean })
const SeqRow = Schema.Struct({ seq: Schema.BigInt })

/** `memberPage`'s access flags, on every row it returns (one row with a null `id` when the page is empty). */
const AccessFlags = Schema.Struct({ room_exists: Schema.Boolean, is_member: Schema.Boolean, cursor_found: Schema.Boolean })
const decodeFlags = Schema.decodeUnknownEffect(AccessFlags)
const decodeMessageRows = Schema.decodeUnknownEffect(Schema.Array(MessageRow))

/** Rows of `memberPage` that carry a message. */
const withMessage = (rows: ReadonlyArray<unknown>): ReadonlyArray<unknown> =>
  rows.filter((row) => typeof row === "object" && row !== null && "id" in row && row.id !== null)
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

    // Sends are group-committed per room: see BatchedSend.ts.
    const { send } = yield* makeBatchedSend(sql)

    const page = (rows: ReadonlyArray<MessageRow>, limit: number): MessagePage => ({
      messages: rows.slice(0, limit).map(toMessage),
      has_more: rows.length > limit
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
      const rows = yield* sql`
        WITH access AS (
          SELECT EXISTS (SELECT 1 FROM rooms WHERE id = ${room_id}) AS room_exists,
                 EXISTS (SELECT 1 FROM room_members WHERE room_id = ${room_id} AND user_id = ${user_id}) AS is_member,
                 ${cursorSeq} AS cursor_seq
        ),
        page AS (
          SELECT ${columns} FROM access a, messages m JOIN users u ON u.id = m.sender_id
          WHERE a.is_member AND m.room_id = ${room_id}
            ${
        after_seq !== undefined
          ? sql`AND m.seq > ${after_seq} ORDER BY m.seq ASC`
          : before_id !== undefined
          ? sql`AND m.seq < a.cursor_seq ORDER BY m.seq DESC`
          : sql`ORDER BY m.seq DESC`
      }
          LIMIT ${limit + 1}
        )
        SELECT a.room_exists, a.is_member, (${before_id === undefined} OR a.cursor_seq IS NOT NULL) AS cursor_found, p.*
        FROM access a LEFT JOIN page p ON true
        ORDER BY p.seq ${after_seq !== undefined ? sql`ASC` : sql`DESC`}`.pipe(sqlFailureToUnavailable)
      const flags = yield* Effect.orDie(decodeFlags(rows[0]))
      if (!flags.room_exists) return yield* new RoomNotFound({ room_id })
      if (!flags.is_member) return yield* new NotRoomMember({ room_id })
      if (!flags.cursor_found && before_id !== undefined) return yield* new MessageNotFound({ message_id: before_id })
      // One row beyond the page says whether there is more.
      return page(yield* Effect.orDie(decodeMessageRows(withMessage(rows))), limit)
    })

    return MessageRepository.of({
      send,
      memberPage,
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
