/**
 * The room service's persistence port: rooms, their members and the user lookups creation
 * needs. Records come back as contract entities (`Room`, `Member`), so the domain never sees
 * SQL types, and failures come back as domain errors (`Unavailable`; `BadRequest` where a client
 * value reaches SQL), mapped once in the adapter; `PgRoomRepository` is the one adapter
 * (embedded mode runs the same SQL on PGlite).
 */
import { Context, Schema } from "effect"
import type { Effect, Option } from "effect"
import type { BadRequest, Unavailable } from "@pylon/contracts/Errors"
import type { RoomId, UserId } from "@pylon/contracts/Ids"
import type { Member, MemberRole, Room, RoomType } from "@pylon/contracts/Rooms"

/** Another `direct` room already holds this pair's `direct_key` (a concurrent creation won). */
export class DirectRoomTaken extends Schema.TaggedError<DirectRoomTaken>()("DirectRoomTaken", {
  direct_key: Schema.String
}) {}

export interface NewRoom {
  readonly id: RoomId
  readonly name: string
  readonly type: RoomType
  readonly created_by: UserId
  /** `'<smaller id>:<larger id>'` for `direct` rooms, `null` otherwise (see `directKeyOf`). */
  readonly direct_key: string | null
}

export interface NewMember {
  readonly user_id: UserId
  readonly role: MemberRole
}

/** A room as seen by one user: the room and that user's role in it (`null` if not a member). */
export interface RoomAccess {
  readonly room: Room
  readonly role: MemberRole | null
}

/** The one canonical key of a direct pair: lower-case ids, smaller first (JS string order). */
export const directKeyOf = (a: UserId, b: UserId): string => {
  const x = a.toLowerCase()
  const y = b.toLowerCase()
  return x < y ? `${x}:${y}` : `${y}:${x}`
}

export class RoomRepository extends Context.Service<RoomRepository, {
  /** Runs `effect` in one transaction (nested calls share it); a failure rolls it all back. */
  readonly transaction: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | Unavailable, R>
  /** The ids in `ids` that are not users, in the order given. */
  readonly missingUsers: (ids: ReadonlyArray<UserId>) => Effect.Effect<ReadonlyArray<UserId>, Unavailable>
  /** `BadRequest`: PostgreSQL refused the client's room name (a value the schemas let through). */
  readonly insertRoom: (room: NewRoom) => Effect.Effect<void, DirectRoomTaken | BadRequest | Unavailable>
  /** Adds members; ones already present keep their row (idempotent). */
  readonly addMembers: (roomId: RoomId, members: ReadonlyArray<NewMember>) => Effect.Effect<void, Unavailable>
  readonly findByDirectKey: (directKey: string) => Effect.Effect<Option.Option<Room>, Unavailable>
  /** The room with `member_count`, and the caller's role in it. */
  readonly findAccess: (roomId: RoomId, userId: UserId) => Effect.Effect<Option.Option<RoomAccess>, Unavailable>
  /**
   * Like `findAccess`, but locks the room row until the transaction ends, so no member can be
   * added meanwhile (their foreign-key check waits): the owner-leave rule counts a stable set.
   */
  readonly lockAccess: (roomId: RoomId, userId: UserId) => Effect.Effect<Option.Option<RoomAccess>, Unavailable>
  /** The user's rooms, newest activity first (`coalesce(last_message_at, created_at)`, then id). */
  readonly listForUser: (userId: UserId) => Effect.Effect<ReadonlyArray<Room>, Unavailable>
  /** Members with their profile, oldest membership first. */
  readonly listMembers: (roomId: RoomId) => Effect.Effect<ReadonlyArray<Member>, Unavailable>
  readonly removeMember: (roomId: RoomId, userId: UserId) => Effect.Effect<void, Unavailable>
  /** Channels whose name contains `query` (case-insensitive, taken literally), newest activity first. */
  readonly searchChannels: (
    query: Option.Option<string>,
    limit: number
  ) => Effect.Effect<ReadonlyArray<Room>, BadRequest | Unavailable>
}>()("pylon/room/RoomRepository") {}
