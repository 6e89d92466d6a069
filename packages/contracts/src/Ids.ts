/**
 * Identifiers that cross process boundaries. Every entity id is a UUID in its canonical
 * lower-case 8-4-4-4-12 form (time-ordered v7 recommended, any version accepted), branded so a
 * `RoomId` can never be passed where a `UserId` is expected. Decoding lower-cases the input,
 * so `A1B2…` from a URL and `a1b2…` from PostgreSQL compare equal as plain strings.
 */
import { Schema, SchemaGetter } from "effect"
import { isWithoutNul } from "./Text.ts"

// Canonical form only: PostgreSQL prints uuids like this, and ids are used as map/channel keys.
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** A canonical lower-case UUID string; the base of every branded id below. */
export const Uuid = Schema.String.pipe(
  Schema.decode({
    decode: SchemaGetter.toLowerCase(),
    encode: SchemaGetter.passthrough()
  })
).check(Schema.isPattern(CANONICAL_UUID, { message: "must be a UUID", expected: "a UUID" }))

export const UserId = Uuid.pipe(Schema.brand("UserId"))
export type UserId = typeof UserId.Type

export const RoomId = Uuid.pipe(Schema.brand("RoomId"))
export type RoomId = typeof RoomId.Type

export const MessageId = Uuid.pipe(Schema.brand("MessageId"))
export type MessageId = typeof MessageId.Type

export const NotificationId = Uuid.pipe(Schema.brand("NotificationId"))
export type NotificationId = typeof NotificationId.Type

export const EventId = Uuid.pipe(Schema.brand("EventId"))
export type EventId = typeof EventId.Type

/** A login session, i.e. one refresh-token family; access tokens carry it as `sid`. */
export const SessionId = Uuid.pipe(Schema.brand("SessionId"))
export type SessionId = typeof SessionId.Type

/** The client's idempotency key for a send (API.md §6): 1–64 characters, no NUL, kept verbatim. */
export const ClientMsgId = Schema.String.check(
  isWithoutNul(),
  Schema.isBetweenLength(1, 64, { message: "must be 1–64 characters" })
).pipe(Schema.brand("ClientMsgId"))
export type ClientMsgId = typeof ClientMsgId.Type
