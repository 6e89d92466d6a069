/**
 * The chat service's SQL on tables another service owns (docs/architecture.md, "Who owns which
 * table"): `rooms` and `room_members` (room-service) and `users` (the gateway's auth). Chat
 * statements read them only through these fragments, so a schema change there has this file as
 * its checklist in the chat service. The one write, `rooms.last_seq` / `last_message_at`, is
 * here too: the per-room counter is bumped inside the send statement, which is what keeps seqs
 * gap-free (PgSendBatch.ts).
 *
 * Each fragment is interpolated into a larger statement (`sql\`… ${fragment} …\``); a column
 * reference of the surrounding statement is passed as `sql.literal("alias.column")`.
 */
import type { SqlClient } from "effect/sql/SqlClient"
import type { Fragment } from "effect/sql/Statement"
import type { RoomId } from "@pylon/contracts/Ids"

/** `rooms`: the room's row (`id` and `type`), or no row when the room does not exist. */
export const roomRow = (sql: SqlClient, roomId: RoomId) => sql`SELECT r.id, r.type FROM rooms r WHERE r.id = ${roomId}`

/**
 * `room_members`: whether `user` is a member of `room` (each a value, or a column of the
 * surrounding statement passed as `sql.literal("alias.column")`).
 */
export const isMember = (sql: SqlClient, room: RoomId | Fragment, user: unknown) =>
  sql`EXISTS (SELECT 1 FROM room_members rm WHERE rm.room_id = ${room} AND rm.user_id = ${user})`

/**
 * `rooms` (lock): the rows of the rooms in `roomIds` (a subquery of ids) with `id` and `type`,
 * locked in id order, so statements that lock several rooms (a send batch spanning rooms) take
 * the locks in one order and cannot deadlock one another.
 */
export const lockRoomRows = (sql: SqlClient, roomIds: Fragment) =>
  sql`SELECT r.id, r.type FROM rooms r WHERE r.id IN (${roomIds}) ORDER BY r.id FOR UPDATE`

/**
 * `rooms` (write): adds each `(room_id, n)` of `counts` to that room's `last_seq` and returns the
 * seq before the bump as `base`, per `room_id`. Lock the rows first (`lockRoomRows`).
 */
export const bumpLastSeqs = (sql: SqlClient, counts: Fragment) =>
  sql`UPDATE rooms r SET last_seq = r.last_seq + c.n, last_message_at = now()
      FROM (${counts}) c
      WHERE r.id = c.room_id AND c.n > 0
      RETURNING r.id AS room_id, r.last_seq - c.n AS base`

/** `users`: the sender's profile as `u`, joined on `senderId` (a column of the surrounding statement). */
export const senderJoin = (sql: SqlClient, senderId: string) => sql`users u ON u.id = ${sql.literal(senderId)}`

/** The sender profile columns of `senderJoin`'s `u`, in `MessageRow` order. */
export const SENDER_COLUMNS = "u.username, u.display_name, u.avatar_url"

/**
 * `senderJoin`'s `u` as the contract's `Sender` in its wire form (a JSON object, keys in
 * `Sender` order), for pages built as JSON in SQL.
 */
export const SENDER_JSON =
  "json_build_object('id', u.id, 'username', u.username, 'display_name', u.display_name, 'avatar_url', u.avatar_url)"
