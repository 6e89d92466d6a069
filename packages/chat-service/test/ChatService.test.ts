/**
 * The chat service end to end through an in-process `ChatRpcs` client (real handlers, real
 * PostgreSQL repository, fresh database): gap-free seqs under concurrency, idempotent sends,
 * the outbox row of every message, membership rules, keyset history and catch-up, replay.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Exit, Schema, Stream } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import { ChatRpcs } from "@pylon/contracts/ChatRpcs"
import { MessageNotFound, NotRoomMember, RoomNotFound } from "@pylon/contracts/Errors"
import { MessageCreatedEvent } from "@pylon/contracts/Events"
import { ClientMsgId, MessageId, RoomId } from "@pylon/contracts/Ids"
import type { UserId } from "@pylon/contracts/Ids"
import type { Message } from "@pylon/contracts/Messages"
import { MAX_CONTENT_LENGTH } from "@pylon/contracts/Messages"
import { newId } from "@pylon/platform/runtime/IdGenerator"
import { STREAM_PAGE_SIZE } from "../src/ChatService.ts"
import {
  ChatClient,
  ChatTestLive,
  createRoom,
  createUser,
  lastSeqOf,
  messageCount,
  outboxCount
} from "@pylon/testkit/ChatFixtures"

const send = (user_id: UserId, room_id: RoomId, content: string, client_msg_id: string | null = null) =>
  ChatClient.use((client) =>
    client.SendMessage({
      user_id,
      room_id,
      content,
      msg_type: "text",
      client_msg_id: client_msg_id === null ? null : ClientMsgId.make(client_msg_id)
    }))

/** Sends `count` messages "m1".."m<count>" one after another. */
const sendMany = (user_id: UserId, room_id: RoomId, count: number) =>
  Effect.forEach(Array.from({ length: count }, (_, i) => i + 1), (i) => send(user_id, room_id, `m${i}`))

const range = (from: number, to: number): Array<number> =>
  from <= to ? Array.from({ length: to - from + 1 }, (_, i) => from + i) : []

const seqs = (messages: ReadonlyArray<Message>) => messages.map((m) => m.seq)

const unknownId = Effect.map(newId, (id) => MessageId.make(id))

const OutboxRow = Schema.Struct({
  topic: Schema.String,
  aggregate_key: Schema.String,
  event_type: Schema.String,
  payload: Schema.Unknown,
  headers: Schema.Record(Schema.String, Schema.String),
  published_at: Schema.NullOr(Schema.Date)
})

const outboxRows = (room_id: RoomId) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient
    const rows = yield* sql`SELECT topic, aggregate_key, event_type, payload, headers, published_at
                            FROM outbox WHERE aggregate_key = ${room_id} ORDER BY id`
    return yield* Schema.decodeUnknownEffect(Schema.Array(OutboxRow))(rows)
  })

layer(ChatTestLive, { excludeTestServices: true, timeout: "60 seconds" })("ChatService", (it) => {
  describe("SendMessage", () => {
    it.effect("assigns seq 1, 2, 3… and returns the API.md message", () =>
      Effect.gen(function*() {
        const alice = yield* createUser("alice")
        const room = yield* createRoom(alice.id)
        const results = yield* sendMany(alice.id, room, 3)
        expect(results.map((r) => [r.message.seq, r.created])).toEqual([[1, true], [2, true], [3, true]])
        const first = results[0]!.message
        expect(first.room_id).toBe(room)
        expect(first.sender).toEqual({
          id: alice.id,
          username: alice.username,
          display_name: alice.display_name,
          avatar_url: null
        })
        expect(first.content).toBe("m1")
        expect(first.msg_type).toBe("text")
        expect(first.client_msg_id).toBeNull()
        expect(yield* lastSeqOf(room)).toBe(3)
      }))

    it.effect("20 concurrent senders in one room get distinct, gap-free seqs 1..20", () =>
      Effect.gen(function*() {
        const users = yield* Effect.forEach(range(1, 5), (i) => createUser(`c${i}`))
        const room = yield* createRoom(users[0]!.id, users.slice(1).map((u) => u.id))
        const results = yield* Effect.forEach(
          range(0, 19),
          (i) => send(users[i % users.length]!.id, room, `concurrent ${i}`),
          { concurrency: "unbounded" }
        )
        expect(results.map((r) => r.message.seq).sort((a, b) => a - b)).toEqual(range(1, 20))
        expect(yield* lastSeqOf(room)).toBe(20)
        expect(yield* messageCount(room)).toBe(20)
        expect(yield* outboxCount(room)).toBe(20)
      }))

    it.effect("a repeated client_msg_id returns the original, created false, stored once", () =>
      Effect.gen(function*() {
        const alice = yield* createUser("alice")
        const room = yield* createRoom(alice.id)
        const first = yield* send(alice.id, room, "hello", "c-17")
        const again = yield* send(alice.id, room, "hello (retry)", "c-17")
        expect(first.created).toBe(true)
        expect(again.created).toBe(false)
        expect(again.message).toEqual(first.message)
        expect(again.message.content).toBe("hello")
        expect(yield* messageCount(room)).toBe(1)
        expect(yield* outboxCount(room)).toBe(1)
        expect(yield* lastSeqOf(room)).toBe(1)
        // The next new message still gets the next seq: the retry consumed none.
        expect((yield* send(alice.id, room, "next", "c-18")).message.seq).toBe(2)
      }))

    it.effect("concurrent sends with one client_msg_id store one message and all get it", () =>
      Effect.gen(function*() {
        const alice = yield* createUser("alice")
        const room = yield* createRoom(alice.id)
        const results = yield* Effect.forEach(
          range(1, 10),
          (i) => send(alice.id, room, `attempt ${i}`, "race-1"),
          { concurrency: "unbounded" }
        )
        expect(results.filter((r) => r.created)).toHaveLength(1)
        expect(new Set(results.map((r) => r.message.id)).size).toBe(1)
        expect(results.every((r) => r.message.seq === 1)).toBe(true)
        expect(yield* messageCount(room)).toBe(1)
        expect(yield* outboxCount(room)).toBe(1)
        expect(yield* lastSeqOf(room)).toBe(1)
      }))

    it.effect("different senders may use the same client_msg_id", () =>
      Effect.gen(function*() {
        const alice = yield* createUser("alice")
        const bob = yield* createUser("bob")
        const room = yield* createRoom(alice.id, [bob.id])
        const a = yield* send(alice.id, room, "from alice", "same-id")
        const b = yield* send(bob.id, room, "from bob", "same-id")
        expect([a.created, b.created]).toEqual([true, true])
        expect(a.message.id).not.toBe(b.message.id)
        expect([a.message.seq, b.message.seq]).toEqual([1, 2])
        expect(yield* messageCount(room)).toBe(2)
      }))

    it.effect("a client_msg_id reused in another room is a new message there, never the first room's", () =>
      Effect.gen(function*() {
        const alice = yield* createUser("alice")
        const bob = yield* createUser("bob")
        const roomA = yield* createRoom(alice.id)
        const roomB = yield* createRoom(alice.id, [bob.id])
        const secret = yield* send(alice.id, roomA, "private to A", "c-1")
        const inB = yield* send(alice.id, roomB, "hello B", "c-1")
        expect(inB.created).toBe(true)
        expect(inB.message.room_id).toBe(roomB)
        expect(inB.message.content).toBe("hello B")
        expect(inB.message.id).not.toBe(secret.message.id)
        expect(inB.message.seq).toBe(1)
        // A retry in each room still returns that room's original.
        const retryA = yield* send(alice.id, roomA, "retry", "c-1")
        const retryB = yield* send(alice.id, roomB, "retry", "c-1")
        expect([retryA.created, retryA.message.id]).toEqual([false, secret.message.id])
        expect([retryB.created, retryB.message.id]).toEqual([false, inB.message.id])
        expect(yield* messageCount(roomB)).toBe(1)
      }))

    it.effect("a non-member gets NotRoomMember and nothing is written", () =>
      Effect.gen(function*() {
        const alice = yield* createUser("alice")
        const mallory = yield* createUser("mallory")
        const room = yield* createRoom(alice.id)
        yield* send(alice.id, room, "before")
        const error = yield* Effect.flip(send(mallory.id, room, "let me in", "m-1"))
        expect(error).toBeInstanceOf(NotRoomMember)
        expect(error).toMatchObject({ _tag: "NotRoomMember", room_id: room })
        expect(yield* lastSeqOf(room)).toBe(1)
        expect(yield* messageCount(room)).toBe(1)
        expect(yield* outboxCount(room)).toBe(1)
        expect((yield* send(alice.id, room, "after")).message.seq).toBe(2)
      }))

    it.effect("an unknown room is RoomNotFound", () =>
      Effect.gen(function*() {
        const alice = yield* createUser("alice")
        const room = RoomId.make(yield* newId)
        const error = yield* Effect.flip(send(alice.id, room, "anyone?"))
        expect(error).toBeInstanceOf(RoomNotFound)
        expect(error).toMatchObject({ room_id: room })
      }))

    it.effect("every message has exactly one outbox row holding its MessageCreatedEvent", () =>
      Effect.gen(function*() {
        const alice = yield* createUser("alice")
        const bob = yield* createUser("bob")
        const room = yield* createRoom(alice.id, [bob.id])
        const sent = [
          yield* send(alice.id, room, "one", "o-1"),
          yield* send(bob.id, room, "two"),
          yield* send(alice.id, room, "three")
        ]
        yield* send(alice.id, room, "one again", "o-1")
        const rows = yield* outboxRows(room)
        expect(rows).toHaveLength(3)
        const events = yield* Effect.forEach(rows, (row) => Schema.decodeUnknownEffect(MessageCreatedEvent)(row.payload))
        expect(new Set(events.map((e) => e.event_id)).size).toBe(3)
        rows.forEach((row, i) => {
          const message = sent[i]!.message
          const event = events[i]!
          expect(row).toMatchObject({
            topic: "message-events",
            aggregate_key: room,
            event_type: "message_created",
            published_at: null
          })
          expect(row.headers["traceparent"]).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/)
          expect(event.event_type).toBe("message_created")
          expect(event.version).toBe(1)
          expect(event.data).toEqual({
            message_id: message.id,
            room_id: room,
            seq: message.seq,
            sender_id: message.sender.id,
            sender_username: message.sender.username,
            content: message.content,
            type: "text",
            created_at: message.created_at
          })
        })
      }))

    it.effect("content of 10,000 characters (code points) is stored", () =>
      Effect.gen(function*() {
        const alice = yield* createUser("alice")
        const room = yield* createRoom(alice.id)
        const ascii = yield* send(alice.id, room, "a".repeat(MAX_CONTENT_LENGTH))
        expect(ascii.message.content).toHaveLength(MAX_CONTENT_LENGTH)
        // 20,000 UTF-16 units, 10,000 characters: both the schema and PostgreSQL count characters.
        const emoji = yield* send(alice.id, room, "😀".repeat(MAX_CONTENT_LENGTH))
        expect([...emoji.message.content]).toHaveLength(MAX_CONTENT_LENGTH)
      }))

    it("the SendMessage payload schema trims content and rejects empty or 10,001 characters", () => {
      const rpc = ChatRpcs.requests.get("SendMessage")
      if (rpc === undefined) throw new Error("SendMessage is missing from ChatRpcs")
      const decode = Schema.decodeUnknownExit(rpc.payloadSchema)
      const payload = (content: string, msg_type = "text") => ({
        user_id: "0190b3a2-1111-7111-8111-111111111111",
        room_id: "0190b3a2-2222-7222-8222-222222222222",
        content,
        msg_type,
        client_msg_id: null
      })
      expect(Exit.isSuccess(decode(payload("a".repeat(MAX_CONTENT_LENGTH))))).toBe(true)
      expect(Exit.isFailure(decode(payload("a".repeat(MAX_CONTENT_LENGTH + 1))))).toBe(true)
      expect(Exit.isFailure(decode(payload("   ")))).toBe(true)
      expect(Exit.isFailure(decode(payload("hi", "system")))).toBe(true)
      expect(Exit.isFailure(decode(payload("hi", "video")))).toBe(true)
      const trimmed = decode(payload("  hi  "))
      expect(Exit.isSuccess(trimmed) && trimmed.value).toMatchObject({ content: "hi" })
    })
  })

  describe("GetMessages", () => {
    const getMessages = (
      user_id: UserId,
      room_id: RoomId,
      limit: number,
      cursor: { readonly before_id?: MessageId; readonly after_seq?: number } = {}
    ) => ChatClient.use((client) => client.GetMessages({ user_id, room_id, limit, ...cursor }))

    it.effect("newest first, keyset pages by before_id, has_more", () =>
      Effect.gen(function*() {
        const alice = yield* createUser("alice")
        const room = yield* createRoom(alice.id)
        yield* sendMany(alice.id, room, 5)
        const first = yield* getMessages(alice.id, room, 2)
        expect(seqs(first.messages)).toEqual([5, 4])
        expect(first.has_more).toBe(true)
        expect(first.messages.map((m) => m.content)).toEqual(["m5", "m4"])
        const second = yield* getMessages(alice.id, room, 2, { before_id: first.messages[1]!.id })
        expect(seqs(second.messages)).toEqual([3, 2])
        expect(second.has_more).toBe(true)
        const third = yield* getMessages(alice.id, room, 2, { before_id: second.messages[1]!.id })
        expect(seqs(third.messages)).toEqual([1])
        expect(third.has_more).toBe(false)
        const exact = yield* getMessages(alice.id, room, 5)
        expect(seqs(exact.messages)).toEqual([5, 4, 3, 2, 1])
        expect(exact.has_more).toBe(false)
      }))

    it.effect("an empty room gives an empty page", () =>
      Effect.gen(function*() {
        const alice = yield* createUser("alice")
        const room = yield* createRoom(alice.id)
        expect(yield* getMessages(alice.id, room, 50)).toEqual({ messages: [], has_more: false })
      }))

    it.effect("after_seq returns seq > N oldest first (catch-up) with has_more", () =>
      Effect.gen(function*() {
        const alice = yield* createUser("alice")
        const room = yield* createRoom(alice.id)
        yield* sendMany(alice.id, room, 7)
        const page = yield* getMessages(alice.id, room, 3, { after_seq: 2 })
        expect(seqs(page.messages)).toEqual([3, 4, 5])
        expect(page.has_more).toBe(true)
        const rest = yield* getMessages(alice.id, room, 3, { after_seq: 5 })
        expect(seqs(rest.messages)).toEqual([6, 7])
        expect(rest.has_more).toBe(false)
        expect(yield* getMessages(alice.id, room, 3, { after_seq: 7 })).toEqual({ messages: [], has_more: false })
        expect(seqs((yield* getMessages(alice.id, room, 100, { after_seq: 0 })).messages)).toEqual(range(1, 7))
      }))

    it.effect("an unknown before_id, or one from another room, is MessageNotFound", () =>
      Effect.gen(function*() {
        const alice = yield* createUser("alice")
        const room = yield* createRoom(alice.id)
        const other = yield* createRoom(alice.id)
        yield* sendMany(alice.id, room, 2)
        const foreign = (yield* send(alice.id, other, "elsewhere")).message.id
        const unknown = yield* unknownId
        const e1 = yield* Effect.flip(getMessages(alice.id, room, 10, { before_id: unknown }))
        expect(e1).toBeInstanceOf(MessageNotFound)
        expect(e1).toMatchObject({ message_id: unknown })
        const e2 = yield* Effect.flip(getMessages(alice.id, room, 10, { before_id: foreign }))
        expect(e2).toBeInstanceOf(MessageNotFound)
      }))

    it.effect("members only: non-member NotRoomMember, unknown room RoomNotFound", () =>
      Effect.gen(function*() {
        const alice = yield* createUser("alice")
        const mallory = yield* createUser("mallory")
        const room = yield* createRoom(alice.id)
        yield* sendMany(alice.id, room, 1)
        expect(yield* Effect.flip(getMessages(mallory.id, room, 10))).toBeInstanceOf(NotRoomMember)
        expect(yield* Effect.flip(getMessages(mallory.id, room, 10, { after_seq: 0 }))).toBeInstanceOf(NotRoomMember)
        const nowhere = RoomId.make(yield* newId)
        expect(yield* Effect.flip(getMessages(alice.id, nowhere, 10))).toBeInstanceOf(RoomNotFound)
      }))

    const Count = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 30 }))
    const Limit = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 12 }))

    it.effect.prop(
      "before_id pages and after_seq pages each visit every message exactly once",
      { count: Count, limit: Limit },
      ({ count, limit }) =>
        Effect.gen(function*() {
          const alice = yield* createUser("prop")
          const room = yield* createRoom(alice.id)
          yield* sendMany(alice.id, room, count)
          const expectedPages = Math.max(1, Math.ceil(count / limit))

          const newestFirst: Array<number> = []
          let before: MessageId | undefined
          let pages = 0
          for (;;) {
            const page = yield* getMessages(alice.id, room, limit, before === undefined ? {} : { before_id: before })
            pages += 1
            newestFirst.push(...seqs(page.messages))
            const last = page.messages.at(-1)
            if (!page.has_more || last === undefined) break
            expect(page.messages).toHaveLength(limit)
            before = last.id
          }
          expect(newestFirst).toEqual(range(1, count).reverse())
          expect(pages).toBe(expectedPages)

          const oldestFirst: Array<number> = []
          let after = 0
          pages = 0
          for (;;) {
            const page = yield* getMessages(alice.id, room, limit, { after_seq: after })
            pages += 1
            oldestFirst.push(...seqs(page.messages))
            const last = page.messages.at(-1)
            if (!page.has_more || last === undefined) break
            expect(page.messages).toHaveLength(limit)
            after = last.seq
          }
          expect(oldestFirst).toEqual(range(1, count))
          expect(pages).toBe(expectedPages)
        }),
      { timeout: 120_000, arbitrary: { runs: 15 } }
    )
  })

  describe("StreamMessages", () => {
    const stream = (user_id: UserId, room_id: RoomId, after_seq: number) =>
      Stream.unwrap(ChatClient.useSync((client) => client.StreamMessages({ user_id, room_id, after_seq })))

    it.effect("replays everything after after_seq in order, across pages, then ends", () =>
      Effect.gen(function*() {
        const alice = yield* createUser("alice")
        const room = yield* createRoom(alice.id)
        const total = STREAM_PAGE_SIZE * 2 + 5
        yield* sendMany(alice.id, room, total)
        expect(seqs(yield* Stream.runCollect(stream(alice.id, room, 0)))).toEqual(range(1, total))
        expect(seqs(yield* Stream.runCollect(stream(alice.id, room, total - 3)))).toEqual(range(total - 2, total))
        expect(yield* Stream.runCollect(stream(alice.id, room, total))).toEqual([])
      }), { timeout: 60_000 })

    it.effect("a non-member's stream fails with NotRoomMember", () =>
      Effect.gen(function*() {
        const alice = yield* createUser("alice")
        const mallory = yield* createUser("mallory")
        const room = yield* createRoom(alice.id)
        const error = yield* Effect.flip(Stream.runCollect(stream(mallory.id, room, 0)))
        expect(error).toBeInstanceOf(NotRoomMember)
      }))
  })
})
