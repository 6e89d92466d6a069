/**
 * The notification store's port. Writes are idempotent per (user, message): storing a message's
 * notifications again stores nothing and returns nothing, so a redelivered event neither
 * duplicates rows nor re-announces them. Reads are keyset pages, newest first, on
 * `(created_at, id)`. Adapters map infrastructure failures to `Unavailable` (or defects).
 */
import { Context } from "effect"
import type { Array as Arr, Effect, Option } from "effect"
import type { BadRequest, Unavailable } from "@pylon/contracts/Errors"
import type { EventId, NotificationId, UserId } from "@pylon/contracts/Ids"
import type { Notification } from "@pylon/contracts/Notifications"
import type { NotificationDraft } from "./NotificationRules.ts"

/** A position in a user's list: the `(created_at, id)` of the last notification of a page. */
export interface PageKey {
  /** `created_at` with microseconds, UTC: `2026-06-23T00:00:00.123456Z`. */
  readonly createdAt: string
  readonly id: NotificationId
}

/** A notification and its recipient. */
export interface StoredNotification {
  readonly user_id: UserId
  readonly notification: Notification
}

export interface PageRequest {
  readonly limit: number
  /** Start after this key (exclusive); from the newest when absent. */
  readonly after: PageKey | undefined
  readonly unreadOnly: boolean
}

export interface NotificationPage {
  readonly notifications: ReadonlyArray<Notification>
  /** The key to continue after, when more notifications follow. */
  readonly next: Option.Option<PageKey>
}

export class NotificationRepository extends Context.Service<NotificationRepository, {
  /**
   * Stores the notifications of one event in one statement; drafts whose (user, message) is
   * already stored are skipped. Returns only the notifications stored now.
   */
  readonly storeForEvent: (
    eventId: EventId,
    drafts: Arr.NonEmptyReadonlyArray<NotificationDraft>
  ) => Effect.Effect<ReadonlyArray<StoredNotification>, Unavailable>
  /**
   * Stores one notification; for a (user, message) stored before, returns that one instead.
   * `created` says which happened.
   */
  readonly store: (
    draft: NotificationDraft
  ) => Effect.Effect<{ readonly notification: Notification; readonly created: boolean }, Unavailable>
  /** `BadRequest` when PostgreSQL refuses the client's cursor key (SQLSTATE class 22 backstop). */
  readonly page: (userId: UserId, request: PageRequest) => Effect.Effect<NotificationPage, BadRequest | Unavailable>
  readonly unreadCount: (userId: UserId) => Effect.Effect<number, Unavailable>
  /** Marks the user's notification read (again is fine); false when the user has no such notification. */
  readonly markRead: (userId: UserId, id: NotificationId) => Effect.Effect<boolean, Unavailable>
  /** Marks every unread notification of the user read; returns how many changed. */
  readonly markAllRead: (userId: UserId) => Effect.Effect<number, Unavailable>
}>()("pylon/notification/NotificationRepository") {}
