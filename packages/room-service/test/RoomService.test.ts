/**
 * The room service's rules (API.md §4) through its RPC group, in process: the real handlers,
 * domain and PostgreSQL repository on a fresh migrated database, called through an RPC client
 * so typed errors cross the same boundary the gateway sees.
 */
import { randomBytes, randomUUID } from "node:crypto"
import { describe, expect, layer } from "@effect/vitest"
import { Context, Effect, Layer, Metric } from "effect"
import type { RpcClient, RpcClientError } from "effect/rpc"
import { SqlClient } from "effect/sql/SqlClient"
import { RoomId, UserId } from "@pylon/contracts/Ids"
import { RoomRpcs } from "@pylon/contracts/RoomRpcs"
import type { Room, RoomType } from "@pylon/contracts/Rooms"
import { formatTimestamp } from "@pylon/contracts/Time"
import { roomsCreated } from "@pylon/platform/observability/OriginalMetrics"
import { inProcessClientLayer } from "@pylon/platform/rpc/InternalRpc"
import { TestDatabase } from "@pylon/testkit/TestDatabase"
import { escapeLikePattern } from "../src/PgRoomRepository.ts"
import { RoomHandlersLive } from "../src/RoomHandlers.ts"
import { directKeyOf } from "../src/RoomRepository.ts"
import { RoomServiceLive } from "../src/RoomServiceApp.ts"

class Rooms extends Context.Service<Rooms, RpcClient.FromGroup<typeof RoomRpcs, RpcClientError.RpcClientError>>()(
  "pylon/room/test/Rooms"
) {}

const TestLayer = inProcessClientLayer(Rooms, RoomRpcs).pipe(
  Layer.provide(RoomHandlersLive),
  Layer.provide(RoomServiceLive),
  Layer.provideMerge(TestDatabase)
)

/** A user row inserted directly (the room service only reads users). */
const newUser = (tag = "u") =>
  Effect.gen(function*() {
    const sql = yield* SqlClient
    const id = UserId.make(randomUUID())
    const username = `${tag}_${randomBytes(5).toString("hex")}`
    yield* sql`INSERT INTO users (id, username, email, password_hash, display_name)
      VALUES (${id}, ${username}, ${`${username}@example.com`}, 'hash', ${`Display ${username}`})`
    return { id, username }
  })

const createRoom = (
  userId: UserId,
  type: RoomType,
  memberIds: ReadonlyArray<UserId> = [],
  name = `room ${randomBytes(3).toString("hex")}`
) =>
  Effect.gen(function*() {
    const rooms = yield* Rooms
    return yield* rooms.CreateRoom({ user_id: userId, name, type, member_ids: memberIds })
  })

const roomCount = Effect.gen(function*() {
  const sql = yield* SqlClient
  const rows = yield* sql<{ readonly n: bigint }>`SELECT count(*) AS n FROM rooms`
  return Number(rows[0]?.n ?? 0)
})

const memberRoles = (roomId: RoomId) =>
  Effect.gen(function*() {
    const rooms = yield* Rooms
    const owner = yield* ownerOf(roomId)
    const members = yield* rooms.GetRoomMembers({ user_id: owner, room_id: roomId })
    return Object.fromEntries(members.map((m) => [m.user_id, m.role]))
  })

const ownerOf = (roomId: RoomId) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient
    const rows = yield* sql<{ readonly user_id: string }>`
      SELECT user_id FROM room_members WHERE room_id = ${roomId} AND role = 'owner'`
    return UserId.make(rows[0]?.user_id ?? "00000000-0000-0000-0000-000000000000")
  })

const unknownRoom = () => RoomId.make(randomUUID())

/** `pylon_rooms_created_total` per room_type (the process-wide registry; this file's tests run one at a time). */
const createdByType = Effect.gen(function*() {
  const counts: Record<string, number> = {}
  for (const room_type of ["direct", "group", "channel", "all"]) {
    const state = yield* Metric.value(Metric.withAttributes(roomsCreated, { room_type }))
    counts[room_type] = Number(state.count)
  }
  return counts
})

layer(TestLayer, { excludeTestServices: true, timeout: "60 seconds" })("RoomRpcs in process", (it) => {
  describe("CreateRoom", () => {
    it.effect("group: the creator is owner, others members; the Room shape is complete", () =>
      Effect.gen(function*() {
        const alice = yield* newUser("alice")
        const bob = yield* newUser("bob")
        const carol = yield* newUser("carol")
        const result = yield* createRoom(alice.id, "group", [bob.id, carol.id, alice.id], "Team")
        expect(result.created).toBe(true)
        const room = result.room
        expect(room.name).toBe("Team")
        expect(room.type).toBe("group")
        expect(room.created_by).toBe(alice.id)
        expect(room.member_count).toBe(3)
        expect(room.last_seq).toBe(0)
        expect(room.last_message_at).toBeNull()
        expect(formatTimestamp(room.created_at)).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
        expect(yield* memberRoles(room.id)).toEqual({ [alice.id]: "owner", [bob.id]: "member", [carol.id]: "member" })
      }))

    it.effect("pylon_rooms_created_total counts new rooms by their room_type, not a direct room found again", () =>
      Effect.gen(function*() {
        const alice = yield* newUser()
        const bob = yield* newUser()
        const before = yield* createdByType
        yield* createRoom(alice.id, "direct", [bob.id])
        yield* createRoom(bob.id, "direct", [alice.id]) // the same pair: found, not created
        yield* createRoom(alice.id, "group", [bob.id])
        yield* createRoom(alice.id, "group")
        yield* createRoom(alice.id, "channel")
        const after = yield* createdByType
        expect({
          direct: (after["direct"] ?? 0) - (before["direct"] ?? 0),
          group: (after["group"] ?? 0) - (before["group"] ?? 0),
          channel: (after["channel"] ?? 0) - (before["channel"] ?? 0),
          all: (after["all"] ?? 0) - (before["all"] ?? 0)
        }).toEqual({ direct: 1, group: 2, channel: 1, all: 0 })
      }))

    it.effect("group and channel may have no other members", () =>
      Effect.gen(function*() {
        const alice = yield* newUser()
        const group = yield* createRoom(alice.id, "group")
        const channel = yield* createRoom(alice.id, "channel", [alice.id])
        expect(group.room.member_count).toBe(1)
        expect(channel.room.member_count).toBe(1)
        expect(channel.room.type).toBe("channel")
      }))

    it.effect("an unknown member id is BadRequest naming it, and nothing is created", () =>
      Effect.gen(function*() {
        const alice = yield* newUser()
        const bob = yield* newUser()
        const ghost = UserId.make(randomUUID())
        const before = yield* roomCount
        for (const type of ["group", "channel", "direct"] as const) {
          const members = type === "direct" ? [ghost] : [bob.id, ghost]
          const error = yield* Effect.flip(createRoom(alice.id, type, members))
          expect(error._tag).toBe("BadRequest")
          if (error._tag === "BadRequest") expect(error.message).toContain(ghost)
        }
        expect(yield* roomCount).toBe(before)
        const sql = yield* SqlClient
        const orphans = yield* sql<{ readonly n: bigint }>`
          SELECT count(*) AS n FROM room_members WHERE user_id = ${bob.id}`
        expect(Number(orphans[0]?.n)).toBe(0)
      }))

    it.effect("direct needs exactly one other member (the creator does not count)", () =>
      Effect.gen(function*() {
        const alice = yield* newUser()
        const bob = yield* newUser()
        const carol = yield* newUser()
        const before = yield* roomCount
        for (const members of [[], [alice.id], [bob.id, carol.id]]) {
          const error = yield* Effect.flip(createRoom(alice.id, "direct", members))
          expect(error._tag).toBe("BadRequest")
        }
        expect(yield* roomCount).toBe(before)
      }))

    it.effect("direct is unique per pair: again (from either side) returns the existing room", () =>
      Effect.gen(function*() {
        const alice = yield* newUser()
        const bob = yield* newUser()
        const first = yield* createRoom(alice.id, "direct", [bob.id], "alice-bob")
        expect(first.created).toBe(true)
        expect(first.room.member_count).toBe(2)
        const again = yield* createRoom(alice.id, "direct", [bob.id, alice.id], "other name")
        expect(again).toMatchObject({ created: false, room: { id: first.room.id, name: "alice-bob" } })
        const reverse = yield* createRoom(bob.id, "direct", [alice.id])
        expect(reverse).toMatchObject({ created: false, room: { id: first.room.id } })
        const sql = yield* SqlClient
        const rows = yield* sql<{ readonly direct_key: string }>`SELECT direct_key FROM rooms WHERE id = ${first.room.id}`
        expect(rows[0]?.direct_key).toBe(directKeyOf(alice.id, bob.id))
        expect(yield* memberRoles(first.room.id)).toEqual({ [alice.id]: "owner", [bob.id]: "member" })
      }))

    it.effect("10 concurrent creations of one direct pair: one room, no failure", () =>
      Effect.gen(function*() {
        const alice = yield* newUser()
        const bob = yield* newUser()
        const results = yield* Effect.forEach(
          Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? [alice.id, bob.id] as const : [bob.id, alice.id] as const)),
          ([creator, other]) => createRoom(creator, "direct", [other], "race"),
          { concurrency: "unbounded" }
        )
        const ids = new Set(results.map((r) => r.room.id))
        expect(ids.size).toBe(1)
        expect(results.filter((r) => r.created)).toHaveLength(1)
        const sql = yield* SqlClient
        const rows = yield* sql<{ readonly n: bigint }>`
          SELECT count(*) AS n FROM rooms WHERE direct_key = ${directKeyOf(alice.id, bob.id)}`
        expect(Number(rows[0]?.n)).toBe(1)
        expect(results.every((r) => r.room.member_count === 2)).toBe(true)
      }))

    it.effect("a member who left a direct room is let back in when creating it again", () =>
      Effect.gen(function*() {
        const rooms = yield* Rooms
        const alice = yield* newUser()
        const bob = yield* newUser()
        const first = yield* createRoom(alice.id, "direct", [bob.id])
        yield* rooms.LeaveRoom({ user_id: bob.id, room_id: first.room.id })
        const again = yield* createRoom(bob.id, "direct", [alice.id])
        expect(again).toMatchObject({ created: false, room: { id: first.room.id, member_count: 2 } })
        expect(yield* memberRoles(first.room.id)).toEqual({ [alice.id]: "owner", [bob.id]: "member" })
      }))
  })

  describe("GetRoom / GetRoomMembers", () => {
    it.effect("members see the room; non-members of a group get NotRoomMember; channels are visible to anyone", () =>
      Effect.gen(function*() {
        const rooms = yield* Rooms
        const alice = yield* newUser()
        const bob = yield* newUser()
        const eve = yield* newUser()
        const group = (yield* createRoom(alice.id, "group", [bob.id])).room
        const direct = (yield* createRoom(alice.id, "direct", [bob.id])).room
        const channel = (yield* createRoom(alice.id, "channel")).room

        expect((yield* rooms.GetRoom({ user_id: bob.id, room_id: group.id })).id).toBe(group.id)
        for (const room of [group, direct]) {
          const error = yield* Effect.flip(rooms.GetRoom({ user_id: eve.id, room_id: room.id }))
          expect(error).toMatchObject({ _tag: "NotRoomMember", room_id: room.id })
        }
        const seen = yield* rooms.GetRoom({ user_id: eve.id, room_id: channel.id })
        expect(seen).toMatchObject({ id: channel.id, type: "channel", member_count: 1 })

        const missing = unknownRoom()
        expect(yield* Effect.flip(rooms.GetRoom({ user_id: alice.id, room_id: missing }))).toMatchObject({
          _tag: "RoomNotFound",
          room_id: missing
        })
      }))

    it.effect("members are listed with their profile and role; members only (channels too)", () =>
      Effect.gen(function*() {
        const rooms = yield* Rooms
        const alice = yield* newUser("alice")
        const bob = yield* newUser("bob")
        const eve = yield* newUser("eve")
        const group = (yield* createRoom(alice.id, "group", [bob.id])).room
        const members = yield* rooms.GetRoomMembers({ user_id: bob.id, room_id: group.id })
        expect(members).toHaveLength(2)
        const byId = new Map(members.map((m) => [m.user_id, m]))
        expect(byId.get(alice.id)).toMatchObject({
          username: alice.username,
          display_name: `Display ${alice.username}`,
          avatar_url: null,
          role: "owner"
        })
        expect(byId.get(bob.id)).toMatchObject({ username: bob.username, role: "member" })
        expect(formatTimestamp(members[0]!.joined_at)).toMatch(/Z$/)

        expect(yield* Effect.flip(rooms.GetRoomMembers({ user_id: eve.id, room_id: group.id }))).toMatchObject({
          _tag: "NotRoomMember"
        })
        const channel = (yield* createRoom(alice.id, "channel")).room
        expect(yield* Effect.flip(rooms.GetRoomMembers({ user_id: eve.id, room_id: channel.id }))).toMatchObject({
          _tag: "NotRoomMember"
        })
        expect(yield* Effect.flip(rooms.GetRoomMembers({ user_id: eve.id, room_id: unknownRoom() }))).toMatchObject({
          _tag: "RoomNotFound"
        })
      }))
  })

  describe("ListRooms", () => {
    it.effect("the caller's rooms only, newest activity first, with member_count and last_seq", () =>
      Effect.gen(function*() {
        const rooms = yield* Rooms
        const sql = yield* SqlClient
        const alice = yield* newUser()
        const bob = yield* newUser()
        const eve = yield* newUser()
        const older = (yield* createRoom(alice.id, "group", [bob.id], "older")).room
        const middle = (yield* createRoom(alice.id, "channel", [], "middle")).room
        const newest = (yield* createRoom(alice.id, "group", [], "newest")).room
        yield* createRoom(eve.id, "group", [], "not alice's")
        // Make creation times distinct and deterministic, then give `older` the latest message.
        yield* sql`UPDATE rooms SET created_at = now() - interval '3 hours' WHERE id = ${older.id}`
        yield* sql`UPDATE rooms SET created_at = now() - interval '2 hours' WHERE id = ${middle.id}`
        yield* sql`UPDATE rooms SET created_at = now() - interval '1 hour' WHERE id = ${newest.id}`
        const byCreation = yield* rooms.ListRooms({ user_id: alice.id })
        expect(byCreation.map((r) => r.name)).toEqual(["newest", "middle", "older"])

        yield* sql`UPDATE rooms SET last_seq = 42, last_message_at = now() WHERE id = ${older.id}`
        const listed = yield* rooms.ListRooms({ user_id: alice.id })
        expect(listed.map((r) => r.name)).toEqual(["older", "newest", "middle"])
        const top = listed[0] as Room
        expect(top.last_seq).toBe(42)
        expect(top.member_count).toBe(2)
        expect(top.last_message_at).not.toBeNull()

        expect((yield* rooms.ListRooms({ user_id: bob.id })).map((r) => r.name)).toEqual(["older"])
        const nobody = yield* newUser()
        expect(yield* rooms.ListRooms({ user_id: nobody.id })).toEqual([])
      }))

    it.effect("equal activity times fall back to id, descending", () =>
      Effect.gen(function*() {
        const rooms = yield* Rooms
        const sql = yield* SqlClient
        const alice = yield* newUser()
        const made = yield* Effect.forEach([1, 2, 3], (i) => createRoom(alice.id, "group", [], `same ${i}`))
        const ids = made.map((r) => r.room.id)
        yield* sql`UPDATE rooms SET created_at = '2026-01-01T00:00:00Z' WHERE id IN ${sql.in(ids)}`
        const listed = yield* rooms.ListRooms({ user_id: alice.id })
        expect(listed.map((r) => r.id)).toEqual([...ids].sort().reverse())
      }))
  })

  describe("JoinRoom", () => {
    it.effect("channels only, idempotent; others Forbidden; unknown RoomNotFound", () =>
      Effect.gen(function*() {
        const rooms = yield* Rooms
        const alice = yield* newUser()
        const bob = yield* newUser()
        const carol = yield* newUser()
        const channel = (yield* createRoom(alice.id, "channel")).room
        yield* rooms.JoinRoom({ user_id: bob.id, room_id: channel.id })
        yield* rooms.JoinRoom({ user_id: bob.id, room_id: channel.id })
        yield* rooms.JoinRoom({ user_id: alice.id, room_id: channel.id })
        expect((yield* rooms.GetRoom({ user_id: bob.id, room_id: channel.id })).member_count).toBe(2)
        expect(yield* memberRoles(channel.id)).toEqual({ [alice.id]: "owner", [bob.id]: "member" })

        const group = (yield* createRoom(alice.id, "group")).room
        const direct = (yield* createRoom(alice.id, "direct", [bob.id])).room
        for (const room of [group, direct]) {
          expect(yield* Effect.flip(rooms.JoinRoom({ user_id: carol.id, room_id: room.id }))).toMatchObject({
            _tag: "Forbidden"
          })
        }
        // Even a member "joining" a group again is refused: join is a channel operation.
        expect(yield* Effect.flip(rooms.JoinRoom({ user_id: alice.id, room_id: group.id }))).toMatchObject({
          _tag: "Forbidden"
        })
        expect((yield* rooms.GetRoom({ user_id: alice.id, room_id: group.id })).member_count).toBe(1)
        expect(yield* Effect.flip(rooms.JoinRoom({ user_id: carol.id, room_id: unknownRoom() }))).toMatchObject({
          _tag: "RoomNotFound"
        })
      }))

    it.effect("concurrent joins of one user are one membership", () =>
      Effect.gen(function*() {
        const rooms = yield* Rooms
        const alice = yield* newUser()
        const bob = yield* newUser()
        const channel = (yield* createRoom(alice.id, "channel")).room
        yield* Effect.forEach(Array.from({ length: 8 }), () => rooms.JoinRoom({ user_id: bob.id, room_id: channel.id }), {
          concurrency: "unbounded",
          discard: true
        })
        expect((yield* rooms.GetRoom({ user_id: bob.id, room_id: channel.id })).member_count).toBe(2)
      }))
  })

  describe("LeaveRoom", () => {
    it.effect("non-member and unknown room are RoomNotFound", () =>
      Effect.gen(function*() {
        const rooms = yield* Rooms
        const alice = yield* newUser()
        const eve = yield* newUser()
        const channel = (yield* createRoom(alice.id, "channel")).room
        expect(yield* Effect.flip(rooms.LeaveRoom({ user_id: eve.id, room_id: channel.id }))).toMatchObject({
          _tag: "RoomNotFound",
          room_id: channel.id
        })
        expect(yield* Effect.flip(rooms.LeaveRoom({ user_id: eve.id, room_id: unknownRoom() }))).toMatchObject({
          _tag: "RoomNotFound"
        })
      }))

    it.effect("the owner may not leave while others remain; members may; the last owner may", () =>
      Effect.gen(function*() {
        const rooms = yield* Rooms
        const alice = yield* newUser()
        const bob = yield* newUser()
        const group = (yield* createRoom(alice.id, "group", [bob.id])).room
        const refused = yield* Effect.flip(rooms.LeaveRoom({ user_id: alice.id, room_id: group.id }))
        expect(refused._tag).toBe("Forbidden")
        expect((yield* rooms.GetRoom({ user_id: alice.id, room_id: group.id })).member_count).toBe(2)

        yield* rooms.LeaveRoom({ user_id: bob.id, room_id: group.id })
        expect(yield* Effect.flip(rooms.GetRoom({ user_id: bob.id, room_id: group.id }))).toMatchObject({
          _tag: "NotRoomMember"
        })
        expect((yield* rooms.ListRooms({ user_id: bob.id })).map((r) => r.id)).not.toContain(group.id)
        // Leaving twice: no longer a member.
        expect(yield* Effect.flip(rooms.LeaveRoom({ user_id: bob.id, room_id: group.id }))).toMatchObject({
          _tag: "RoomNotFound"
        })

        yield* rooms.LeaveRoom({ user_id: alice.id, room_id: group.id })
        const membership = yield* rooms.CheckMembership({ user_id: alice.id, room_id: group.id })
        expect(membership.role).toBeNull()
      }))

    it.effect("an owner leaving races a join: never an ownerless room with members left behind by the rule", () =>
      Effect.gen(function*() {
        const rooms = yield* Rooms
        const alice = yield* newUser()
        const bob = yield* newUser()
        const channel = (yield* createRoom(alice.id, "channel")).room
        const [left, joined] = yield* Effect.all([
          Effect.exit(rooms.LeaveRoom({ user_id: alice.id, room_id: channel.id })),
          Effect.exit(rooms.JoinRoom({ user_id: bob.id, room_id: channel.id }))
        ], { concurrency: "unbounded" })
        expect(joined._tag).toBe("Success")
        const members = yield* rooms.GetRoomMembers({ user_id: bob.id, room_id: channel.id })
        // Either the owner left first (bob alone, joined after) or was refused (both remain).
        expect(members.length).toBe(left._tag === "Success" ? 1 : 2)
      }))
  })

  describe("CheckMembership", () => {
    it.effect("room type, the caller's role (null for non-members) and last_seq", () =>
      Effect.gen(function*() {
        const rooms = yield* Rooms
        const sql = yield* SqlClient
        const alice = yield* newUser()
        const bob = yield* newUser()
        const eve = yield* newUser()
        const group = (yield* createRoom(alice.id, "group", [bob.id])).room
        yield* sql`UPDATE rooms SET last_seq = 7 WHERE id = ${group.id}`
        expect(yield* rooms.CheckMembership({ user_id: alice.id, room_id: group.id })).toEqual({
          room_id: group.id,
          room_type: "group",
          role: "owner",
          last_seq: 7
        })
        expect((yield* rooms.CheckMembership({ user_id: bob.id, room_id: group.id })).role).toBe("member")
        expect((yield* rooms.CheckMembership({ user_id: eve.id, room_id: group.id })).role).toBeNull()
        expect(yield* Effect.flip(rooms.CheckMembership({ user_id: eve.id, room_id: unknownRoom() }))).toMatchObject({
          _tag: "RoomNotFound"
        })
      }))
  })

  describe("ListChannels", () => {
    it.effect("channels only, name matched case-insensitively and literally, limited", () =>
      Effect.gen(function*() {
        const rooms = yield* Rooms
        const alice = yield* newUser()
        const eve = yield* newUser()
        const tag = randomBytes(4).toString("hex")
        yield* createRoom(alice.id, "channel", [], `General ${tag}`)
        yield* createRoom(alice.id, "channel", [], `general-${tag} random`)
        yield* createRoom(alice.id, "channel", [], `100% ${tag}`)
        yield* createRoom(alice.id, "channel", [], `a_b ${tag}`)
        yield* createRoom(alice.id, "group", [], `general ${tag} (group)`)

        const general = yield* rooms.ListChannels({ user_id: eve.id, q: `GENERAL`, limit: 100 })
        const names = general.map((r) => r.name).filter((name) => name.includes(tag))
        expect(names.sort()).toEqual([`General ${tag}`, `general-${tag} random`])
        expect(general.every((r) => r.type === "channel")).toBe(true)

        expect((yield* rooms.ListChannels({ user_id: eve.id, q: `% ${tag}`, limit: 100 })).map((r) => r.name)).toEqual([
          `100% ${tag}`
        ])
        expect((yield* rooms.ListChannels({ user_id: eve.id, q: `a_b ${tag}`, limit: 100 })).map((r) => r.name)).toEqual([
          `a_b ${tag}`
        ])
        // `_` is not a wildcard: "aXb" would match an unescaped pattern.
        expect(yield* rooms.ListChannels({ user_id: eve.id, q: `a_b${tag}`, limit: 100 })).toEqual([])
        expect(yield* rooms.ListChannels({ user_id: eve.id, q: tag, limit: 2 })).toHaveLength(2)
        expect((yield* rooms.ListChannels({ user_id: eve.id, limit: 100 })).length).toBeGreaterThanOrEqual(4)
      }))

    it("escapeLikePattern escapes %, _ and the escape character", () => {
      expect(escapeLikePattern("50%_a\\b")).toBe("50\\%\\_a\\\\b")
    })
  })
})
