/**
 * API.md §5 over real HTTP: `GET /api/v1/rooms/{id}/messages` on the harness gateway, with the
 * room and chat services answering in process on the same fresh database. Rooms are created
 * through the REST API; messages are sent through `ChatService` directly (sending is a
 * WebSocket concern, not a REST route).
 */
import { randomUUID } from "node:crypto"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { ClientMsgId, RoomId, UserId } from "@pylon/contracts/Ids"
import { ChatService } from "@pylon/chat-service/ChatService"
import { ChatServiceLive } from "@pylon/chat-service/ChatServiceApp"
import { gatewayLayer } from "./support/GatewayHarness.ts"
import type { HttpResult } from "./support/Http.ts"
import { expectError, expectOk, get, newUser, post, RFC3339_MS_UTC } from "./support/Http.ts"

interface SenderJson {
  readonly id: string
  readonly username: string
  readonly display_name: string | null
  readonly avatar_url: string | null
}

interface MessageJson {
  readonly id: string
  readonly room_id: string
  readonly seq: number
  readonly sender: SenderJson
  readonly content: string
  readonly msg_type: string
  readonly client_msg_id: string | null
  readonly created_at: string
}

interface PageJson {
  readonly messages: ReadonlyArray<MessageJson>
  readonly has_more: boolean
}

/** A registered user: id, username and access token. */
const user = (tag = "h") =>
  Effect.map(newUser(tag), ({ session }) => ({
    id: UserId.make(session.user.id),
    username: session.user.username,
    token: session.token
  }))

/** A group room created over REST by the token's owner, with `members`. */
const createRoom = (token: string, members: ReadonlyArray<string> = []) =>
  Effect.map(
    post("/api/v1/rooms", { bearer: token, json: { name: "history", type: "group", member_ids: members } }),
    (result) => RoomId.make(expectOk<{ readonly room: { readonly id: string } }>(result, 201).room.id)
  )

/** Sends "m1".."m<count>" as `sender` through the chat service. */
const sendMany = (sender: UserId, room: RoomId, count: number) =>
  ChatService.use((chat) =>
    Effect.forEach(
      Array.from({ length: count }, (_, i) => i + 1),
      (i) => chat.send({ user_id: sender, room_id: room, content: `m${i}`, msg_type: "text", client_msg_id: null })
    ))

const history = (token: string, room: string, query = "") =>
  get(`/api/v1/rooms/${room}/messages${query}`, { bearer: token })

const historyOk = (token: string, room: string, query = "") =>
  Effect.map(history(token, room, query), (result) => expectOk<PageJson>(result))

const seqs = (page: PageJson) => page.messages.map((m) => m.seq)

const range = (from: number, to: number): Array<number> =>
  from <= to ? Array.from({ length: to - from + 1 }, (_, i) => from + i) : []

const expectRateLimitHeaders = (result: HttpResult) => {
  expect(result.headers.get("x-ratelimit-limit")).toMatch(/^\d+$/)
  expect(result.headers.get("x-ratelimit-remaining")).toMatch(/^\d+$/)
  expect(result.headers.get("x-ratelimit-reset")).toMatch(/^\d+$/)
}

const TestLive = Layer.provideMerge(ChatServiceLive, gatewayLayer())

layer(TestLive, { excludeTestServices: true, timeout: "60 seconds" })("GET /api/v1/rooms/{id}/messages", (it) => {
  describe("access", () => {
    it.effect("401 without a bearer token, or with a bad one", () =>
      Effect.gen(function*() {
        const room = randomUUID()
        expectError(yield* get(`/api/v1/rooms/${room}/messages`), 401, "unauthorized")
        expectError(yield* history("not-a-token", room), 401, "unauthorized")
      }))

    it.effect("400 for a malformed room id", () =>
      Effect.gen(function*() {
        const alice = yield* user("alice")
        const error = expectError(yield* history(alice.token, "not-a-uuid"), 400, "bad_request")
        expect(error.message).toMatch(/^id: /)
      }))

    it.effect("404 for an unknown room", () =>
      Effect.gen(function*() {
        const alice = yield* user("alice")
        expectError(yield* history(alice.token, randomUUID()), 404, "not_found")
      }))

    it.effect("403 for a non-member", () =>
      Effect.gen(function*() {
        const alice = yield* user("alice")
        const mallory = yield* user("mallory")
        const room = yield* createRoom(alice.token)
        yield* sendMany(alice.id, room, 1)
        expectError(yield* history(mallory.token, room), 403, "forbidden")
        expectError(yield* history(mallory.token, room, "?after_seq=0"), 403, "forbidden")
      }))

    it.effect("405 for other methods", () =>
      Effect.gen(function*() {
        const alice = yield* user("alice")
        const room = yield* createRoom(alice.token)
        expectError(yield* post(`/api/v1/rooms/${room}/messages`, { bearer: alice.token, json: {} }), 405, "method_not_allowed")
      }))
  })

  describe("pages", () => {
    it.effect("200 with API.md's Message JSON, newest first, and rate-limit headers", () =>
      Effect.gen(function*() {
        const alice = yield* user("alice")
        const bob = yield* user("bob")
        const room = yield* createRoom(alice.token, [bob.id])
        yield* sendMany(alice.id, room, 2)
        yield* ChatService.use((chat) =>
          chat.send({ user_id: bob.id, room_id: room, content: "from bob", msg_type: "image", client_msg_id: ClientMsgId.make("b-1") })
        )
        const result = yield* history(bob.token, room)
        const page = expectOk<PageJson>(result)
        expectRateLimitHeaders(result)
        expect(page.has_more).toBe(false)
        expect(seqs(page)).toEqual([3, 2, 1])
        const newest = page.messages[0]!
        expect(Object.keys(newest).sort()).toEqual(
          ["client_msg_id", "content", "created_at", "id", "msg_type", "room_id", "sender", "seq"]
        )
        expect(newest).toMatchObject({
          room_id: room,
          seq: 3,
          sender: { id: bob.id, username: bob.username, display_name: null, avatar_url: null },
          content: "from bob",
          msg_type: "image",
          client_msg_id: "b-1"
        })
        expect(Object.keys(newest.sender).sort()).toEqual(["avatar_url", "display_name", "id", "username"])
        expect(newest.created_at).toMatch(RFC3339_MS_UTC)
        expect(page.messages[2]).toMatchObject({ content: "m1", client_msg_id: null, sender: { id: alice.id } })
      }))

    it.effect("limit: default 50, larger values clamped to 100", () =>
      Effect.gen(function*() {
        const alice = yield* user("alice")
        const room = yield* createRoom(alice.token)
        yield* sendMany(alice.id, room, 105)
        const byDefault = yield* historyOk(alice.token, room)
        expect(seqs(byDefault)).toEqual(range(56, 105).reverse())
        expect(byDefault.has_more).toBe(true)
        const clamped = yield* historyOk(alice.token, room, "?limit=500")
        expect(clamped.messages).toHaveLength(100)
        expect(clamped.has_more).toBe(true)
        const blank = yield* historyOk(alice.token, room, "?limit=")
        expect(blank.messages).toHaveLength(50)
        const all = yield* historyOk(alice.token, room, "?limit=100&before_id=" + clamped.messages[99]!.id)
        expect(seqs(all)).toEqual(range(1, 5).reverse())
        expect(all.has_more).toBe(false)
      }))

    it.effect("400 for a limit that is not a positive integer", () =>
      Effect.gen(function*() {
        const alice = yield* user("alice")
        const room = yield* createRoom(alice.token)
        for (const limit of ["abc", "0", "-1", "1.5", "1e2"]) {
          const error = expectError(yield* history(alice.token, room, `?limit=${limit}`), 400, "bad_request")
          expect(error.message, limit).toMatch(/^limit: /)
        }
      }))

    it.effect("before_id walks back page by page; unknown or malformed before_id is 400", () =>
      Effect.gen(function*() {
        const alice = yield* user("alice")
        const room = yield* createRoom(alice.token)
        const other = yield* createRoom(alice.token)
        yield* sendMany(alice.id, room, 5)
        const [foreign] = yield* sendMany(alice.id, other, 1)
        const first = yield* historyOk(alice.token, room, "?limit=2")
        expect([seqs(first), first.has_more]).toEqual([[5, 4], true])
        const second = yield* historyOk(alice.token, room, `?limit=2&before_id=${first.messages[1]!.id}`)
        expect([seqs(second), second.has_more]).toEqual([[3, 2], true])
        const third = yield* historyOk(alice.token, room, `?limit=2&before_id=${second.messages[1]!.id}`)
        expect([seqs(third), third.has_more]).toEqual([[1], false])

        const unknown = expectError(yield* history(alice.token, room, `?before_id=${randomUUID()}`), 400, "bad_request")
        expect(unknown.message).toMatch(/before_id/)
        expectError(yield* history(alice.token, room, `?before_id=${foreign!.message.id}`), 400, "bad_request")
        const malformed = expectError(yield* history(alice.token, room, "?before_id=nope"), 400, "bad_request")
        expect(malformed.message).toMatch(/^before_id: /)
      }))

    it.effect("after_seq returns the catch-up oldest first; bad or combined cursors are 400", () =>
      Effect.gen(function*() {
        const alice = yield* user("alice")
        const room = yield* createRoom(alice.token)
        yield* sendMany(alice.id, room, 6)
        const page = yield* historyOk(alice.token, room, "?after_seq=2&limit=3")
        expect([seqs(page), page.has_more]).toEqual([[3, 4, 5], true])
        const rest = yield* historyOk(alice.token, room, "?after_seq=5&limit=3")
        expect([seqs(rest), rest.has_more]).toEqual([[6], false])
        expect(yield* historyOk(alice.token, room, "?after_seq=6")).toEqual({ messages: [], has_more: false })

        expectError(yield* history(alice.token, room, "?after_seq=abc"), 400, "bad_request")
        expectError(yield* history(alice.token, room, "?after_seq=-1"), 400, "bad_request")
        const both = expectError(
          yield* history(alice.token, room, `?after_seq=1&before_id=${page.messages[0]!.id}`),
          400,
          "bad_request"
        )
        expect(both.message).toMatch(/after_seq/)
      }))

    it.effect("an empty room gives an empty list, never an omitted one", () =>
      Effect.gen(function*() {
        const alice = yield* user("alice")
        const room = yield* createRoom(alice.token)
        const result = yield* history(alice.token, room)
        expect(expectOk<PageJson>(result)).toEqual({ messages: [], has_more: false })
      }))
  })
})

layer(gatewayLayer({ rateLimits: { history: 2 } }), { excludeTestServices: true, timeout: "60 seconds" })(
  "history rate limit",
  (it) => {
    it.effect("the history bucket is per user: the third read in a window is 429 with Retry-After", () =>
      Effect.gen(function*() {
        const alice = yield* user("alice")
        const bob = yield* user("bob")
        const room = yield* createRoom(alice.token, [bob.id])
        expectOk<PageJson>(yield* history(alice.token, room))
        expectOk<PageJson>(yield* history(alice.token, room))
        const limited = yield* history(alice.token, room)
        expectError(limited, 429, "rate_limited")
        expect(limited.headers.get("retry-after")).toMatch(/^\d+$/)
        expect(limited.headers.get("x-ratelimit-remaining")).toBe("0")
        // Another user's budget is untouched.
        expectOk<PageJson>(yield* history(bob.token, room))
      }))
  }
)
