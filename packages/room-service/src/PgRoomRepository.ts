/**
 * `RoomRepository` on PostgreSQL (tables of migrations/0003_rooms.sql). Rows are decoded with
 * `SqlSchema` at this edge: bigint counters become numbers, `timestamptz` dates become
 * `Timestamp`s; a row that does not decode is a bug (a defect), not a client error. SQL failures
 * are mapped here, once per statement (platform/SqlFailures.ts): `Unavailable` or a defect, and
 * `BadRequest` for the two statements carrying client text (room name, channel search).
 */
import { Effect, Layer, Option, Schema } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import * as SqlSchema from "effect/sql/SqlSchema"
import type { Unavailable } from "@pylon/contracts/Errors"
import { RoomId, UserId } from "@pylon/contracts/Ids"
import { Member, MemberRole, Room, RoomType } from "@pylon/contracts/Rooms"
import { timestampFromDate } from "@pylon/contracts/Time"
import { rowSchemaFailureToDefect, sqlFailureToDomainError, sqlFailureToUnavailable } from "@pylon/platform/sql/SqlFailures"
import type { NewMember, NewRoom, RoomAccess } from "./RoomRepository.ts"
import { DirectRoomTaken, RoomRepository } from "./RoomRepository.ts"

/** `bigint` (native client) or `number`, as a JS number; counters stay far below 2^53. */
const Count = Schema.Union([Schema.BigInt, Schema.Number])
const toNumber = (count: bigint | number): number => Number(count)

const RoomRow = Schema.Struct({
  id: RoomId,
  name: Schema.String,
  type: RoomType,
  created_by: UserId,
  created_at: Schema.Date,
  last_seq: Count,
  last_message_at: Schema.NullOr(Schema.Date),
  member_count: Count
})
type RoomRow = typeof RoomRow.Type

const AccessRow = Schema.Struct({ ...RoomRow.fields, role: Schema.NullOr(MemberRole) })

const MemberRow = Schema.Struct({
  user_id: UserId,
  username: Schema.String,
  display_name: Schema.NullOr(Schema.String),
  avatar_url: Schema.NullOr(Schema.String),
  role: MemberRole,
  joined_at: Schema.Date
})

const IdRow = Schema.Struct({ id: UserId })

const toRoom = (row: RoomRow): Room =>
  new Room({
    id: row.id,
    name: row.name,
    type: row.type,
    created_by: row.created_by,
    created_at: timestampFromDate(row.created_at),
    member_count: toNumber(row.member_count),
    last_seq: toNumber(row.last_seq),
    last_message_at: row.last_message_at === null ? null : timestampFromDate(row.last_message_at)
  })

/** `%`, `_` and the escape character itself match literally (used with `ESCAPE '\'`). */
export const escapeLikePattern = (text: string): string => text.replace(/[\\%_]/g, (c) => `\\${c}`)

const DIRECT_KEY_CONSTRAINT = "rooms_direct_key_key"

const AccessRequest = Schema.Struct({ roomId: RoomId, userId: UserId })
const ChannelSearchRequest = Schema.Struct({ query: Schema.OptionFromNullOr(Schema.String), limit: Schema.Number })

export const PgRoomRepository = Layer.effect(
  RoomRepository,
  Effect.gen(function*() {
    const sql = yield* SqlClient

    // Every room query selects the same columns; member_count is computed per room.
    const roomColumns = sql.literal(`
      r.id, r.name, r.type, r.created_by, r.created_at, r.last_seq, r.last_message_at,
      (SELECT count(*) FROM room_members c WHERE c.room_id = r.id) AS member_count`)

    const findUsers = SqlSchema.findAll({
      Request: Schema.Array(UserId),
      Result: IdRow,
      execute: (ids) => sql`SELECT id FROM users WHERE id IN ${sql.in(ids)}`
    })

    const findRoomByDirectKey = SqlSchema.findOneOption({
      Request: Schema.String,
      Result: RoomRow,
      execute: (directKey) => sql`SELECT ${roomColumns} FROM rooms r WHERE r.direct_key = ${directKey}`
    })

    const findAccessRow = SqlSchema.findOneOption({
      Request: AccessRequest,
      Result: AccessRow,
      execute: ({ roomId, userId }) =>
        sql`
          SELECT ${roomColumns}, m.role AS role
          FROM rooms r
          LEFT JOIN room_members m ON m.room_id = r.id AND m.user_id = ${userId}
          WHERE r.id = ${roomId}`
    })

    const findRoomsOfUser = SqlSchema.findAll({
      Request: UserId,
      Result: RoomRow,
      execute: (userId) =>
        sql`
          SELECT ${roomColumns}
          FROM rooms r
          JOIN room_members m ON m.room_id = r.id AND m.user_id = ${userId}
          ORDER BY coalesce(r.last_message_at, r.created_at) DESC, r.id DESC`
    })

    const findMembers = SqlSchema.findAll({
      Request: RoomId,
      Result: MemberRow,
      execute: (roomId) =>
        sql`
          SELECT m.user_id, u.username, u.display_name, u.avatar_url, m.role, m.joined_at
          FROM room_members m
          JOIN users u ON u.id = m.user_id
          WHERE m.room_id = ${roomId}
          ORDER BY m.joined_at, m.user_id`
    })

    const findChannels = SqlSchema.findAll({
      Request: ChannelSearchRequest,
      Result: RoomRow,
      execute: ({ limit, query }) =>
        query === null
          ? sql`
              SELECT ${roomColumns} FROM rooms r
              WHERE r.type = 'channel'
              ORDER BY coalesce(r.last_message_at, r.created_at) DESC, r.id DESC
              LIMIT ${limit}`
          : sql`
              SELECT ${roomColumns} FROM rooms r
              WHERE r.type = 'channel' AND r.name ILIKE ${`%${escapeLikePattern(query)}%`} ESCAPE '\\'
              ORDER BY coalesce(r.last_message_at, r.created_at) DESC, r.id DESC
              LIMIT ${limit}`
    })

    const findAccess = (roomId: RoomId, userId: UserId): Effect.Effect<Option.Option<RoomAccess>, Unavailable> =>
      findAccessRow({ roomId, userId }).pipe(
        Effect.map(Option.map((row): RoomAccess => ({ room: toRoom(row), role: row.role }))),
        rowSchemaFailureToDefect,
        sqlFailureToUnavailable
      )

    return RoomRepository.of({
      transaction: (effect) => sqlFailureToUnavailable(sql.withTransaction(effect)),

      missingUsers: Effect.fn("RoomRepository.missingUsers")(function*(ids: ReadonlyArray<UserId>) {
        if (ids.length === 0) return []
        const found = yield* findUsers(ids)
        const known = new Set(found.map((row) => row.id))
        return ids.filter((id) => !known.has(id))
      }, rowSchemaFailureToDefect, sqlFailureToUnavailable),

      insertRoom: Effect.fn("RoomRepository.insertRoom")(function*(room: NewRoom) {
        yield* sql`
          INSERT INTO rooms (id, name, type, created_by, direct_key)
          VALUES (${room.id}, ${room.name}, ${room.type}, ${room.created_by}, ${room.direct_key})`.pipe(
          Effect.catchIf(
            (error) => error.reason._tag === "UniqueViolation" && error.reason.constraint === DIRECT_KEY_CONSTRAINT,
            () => Effect.fail(new DirectRoomTaken({ direct_key: room.direct_key ?? "" }))
          )
        )
      }, sqlFailureToDomainError),

      addMembers: Effect.fn("RoomRepository.addMembers")(function*(roomId: RoomId, members: ReadonlyArray<NewMember>) {
        const [first, ...rest] = members.map((member) => ({ room_id: roomId, user_id: member.user_id, role: member.role }))
        if (first === undefined) return
        yield* sql`
          INSERT INTO room_members ${sql.insert([first, ...rest])}
          ON CONFLICT (room_id, user_id) DO NOTHING`
      }, sqlFailureToUnavailable),

      findByDirectKey: (directKey) =>
        findRoomByDirectKey(directKey).pipe(
          Effect.map(Option.map(toRoom)),
          rowSchemaFailureToDefect,
          sqlFailureToUnavailable,
          Effect.withSpan("RoomRepository.findByDirectKey")
        ),

      findAccess: (roomId, userId) => findAccess(roomId, userId).pipe(Effect.withSpan("RoomRepository.findAccess")),

      lockAccess: Effect.fn("RoomRepository.lockAccess")(function*(roomId: RoomId, userId: UserId) {
        // A separate statement after the lock, so the member count reflects everything that
        // committed while we waited (one statement would keep its earlier snapshot).
        yield* sqlFailureToUnavailable(sql`SELECT id FROM rooms WHERE id = ${roomId} FOR UPDATE`)
        return yield* findAccess(roomId, userId)
      }),

      listForUser: (userId) =>
        findRoomsOfUser(userId).pipe(
          Effect.map((rows) => rows.map(toRoom)),
          rowSchemaFailureToDefect,
          sqlFailureToUnavailable,
          Effect.withSpan("RoomRepository.listForUser")
        ),

      listMembers: (roomId) =>
        findMembers(roomId).pipe(
          Effect.map((rows) =>
            rows.map((row) => new Member({ ...row, joined_at: timestampFromDate(row.joined_at) }))
          ),
          rowSchemaFailureToDefect,
          sqlFailureToUnavailable,
          Effect.withSpan("RoomRepository.listMembers")
        ),

      removeMember: (roomId, userId) =>
        sql`DELETE FROM room_members WHERE room_id = ${roomId} AND user_id = ${userId}`.pipe(
          Effect.asVoid,
          sqlFailureToUnavailable,
          Effect.withSpan("RoomRepository.removeMember")
        ),

      searchChannels: (query, limit) =>
        findChannels({ query, limit }).pipe(
          Effect.map((found) => found.map(toRoom)),
          rowSchemaFailureToDefect,
          sqlFailureToDomainError,
          Effect.withSpan("RoomRepository.searchChannels")
        )
    })
  })
)
