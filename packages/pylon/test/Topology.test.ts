/**
 * The real-time core in the microservice topology (issue #3 item 7, API.md §4–§6): room, chat
 * and presence services and two gateways, each its own process, on the real PostgreSQL (a
 * fresh database for this file), Redis and Kafka. One stack serves every test; each test
 * registers its own users and rooms. Gateway A is `gateways[0]`, gateway B `gateways[1]`.
 * The graceful-drain test stops gateway B, so it runs last.
 */
import { randomUUID } from "node:crypto"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import type { ServerFrame } from "@pylon/contracts/WsFrames"
import { rawConnect } from "./support/RawWsClient.ts"
import type { TestUser } from "@pylon/testkit/Rest"
import {
  createRoom,
  fullHistory,
  historyRequest,
  leaveRoom,
  loginUser,
  metricValue,
  readyStatus,
  registerUser,
  request
} from "@pylon/testkit/Rest"
import { crossRoomReplay } from "./support/CrossRoomReplay.ts"
import { Topology, TopologyStack } from "./support/TopologyStack.ts"
import { attemptUpgrade, connect, frame } from "@pylon/testkit/WsClient"
import type { FrameOf, WsClient } from "@pylon/testkit/WsClient"

const PING_INTERVAL_MS = 1_000
const IDLE_TIMEOUT_MS = 4_000

const Stack = TopologyStack({
  WS_PING_INTERVAL_MS: String(PING_INTERVAL_MS),
  WS_IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS),
  // Small bounds so a reader that stops reading is cut off after a few MB, not hundreds. The queue
  // must hold a whole replay page (100 frames, enqueued at once), or a fast reader that resumes
  // with since_seq is cut off too.
  WS_OUTBOUND_QUEUE: "128",
  WS_SOCKET_HIGH_WATER_BYTES: String(16 * 1024)
})

// --- helpers ------------------------------------------------------------------------------------

const gatewayUrls = Effect.gen(function*() {
  const { gateways: [a, b] } = yield* Topology
  return { A: a.baseUrl, B: b.baseUrl }
})

/** Registers users named after `names` (through gateway A). */
const users = (...names: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const { A } = yield* gatewayUrls
    return yield* Effect.forEach(names, (name) => registerUser(A, name), { concurrency: "unbounded" })
  })

/** The joiner's own `user_joined` (the one carrying `last_seq`). */
const ownJoin = (roomId: string, user: TestUser) => (f: ServerFrame): f is FrameOf<"user_joined"> =>
  f.type === "user_joined" && f.room_id === roomId && f.user.id === user.id && f.last_seq !== undefined

/** Sends `join` and waits for the joiner's own `user_joined`; returns its `last_seq`. */
const join = (client: WsClient, user: TestUser, roomId: string, sinceSeq?: number) =>
  Effect.gen(function*() {
    yield* client.send(sinceSeq === undefined ? { type: "join", room_id: roomId } : { type: "join", room_id: roomId, since_seq: sinceSeq })
    const joined = yield* client.next(ownJoin(roomId, user))
    return joined.last_seq ?? -1
  })

const send = (client: WsClient, roomId: string, content: string, clientMsgId?: string) =>
  client.send(
    clientMsgId === undefined
      ? { type: "message", room_id: roomId, content }
      : { type: "message", room_id: roomId, content, client_msg_id: clientMsgId }
  )

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

const seqs = (frames: ReadonlyArray<{ readonly seq: number }>) => frames.map((f) => f.seq)

/** Index of `target` in the client's arrival order. */
const arrivalIndex = (client: WsClient, target: ServerFrame) => client.received.indexOf(target)

// --- tests --------------------------------------------------------------------------------------

layer(Stack, { excludeTestServices: true, timeout: "120 seconds" })("microservice topology (2 gateways)", (it) => {
  describe("delivery across gateway nodes", () => {
    it.effect("a message sent on gateway A is acked, then delivered on A and B with the same seq; typing crosses nodes", () =>
      Effect.gen(function*() {
        const { A, B } = yield* gatewayUrls
        const [alice, bob] = yield* users("alice", "bob")
        if (alice === undefined || bob === undefined) return
        const room = yield* createRoom(A, alice, [bob])
        const a = yield* connect(A, alice.token, { name: "alice@A" })
        const b = yield* connect(B, bob.token, { name: "bob@B" })
        expect(yield* join(a, alice, room)).toBe(0)
        expect(yield* join(b, bob, room)).toBe(0)
        // alice sees bob joining (from the other node).
        const bobJoined = yield* a.next((f): f is FrameOf<"user_joined"> => f.type === "user_joined" && f.user.id === bob.id)
        expect(bobJoined.user.username).toBe(bob.username)

        yield* send(a, room, "  hello bob  ", "c-1")
        const ack = yield* a.next(frame("ack", room))
        const own = yield* a.next(frame("message", room))
        const delivered = yield* b.next(frame("message", room))
        expect(ack).toMatchObject({ client_msg_id: "c-1", room_id: room, seq: 1 })
        expect(arrivalIndex(a, ack)).toBeLessThan(arrivalIndex(a, own))
        for (const message of [own, delivered]) {
          expect(message).toMatchObject({
            message_id: ack.message_id,
            room_id: room,
            seq: ack.seq,
            content: "hello bob",
            msg_type: "text",
            client_msg_id: "c-1",
            sender: { id: alice.id, username: alice.username }
          })
        }

        // typing from alice reaches bob on the other node, with her real username.
        yield* a.send({ type: "typing", room_id: room })
        const typing = yield* b.next(frame("typing", room))
        expect(typing).toEqual({ type: "typing", room_id: room, user_id: alice.id, username: alice.username })
        // ...and the other way round.
        yield* b.send({ type: "typing", room_id: room })
        const bobTyping = yield* a.next(frame("typing", room))
        expect(bobTyping).toEqual({ type: "typing", room_id: room, user_id: bob.id, username: bob.username })
        // Not echoed: alice's next message travels the same room channel after her typing event.
        yield* send(a, room, "second", "c-2")
        yield* a.next(frame("message", room))
        yield* b.next(frame("message", room))
        expect(a.received.filter((f) => f.type === "typing" && f.user_id === alice.id)).toEqual([])
        expect(b.received.filter((f) => f.type === "typing" && f.user_id === bob.id)).toEqual([])
      }))

    it.effect("100 messages from two senders on both nodes reach every subscriber in seq order, no gaps or duplicates", () =>
      Effect.gen(function*() {
        const { A, B } = yield* gatewayUrls
        const [alice, bob, carol, dave] = yield* users("alice", "bob", "carol", "dave")
        if (alice === undefined || bob === undefined || carol === undefined || dave === undefined) return
        const room = yield* createRoom(A, alice, [bob, carol, dave])
        const a = yield* connect(A, alice.token, { name: "alice@A" })
        const b = yield* connect(B, bob.token, { name: "bob@B" })
        const c = yield* connect(A, carol.token, { name: "carol@A" })
        const d = yield* connect(B, dave.token, { name: "dave@B" })
        yield* Effect.forEach([[a, alice], [b, bob], [c, carol], [d, dave]] as const, ([client, user]) => join(client, user, room), {
          concurrency: "unbounded"
        })
        const perSender = 50
        // Both senders fire everything at once, so the two gateways publish interleaved seqs.
        for (let i = 0; i < perSender; i++) {
          yield* send(a, room, `alice ${i}`, `a-${i}`)
          yield* send(b, room, `bob ${i}`, `b-${i}`)
        }
        const total = 2 * perSender
        for (const client of [a, b, c, d]) {
          const messages = yield* client.take(frame("message", room), total, 30_000)
          expect(seqs(messages), client.name).toEqual(range(1, total))
          expect(new Set(messages.map((m) => m.message_id)).size).toBe(total)
        }
        const aliceAcks = yield* a.take(frame("ack", room), perSender)
        const bobAcks = yield* b.take(frame("ack", room), perSender)
        // Each sender's own messages keep their send order.
        expect(aliceAcks.map((x) => x.client_msg_id)).toEqual(range(0, perSender - 1).map((i) => `a-${i}`))
        expect(bobAcks.map((x) => x.client_msg_id)).toEqual(range(0, perSender - 1).map((i) => `b-${i}`))
        expect([...seqs(aliceAcks), ...seqs(bobAcks)].sort((x, y) => x - y)).toEqual(range(1, total))
        // Nothing extra arrives afterwards.
        for (const client of [a, b, c, d]) {
          yield* client.roundTrip
          expect(client.pending(frame("message", room)), client.name).toEqual([])
        }
      }))
  })

  describe("resume after a disconnect", () => {
    it.effect("rejoining on the other gateway with since_seq replays exactly the missed messages in pages, then live ones", () =>
      Effect.gen(function*() {
        const { A, B } = yield* gatewayUrls
        const [alice, bob] = yield* users("alice", "bob")
        if (alice === undefined || bob === undefined) return
        const room = yield* createRoom(A, alice, [bob])
        const a = yield* connect(A, alice.token, { name: "alice@A" })
        const first = yield* connect(A, bob.token, { name: "bob@A" })
        yield* join(a, alice, room)
        yield* join(first, bob, room)
        for (let i = 1; i <= 3; i++) yield* send(a, room, `before ${i}`)
        const seen = yield* first.take(frame("message", room), 3)
        const lastSeen = seen.at(-1)?.seq ?? 0
        expect(lastSeen).toBe(3)
        yield* first.close

        // 130 messages while bob is away: more than one replay page (100).
        const missed = 130
        for (let i = 1; i <= missed; i++) yield* send(a, room, `missed ${i}`)
        yield* a.take(frame("ack", room), 3 + missed, 30_000)

        const second = yield* connect(B, bob.token, { name: "bob@B" })
        yield* second.send({ type: "join", room_id: room, since_seq: lastSeen })
        // More messages go out while the replay runs; they must come after it, in order.
        const live = 10
        for (let i = 1; i <= live; i++) yield* send(a, room, `live ${i}`)
        const joined = yield* second.next(ownJoin(room, bob))
        expect(joined.last_seq).toBeGreaterThanOrEqual(lastSeen + missed)
        const messages = yield* second.take(frame("message", room), missed + live, 30_000)
        expect(seqs(messages)).toEqual(range(lastSeen + 1, lastSeen + missed + live))
        expect(messages.slice(0, missed).map((m) => m.content)).toEqual(range(1, missed).map((i) => `missed ${i}`))
        expect(messages.slice(missed).map((m) => m.content)).toEqual(range(1, live).map((i) => `live ${i}`))
        const firstReplayed = messages[0]
        if (firstReplayed !== undefined) expect(arrivalIndex(second, joined)).toBeLessThan(arrivalIndex(second, firstReplayed))
        // No duplicates trail behind.
        yield* a.take(frame("ack", room), live)
        yield* second.roundTrip
        expect(second.pending(frame("message", room))).toEqual([])

        // Live delivery keeps going on the new connection.
        yield* send(a, room, "after resume")
        const next = yield* second.next(frame("message", room))
        expect(next.seq).toBe(lastSeen + missed + live + 1)
      }))
  })

  describe("sending", () => {
    it.effect("a repeated client_msg_id returns the original message, also after reconnecting to the other gateway", () =>
      Effect.gen(function*() {
        const { A, B } = yield* gatewayUrls
        const [alice, bob] = yield* users("alice", "bob")
        if (alice === undefined || bob === undefined) return
        const room = yield* createRoom(A, alice, [bob])
        const a = yield* connect(A, alice.token, { name: "alice@A" })
        const b = yield* connect(B, bob.token, { name: "bob@B" })
        yield* join(a, alice, room)
        yield* join(b, bob, room)

        yield* send(a, room, "only once", "retry-1")
        yield* send(a, room, "only once", "retry-1")
        const [ack1, ack2] = yield* a.take(frame("ack", room), 2)
        expect(ack1?.seq).toBe(1)
        expect(ack2).toEqual(ack1)

        yield* a.close
        const again = yield* connect(B, alice.token, { name: "alice@B" })
        yield* join(again, alice, room)
        // A retry with different text still returns (and keeps) the original.
        yield* send(again, room, "changed my mind", "retry-1")
        const ack3 = yield* again.next(frame("ack", room))
        expect(ack3).toEqual(ack1)

        // The retries consumed no seq: the next message is seq 2.
        yield* send(again, room, "marker", "marker-1")
        const marker = yield* again.next((f): f is FrameOf<"ack"> => f.type === "ack" && f.client_msg_id === "marker-1")
        expect(marker.seq).toBe(2)
        // bob got the message once, then the marker.
        const delivered = yield* b.take(frame("message", room), 2)
        expect(delivered.map((m) => [m.seq, m.content])).toEqual([[1, "only once"], [2, "marker"]])
        yield* b.roundTrip
        expect(b.pending(frame("message", room))).toEqual([])

        const history = yield* fullHistory(A, alice, room)
        expect(history.map((m) => [m.seq, m.client_msg_id, m.content])).toEqual([
          [1, "retry-1", "only once"],
          [2, "marker-1", "marker"]
        ])
        expect(history[0]?.id).toBe(ack1?.message_id)
      }))

    it.effect("a client_msg_id reused in another room is a new message there: nothing of the first room leaks, B's cursor does not jump", () =>
      Effect.gen(function*() {
        const { A, B } = yield* gatewayUrls
        yield* crossRoomReplay(A, B)
      }))

    it.effect("concurrent senders on both gateways get distinct, gap-free seqs (checked against REST history)", () =>
      Effect.gen(function*() {
        const { A, B } = yield* gatewayUrls
        const senders = yield* users("s1", "s2", "s3", "s4")
        const [owner, ...others] = senders
        if (owner === undefined) return
        const room = yield* createRoom(A, owner, others)
        const clients = yield* Effect.forEach(senders, (user, i) =>
          Effect.gen(function*() {
            const client = yield* connect(i % 2 === 0 ? A : B, user.token, { name: `${user.username}@${i % 2 === 0 ? "A" : "B"}` })
            yield* join(client, user, room)
            return { user, client }
          }), { concurrency: "unbounded" })
        const perSender = 25
        yield* Effect.forEach(clients, ({ client, user }) =>
          Effect.forEach(range(1, perSender), (i) => send(client, room, `${user.username} ${i}`, `${user.username}-${i}`), {
            discard: true
          }), { concurrency: "unbounded", discard: true })
        const acks = yield* Effect.forEach(clients, ({ client }) => client.take(frame("ack", room), perSender, 30_000), {
          concurrency: "unbounded"
        })
        const allAcks = acks.flat()
        const total = senders.length * perSender
        expect(seqs(allAcks).sort((x, y) => x - y)).toEqual(range(1, total))

        const history = yield* fullHistory(B, owner, room)
        expect(seqs(history)).toEqual(range(1, total))
        const ackedBySeq = new Map(allAcks.map((x) => [x.seq, x]))
        for (const message of history) {
          const ack = ackedBySeq.get(message.seq)
          expect(message.id).toBe(ack?.message_id)
          expect(message.client_msg_id).toBe(ack?.client_msg_id)
          expect(message.client_msg_id?.startsWith(`${message.sender.username}-`)).toBe(true)
        }
      }))
  })

  describe("authorization", () => {
    it.effect("rejects upgrades without a valid token, and answers FORBIDDEN / NOT_JOINED / NOT_FOUND / 403 without closing", () =>
      Effect.gen(function*() {
        const { A, B } = yield* gatewayUrls
        const [alice, mallory] = yield* users("alice", "mallory")
        if (alice === undefined || mallory === undefined) return
        const room = yield* createRoom(A, alice, [])

        // 401 before the upgrade: no token, garbage, a tampered signature (header and query).
        const noToken = yield* attemptUpgrade(A)
        expect(noToken.status).toBe(401)
        expect(JSON.parse(noToken.body)).toMatchObject({ success: false, error: { code: "unauthorized" } })
        const tampered = `${alice.token.slice(0, -2)}${alice.token.endsWith("AA") ? "BB" : "AA"}`
        for (const attempt of [
          { headers: { authorization: "Bearer not-a-jwt" } },
          { headers: { authorization: `Bearer ${tampered}` } },
          { query: `token=${tampered}` },
          { query: "access_token=garbage" },
          { headers: { authorization: `Basic ${Buffer.from("alice:pw").toString("base64")}` } }
        ]) {
          expect((yield* attemptUpgrade(B, attempt)).status, JSON.stringify(attempt)).toBe(401)
        }
        // The query-string forms work with a valid token.
        const viaQuery = yield* connect(A, alice.token, { via: "token", name: "alice?token" })
        yield* viaQuery.roundTrip
        const viaAccessToken = yield* connect(B, alice.token, { via: "access_token", name: "alice?access_token" })
        yield* viaAccessToken.roundTrip

        const m = yield* connect(B, mallory.token, { name: "mallory@B" })
        yield* m.send({ type: "join", room_id: room })
        expect(yield* m.next(frame("error"))).toMatchObject({ code: "FORBIDDEN" })
        yield* m.roundTrip
        yield* send(m, room, "let me in", "m-1")
        expect(yield* m.next(frame("error"))).toMatchObject({ code: "NOT_JOINED", ref: "m-1" })
        yield* m.send({ type: "typing", room_id: room })
        expect(yield* m.next(frame("error"))).toMatchObject({ code: "NOT_JOINED" })
        yield* m.send({ type: "leave", room_id: room })
        expect(yield* m.next(frame("error"))).toMatchObject({ code: "NOT_JOINED" })
        yield* m.send({ type: "join", room_id: randomUUID() })
        expect(yield* m.next(frame("error"))).toMatchObject({ code: "NOT_FOUND" })
        yield* m.roundTrip
        expect(m.closeInfo()).toBeUndefined()

        // mallory never sees the room's traffic.
        const a = yield* connect(A, alice.token, { name: "alice@A" })
        yield* join(a, alice, room)
        yield* send(a, room, "members only")
        yield* a.next(frame("message", room))
        yield* m.roundTrip
        expect(m.received.filter((f) => f.type === "message")).toEqual([])
        expect(m.received.filter((f) => f.type === "error").map((f) => f.type === "error" && f.message).join(" ")).not.toMatch(
          /sql|select|stack|postgres/i
        )

        // REST history: members only.
        const forbidden = yield* historyRequest(A, mallory, room, "limit=10")
        expect(forbidden.status).toBe(403)
        expect(forbidden.body).toMatchObject({ success: false, error: { code: "forbidden" } })
        expect((yield* historyRequest(B, alice, room, "limit=10")).status).toBe(200)
      }))

    it.effect("logout or refresh-token reuse on gateway A closes that session's sockets on both nodes with 1008; other sessions stay", () =>
      Effect.gen(function*() {
        const { A, B } = yield* gatewayUrls
        const [alice] = yield* users("alice")
        if (alice === undefined) return
        const second = yield* loginUser(A, alice)
        const third = yield* loginUser(B, alice)
        const onA = yield* connect(A, alice.token, { name: "alice-s1@A" })
        const onB = yield* connect(B, alice.token, { name: "alice-s1@B" })
        const otherSession = yield* connect(B, second.token, { name: "alice-s2@B" })
        const thirdSession = yield* connect(A, third.token, { name: "alice-s3@A" })

        const loggedOut = yield* request(A, "POST", "/api/v1/auth/logout", { token: alice.token })
        expect(loggedOut.status).toBe(200)
        for (const client of [onA, onB]) {
          const closed = yield* client.closed(10_000)
          expect([closed.code, closed.reason]).toEqual([1008, "session revoked"])
        }
        yield* otherSession.roundTrip
        yield* thirdSession.roundTrip

        // Refresh-token reuse ends the second session, also on the other node.
        expect((yield* request(B, "POST", "/api/v1/auth/refresh", { json: { refresh_token: second.refreshToken } })).status).toBe(200)
        expect((yield* request(A, "POST", "/api/v1/auth/refresh", { json: { refresh_token: second.refreshToken } })).status).toBe(401)
        const closed = yield* otherSession.closed(10_000)
        expect([closed.code, closed.reason]).toEqual([1008, "session revoked"])
        yield* thirdSession.roundTrip
        yield* thirdSession.close
      }))

    it.effect("a REST leave on gateway A stops delivery to the user's socket on gateway B at once", () =>
      Effect.gen(function*() {
        const { A, B } = yield* gatewayUrls
        const [alice, bob, carol] = yield* users("alice", "bob", "carol")
        if (alice === undefined || bob === undefined || carol === undefined) return
        const room = yield* createRoom(A, alice, [bob, carol])
        const a = yield* connect(A, alice.token, { name: "alice@A" })
        const b = yield* connect(B, bob.token, { name: "bob@B" })
        // carol shares bob's node: when she has a message, bob would have had it too.
        const c = yield* connect(B, carol.token, { name: "carol@B" })
        yield* join(a, alice, room)
        yield* join(b, bob, room)
        yield* join(c, carol, room)
        yield* send(a, room, "before leave")
        yield* b.next(frame("message", room))
        yield* c.next(frame("message", room))

        const left = yield* leaveRoom(A, bob, room)
        expect(left.status).toBe(200)
        expect(left.body).toMatchObject({ success: true, data: { left: true } })
        const userLeft = yield* a.next(frame("user_left", room))
        expect(userLeft.user_id).toBe(bob.id)

        yield* send(a, room, "after leave")
        const afterLeave = yield* c.next(frame("message", room))
        expect(afterLeave.content).toBe("after leave")
        yield* b.roundTrip
        expect(b.pending(frame("message", room))).toEqual([])
        // The socket itself stays open, but is no longer in the room.
        yield* send(b, room, "still here?", "b-1")
        const refused = yield* b.next(frame("error"))
        expect(["NOT_JOINED", "FORBIDDEN"]).toContain(refused.code)
        yield* b.send({ type: "join", room_id: room })
        expect(yield* b.next(frame("error"))).toMatchObject({ code: "FORBIDDEN" })
        expect(b.received.filter((f) => f.type === "ack")).toEqual([])
      }))
  })

  describe("malformed input", () => {
    it.effect("every kind of bad frame gets its error code without closing the socket; an oversized frame closes with 1009", () =>
      Effect.gen(function*() {
        const { A, B } = yield* gatewayUrls
        const [alice, bob, carol] = yield* users("alice", "bob", "carol")
        if (alice === undefined || bob === undefined || carol === undefined) return
        const room = yield* createRoom(A, alice, [bob, carol])
        const a = yield* connect(A, alice.token, { name: "alice@A" })
        const b = yield* connect(B, bob.token, { name: "bob@B" })
        const c = yield* connect(A, carol.token, { name: "carol@A" })
        yield* join(a, alice, room)
        yield* join(b, bob, room)
        yield* join(c, carol, room)

        const cases: ReadonlyArray<readonly [string, string, string?]> = [
          ["not json {", "INVALID_JSON"],
          ["", "INVALID_JSON"],
          [JSON.stringify({ type: "shout", room_id: room }), "UNKNOWN_TYPE"],
          [JSON.stringify({ room_id: room }), "UNKNOWN_TYPE"],
          [JSON.stringify([1, 2, 3]), "UNKNOWN_TYPE"],
          [JSON.stringify({ type: "join" }), "BAD_REQUEST"],
          [JSON.stringify({ type: "join", room_id: "not-a-uuid" }), "BAD_REQUEST"],
          [JSON.stringify({ type: "join", room_id: room, since_seq: -1 }), "BAD_REQUEST"],
          [JSON.stringify({ type: "typing", room_id: 42 }), "BAD_REQUEST"],
          [JSON.stringify({ type: "message", content: "no room" }), "BAD_REQUEST"],
          [JSON.stringify({ type: "message", room_id: room, content: "" }), "BAD_REQUEST"],
          [JSON.stringify({ type: "message", room_id: room, content: "   \n\t " }), "BAD_REQUEST"],
          [JSON.stringify({ type: "message", room_id: room }), "BAD_REQUEST"],
          [JSON.stringify({ type: "message", room_id: room, content: "x".repeat(10_001), client_msg_id: "too-long" }), "BAD_REQUEST", "too-long"],
          [JSON.stringify({ type: "message", room_id: room, content: "hi", msg_type: "video", client_msg_id: "bad-type" }), "BAD_REQUEST", "bad-type"],
          [JSON.stringify({ type: "message", room_id: room, content: "hi", msg_type: "system" }), "BAD_REQUEST"],
          [JSON.stringify({ type: "message", room_id: room, content: "hi", msg_type: 1 }), "BAD_REQUEST"],
          [JSON.stringify({ type: "message", room_id: room, content: "hi", client_msg_id: "c".repeat(65) }), "BAD_REQUEST"]
        ]
        for (const [raw, code, ref] of cases) {
          yield* a.sendRaw(raw)
          const error = yield* a.next(frame("error"))
          expect(error.code, raw.slice(0, 80)).toBe(code)
          if (ref !== undefined) expect(error.ref).toBe(ref)
          expect(error.message.length).toBeGreaterThan(0)
        }
        yield* a.sendRaw(Buffer.from(JSON.stringify({ type: "ping" })), true)
        expect(yield* a.next(frame("error"))).toMatchObject({ code: "UNSUPPORTED_MESSAGE_TYPE" })
        yield* a.roundTrip
        expect(a.closeInfo()).toBeUndefined()
        // No bad frame produced an ack or a message.
        expect(a.received.filter((f) => f.type === "ack" || f.type === "message")).toEqual([])

        // The boundary is accepted: 10,000 characters (4-byte ones, so the frame is ~40 KB).
        const longest = "😀".repeat(10_000)
        yield* send(a, room, longest, "longest")
        expect(yield* a.next(frame("ack", room))).toMatchObject({ client_msg_id: "longest", seq: 1 })
        const atBob = yield* b.next(frame("message", room))
        expect(atBob.content).toBe(longest)

        // A frame over 64 KiB closes that socket with 1009 — and only that one.
        yield* a.sendRaw(JSON.stringify({ type: "message", room_id: room, content: "y".repeat(70_000) }))
        const closed = yield* a.closed()
        expect(closed.code).toBe(1009)
        yield* b.roundTrip
        yield* c.roundTrip
        yield* c.next(frame("message", room))
        yield* send(c, room, "still fine")
        expect((yield* b.next(frame("message", room))).content).toBe("still fine")
        expect((yield* c.next(frame("message", room))).seq).toBe(2)
        expect(b.closeInfo()).toBeUndefined()
        expect(c.closeInfo()).toBeUndefined()
      }))
  })

  describe("backpressure and keepalive", () => {
    it.effect("a client that stops reading is cut off (4008) while a normal client in the room receives everything", () =>
      Effect.gen(function*() {
        const topology = yield* Topology
        const { A, B } = yield* gatewayUrls
        const [alice, slow, carol, dave] = yield* users("alice", "slow", "carol", "dave")
        if (alice === undefined || slow === undefined || carol === undefined || dave === undefined) return
        const room = yield* createRoom(A, alice, [slow, carol, dave])
        const a = yield* connect(A, alice.token, { name: "alice@A" })
        const s = yield* connect(A, slow.token, { name: "slow@A" })
        const c = yield* connect(B, carol.token, { name: "carol@B" })
        const d = yield* connect(A, dave.token, { name: "dave@A" })
        for (const [client, user] of [[a, alice], [s, slow], [c, carol], [d, dave]] as const) yield* join(client, user, room)

        const closesBefore = yield* metricValue(topology.gateways[0].metricsUrl, "pylon_ws_slow_consumer_closes_total")
        s.pauseReading()
        // The paused client still talks, so only its reading (not the idle timeout) can end it.
        const chatter = yield* Effect.forkChild(Effect.forever(Effect.andThen(s.send({ type: "ping" }), Effect.sleep("500 millis"))))

        const content = "z".repeat(10_000)
        const batch = 50
        let sent = 0
        let cutOff = false
        while (!cutOff && sent < 3_000) {
          for (let i = 0; i < batch; i++) yield* send(a, room, content)
          sent += batch
          yield* a.take(frame("ack", room), batch, 30_000)
          cutOff = (yield* metricValue(topology.gateways[0].metricsUrl, "pylon_ws_slow_consumer_closes_total")) > closesBefore
        }
        yield* Fiber.interrupt(chatter)
        expect(cutOff, `slow reader still connected after ${sent} messages of 10 KB`).toBe(true)

        // The readers that kept reading got every message, in order.
        for (const client of [c, d]) {
          const messages = yield* client.take(frame("message", room), sent, 60_000)
          expect(seqs(messages), client.name).toEqual(range(1, sent))
        }
        // When the slow client reads again it finds its connection closed (4008, or cut off mid-stream).
        s.resumeReading()
        const closed = yield* s.closed(15_000)
        expect([4008, 1006]).toContain(closed.code)
        const got = s.received.filter((f) => f.type === "message").length
        expect(got).toBeLessThan(sent)
        // The gateway holding the slow reader is healthy.
        expect(yield* readyStatus(topology.gateways[0].baseUrl)).toBe(200)
      }), 120_000)

    it.effect("the server pings; a connection that never answers is closed after the idle timeout, one that does stays", () =>
      Effect.gen(function*() {
        const { A } = yield* gatewayUrls
        const [alice] = yield* users("alice")
        if (alice === undefined) return
        const answering = yield* connect(A, alice.token, { name: "alice@A" })
        const silent = yield* rawConnect(A, alice.token)
        const openedAt = Date.now()
        expect(silent.statusLine()).toMatch(/^HTTP\/1\.1 101/)
        // Wait until the silent one is gone (or clearly overdue).
        const deadline = openedAt + IDLE_TIMEOUT_MS + 3 * PING_INTERVAL_MS + 2_000
        while (silent.closedAt() === undefined && Date.now() < deadline) yield* Effect.sleep("100 millis")
        const closedAt = silent.closedAt()
        expect(closedAt, "silent connection was not closed").toBeDefined()
        const lifetime = (closedAt ?? 0) - openedAt
        expect(lifetime).toBeGreaterThanOrEqual(IDLE_TIMEOUT_MS - 200)
        expect(silent.opcodes().filter((op) => op === 9).length).toBeGreaterThanOrEqual(2)
        // The ws client answered every ping and is still connected.
        yield* answering.roundTrip
        expect(answering.closeInfo()).toBeUndefined()
      }), 30_000)
  })

  describe("presence", () => {
    it.effect("room members see a user go online with the first connection and offline when the last one closes", () =>
      Effect.gen(function*() {
        const { A, B } = yield* gatewayUrls
        const [alice, bob] = yield* users("alice", "bob")
        if (alice === undefined || bob === undefined) return
        const room = yield* createRoom(A, alice, [bob])
        const a = yield* connect(A, alice.token, { name: "alice@A" })
        yield* join(a, alice, room)
        const isBob = (status: "online" | "offline") => (f: ServerFrame): f is FrameOf<"presence"> =>
          f.type === "presence" && f.user_id === bob.id && f.status === status

        // bob's first connection (on the other node, without joining anything).
        const first = yield* connect(B, bob.token, { name: "bob@B" })
        const online = yield* a.next(isBob("online"))
        expect(online).toEqual({ type: "presence", room_id: room, user_id: bob.id, status: "online" })

        // A second connection, then the first closes: bob is still online.
        const second = yield* connect(A, bob.token, { name: "bob@A" })
        yield* second.roundTrip
        yield* first.close
        yield* Effect.sleep("1 second")
        expect(a.pending(isBob("offline"))).toEqual([])

        yield* second.close
        const offline = yield* a.next(isBob("offline"))
        expect(offline.room_id).toBe(room)
      }))
  })

  // Stops gateway B: keep it last.
  describe("graceful drain", () => {
    it.effect("SIGTERM on gateway B: its sockets get 1001 at once, it leaves service and exits; nothing acked is lost, A keeps working", () =>
      Effect.gen(function*() {
        const topology = yield* Topology
        const [gatewayA, gatewayB] = topology.gateways
        const A = gatewayA.baseUrl
        const B = gatewayB.baseUrl
        const [alice, bob] = yield* users("alice", "bob")
        if (alice === undefined || bob === undefined) return
        const room = yield* createRoom(A, alice, [bob])
        const a = yield* connect(A, alice.token, { name: "alice@A" })
        const b = yield* connect(B, bob.token, { name: "bob@B" })
        yield* join(a, alice, room)
        yield* join(b, bob, room)
        yield* send(a, room, "before drain")
        const lastSeen = (yield* b.next(frame("message", room))).seq

        // bob has sends in flight on B when it is told to stop.
        const inFlight = 20
        for (let i = 1; i <= inFlight; i++) yield* send(b, room, `bob ${i}`, `bob-${i}`)
        const signalledAt = Date.now()
        const stopping = yield* Effect.forkChild(gatewayB.stop("SIGTERM"))
        const closed = yield* b.closed(15_000)
        expect(closed.code).toBe(1001)
        expect(Date.now() - signalledAt, "1001 only came after the graceful-shutdown timeout").toBeLessThan(3_000)
        // Out of service: /ready answers 503 or nothing answers any more.
        let ready = yield* readyStatus(B)
        while (ready === 200 && Date.now() - signalledAt < 15_000) {
          yield* Effect.sleep("50 millis")
          ready = yield* readyStatus(B)
        }
        expect([503, 0]).toContain(ready)
        yield* Fiber.join(stopping)
        expect(gatewayB.child.signalCode, "gateway B needed SIGKILL").not.toBe("SIGKILL")
        expect(Date.now() - signalledAt, "gateway B took until the graceful-shutdown timeout to exit").toBeLessThan(8_000)

        // bob moves to A, resumes from what he saw, and retries every send (same client_msg_id).
        const ackedOnB = new Map(b.received.flatMap((f) => f.type === "ack" && f.client_msg_id !== null ? [[f.client_msg_id, f]] : []))
        const resumed = yield* connect(A, bob.token, { name: "bob@A" })
        yield* join(resumed, bob, room, lastSeen)
        for (let i = 1; i <= inFlight; i++) yield* send(resumed, room, `bob ${i}`, `bob-${i}`)
        const retried = yield* resumed.take(frame("ack", room), inFlight)
        for (const ack of retried) {
          const earlier = ack.client_msg_id === null ? undefined : ackedOnB.get(ack.client_msg_id)
          if (earlier !== undefined) expect(ack).toEqual(earlier)
        }
        const history = yield* fullHistory(A, alice, room)
        expect(seqs(history)).toEqual(range(1, 1 + inFlight))
        expect(new Set(history.map((m) => m.client_msg_id)).size).toBe(1 + inFlight)
        // Everyone on A gets everything exactly once, in order.
        const atAlice = yield* a.take(frame("message", room), 1 + inFlight)
        expect(seqs(atAlice)).toEqual(range(1, 1 + inFlight))
        const atBob = yield* resumed.take(frame("message", room), inFlight)
        expect(seqs(atBob)).toEqual(range(2, 1 + inFlight))
        yield* resumed.roundTrip
        expect(resumed.pending(frame("message", room))).toEqual([])
        const [carol] = yield* users("carol")
        expect(carol?.username).toMatch(/^carol_/)
        expect(yield* readyStatus(A)).toBe(200)
      }), 60_000)
  })
})
