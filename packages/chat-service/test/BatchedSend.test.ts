/**
 * Group commit of sends on real PostgreSQL, one room and several rooms to a statement. To make a batch form deterministically, a test
 * transaction holds the room row (`FOR UPDATE`): the room's first send is then in flight,
 * blocked on that lock, while the test queues the next sends behind it; releasing the lock lets
 * the first batch commit and the queued sends go as one statement. Messages stored by the same
 * statement share their `xmin` (inserting transaction), which is how the tests count batches.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Metric, Option, Schema } from "effect"
import type { Scope } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import { BadRequest, NotRoomMember, RoomNotFound } from "@pylon/contracts/Errors"
import { MessageCreatedEvent } from "@pylon/contracts/Events"
import { ClientMsgId, MessageId, RoomId } from "@pylon/contracts/Ids"
import type { UserId } from "@pylon/contracts/Ids"
import { newId } from "@pylon/platform/runtime/IdGenerator"
import { TestDatabase } from "@pylon/testkit/TestDatabase"
import { makeBatchedSend, sendBatchSize } from "../src/BatchedSend.ts"
import { countRows, createRoom, createUser, lastSeqOf, messageCount, outboxCount } from "@pylon/testkit/ChatFixtures"


const message = (room_id: RoomId, sender_id: UserId, content: string, key: string | null = null) =>
  Effect.map(newId, (id) => ({
    id: MessageId.make(id),
    room_id,
    sender_id,
    content,
    msg_type: "text" as const,
    client_msg_id: key === null ? null : ClientMsgId.make(key)
  }))

/** Holds room `room_id`'s row lock in a transaction of its own until the returned effect is run. */
const holdRoomLock = (room_id: RoomId): Effect.Effect<Effect.Effect<void>, never, SqlClient | Scope.Scope> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient
    const locked = yield* Deferred.make<void>()
    const release = yield* Deferred.make<void>()
    yield* sql.withTransaction(Effect.gen(function*() {
      yield* sql`SELECT id FROM rooms WHERE id = ${room_id} FOR UPDATE`
      yield* Deferred.succeed(locked, undefined)
      yield* Deferred.await(release)
    })).pipe(Effect.orDie, Effect.forkScoped)
    yield* Deferred.await(locked)
    return Deferred.succeed(release, undefined).pipe(Effect.asVoid)
  })

/** Waits (generous deadline) until some backend of this database waits for a lock. */
const waitForLockWaiter = Effect.gen(function*() {
  while (
    (yield* countRows((sql) =>
      sql`SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock'`)) === 0
  ) yield* Effect.sleep("20 millis")
}).pipe(Effect.timeout("30 seconds"), Effect.orDie)

const waitQueued = (queued: (room: RoomId) => Effect.Effect<number>, room: RoomId, count: number) =>
  Effect.gen(function*() {
    while ((yield* queued(room)) < count) yield* Effect.sleep("5 millis")
  }).pipe(Effect.timeout("30 seconds"), Effect.orDie)

/** Distinct inserting transactions of the room's messages: one per batch statement. */
const statementsOf = (room: RoomId) =>
  countRows((sql) => sql`SELECT count(DISTINCT xmin::text)::int AS n FROM messages WHERE room_id = ${room}`)

/** The typed failure of an exit, if it failed with one. */
const errorOf = <A, E>(exit: Exit.Exit<A, E> | undefined): E | undefined =>
  exit === undefined ? undefined : Option.getOrUndefined(Exit.findErrorOption(exit))

/** The value of an exit that must have succeeded. */
const ok = <A, E>(exit: Exit.Exit<A, E> | undefined): A => {
  if (exit === undefined || Exit.isFailure(exit)) throw new Error(`expected success, got ${String(exit)}`)
  return exit.value
}

const OutboxPayload = Schema.Struct({ payload: Schema.Unknown })

layer(TestDatabase, { excludeTestServices: true, timeout: "90 seconds" })("BatchedSend", (it) => {
  describe("group commit", () => {
    it.effect("sends queued behind a room's batch are stored by ONE statement with consecutive seqs and one outbox row each", () =>
      Effect.scoped(Effect.gen(function*() {
        const sql = yield* SqlClient
        const { queued, send } = yield* makeBatchedSend(sql, { concurrency: 4 })
        const users = yield* Effect.forEach([1, 2, 3, 4], (i) => createUser(`g${i}`))
        const room = yield* createRoom(users[0]!.id, users.slice(1).map((u) => u.id))
        const release = yield* holdRoomLock(room)
        const first = yield* Effect.forkChild(send(yield* message(room, users[0]!.id, "first")))
        yield* waitForLockWaiter
        const inputs = yield* Effect.forEach(Array.from({ length: 40 }, (_, i) => i), (i) =>
          message(room, users[i % users.length]!.id, `queued ${i}`, `k${i}`))
        const rest = yield* Effect.forkChild(Effect.forEach(inputs, send, { concurrency: "unbounded" }))
        yield* waitQueued(queued, room, inputs.length)
        yield* release
        expect((yield* Fiber.join(first)).message.seq).toBe(1)
        const results = yield* Fiber.join(rest)
        // Submission order is seq order, consecutive after the first batch.
        expect(results.map((r) => r.message.seq)).toEqual(inputs.map((_, i) => i + 2))
        expect(results.every((r) => r.created)).toBe(true)
        expect(yield* statementsOf(room)).toBe(2)
        expect(yield* lastSeqOf(room)).toBe(41)
        expect(yield* messageCount(room)).toBe(41)
        expect(yield* outboxCount(room)).toBe(41)
        // Each outbox row is the contract event of its message (seq and username filled in by SQL).
        const rows = yield* sql`SELECT payload FROM outbox WHERE aggregate_key = ${room} ORDER BY id`
        const events = yield* Effect.forEach(
          yield* Schema.decodeUnknownEffect(Schema.Array(OutboxPayload))(rows),
          (row) => Schema.decodeUnknownEffect(MessageCreatedEvent)(row.payload)
        )
        expect(events.map((e) => e.data.seq)).toEqual(Array.from({ length: 41 }, (_, i) => i + 1))
        for (const result of results) {
          const event = events.find((e) => e.data.message_id === result.message.id)
          expect(event?.data).toEqual({
            message_id: result.message.id,
            room_id: room,
            seq: result.message.seq,
            sender_id: result.message.sender.id,
            sender_username: result.message.sender.username,
            content: result.message.content,
            type: "text",
            created_at: result.message.created_at
          })
        }
      })))

    it.effect("in one batch: a non-member is refused alone, a repeated key is stored once, a retry returns the original", () =>
      Effect.scoped(Effect.gen(function*() {
        const sql = yield* SqlClient
        const { queued, send } = yield* makeBatchedSend(sql, { concurrency: 4 })
        const alice = yield* createUser("alice")
        const bob = yield* createUser("bob")
        const mallory = yield* createUser("mallory")
        const room = yield* createRoom(alice.id, [bob.id])
        const original = yield* send(yield* message(room, alice.id, "original", "dup-0"))
        const release = yield* holdRoomLock(room)
        const blocked = yield* Effect.forkChild(send(yield* message(room, bob.id, "blocked")))
        yield* waitForLockWaiter
        const inputs = [
          yield* message(room, alice.id, "a1", "a-1"),
          yield* message(room, mallory.id, "not a member", "m-1"),
          yield* message(room, bob.id, "b1", "same"),
          yield* message(room, bob.id, "b1 again", "same"),
          yield* message(room, alice.id, "retry of the original", "dup-0"),
          yield* message(room, alice.id, "a2")
        ]
        const batch = yield* Effect.forkChild(Effect.forEach(inputs, (input) => Effect.exit(send(input)), { concurrency: "unbounded" }))
        yield* waitQueued(queued, room, inputs.length)
        yield* release
        yield* Fiber.join(blocked)
        const [a1, m1, b1, b1again, retry, a2] = yield* Fiber.join(batch)
        expect(errorOf(m1)).toEqual(new NotRoomMember({ room_id: room }))
        expect([ok(a1).message.seq, ok(b1).message.seq, ok(a2).message.seq]).toEqual([3, 4, 5])
        expect([ok(a1).created, ok(b1).created, ok(a2).created]).toEqual([true, true, true])
        // Every stored or found message comes with its room's type (createRoom makes a group).
        expect(ok(b1again)).toEqual({ message: ok(b1).message, created: false, room_type: "group" })
        expect(ok(retry)).toEqual({ message: original.message, created: false, room_type: "group" })
        expect([ok(a1).room_type, ok(b1).room_type, ok(a2).room_type]).toEqual(["group", "group", "group"])
        expect(yield* statementsOf(room)).toBe(3)
        expect(yield* lastSeqOf(room)).toBe(5)
        expect(yield* messageCount(room)).toBe(5)
        expect(yield* outboxCount(room)).toBe(5)
      })))

    it.effect("sends to several rooms waiting together go in ONE statement, each room's seqs consecutive in submission order", () =>
      Effect.scoped(Effect.gen(function*() {
        const sql = yield* SqlClient
        // One statement at a time: while room A's first send is in flight, everything else waits.
        const { queued, send } = yield* makeBatchedSend(sql, { concurrency: 1 })
        const sizesBefore = yield* Metric.value(sendBatchSize)
        const alice = yield* createUser("alice")
        const bob = yield* createUser("bob")
        const mallory = yield* createUser("mallory")
        const roomA = yield* createRoom(alice.id, [bob.id])
        const roomB = yield* createRoom(bob.id)
        const noRoom = RoomId.make(yield* newId)
        const release = yield* holdRoomLock(roomA)
        const blocked = yield* Effect.forkChild(send(yield* message(roomA, alice.id, "blocked")))
        yield* waitForLockWaiter
        const inputs = [
          yield* message(roomB, bob.id, "b1"),
          yield* message(roomA, alice.id, "a1", "a-1"),
          yield* message(noRoom, alice.id, "nowhere"),
          yield* message(roomB, mallory.id, "not a member of B"),
          yield* message(roomA, bob.id, "a2"),
          yield* message(roomB, bob.id, "b2", "b-2"),
          yield* message(roomA, alice.id, "a1 again", "a-1")
        ]
        const batch = yield* Effect.forkChild(Effect.forEach(inputs, (input) => Effect.exit(send(input)), { concurrency: "unbounded" }))
        yield* waitQueued(queued, roomB, 3)
        yield* waitQueued(queued, roomA, 3)
        yield* waitQueued(queued, noRoom, 1)
        yield* release
        yield* Fiber.join(blocked)
        const [b1, a1, nowhere, mallorys, a2, b2, a1again] = yield* Fiber.join(batch)
        expect(errorOf(nowhere)).toEqual(new RoomNotFound({ room_id: noRoom }))
        expect(errorOf(mallorys)).toEqual(new NotRoomMember({ room_id: roomB }))
        expect([ok(a1).message.seq, ok(a2).message.seq]).toEqual([2, 3])
        expect([ok(b1).message.seq, ok(b2).message.seq]).toEqual([1, 2])
        expect([ok(a1).message.room_id, ok(a2).message.room_id, ok(b1).message.room_id]).toEqual([roomA, roomA, roomB])
        expect(ok(a1again)).toEqual({ message: ok(a1).message, created: false, room_type: "group" })
        expect([yield* lastSeqOf(roomA), yield* lastSeqOf(roomB)]).toEqual([3, 2])
        expect([yield* outboxCount(roomA), yield* outboxCount(roomB)]).toEqual([3, 2])
        // Both rooms' messages of the batch were inserted by the same transaction (one statement).
        const inserters = yield* countRows((sql) =>
          sql`SELECT count(DISTINCT xmin::text)::int AS n FROM messages WHERE id IN (${ok(a1).message.id}, ${ok(a2).message.id}, ${ok(b1).message.id}, ${ok(b2).message.id})`)
        expect(inserters).toBe(1)
        // Each room's events are in seq order in the outbox.
        const rows = yield* sql`SELECT aggregate_key, payload FROM outbox WHERE aggregate_key IN (${roomA}, ${roomB}) ORDER BY id`
        const events = yield* Effect.forEach(
          yield* Schema.decodeUnknownEffect(Schema.Array(OutboxPayload))(rows),
          (row) => Schema.decodeUnknownEffect(MessageCreatedEvent)(row.payload)
        )
        expect(events.filter((e) => e.data.room_id === roomA).map((e) => e.data.seq)).toEqual([1, 2, 3])
        expect(events.filter((e) => e.data.room_id === roomB).map((e) => e.data.seq)).toEqual([1, 2])
        // pylon_chat_send_batch_size saw the two statements: the blocked send alone, then all seven.
        const sizes = yield* Metric.value(sendBatchSize)
        expect([sizes.count - sizesBefore.count, sizes.sum - sizesBefore.sum]).toEqual([2, 8])
      })))

    it.effect("two replicas' batches spanning the same rooms all commit, and every room's seqs stay gap-free", () =>
      Effect.scoped(Effect.gen(function*() {
        const sql = yield* SqlClient
        // Two committers on one pool behave as two chat replicas: their statements run side by side.
        const replicas = [yield* makeBatchedSend(sql, { concurrency: 2 }), yield* makeBatchedSend(sql, { concurrency: 2 })]
        const alice = yield* createUser("alice")
        const rooms = yield* Effect.forEach([1, 2, 3, 4, 5, 6], () => createRoom(alice.id))
        const sends = Array.from({ length: 360 }, (_, i) => i)
        const results = yield* Effect.forEach(sends, (i) =>
          Effect.flatMap(
            // Each replica walks the rooms in another order, so batches overlap in both orders.
            message(rooms[i % 2 === 0 ? Math.floor(i / 2) % 6 : 5 - (Math.floor(i / 2) % 6)]!, alice.id, `m${i}`),
            (input) => replicas[i % 2]!.send(input)
          ), { concurrency: 48 })
        expect(results.every((r) => r.created)).toBe(true)
        for (const room of rooms) {
          const seqs = results.filter((r) => r.message.room_id === room).map((r) => r.message.seq).sort((a, b) => a - b)
          expect(seqs).toEqual(Array.from({ length: 60 }, (_, i) => i + 1))
          expect(yield* lastSeqOf(room)).toBe(60)
          expect(yield* outboxCount(room)).toBe(60)
        }
      })))

    it.effect("a value PostgreSQL refuses fails only its own send in the batch", () =>
      Effect.scoped(Effect.gen(function*() {
        const sql = yield* SqlClient
        const { queued, send } = yield* makeBatchedSend(sql, { concurrency: 4 })
        const alice = yield* createUser("alice")
        const room = yield* createRoom(alice.id)
        const release = yield* holdRoomLock(room)
        const blocked = yield* Effect.forkChild(send(yield* message(room, alice.id, "blocked")))
        yield* waitForLockWaiter
        const inputs = [
          yield* message(room, alice.id, "fine 1"),
          yield* message(room, alice.id, "nul \u0000 inside"),
          yield* message(room, alice.id, "fine 2")
        ]
        const batch = yield* Effect.forkChild(Effect.forEach(inputs, (input) => Effect.exit(send(input)), { concurrency: "unbounded" }))
        yield* waitQueued(queued, room, inputs.length)
        yield* release
        yield* Fiber.join(blocked)
        const [fine1, bad, fine2] = yield* Fiber.join(batch)
        expect(errorOf(bad)).toBeInstanceOf(BadRequest)
        expect([fine1, fine2].map((exit) => exit !== undefined && Exit.isSuccess(exit) ? exit.value.message.seq : -1)).toEqual([2, 3])
        expect(yield* lastSeqOf(room)).toBe(3)
        expect(yield* outboxCount(room)).toBe(3)
      })))
  })
})
