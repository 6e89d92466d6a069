/**
 * Rooms and the members a message may notify (type, name, member ids and usernames), read
 * straight from PostgreSQL (`rooms`, `room_members`, `users`): the service shares the room
 * service's database and needs nothing else from it. For a `channel` only the members whose
 * username is among the message's mentions are read (through the unique index on
 * `lower(username)`), so a message in a large channel costs what its mentions cost, not what
 * the channel's size costs. This is the one module through which the notification service reads
 * tables it does not own (docs/architecture.md).
 */
import { Context, Effect, Layer, Option, Schema } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import * as SqlSchema from "effect/sql/SqlSchema"
import type { Unavailable } from "@pylon/contracts/Errors"
import { RoomId, UserId } from "@pylon/contracts/Ids"
import { RoomType } from "@pylon/contracts/Rooms"
import { rowSchemaFailureToDefect, sqlFailureToUnavailable } from "@pylon/platform/sql/SqlFailures"
import type { RoomSnapshot } from "./NotificationRules.ts"

const RoomRow = Schema.Struct({ name: Schema.String, type: RoomType })
const MemberRow = Schema.Struct({ user_id: UserId, username: Schema.String })

export class RoomDirectory extends Context.Service<RoomDirectory, {
  /**
   * The room with the members a message mentioning `mentions` (lower-case usernames) may
   * notify: every member (oldest first) for `direct` and `group`, only the mentioned ones for a
   * `channel`. `None` when the room does not exist.
   */
  readonly room: (
    roomId: RoomId,
    mentions: ReadonlySet<string>
  ) => Effect.Effect<Option.Option<RoomSnapshot>, Unavailable>
}>()("pylon/notification/RoomDirectory") {
  static readonly layer = Layer.effect(
    RoomDirectory,
    Effect.gen(function*() {
      const sql = yield* SqlClient

      const roomRow = SqlSchema.findOneOption({
        Request: RoomId,
        Result: RoomRow,
        execute: (roomId) => sql`SELECT name, type FROM rooms WHERE id = ${roomId}`
      })
      const allMembers = SqlSchema.findAll({
        Request: RoomId,
        Result: MemberRow,
        execute: (roomId) =>
          sql`
            SELECT m.user_id, u.username FROM room_members m JOIN users u ON u.id = m.user_id
            WHERE m.room_id = ${roomId}
            ORDER BY m.joined_at, m.user_id`
      })
      const mentionedMembers = SqlSchema.findAll({
        Request: Schema.Struct({ roomId: RoomId, usernames: Schema.Array(Schema.String) }),
        Result: MemberRow,
        execute: ({ roomId, usernames }) =>
          sql`
            SELECT m.user_id, u.username FROM users u JOIN room_members m ON m.user_id = u.id AND m.room_id = ${roomId}
            WHERE lower(u.username) IN ${sql.in(usernames)}
            ORDER BY m.joined_at, m.user_id`
      })

      const room = Effect.fn("RoomDirectory.room")(function*(roomId: RoomId, mentions: ReadonlySet<string>) {
        const found = yield* roomRow(roomId)
        if (Option.isNone(found)) return Option.none()
        const { name, type } = found.value
        const snapshot = (members: ReadonlyArray<typeof MemberRow.Type>): Option.Option<RoomSnapshot> =>
          Option.some({ id: roomId, name, type, members })
        if (type !== "channel") return snapshot(yield* allMembers(roomId))
        if (mentions.size === 0) return snapshot([])
        return snapshot(yield* mentionedMembers({ roomId, usernames: [...mentions] }))
      }, rowSchemaFailureToDefect, sqlFailureToUnavailable)
      return RoomDirectory.of({ room })
    })
  )
}
