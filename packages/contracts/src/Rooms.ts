/** Rooms and membership (API.md §4): entities, request bodies and response bodies. */
import { Effect, Schema, SchemaGetter } from "effect"
import { RoomId, UserId } from "./Ids.ts"
import { Natural } from "./Numbers.ts"
import { LimitParam, optionalParam } from "./QueryParams.ts"
import { isWithoutNul } from "./Text.ts"
import { Timestamp } from "./Time.ts"

export const RoomType = Schema.Literals(["direct", "group", "channel"]).annotate({
  message: "must be one of direct, group, channel"
})
export type RoomType = typeof RoomType.Type

export const MemberRole = Schema.Literals(["owner", "admin", "member"])
export type MemberRole = typeof MemberRole.Type

export class Room extends Schema.Class<Room>("Room")({
  id: RoomId,
  name: Schema.String,
  type: RoomType,
  created_by: UserId,
  created_at: Timestamp,
  member_count: Natural,
  last_seq: Natural,
  last_message_at: Schema.NullOr(Timestamp)
}) {}

export class Member extends Schema.Class<Member>("Member")({
  user_id: UserId,
  username: Schema.String,
  display_name: Schema.NullOr(Schema.String),
  avatar_url: Schema.NullOr(Schema.String),
  role: MemberRole,
  joined_at: Timestamp
}) {}

/** A room name: trimmed on decode, then 1–255 characters, no NUL. */
export const RoomName = Schema.Trim.check(
  isWithoutNul(),
  Schema.isBetweenCodePoints(1, 255, { message: "must be 1–255 characters after trimming" })
)

const dedupe = <A>(items: ReadonlyArray<A>): ReadonlyArray<A> => Array.from(new Set(items))

/** At most this many distinct ids in `member_ids` (the room service checks and adds each). */
export const MAX_MEMBER_IDS = 1000

/**
 * `member_ids`: missing → `[]`; duplicates dropped (first occurrence kept), then at most
 * `MAX_MEMBER_IDS` distinct ids (copies of one id do not count against the limit).
 */
export const MemberIds = Schema.Array(UserId).pipe(
  Schema.decode({
    decode: SchemaGetter.transform(dedupe),
    encode: SchemaGetter.passthrough()
  }),
  Schema.check(
    Schema.isUnique(),
    Schema.isMaxLength(MAX_MEMBER_IDS, { message: `must have at most ${MAX_MEMBER_IDS} items` })
  ),
  Schema.withDecodingDefaultKey(Effect.succeed([]))
)

/**
 * `POST /rooms` body. The creator is not excluded here (the schema does not know who is
 * calling); the room service drops the caller's own id and checks `direct` has one other member.
 */
export const CreateRoomRequest = Schema.Struct({
  name: RoomName,
  type: RoomType,
  member_ids: MemberIds
})
export type CreateRoomRequest = typeof CreateRoomRequest.Type

export const RoomResponse = Schema.Struct({ room: Room })
export type RoomResponse = typeof RoomResponse.Type

export const RoomsResponse = Schema.Struct({ rooms: Schema.Array(Room) })
export type RoomsResponse = typeof RoomsResponse.Type

export const MembersResponse = Schema.Struct({ members: Schema.Array(Member) })
export type MembersResponse = typeof MembersResponse.Type

export const JoinResult = Schema.Struct({ joined: Schema.Literal(true) })
export type JoinResult = typeof JoinResult.Type

export const LeaveResult = Schema.Struct({ left: Schema.Literal(true) })
export type LeaveResult = typeof LeaveResult.Type

/** `GET /channels?q=&limit=` **(later)**: `q` trimmed, ≤ 255, no NUL; `limit` default 20, max 100. */
export const ChannelsQuery = Schema.Struct({
  q: optionalParam(
    Schema.Trim.check(isWithoutNul(), Schema.isBetweenLength(1, 255, { message: "must be at most 255 characters" }))
  ),
  limit: LimitParam({ default: 20, max: 100 })
})
export type ChannelsQuery = typeof ChannelsQuery.Type
