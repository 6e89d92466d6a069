/**
 * `pylon.notification.v1.NotificationService` over Connect: GetNotifications and MarkAsRead as
 * their REST routes (the caller's own notifications only). SendNotification is internal-only
 * (decision for CONNECT-COMPAT.md: notifications are produced by Pylon's own consumer from chat
 * events; letting a client write into another user's inbox would be a spam channel), so it is
 * `permission_denied` for every bearer token.
 */
import type { ServiceImpl } from "@connectrpc/connect"
import { Effect } from "effect"
import { HttpFailure } from "@pylon/platform/http/HttpEnvelope"
import { NotificationService as NotificationServiceDesc } from "@pylon/proto-gen/notification/v1/notification"
import { NotificationsClient } from "../clients/ServiceClients.ts"
import { requireAuth } from "../http/Authentication.ts"
import { failWithHttpError, failWithRpcError } from "../http/HttpErrors.ts"
import { effectMethod } from "./ConnectBridge.ts"
import { NotificationMapping } from "./ProtoMapping.ts"

export const notificationServiceImpl: ServiceImpl<typeof NotificationServiceDesc> = {
  sendNotification: effectMethod(() =>
    Effect.gen(function*() {
      yield* requireAuth
      return yield* HttpFailure.forbidden("SendNotification is internal-only")
    })
  ),
  getNotifications: effectMethod((request) =>
    Effect.gen(function*() {
      const claims = yield* requireAuth
      const payload = yield* NotificationMapping.getNotificationsRequestFromProto(request, claims.sub).pipe(
        failWithHttpError
      )
      const notifications = yield* NotificationsClient
      const page = yield* notifications.GetNotifications(payload).pipe(failWithRpcError)
      return NotificationMapping.getNotificationsResponseToProto(page, claims.sub)
    })
  ),
  markAsRead: effectMethod((request) =>
    Effect.gen(function*() {
      const claims = yield* requireAuth
      const payload = yield* NotificationMapping.markAsReadRequestFromProto(request, claims.sub).pipe(failWithHttpError)
      const notifications = yield* NotificationsClient
      yield* notifications.MarkAsRead(payload).pipe(failWithRpcError)
      return {}
    })
  )
}
