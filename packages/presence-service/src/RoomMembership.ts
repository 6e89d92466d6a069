/**
 * Who belongs to a room, read straight from PostgreSQL (`room_members`, migrations/0003_rooms.sql):
 * the presence service shares the room service's database and needs nothing else from it.
 */
import { Context, Effect, Layer, Option, Schema } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import type { Unavailable } from "@pylon/contracts/Errors"
import type { RoomId } from "@pylon/contracts/Ids"
import { UserId } from "@pylon/contracts/Ids"
import { sqlFailureToUnavailable } from "@pylon/platform/SqlFailures"

// One row per member; a room without members yields one row with user_id NULL (LEFT JOIN).
const MemberRows = Schema.Array(Schema.Struct({ user_id: Schema.NullOr(UserId) }))
const decodeMemberRows = Schema.decodeUnknownEffect(MemberRows)

export class RoomMembership extends Context.Service<RoomMembership, {
  /** The room's members, oldest first; `None` when the room does not exist. */
  readonly members: (roomId: RoomId) => Effect.Effect<Option.Option<ReadonlyArray<UserId>>, Unavailable>
}>()("pylon/presence/RoomMembership") {
  static readonly layer = Layer.effect(
    RoomMembership,
    Effect.gen(function*() {
      const sql = yield* SqlClient
      const members = Effect.fn("RoomMembership.members")(function*(roomId: RoomId) {
        const rows = yield* sql`
          SELECT m.user_id FROM rooms r
          LEFT JOIN room_members m ON m.room_id = r.id
          WHERE r.id = ${roomId}
          ORDER BY m.joined_at, m.user_id`.pipe(
          sqlFailureToUnavailable,
          // A row that does not decode is a bug, not a client error.
          Effect.flatMap((result) => Effect.orDie(decodeMemberRows(result)))
        )
        if (rows.length === 0) return Option.none()
        return Option.some(rows.flatMap((row) => (row.user_id === null ? [] : [row.user_id])))
      })
      return RoomMembership.of({ members })
    })
  )
}
