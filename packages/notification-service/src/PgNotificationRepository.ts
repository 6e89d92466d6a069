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
 */
import { Array as Arr, Effect, flow, Layer, Option, Schema } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import type { EventId } from "@pylon/contracts/Ids"
import { MessageId, NotificationId, RoomId, UserId } from "@pylon/contracts/Ids"
import { Notification, NotificationType } from "@pylon/contracts/Notifications"
import { newId } from "@pylon/platform/runtime/IdGenerator"
import { sqlFailureToDomainError, sqlFailureToUnavailable } from "@pylon/platform/sql/SqlFailures"
import type { NotificationDraft } from "./NotificationRules.ts"
import { NotificationRepository } from "./NotificationRepository.ts"
import type { PageKey, PageRequest } from "./NotificationRepository.ts"

const NotificationRow = Schema.Struct({
  id: NotificationId,
  user_id: UserId,
  type: NotificationType,
  title: Schema.String,
  body: Schema.String,
  room_id: RoomId,
  message_id: Schema.NullOr(MessageId),
  is_read: Schema.Boolean,
  created_at: Schema.DateTimeUtcFromDate,
  created_key: Schema.String
})
type NotificationRow = typeof NotificationRow.Type

const CountRow = Schema.Struct({ n: Schema.Number })

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

    // Rows come from our own schema, so a row that does not decode is a bug (a defect).
    const decodeAll = <S extends Schema.Codec<unknown, unknown>>(schema: S) => {
      const decode = Schema.decodeUnknownEffect(Schema.Array(schema))
      return (effect: Effect.Effect<ReadonlyArray<unknown>, SqlError>) =>
        effect.pipe(Effect.flatMap((rows) => Effect.orDie(decode(rows))))
    }
    const notificationRows = flow(decodeAll(NotificationRow), sqlFailureToUnavailable)
    // A page's key comes from the client's cursor: a value PostgreSQL refuses there is a 400.
    const pageRows = flow(decodeAll(NotificationRow), sqlFailureToDomainError)
    const countRows = flow(decodeAll(CountRow), sqlFailureToUnavailable)

    const rowOf = Effect.fnUntraced(function*(draft: NotificationDraft, eventId: EventId | null) {
      return {
        id: yield* newId,
        user_id: draft.user_id,
        type: draft.type,
        title: draft.title,
        body: draft.body,
        room_id: draft.room_id,
        message_id: draft.message_id,
        event_id: eventId
      }
    })

    const insert = (rows: Arr.NonEmptyReadonlyArray<Record<string, unknown>>) =>
      notificationRows(sql`
        INSERT INTO notifications ${sql.insert(rows)}
        ON CONFLICT ON CONSTRAINT notifications_user_id_message_id_key DO NOTHING
        RETURNING ${columns}`)

    const storeForEvent = Effect.fn("NotificationRepository.storeForEvent")(function*(
      eventId: EventId,
      drafts: Arr.NonEmptyReadonlyArray<NotificationDraft>
    ) {
      const rows = yield* Effect.forEach(drafts, (draft) => rowOf(draft, eventId))
      if (!Arr.isReadonlyArrayNonEmpty(rows)) return []
      const inserted = yield* insert(rows)
      return inserted.map((row) => ({ user_id: row.user_id, notification: toNotification(row) }))
    })

    const store = Effect.fn("NotificationRepository.store")(function*(draft: NotificationDraft) {
      const row = yield* rowOf(draft, null)
      const [inserted] = yield* insert([row])
      if (inserted !== undefined) return { notification: toNotification(inserted), created: true }
      // Only the (user, message) key can skip the insert, so the earlier notification exists.
      const [existing] = yield* notificationRows(sql`
        SELECT ${columns} FROM notifications
        WHERE user_id = ${draft.user_id} AND message_id = ${draft.message_id}`)
      if (existing === undefined) return yield* Effect.die(new Error("notification insert skipped, but none exists"))
      return { notification: toNotification(existing), created: false }
    })

    const page = Effect.fn("NotificationRepository.page")(function*(userId: UserId, request: PageRequest) {
      const after = request.after
      const rows = yield* pageRows(sql`
        SELECT ${columns} FROM notifications
        WHERE user_id = ${userId}
          ${request.unreadOnly ? sql`AND read_at IS NULL` : sql``}
          ${after === undefined ? sql`` : sql`AND (created_at, id) < (${after.createdAt}::timestamptz, ${after.id}::uuid)`}
        ORDER BY created_at DESC, id DESC
        LIMIT ${request.limit + 1}`)
      const shown = rows.slice(0, request.limit)
      const last = shown[shown.length - 1]
      return {
        notifications: shown.map(toNotification),
        next: rows.length > request.limit && last !== undefined ? Option.some(keyOf(last)) : Option.none()
      }
    })

    const unreadCount = Effect.fn("NotificationRepository.unreadCount")(function*(userId: UserId) {
      const [row] = yield* countRows(sql`
        SELECT count(*)::int AS n FROM notifications WHERE user_id = ${userId} AND read_at IS NULL`)
      return row?.n ?? 0
    })

    const markRead = Effect.fn("NotificationRepository.markRead")(function*(userId: UserId, id: NotificationId) {
      const rows = yield* countRows(sql`
        UPDATE notifications SET read_at = coalesce(read_at, now())
        WHERE id = ${id} AND user_id = ${userId}
        RETURNING 1 AS n`)
      return rows.length > 0
    })

    const markAllRead = Effect.fn("NotificationRepository.markAllRead")(function*(userId: UserId) {
      const [row] = yield* countRows(sql`
        WITH updated AS (
          UPDATE notifications SET read_at = now()
          WHERE user_id = ${userId} AND read_at IS NULL
          RETURNING 1
        )
        SELECT count(*)::int AS n FROM updated`)
      return row?.n ?? 0
    })

    return NotificationRepository.of({ storeForEvent, store, page, unreadCount, markRead, markAllRead })
  })
)
