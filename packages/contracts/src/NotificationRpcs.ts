/** Internal RPC of the notification service. Every payload names the acting user. */
import { Schema } from "effect"
import { Rpc, RpcGroup } from "effect/rpc"
import { BadRequest, NotificationNotFound, Unavailable } from "./Errors.ts"
import { MessageId, NotificationId, RoomId, UserId } from "./Ids.ts"
import { InternalAuth } from "./InternalAuth.ts"
import {
  Notification,
  NotificationCursor,
  NotificationsResponse,
  NotificationType,
  ReadAllResult
} from "./Notifications.ts"
import { PageLimit } from "./Numbers.ts"
import { TextWithoutNul } from "./Text.ts"

export class NotificationRpcs extends RpcGroup.make(
  /** Stores a notification for `user_id` (the recipient); idempotent per (user, message). */
  Rpc.make("SendNotification", {
    payload: {
      user_id: UserId,
      type: NotificationType,
      title: TextWithoutNul,
      body: TextWithoutNul,
      room_id: RoomId,
      message_id: Schema.NullOr(MessageId)
    },
    success: Notification,
    error: Unavailable
  }),
  /** `{ user_id, ...NotificationsQuery }`; a cursor the service cannot read → `BadRequest`. */
  Rpc.make("GetNotifications", {
    payload: {
      user_id: UserId,
      limit: PageLimit(100),
      cursor: Schema.optionalKey(NotificationCursor),
      unread_only: Schema.Boolean
    },
    success: NotificationsResponse,
    error: Schema.Union([BadRequest, Unavailable])
  }),
  /** Only the owner's notification; anyone else's → `NotificationNotFound`. */
  Rpc.make("MarkAsRead", {
    payload: { user_id: UserId, notification_id: NotificationId },
    error: Schema.Union([NotificationNotFound, Unavailable])
  }),
  Rpc.make("MarkAllRead", {
    payload: { user_id: UserId },
    success: ReadAllResult,
    error: Unavailable
  })
).middleware(InternalAuth) {}
