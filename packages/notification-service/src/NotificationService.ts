/**
 * The notification domain (API.md §5a): turning a `message_created` event into stored
 * notifications (`NotificationRules`, membership from `RoomDirectory`, one idempotent batch per
 * event in `NotificationRepository`), announcing each new one live on its recipient's user
 * channel (`RealtimeBus`, `pylon:user:<id>`; every gateway node holding a socket of that user turns
 * it into a `notification` frame), and the owner-only reads and read marks behind the RPCs.
 *
 * Live delivery is best effort and at most once: a notification is announced once, when it is
 * first stored; a lost announcement (Redis down) is still in the user's list.
 */
import { Array as Arr, Context, Effect, Layer, Option } from "effect"
import type { BadRequest, Unavailable } from "@pylon/contracts/Errors"
import { NotificationNotFound } from "@pylon/contracts/Errors"
import type { MessageCreatedEvent } from "@pylon/contracts/Events"
import type { NotificationId, UserId } from "@pylon/contracts/Ids"
import type { Notification, NotificationsResponse, ReadAllResult } from "@pylon/contracts/Notifications"
import { encodeServerFrame } from "@pylon/contracts/WsFrames"
import { RealtimeBus } from "@pylon/platform/bus/RealtimeBus"
import { userChannel } from "@pylon/platform/bus/Channels"
import { mentionedUsernames, notificationsFor } from "./NotificationRules.ts"
import type { NotificationDraft } from "./NotificationRules.ts"
import { NotificationRepository } from "./NotificationRepository.ts"
import type { StoredNotification } from "./NotificationRepository.ts"
import { decodeCursor, encodeCursor } from "./PageCursor.ts"
import { RoomDirectory } from "./RoomDirectory.ts"

export interface ListQuery {
  readonly limit: number
  readonly cursor?: string | undefined
  readonly unread_only: boolean
}

export class NotificationService extends Context.Service<NotificationService, {
  /** Stores (and announces) the notifications of a new message; returns those stored now. */
  readonly notifyMessage: (event: MessageCreatedEvent) => Effect.Effect<ReadonlyArray<StoredNotification>, Unavailable>
  /** Stores (and announces) one notification; idempotent per (user, message). */
  readonly send: (draft: NotificationDraft) => Effect.Effect<Notification, Unavailable>
  /** One page of the user's notifications, newest first, with their unread count. */
  readonly list: (userId: UserId, query: ListQuery) => Effect.Effect<NotificationsResponse, BadRequest | Unavailable>
  /** Marks the user's own notification read; anyone else's is `NotificationNotFound`. */
  readonly markRead: (userId: UserId, id: NotificationId) => Effect.Effect<void, NotificationNotFound | Unavailable>
  readonly markAllRead: (userId: UserId) => Effect.Effect<ReadAllResult, Unavailable>
}>()("pylon/notification/NotificationService") {
  static readonly layer = Layer.effect(
    NotificationService,
    Effect.gen(function*() {
      const repository = yield* NotificationRepository
      const rooms = yield* RoomDirectory
      const bus = yield* RealtimeBus

      const announce = (stored: StoredNotification) =>
        bus.publish(
          userChannel(stored.user_id),
          encodeServerFrame({ type: "notification", notification: stored.notification })
        ).pipe(
          Effect.catchCause((cause) => Effect.logWarning("live notification not delivered (it stays in the list)", cause))
        )

      const announceAll = (stored: ReadonlyArray<StoredNotification>) =>
        Effect.forEach(stored, announce, { concurrency: 16, discard: true })

      const notifyMessage = Effect.fn("NotificationService.notifyMessage")(function*(event: MessageCreatedEvent) {
        yield* Effect.annotateCurrentSpan({
          "pylon.event_id": event.event_id,
          "pylon.room_id": event.data.room_id,
          "pylon.message_id": event.data.message_id
        })
        const room = yield* rooms.room(event.data.room_id, mentionedUsernames(event.data.content))
        // A room deleted since the message was sent has nobody left to notify.
        if (Option.isNone(room)) return []
        const drafts = notificationsFor(event.data, room.value)
        if (!Arr.isReadonlyArrayNonEmpty(drafts)) return []
        const stored = yield* repository.storeForEvent(event.event_id, drafts)
        yield* Effect.annotateCurrentSpan({ "pylon.notifications.stored": stored.length })
        yield* announceAll(stored)
        return stored
      })

      const send = Effect.fn("NotificationService.send")(function*(draft: NotificationDraft) {
        const { created, notification } = yield* repository.store(draft)
        if (created) yield* announce({ user_id: draft.user_id, notification })
        return notification
      })

      const list = Effect.fn("NotificationService.list")(function*(userId: UserId, query: ListQuery) {
        const after = query.cursor === undefined ? undefined : yield* decodeCursor(query.cursor)
        const [page, unread] = yield* Effect.all([
          repository.page(userId, { limit: query.limit, after, unreadOnly: query.unread_only }),
          repository.unreadCount(userId)
        ], { concurrency: 2 })
        return {
          notifications: page.notifications,
          unread_count: unread,
          next_cursor: Option.getOrNull(Option.map(page.next, encodeCursor))
        } satisfies NotificationsResponse
      })

      const markRead = Effect.fn("NotificationService.markRead")(function*(userId: UserId, id: NotificationId) {
        const found = yield* repository.markRead(userId, id)
        if (!found) return yield* new NotificationNotFound({ notification_id: id })
      })

      const markAllRead = Effect.fn("NotificationService.markAllRead")(function*(userId: UserId) {
        return { updated: yield* repository.markAllRead(userId) } satisfies ReadAllResult
      })

      return NotificationService.of({ notifyMessage, send, list, markRead, markAllRead })
    })
  )
}
