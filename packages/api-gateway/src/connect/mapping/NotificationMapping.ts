/**
 * pylon.notification.v1 messages ⇄ the contract's notification values (Notifications.ts,
 * NotificationRpcs.ts). The original `Notification` names its recipient (`user_id`), which the
 * contract leaves implicit, so it is passed in. Pylon pages by cursor (field 20), not offset.
 */
import { create } from "@bufbuild/protobuf"
import { Effect } from "effect"
import { BadRequest } from "@pylon/contracts/Errors"
import type { UserId } from "@pylon/contracts/Ids"
import { NotificationRpcs } from "@pylon/contracts/NotificationRpcs"
import { Notification, NotificationsResponse } from "@pylon/contracts/Notifications"
import type { NotificationType } from "@pylon/contracts/Notifications"
import * as NotificationPb from "@pylon/proto-gen/notification/v1/notification"
import type { MappingError, PayloadOf } from "./Common.ts"
import {
  decodeForCaller,
  decodeWith,
  emptyAsNull,
  enumMapping,
  pageLimit,
  payloadSchema,
  timestampToProto,
  timestampWire,
  toInt32
} from "./Common.ts"

export type SendNotificationPayload = PayloadOf<typeof NotificationRpcs, "SendNotification">
export type GetNotificationsPayload = PayloadOf<typeof NotificationRpcs, "GetNotifications">
export type MarkAsReadPayload = PayloadOf<typeof NotificationRpcs, "MarkAsRead">

/** REST's page defaults (API.md §5a). */
const DEFAULT_PAGE = 20
const MAX_PAGE = 100

export const notificationType = enumMapping<NotificationType, NotificationPb.NotificationType>({
  message: NotificationPb.NotificationType.MESSAGE,
  invite: NotificationPb.NotificationType.INVITE,
  mention: NotificationPb.NotificationType.MENTION
})

const decodeSendNotification = decodeWith(payloadSchema(NotificationRpcs, "SendNotification"))
const decodeGetNotifications = decodeWith(payloadSchema(NotificationRpcs, "GetNotifications"))
const decodeMarkAsRead = decodeWith(payloadSchema(NotificationRpcs, "MarkAsRead"))

// --- requests -----------------------------------------------------------------------------

export const sendNotificationRequestToProto = (payload: SendNotificationPayload): NotificationPb.SendNotificationRequest =>
  create(NotificationPb.SendNotificationRequestSchema, {
    userId: payload.user_id,
    type: notificationType.toProto(payload.type),
    title: payload.title,
    body: payload.body,
    roomId: payload.room_id,
    messageId: payload.message_id ?? ""
  })

/** `user_id` is the recipient here, so it is required (not defaulted to the caller). */
export const sendNotificationRequestFromProto = (
  message: NotificationPb.SendNotificationRequest
): Effect.Effect<SendNotificationPayload, BadRequest> =>
  decodeSendNotification({
    user_id: message.userId,
    type: notificationType.fromProto(message.type),
    title: message.title,
    body: message.body,
    room_id: message.roomId,
    message_id: emptyAsNull(message.messageId)
  })

export const getNotificationsRequestToProto = (payload: GetNotificationsPayload): NotificationPb.GetNotificationsRequest =>
  create(NotificationPb.GetNotificationsRequestSchema, {
    userId: payload.user_id,
    limit: payload.limit,
    unreadOnly: payload.unread_only,
    cursor: payload.cursor ?? ""
  })

/** `limit` 0 → 20, above 100 clamped (like REST); `offset` must be 0: pages go by `cursor`. */
export const getNotificationsRequestFromProto = (
  message: NotificationPb.GetNotificationsRequest,
  caller: UserId
): Effect.Effect<GetNotificationsPayload, MappingError> =>
  message.offset !== 0
    ? Effect.fail(new BadRequest({ message: "offset: must be 0 (pages follow next_cursor)" }))
    : decodeForCaller(decodeGetNotifications, "user_id", message.userId, caller, (userId) => ({
      user_id: userId,
      limit: pageLimit(message.limit, DEFAULT_PAGE, MAX_PAGE),
      unread_only: message.unreadOnly,
      ...(message.cursor === "" ? {} : { cursor: message.cursor })
    }))

export const markAsReadRequestToProto = (payload: MarkAsReadPayload): NotificationPb.MarkAsReadRequest =>
  create(NotificationPb.MarkAsReadRequestSchema, { notificationId: payload.notification_id, userId: payload.user_id })

export const markAsReadRequestFromProto = (
  message: NotificationPb.MarkAsReadRequest,
  caller: UserId
): Effect.Effect<MarkAsReadPayload, MappingError> =>
  decodeForCaller(decodeMarkAsRead, "user_id", message.userId, caller, (userId) => ({
    user_id: userId,
    notification_id: message.notificationId
  }))

// --- responses ----------------------------------------------------------------------------

export const notificationToProto = (notification: Notification, recipient: UserId): NotificationPb.Notification =>
  create(NotificationPb.NotificationSchema, {
    id: notification.id,
    userId: recipient,
    type: notificationType.toProto(notification.type),
    title: notification.title,
    body: notification.body,
    roomId: notification.room_id,
    read: notification.read,
    createdAt: timestampToProto(notification.created_at),
    messageId: notification.message_id ?? ""
  })

const notificationWire = (message: NotificationPb.Notification) => ({
  id: message.id,
  type: notificationType.fromProto(message.type),
  title: message.title,
  body: message.body,
  room_id: message.roomId,
  message_id: emptyAsNull(message.messageId),
  read: message.read,
  created_at: timestampWire(message.createdAt)
})

/** The contract `Notification` (its recipient is the one asked about; not re-checked here). */
export const notificationFromProto = (message: NotificationPb.Notification): Effect.Effect<Notification, BadRequest> =>
  decodeWith(Notification)(notificationWire(message))

/** `unread_count` is `int32` on the original wire: it saturates at 2^31 − 1. */
export const getNotificationsResponseToProto = (
  page: NotificationsResponse,
  recipient: UserId
): NotificationPb.GetNotificationsResponse =>
  create(NotificationPb.GetNotificationsResponseSchema, {
    notifications: page.notifications.map((notification) => notificationToProto(notification, recipient)),
    unreadCount: toInt32(page.unread_count),
    nextCursor: page.next_cursor ?? ""
  })

export const getNotificationsResponseFromProto = (
  message: NotificationPb.GetNotificationsResponse
): Effect.Effect<NotificationsResponse, BadRequest> =>
  decodeWith(NotificationsResponse)({
    notifications: message.notifications.map(notificationWire),
    unread_count: message.unreadCount,
    next_cursor: emptyAsNull(message.nextCursor)
  })

