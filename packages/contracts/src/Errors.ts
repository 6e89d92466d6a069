/**
 * Domain errors: the typed failures services return and RPC carries across processes
 * (each is a `Schema.TaggedError`, so it is encoded on the wire and re-created on the caller).
 * `ErrorMapping.ts` maps every one to exactly one HTTP code and one WebSocket code.
 * Infrastructure trouble reaches callers only as `Unavailable`; bugs are defects, not errors.
 */
import { Schema } from "effect"
import { MessageId, NotificationId, RoomId } from "./Ids.ts"
import { Natural } from "./Numbers.ts"

/** Input the schema accepted but the domain rejects (e.g. an unknown user in `member_ids`). */
export class BadRequest extends Schema.TaggedError<BadRequest>()("BadRequest", {
  message: Schema.String
}) {}

/** Login failed. Deliberately says nothing about which part was wrong. */
export class InvalidCredentials extends Schema.TaggedError<InvalidCredentials>()("InvalidCredentials", {}) {}

/** Missing, invalid, expired or revoked credentials (tokens, refresh tokens, internal keys). */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", {
  message: Schema.String
}) {}

/** Authenticated but not allowed: joining a non-channel, the owner leaving a non-empty room… */
export class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", {
  message: Schema.String
}) {}

/** A unique value is taken (username, email). */
export class AlreadyExists extends Schema.TaggedError<AlreadyExists>()("AlreadyExists", {
  message: Schema.String
}) {}

/**
 * The room does not exist. Also what `LeaveRoom` returns for a caller who is not a member
 * (API.md §4: leave as non-member → 404).
 */
export class RoomNotFound extends Schema.TaggedError<RoomNotFound>()("RoomNotFound", {
  room_id: RoomId
}) {}

/** The room exists but the caller is not a member of it (403 / FORBIDDEN). */
export class NotRoomMember extends Schema.TaggedError<NotRoomMember>()("NotRoomMember", {
  room_id: RoomId
}) {}

/**
 * A message referenced as the `before_id` history cursor does not exist in the room. The
 * cursor is client input, so this is a 400, not a 404 (API.md §5).
 */
export class MessageNotFound extends Schema.TaggedError<MessageNotFound>()("MessageNotFound", {
  message_id: MessageId
}) {}

/** No such notification owned by the caller (someone else's is indistinguishable: 404). */
export class NotificationNotFound extends Schema.TaggedError<NotificationNotFound>()("NotificationNotFound", {
  notification_id: NotificationId
}) {}

/** A budget is spent; retry after the given number of seconds. */
export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  retry_after_seconds: Natural
}) {}

/** A dependency (PostgreSQL, Redis, Kafka, another service) is down or timed out. */
export class Unavailable extends Schema.TaggedError<Unavailable>()("Unavailable", {
  message: Schema.String
}) {}

export const DomainError = Schema.Union([
  BadRequest,
  InvalidCredentials,
  Unauthorized,
  Forbidden,
  AlreadyExists,
  RoomNotFound,
  NotRoomMember,
  MessageNotFound,
  NotificationNotFound,
  RateLimited,
  Unavailable
])
export type DomainError = typeof DomainError.Type
