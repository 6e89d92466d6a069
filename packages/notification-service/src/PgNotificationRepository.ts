/**
 * `NotificationRepository` on PostgreSQL (migrations/0006_notifications.sql).
 *
 * - An event's notifications are one multi-row `INSERT … ON CONFLICT (user_id, message_id) DO
 *   NOTHING RETURNING …`, so a redelivered event stores nothing twice and `RETURNING` yields
 *   exactly the rows that are new. Every row carries the event's `event_id`.
 * - Pages are keyset queries on `(created_at, id)` (the `notifications_user_created_idx` /
 *   `_unread_idx` indexes), newest first, one row beyond the page telling whether more follow.
 *   The key keeps `created_at` to the microsecond as text: JS `Date`s stop at milliseconds, and
 *   a key rounded down would skip or repeat rows.
 *
 * Requests and rows go through `SqlSchema` like every repository's; a row that does not decode
 * is a defect (`rowSchemaFailureToDefect`), and SQL failures are classified once per statement.
 */
import { Array as Arr, Effect, Layer, Option, Schema } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import * as SqlSchema from "effect/sql/SqlSchema"
import type { EventId } from "@pylon/contracts/Ids"
import { EventId as EventIdSchema, MessageId, NotificationId, RoomId, UserId } from "@pylon/contracts/Ids"
import { Notification, NotificationType } from "@pylon/contracts/Notifications"
import { newId } from "@pylon/platform/runtime/IdGenerator"
import { rowSchemaFailureToDefect, sqlFailureToDomainError, sqlFailureToUnavailable } from "@pylon/platform/sql/SqlFailures"
import type { NotificationDraft } from "./NotificationRules.ts"
import { NotificationRepository } from "./NotificationRepository.ts"
import type { PageKey, PageRequest } from "./NotificationRepository.ts"

/** The columns a notification is written with. */
const StoredFields = {
  id: NotificationId,
  user_id: UserId,
  type: NotificationType,
  title: Schema.String,
  body: Schema.String,
  room_id: RoomId,
  message_id: Schema.NullOr(MessageId)
}

const NotificationRow = Schema.Struct({
  ...StoredFields,
  is_read: Schema.Boolean,
  created_at: Schema.DateTimeUtcFromDate,
  created_key: Schema.String
})
type NotificationRow = typeof NotificationRow.Type

const CountRow = Schema.Struct({ n: Schema.Number })

/** One row to insert (`read_at` and `created_at` take their defaults). */
const NewRow = Schema.Struct({ ...StoredFields, event_id: Schema.NullOr(EventIdSchema) })
type NewRow = typeof NewRow.Type

const PageQuery = Schema.Struct({
  userId: UserId,
  unreadOnly: Schema.Boolean,
  after: Schema.UndefinedOr(Schema.Struct({ createdAt: Schema.String, id: NotificationId })),
  limit: Schema.Int
})

const UserNotification = Schema.Struct({ userId: UserId, id: NotificationId })

const COLUMNS = `id, user_id, type, title, body, room_id, message_id, read_at IS NOT NULL AS is_read, created_at,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_key`

const toNotification = (row: NotificationRow): Notification =>
  new Notification({
    id: row.id,
    type: row.type,
    title: row.title,
    body: row.body,
    room_id: row.room_id,
    message_id: row.message_id,
    read: row.is_read,
    created_at: row.created_at
  })

const keyOf = (row: NotificationRow): PageKey => ({ createdAt: row.created_key, id: row.id })

export const PgNotificationRepository = Layer.effect(
  NotificationRepository,
  Effect.gen(function*() {
    const sql = yield* SqlClient
    const columns = sql.literal(COLUMNS)

    const rowOf = Effect.fnUntraced(function*(draft: NotificationDraft, eventId: EventId | null) {
      const row: NewRow = {
        id: NotificationId.make(yield* newId),
        user_id: draft.user_id,
        type: draft.type,
        title: draft.title,
        body: draft.body,
        room_id: draft.room_id,
        message_id: draft.message_id,
        event_id: eventId
      }
      return row
    })

    const insert = SqlSchema.findAll({
      Request: Schema.NonEmptyArray(NewRow),
      Result: NotificationRow,
      execute: (rows) =>
        sql`
          INSERT INTO notifications ${sql.insert(rows)}
          ON CONFLICT ON CONSTRAINT notifications_user_id_message_id_key DO NOTHING
          RETURNING ${columns}`
    })
    const existing = SqlSchema.findOneOption({
      Request: Schema.Struct({ userId: UserId, messageId: Schema.NullOr(MessageId) }),
      Result: NotificationRow,
      execute: ({ messageId, userId }) =>
        sql`SELECT ${columns} FROM notifications WHERE user_id = ${userId} AND message_id = ${messageId}`
    })
    const pageRows = SqlSchema.findAll({
      Request: PageQuery,
      Result: NotificationRow,
      execute: ({ after, limit, unreadOnly, userId }) =>
        sql`
          SELECT ${columns} FROM notifications
          WHERE user_id = ${userId}
            ${unreadOnly ? sql`AND read_at IS NULL` : sql``}
            ${after === undefined ? sql`` : sql`AND (created_at, id) < (${after.createdAt}::timestamptz, ${after.id}::uuid)`}
          ORDER BY created_at DESC, id DESC
          LIMIT ${limit + 1}`
    })
    const unreadRows = SqlSchema.findAll({
      Request: UserId,
      Result: CountRow,
      execute: (userId) => sql`SELECT count(*)::int AS n FROM notifications WHERE user_id = ${userId} AND read_at IS NULL`
    })
    const markReadRows = SqlSchema.findAll({
      Request: UserNotification,
      Result: CountRow,
      execute: ({ id, userId }) =>
        sql`
          UPDATE notifications SET read_at = coalesce(read_at, now())
          WHERE id = ${id} AND user_id = ${userId}
          RETURNING 1 AS n`
    })
    const markAllReadRows = SqlSchema.findAll({
      Request: UserId,
      Result: CountRow,
      execute: (userId) =>
        sql`
          WITH updated AS (
            UPDATE notifications SET read_at = now()
            WHERE user_id = ${userId} AND read_at IS NULL
            RETURNING 1
          )
          SELECT count(*)::int AS n FROM updated`
    })

    const storeForEvent = Effect.fn("NotificationRepository.storeForEvent")(function*(
      eventId: EventId,
      drafts: Arr.NonEmptyReadonlyArray<NotificationDraft>
    ) {
      const rows = yield* Effect.forEach(drafts, (draft) => rowOf(draft, eventId))
      if (!Arr.isReadonlyArrayNonEmpty(rows)) return []
      const inserted = yield* insert(rows)
      return inserted.map((row) => ({ user_id: row.user_id, notification: toNotification(row) }))
    }, rowSchemaFailureToDefect, sqlFailureToUnavailable)

    const store = Effect.fn("NotificationRepository.store")(function*(draft: NotificationDraft) {
      const row = yield* rowOf(draft, null)
      const [inserted] = yield* insert([row])
      if (inserted !== undefined) return { notification: toNotification(inserted), created: true }
      // Only the (user, message) key can skip the insert, so the earlier notification exists.
      const earlier = yield* existing({ userId: draft.user_id, messageId: draft.message_id })
      if (Option.isNone(earlier)) return yield* Effect.die(new Error("notification insert skipped, but none exists"))
      return { notification: toNotification(earlier.value), created: false }
    }, rowSchemaFailureToDefect, sqlFailureToUnavailable)

    const page = Effect.fn("NotificationRepository.page")(function*(userId: UserId, request: PageRequest) {
      const rows = yield* pageRows({ userId, unreadOnly: request.unreadOnly, after: request.after, limit: request.limit })
      const shown = rows.slice(0, request.limit)
      const last = shown[shown.length - 1]
      return {
        notifications: shown.map(toNotification),
        next: rows.length > request.limit && last !== undefined ? Option.some(keyOf(last)) : Option.none()
      }
      // A page's key comes from the client's cursor: a value PostgreSQL refuses there is a 400.
    }, rowSchemaFailureToDefect, sqlFailureToDomainError)

    const unreadCount = Effect.fn("NotificationRepository.unreadCount")(function*(userId: UserId) {
      const [row] = yield* unreadRows(userId)
      return row?.n ?? 0
    }, rowSchemaFailureToDefect, sqlFailureToUnavailable)

    const markRead = Effect.fn("NotificationRepository.markRead")(function*(userId: UserId, id: NotificationId) {
      const rows = yield* markReadRows({ userId, id })
      return rows.length > 0
    }, rowSchemaFailureToDefect, sqlFailureToUnavailable)

    const markAllRead = Effect.fn("NotificationRepository.markAllRead")(function*(userId: UserId) {
      const [row] = yield* markAllReadRows(userId)
      return row?.n ?? 0
    }, rowSchemaFailureToDefect, sqlFailureToUnavailable)

    return NotificationRepository.of({ storeForEvent, store, page, unreadCount, markRead, markAllRead })
  })
)
