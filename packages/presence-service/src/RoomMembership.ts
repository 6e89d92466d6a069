/**
 * Who belongs to a room, read straight from PostgreSQL (`room_members`, migrations/0003_rooms.sql):
 * the presence service shares the room service's database and needs nothing else from it. This is
 * the one module through which presence reads a table it does not own (docs/architecture.md).
 */
import { Context, Effect, Layer, Option, Schema } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import * as SqlSchema from "effect/sql/SqlSchema"
import type { Unavailable } from "@pylon/contracts/Errors"
import { RoomId, UserId } from "@pylon/contracts/Ids"
import { rowSchemaFailureToDefect, sqlFailureToUnavailable } from "@pylon/platform/sql/SqlFailures"

// One row per member; a room without members yields one row with user_id NULL (LEFT JOIN).
const MemberRow = Schema.Struct({ user_id: Schema.NullOr(UserId) })

export class RoomMembership extends Context.Service<RoomMembership, {
  /** The room's members, oldest first; `None` when the room does not exist. */
  readonly members: (roomId: RoomId) => Effect.Effect<Option.Option<ReadonlyArray<UserId>>, Unavailable>
}>()("pylon/presence/RoomMembership") {
  static readonly layer = Layer.effect(
    RoomMembership,
    Effect.gen(function*() {
      const sql = yield* SqlClient
      const memberRows = SqlSchema.findAll({
        Request: RoomId,
        Result: MemberRow,
        execute: (roomId) =>
          sql`
            SELECT m.user_id FROM rooms r
            LEFT JOIN room_members m ON m.room_id = r.id
            WHERE r.id = ${roomId}
            ORDER BY m.joined_at, m.user_id`
      })
      const members = Effect.fn("RoomMembership.members")(function*(roomId: RoomId) {
        const rows = yield* memberRows(roomId)
        if (rows.length === 0) return Option.none()
        return Option.some(rows.flatMap((row) => (row.user_id === null ? [] : [row.user_id])))
      }, rowSchemaFailureToDefect, sqlFailureToUnavailable)
      return RoomMembership.of({ members })
    })
  )
}
