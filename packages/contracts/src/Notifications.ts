/** Notifications (API.md §5a): the entity, the list query and the response bodies. */
import { Schema } from "effect"
import { MessageId, NotificationId, RoomId } from "./Ids.ts"
import { Natural } from "./Numbers.ts"
import { FlagParam, LimitParam, optionalParam } from "./QueryParams.ts"
import { Timestamp } from "./Time.ts"

export const NotificationType = Schema.Literals(["message", "mention", "invite"])
export type NotificationType = typeof NotificationType.Type

/** `message_id` is `null` for notifications not about one message (`invite`). */
export class Notification extends Schema.Class<Notification>("Notification")({
  id: NotificationId,
  type: NotificationType,
  title: Schema.String,
  body: Schema.String,
  room_id: RoomId,
  message_id: Schema.NullOr(MessageId),
  read: Schema.Boolean,
  created_at: Timestamp
}) {}

/**
 * An opaque keyset cursor produced by the notification service (`next_cursor`): 1–512
 * URL-safe characters (e.g. base64url), so clients can paste it into a query string as is.
 */
export const NotificationCursor = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9._~=-]{1,512}$/, {
    message: "must be a cursor returned by a previous page",
    expected: "a cursor"
  })
)

/** `GET /notifications` query: `limit` default 20, clamped to 100; `unread_only` default false. */
export const NotificationsQuery = Schema.Struct({
  limit: LimitParam({ default: 20, max: 100 }),
  cursor: optionalParam(NotificationCursor),
  unread_only: FlagParam
})
export type NotificationsQuery = typeof NotificationsQuery.Type

export const NotificationsResponse = Schema.Struct({
  notifications: Schema.Array(Notification),
  unread_count: Natural,
  next_cursor: Schema.NullOr(NotificationCursor)
})
export type NotificationsResponse = typeof NotificationsResponse.Type

export const ReadResult = Schema.Struct({ read: Schema.Literal(true) })
export type ReadResult = typeof ReadResult.Type

export const ReadAllResult = Schema.Struct({ updated: Natural })
export type ReadAllResult = typeof ReadAllResult.Type
