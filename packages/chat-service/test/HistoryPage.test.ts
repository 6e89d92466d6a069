/**
 * The history page PostgreSQL builds as JSON text (`MESSAGE_JSON`, `PgMessageRepository.memberPage`)
 * parses to exactly what encoding the same rows through the contract gives: rows selected with
 * `MESSAGE_COLUMNS`, decoded by `MessageRow`, made `Message`s and encoded as `MessagesResponse`
 * (the path before docs/perf.md §8). Covers every cursor, `has_more`, null and non-null optional
 * columns, text that needs JSON escaping, and a timestamp with microseconds.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import { ClientMsgId, MessageId } from "@pylon/contracts/Ids"
import type { RoomId, UserId } from "@pylon/contracts/Ids"
import { MessagesResponse } from "@pylon/contracts/Messages"
import { createRoom, createUser } from "@pylon/testkit/ChatFixtures"
import { TestDatabase } from "@pylon/testkit/TestDatabase"
import { ChatService } from "../src/ChatService.ts"
import { decodeMessageRows, MESSAGE_COLUMNS, toMessage } from "../src/MessageRow.ts"
import { PgMessageRepository } from "../src/PgMessageRepository.ts"

/** Just the wire's `created_at` strings of a page. */
const WireTimestamps = Schema.Struct({ messages: Schema.Array(Schema.Struct({ created_at: Schema.String })) })

const TestLive = ChatService.layer.pipe(Layer.provide(PgMessageRepository), Layer.provideMerge(TestDatabase))

type Cursor = { readonly before_id?: MessageId; readonly after_seq?: number }

/** The page as the contract encodes it, from rows read and decoded one by one. */
const referencePage = (room_id: RoomId, cursor: Cursor, limit: number) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient
    const ascending = cursor.after_seq !== undefined
    const rows = yield* sql`
      SELECT ${sql.literal(MESSAGE_COLUMNS)} FROM messages m JOIN users u ON u.id = m.sender_id
      WHERE m.room_id = ${room_id}
        ${cursor.after_seq !== undefined ? sql`AND m.seq > ${cursor.after_seq}` : sql``}
        ${
      cursor.before_id !== undefined
        ? sql`AND m.seq < (SELECT seq FROM messages WHERE id = ${cursor.before_id})`
        : sql``
    }
      ORDER BY m.seq ${ascending ? sql`ASC` : sql`DESC`} LIMIT ${limit + 1}`.pipe(Effect.flatMap(decodeMessageRows))
    return yield* Schema.encodeEffect(MessagesResponse)({
      messages: rows.slice(0, limit).map(toMessage),
      has_more: rows.length > limit
    })
  })

const send = (user_id: UserId, room_id: RoomId, content: string, client_msg_id: string | null) =>
  ChatService.use((chat) =>
    chat.send({
      user_id,
      room_id,
      content,
      msg_type: "text",
      client_msg_id: client_msg_id === null ? null : ClientMsgId.make(client_msg_id)
    }))

layer(TestLive, { excludeTestServices: true, timeout: "60 seconds" })("history page built as JSON", (it) => {
  describe("memberPage", () => {
    it.effect("equals the contract's encoding of the same rows, for every cursor", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient
        const alice = yield* createUser("alice")
        const bob = yield* createUser("bob")
        yield* sql`UPDATE users SET display_name = NULL, avatar_url = ${"https://example.com/a\"b.png"} WHERE id = ${bob.id}`
        const room = yield* createRoom(alice.id, [bob.id])
        const contents = ["plain", "quote \" backslash \\ newline \n tab \t", "emoji 😀 ünïcödé", "<b>&amp;</b>", "last"]
        const sent = []
        for (const [i, content] of contents.entries()) {
          sent.push(yield* send(i % 2 === 0 ? alice.id : bob.id, room, content, i % 2 === 0 ? `c-${i}` : null))
        }
        // Microseconds in the stored timestamp: the wire has milliseconds, truncated as a JS Date is.
        yield* sql`UPDATE messages SET created_at = '2026-03-04 05:06:07.891999+00' WHERE id = ${sent[1]!.message.id}`
        // Before 1970 only whole milliseconds: a JS Date rounds a negative time with a fraction
        // toward 1970, PostgreSQL's to_char truncates toward the past (never a created_at of ours).
        yield* sql`UPDATE messages SET created_at = '0999-01-02 03:04:05.042+00' WHERE id = ${sent[2]!.message.id}`

        const middle = sent[3]!.message.id
        const cursors: ReadonlyArray<Cursor> = [{}, { before_id: middle }, { after_seq: 0 }, { after_seq: 2 }, { after_seq: 5 }]
        for (const cursor of cursors) {
          for (const limit of [1, 2, 50]) {
            const page = yield* ChatService.use((chat) =>
              chat.getMessagesJson({ user_id: bob.id, room_id: room, limit, ...cursor })
            )
            const reference = yield* referencePage(room, cursor, limit)
            // Same keys in the same order, same values: the text's own spacing aside.
            expect(JSON.stringify(JSON.parse(page)), JSON.stringify({ cursor, limit })).toBe(JSON.stringify(reference))
          }
        }
        const whole = yield* ChatService.use((chat) => chat.getMessagesJson({ user_id: alice.id, room_id: room, limit: 50 }))
          .pipe(Effect.flatMap(Schema.decodeEffect(Schema.fromJsonString(WireTimestamps))))
        expect(whole.messages).toHaveLength(contents.length)
        expect(whole.messages.map((m) => m.created_at)).toContain("2026-03-04T05:06:07.891Z")
      }))

    it.effect("getMessages is the same page decoded", () =>
      Effect.gen(function*() {
        const alice = yield* createUser("alice")
        const room = yield* createRoom(alice.id)
        yield* send(alice.id, room, "one", null)
        yield* send(alice.id, room, "two", "c-2")
        const payload = { user_id: alice.id, room_id: room, limit: 1 }
        const page = yield* ChatService.use((chat) => chat.getMessagesJson(payload))
        const decoded = yield* ChatService.use((chat) => chat.getMessages(payload))
        expect(decoded.has_more).toBe(true)
        expect(yield* Schema.encodeEffect(MessagesResponse)(decoded)).toEqual(JSON.parse(page))
      }))
  })
})
