/**
 * The `NotificationRpcs` handlers: each RPC is one `NotificationService` call. `InternalAuth`
 * has already verified the calling service, so the payload's `user_id` is trusted.
 */
import { Effect } from "effect"
import { NotificationRpcs } from "@pylon/contracts/NotificationRpcs"
import { NotificationService } from "./NotificationService.ts"

export const NotificationHandlersLive = NotificationRpcs.toLayer(
  Effect.gen(function*() {
    const notifications = yield* NotificationService
    return NotificationRpcs.of({
      SendNotification: (payload) => notifications.send(payload),
      GetNotifications: ({ user_id, ...query }) => notifications.list(user_id, query),
      MarkAsRead: ({ notification_id, user_id }) => notifications.markRead(user_id, notification_id),
      MarkAllRead: ({ user_id }) => notifications.markAllRead(user_id)
    })
  })
)
