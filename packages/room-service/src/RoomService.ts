/**
 * The rules of rooms and membership (API.md §4): who may create, see, join and leave which
 * room. Depends only on the `RoomRepository` port, whose adapter already turned SQL failures
 * into `Unavailable` (unreachable database), `BadRequest` (a client value PostgreSQL refused:
 * room name, channel search) or defects (bugs), so no SQL type reaches this module.
 */
import { Context, Effect, Layer, Metric, Option } from "effect"
import type { CreateRoomResult, Membership } from "@pylon/contracts/RoomRpcs"
import { BadRequest, Forbidden, NotRoomMember, RoomNotFound } from "@pylon/contracts/Errors"
import type { Unavailable } from "@pylon/contracts/Errors"
import { RoomId } from "@pylon/contracts/Ids"
import type { UserId } from "@pylon/contracts/Ids"
import type { CreateRoomRequest, Member, Room } from "@pylon/contracts/Rooms"
import { roomsCreated } from "@pylon/platform/observability/OriginalMetrics"
import { newId } from "@pylon/platform/runtime/IdGenerator"
import type { NewMember } from "./RoomRepository.ts"
import { directKeyOf, RoomRepository } from "./RoomRepository.ts"

export interface ChannelSearch {
  /** Matched against channel names, case-insensitively and literally (`%`, `_` are not wildcards). */
  readonly q?: string | undefined
  readonly limit: number
}

export class RoomService extends Context.Service<RoomService, {
  /**
   * Creates a room with the caller as `owner` and `member_ids` (minus the caller) as members.
   * A `direct` room that already exists for the pair is returned with `created: false`.
   */
  readonly create: (userId: UserId, request: CreateRoomRequest) => Effect.Effect<CreateRoomResult, BadRequest | Unavailable>
  /** Members only; channels are visible to anyone. */
  readonly get: (userId: UserId, roomId: RoomId) => Effect.Effect<Room, RoomNotFound | NotRoomMember | Unavailable>
  /** The caller's rooms, newest activity first. */
  readonly list: (userId: UserId) => Effect.Effect<ReadonlyArray<Room>, Unavailable>
  /** Members only. */
  readonly members: (
    userId: UserId,
    roomId: RoomId
  ) => Effect.Effect<ReadonlyArray<Member>, RoomNotFound | NotRoomMember | Unavailable>
  /** Channels only; joining twice is a no-op. */
  readonly join: (userId: UserId, roomId: RoomId) => Effect.Effect<void, RoomNotFound | Forbidden | Unavailable>
  /** A non-member gets `RoomNotFound`; the owner may leave only as the last member. */
  readonly leave: (userId: UserId, roomId: RoomId) => Effect.Effect<void, RoomNotFound | Forbidden | Unavailable>
  readonly checkMembership: (userId: UserId, roomId: RoomId) => Effect.Effect<Membership, RoomNotFound | Unavailable>
  readonly listChannels: (search: ChannelSearch) => Effect.Effect<ReadonlyArray<Room>, BadRequest | Unavailable>
}>()("pylon/room/RoomService") {
  static readonly layer = Layer.effect(
    RoomService,
    Effect.gen(function*() {
      const repo = yield* RoomRepository

      /** The direct room of this pair, making sure the caller is (again) in it. */
      const existingDirect = (userId: UserId, directKey: string) =>
        Effect.gen(function*() {
          const found = yield* repo.findByDirectKey(directKey)
          if (Option.isNone(found)) return Option.none<CreateRoomResult>()
          const room = found.value
          // Someone who left their direct room and opens it again is let back in; the other
          // side is not re-added against their will.
          const access = yield* repo.findAccess(room.id, userId)
          if (Option.isSome(access) && access.value.role === null) {
            const role = room.created_by === userId ? "owner" : "member"
            yield* repo.addMembers(room.id, [{ user_id: userId, role }])
            const refreshed = yield* repo.findAccess(room.id, userId)
            return Option.some({ room: Option.getOrElse(Option.map(refreshed, (a) => a.room), () => room), created: false })
          }
          return Option.some({ room, created: false })
        })

      const insertNew = (userId: UserId, request: CreateRoomRequest, others: ReadonlyArray<UserId>, directKey: string | null) =>
        repo.transaction(Effect.gen(function*() {
          const missing = yield* repo.missingUsers(others)
          const unknown = missing[0]
          if (unknown !== undefined) {
            return yield* new BadRequest({ message: `member_ids: unknown user ${unknown}` })
          }
          const id = RoomId.make(yield* newId)
          yield* repo.insertRoom({ id, name: request.name, type: request.type, created_by: userId, direct_key: directKey })
          const members: ReadonlyArray<NewMember> = [
            { user_id: userId, role: "owner" },
            ...others.map((other): NewMember => ({ user_id: other, role: "member" }))
          ]
          yield* repo.addMembers(id, members)
          const access = yield* repo.findAccess(id, userId)
          if (Option.isNone(access)) return yield* Effect.die(new Error(`room ${id} vanished inside its own transaction`))
          return access.value.room
        }))

      const create = Effect.fn("RoomService.create")(function*(userId: UserId, request: CreateRoomRequest) {
        // The request schema already de-duplicates; a caller that skipped decoding can't break the insert.
        const others = Array.from(new Set(request.member_ids)).filter((id) => id !== userId)
        if (request.type !== "direct") {
          // Only direct rooms carry a direct_key, so this insert cannot collide on one.
          const room = yield* insertNew(userId, request, others, null).pipe(Effect.catchTag("DirectRoomTaken", Effect.die))
          return { room, created: true }
        }
        const other = others[0]
        if (other === undefined || others.length !== 1) {
          return yield* new BadRequest({ message: "member_ids: a direct room needs exactly one other member" })
        }
        const directKey = directKeyOf(userId, other)
        const existing = yield* existingDirect(userId, directKey)
        if (Option.isSome(existing)) return existing.value
        return yield* insertNew(userId, request, others, directKey).pipe(
          Effect.map((room): CreateRoomResult => ({ room, created: true })),
          // A concurrent creation of the same pair committed first: the database's unique
          // direct_key decided, and that room is the answer.
          Effect.catchTag("DirectRoomTaken", () =>
            existingDirect(userId, directKey).pipe(
              Effect.flatMap(Option.match({
                onSome: Effect.succeed,
                onNone: () => Effect.die(new Error(`direct room ${directKey} taken but not found`))
              }))
            ))
        )
      })

      /** The room and the caller's role; unknown rooms fail with `RoomNotFound`. */
      const accessOf = (userId: UserId, roomId: RoomId) =>
        repo.findAccess(roomId, userId).pipe(
          Effect.flatMap(Option.match({
            onNone: () => Effect.fail(new RoomNotFound({ room_id: roomId })),
            onSome: Effect.succeed
          }))
        )

      const get = Effect.fn("RoomService.get")(function*(userId: UserId, roomId: RoomId) {
        const { role, room } = yield* accessOf(userId, roomId)
        if (role === null && room.type !== "channel") return yield* new NotRoomMember({ room_id: roomId })
        return room
      })

      const list = Effect.fn("RoomService.list")(function*(userId: UserId) {
        return yield* repo.listForUser(userId)
      })

      const members = Effect.fn("RoomService.members")(function*(userId: UserId, roomId: RoomId) {
        const { role } = yield* accessOf(userId, roomId)
        if (role === null) return yield* new NotRoomMember({ room_id: roomId })
        return yield* repo.listMembers(roomId)
      })

      const join = Effect.fn("RoomService.join")(function*(userId: UserId, roomId: RoomId) {
        const { role, room } = yield* accessOf(userId, roomId)
        if (room.type !== "channel") return yield* new Forbidden({ message: "only channels can be joined" })
        if (role !== null) return
        yield* repo.addMembers(roomId, [{ user_id: userId, role: "member" }])
      })

      const leave = Effect.fn("RoomService.leave")(function*(userId: UserId, roomId: RoomId) {
        yield* repo.transaction(Effect.gen(function*() {
          const access = yield* repo.lockAccess(roomId, userId)
          if (Option.isNone(access) || access.value.role === null) {
            return yield* new RoomNotFound({ room_id: roomId })
          }
          const { role, room } = access.value
          if (role === "owner" && room.member_count > 1) {
            return yield* new Forbidden({ message: "the owner cannot leave while other members remain" })
          }
          yield* repo.removeMember(roomId, userId)
        }))
      })

      const checkMembership = Effect.fn("RoomService.checkMembership")(function*(userId: UserId, roomId: RoomId) {
        const { role, room } = yield* accessOf(userId, roomId)
        return { room_id: room.id, room_type: room.type, role, last_seq: room.last_seq } satisfies Membership
      })

      const listChannels = Effect.fn("RoomService.listChannels")(function*(search: ChannelSearch) {
        const q = Option.filter(Option.fromNullishOr(search.q), (text) => text.length > 0)
        return yield* repo.searchChannels(q, search.limit)
      })

      // pylon_rooms_created_total counts rooms that did not exist before (not a direct room found
      // again), by the new room's type (direct, group, channel).
      const createCounted = (userId: UserId, request: CreateRoomRequest) =>
        create(userId, request).pipe(Effect.tap((result) =>
          result.created ? Metric.update(Metric.withAttributes(roomsCreated, { room_type: result.room.type }), 1) : Effect.void
        ))

      return RoomService.of({ create: createCounted, get, list, members, join, leave, checkMembership, listChannels })
    })
  )
}
