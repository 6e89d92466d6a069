/**
 * Test fixtures for the notification service: users, rooms and memberships written with plain
 * SQL (as the auth and room services would), `message_created` events and their log records,
 * and reads of the `notifications` table.
 */
import { DateTime, Effect, Schema } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import { encodeMessageCreatedEvent, EVENT_TYPE_HEADER, MessageCreatedEvent } from "@pylon/contracts/Events"
import { EventId, MessageId, RoomId, UserId } from "@pylon/contracts/Ids"
import type { RoomType } from "@pylon/contracts/Rooms"
import type { EventRecord } from "@pylon/platform/events/EventPublisher"
import { newId } from "@pylon/platform/runtime/IdGenerator"

export interface TestUser {
  readonly id: UserId
  readonly username: string
}

/** A user row (no working password: these tests never log in). */
export const createUser = Effect.fn("test.createUser")(function*(tag = "u") {
  const sql = yield* SqlClient
  const id = UserId.make(yield* newId)
  const username = `${tag}_${id.slice(-12)}`
  yield* sql`INSERT INTO users (id, username, email, password_hash)
             VALUES (${id}, ${username}, ${`${username}@example.com`}, 'not-a-hash')`
  return { id, username } satisfies TestUser
})

/** A room of `type` owned by `owner` (a member) with `members`. */
export const createRoom = Effect.fn("test.createRoom")(function*(
  type: RoomType,
  owner: TestUser,
  members: ReadonlyArray<TestUser>
) {
  const sql = yield* SqlClient
  const id = RoomId.make(yield* newId)
  const [first, second] = [owner.id, members[0]?.id ?? owner.id].sort()
  const directKey = type === "direct" ? `${first}:${second}` : null
  yield* sql`INSERT INTO rooms (id, name, type, created_by, direct_key)
             VALUES (${id}, ${`${type} room`}, ${type}, ${owner.id}, ${directKey})`
  yield* sql`INSERT INTO room_members (room_id, user_id, role) VALUES (${id}, ${owner.id}, 'owner')`
  for (const member of members) {
    yield* sql`INSERT INTO room_members (room_id, user_id, role) VALUES (${id}, ${member.id}, 'member')`
  }
  return id
})

/** A `message_created` event as the chat service writes it (a fresh message and event id). */
export const messageEvent = Effect.fn("test.messageEvent")(function*(
  roomId: RoomId,
  sender: TestUser,
  content: string,
  seq: number = 1
) {
  const now = yield* DateTime.now
  return new MessageCreatedEvent({
    event_id: EventId.make(yield* newId),
    event_type: "message_created",
    version: 1,
    timestamp: now,
    data: {
      message_id: MessageId.make(yield* newId),
      room_id: roomId,
      seq,
      sender_id: sender.id,
      sender_username: sender.username,
      content,
      type: "text",
      created_at: now
    }
  })
})

/** The log record of `event`, as the outbox relay publishes it. */
export const eventRecord = (topic: string, event: MessageCreatedEvent, headers: Record<string, string> = {}): EventRecord => ({
  topic,
  key: event.data.room_id,
  value: encodeMessageCreatedEvent(event),
  headers: { [EVENT_TYPE_HEADER]: "message_created", ...headers }
})

const NotificationRow = Schema.Struct({
  user_id: Schema.String,
  message_id: Schema.NullOr(Schema.String),
  event_id: Schema.NullOr(Schema.String),
  type: Schema.String,
  title: Schema.String,
  body: Schema.String
})
export type NotificationRow = typeof NotificationRow.Type
const decodeRows = Schema.decodeUnknownEffect(Schema.Array(NotificationRow))

/** Every notification row of the database, oldest first. */
export const allNotifications = Effect.gen(function*() {
  const sql = yield* SqlClient
  return yield* sql`
    SELECT user_id, message_id, event_id, type, title, body FROM notifications ORDER BY created_at, id`.pipe(
    Effect.flatMap(decodeRows),
    Effect.orDie
  )
})

/** The rows of the given messages. */
export const notificationsOf = (messageIds: ReadonlyArray<string>) =>
  Effect.map(allNotifications, (rows) => rows.filter((row) => row.message_id !== null && messageIds.includes(row.message_id)))
