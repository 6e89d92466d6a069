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

/** `room_members`: whether `user` (a value or a column of the surrounding statement) is a member. */
export const isMember = (sql: SqlClient, roomId: RoomId, user: unknown) =>
  sql`EXISTS (SELECT 1 FROM room_members rm WHERE rm.room_id = ${roomId} AND rm.user_id = ${user})`

/**
 * `rooms` (write): adds `count` to the room's `last_seq` when it is positive and returns the seq
 * before the bump as `base`; the row lock this takes serialises the room's send batches.
 */
export const bumpLastSeq = (sql: SqlClient, roomId: RoomId, count: Fragment) =>
  sql`UPDATE rooms r SET last_seq = r.last_seq + c.n, last_message_at = now()
      FROM (${count}) c
      WHERE r.id = ${roomId} AND c.n > 0
      RETURNING r.last_seq - c.n AS base`

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
