/**
 * Notification routes of API.md §5a: the caller's list (`GET /api/v1/notifications?limit=&cursor=
 * &unread_only=`, newest first, keyset cursor, `limit` default 20 and clamped to 100), marking one
 * read (`POST /api/v1/notifications/{id}/read`, only the caller's own: anyone else's is 404) and
 * marking all read (`POST /api/v1/notifications/read-all`). Each authenticates the caller,
 * decodes input with the contract Schemas and asks the notification service through
 * `NotificationsClient`; responses are the contract's encoded JSON.
 */
import { Effect, Layer } from "effect"
import { NotificationId } from "@pylon/contracts/Ids"
import { NotificationsQuery, NotificationsResponse, ReadAllResult, ReadResult } from "@pylon/contracts/Notifications"
import { respondWith } from "@pylon/platform/http/HttpEnvelope"
import { decodePathParam, decodeQuery } from "@pylon/platform/http/HttpRequestDecoding"
import { NotificationsClient } from "../clients/ServiceClients.ts"
import { authenticatedResource, CurrentUser } from "./Authentication.ts"
import { failWithRpcError } from "./HttpErrors.ts"

export const NotificationsRoutes = Layer.mergeAll(
  authenticatedResource("/api/v1/notifications", {
    GET: Effect.gen(function*() {
      const claims = yield* CurrentUser
      const query = yield* decodeQuery(NotificationsQuery)
      const notifications = yield* NotificationsClient
      const page = yield* notifications.GetNotifications({ user_id: claims.sub, ...query }).pipe(failWithRpcError)
      return yield* respondWith(NotificationsResponse, page)
    })
  }),
  authenticatedResource("/api/v1/notifications/read-all", {
    POST: Effect.gen(function*() {
      const claims = yield* CurrentUser
      const notifications = yield* NotificationsClient
      const result = yield* notifications.MarkAllRead({ user_id: claims.sub }).pipe(failWithRpcError)
      return yield* respondWith(ReadAllResult, result)
    })
  }),
  authenticatedResource("/api/v1/notifications/:id/read", {
    POST: Effect.gen(function*() {
      const claims = yield* CurrentUser
      const id = yield* decodePathParam("id", NotificationId)
      const notifications = yield* NotificationsClient
      yield* notifications.MarkAsRead({ user_id: claims.sub, notification_id: id }).pipe(failWithRpcError)
      return yield* respondWith(ReadResult, { read: true })
    })
  })
)
