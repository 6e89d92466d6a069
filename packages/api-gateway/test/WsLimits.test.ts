/**
 * WebSocket resource limits and busy senders on a real gateway (issue #7 item 5, issue #10 item 1):
 * a burst of frames is answered (acks within the message budget, `RATE_LIMITED` after it) while the
 * gateway stops reading the socket instead of buffering or closing it; sends are pipelined across
 * rooms but keep their order within a room and their replies in frame order; every send has a
 * deadline; connections per user and per client address are capped with 1008; `join`/`leave`
 * and replay pages have budgets; typing is throttled per user and room, not per socket.
 *
 * Sends are slowed deterministically by holding the room's row lock in PostgreSQL (the lock every
 * send of that room takes), not by sleeping.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Deferred, Effect, Fiber } from "effect"
import { PrometheusMetrics } from "effect/observability"
import { SqlClient } from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import type { ServerFrame } from "@pylon/contracts/WsFrames"
import { createRoom, registerUser } from "@pylon/testkit/Rest"
import type { TestUser } from "@pylon/testkit/Rest"
import { connect, frame, isError } from "@pylon/testkit/WsClient"
import type { FrameOf, WsClient } from "@pylon/testkit/WsClient"
import { Gateway, gatewayLayer } from "./support/GatewayHarness.ts"

const MESSAGE_BUDGET = 600
const JOIN_BUDGET = 12
const HISTORY_BUDGET = 2
const RPC_TIMEOUT_MS = 3_000

const Live = gatewayLayer({
  rateLimits: { wsMessages: MESSAGE_BUDGET, join: JOIN_BUDGET, history: HISTORY_BUDGET },
  // Every test connection names its own client address in X-Forwarded-For (the harness's peer
  // is a trusted proxy), so the per-address cap of one test never sees another test's sockets.
  trustedProxies: "127.0.0.1/32, ::1/128",
  env: {
    // Long windows and throttles: nothing in these tests may pass or fail by the clock.
    RATE_LIMIT_WINDOW_SECONDS: "3600",
    WS_TYPING_THROTTLE_MS: "3600000",
    WS_INBOUND_BUFFER_BYTES: "16384",
    WS_MAX_FRAMES_IN_FLIGHT: "16",
    WS_RPC_TIMEOUT_MS: String(RPC_TIMEOUT_MS),
    WS_MAX_CONNECTIONS_PER_USER: "3",
    WS_MAX_CONNECTIONS_PER_ADDRESS: "4"
  }
})

/** The sum of a metric's samples, read in process (the gateway runs in this process). */
const metricTotal = (name: string) =>
  Effect.map(PrometheusMetrics.format(), (text) => {
    let total = 0
    for (const line of text.split("\n")) {
      const match = /^([A-Za-z_:][A-Za-z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line)
      if (match !== null && match[1] === name) total += Number(match[3])
    }
    return total
  })

let addressCounter = 0
/** A client address of its own for each caller (TEST-NET-2). */
const newAddress = () => `198.51.100.${++addressCounter}`

const open = (user: TestUser, name: string, address: string) =>
  Effect.gen(function*() {
    const { baseUrl } = yield* Gateway
    return yield* connect(baseUrl, user.token, { name, headers: { "x-forwarded-for": address } })
  })

const join = (client: WsClient, user: TestUser, roomId: string, sinceSeq?: number) =>
  Effect.gen(function*() {
    yield* client.send(sinceSeq === undefined ? { type: "join", room_id: roomId } : { type: "join", room_id: roomId, since_seq: sinceSeq })
    yield* client.next((f): f is FrameOf<"user_joined"> =>
      f.type === "user_joined" && f.room_id === roomId && f.user.id === user.id && f.last_seq !== undefined
    )
  })

type Reply = FrameOf<"ack"> | FrameOf<"error">
const isReply = (f: ServerFrame): f is Reply => f.type === "ack" || f.type === "error"
const refOf = (reply: Reply) => reply.type === "ack" ? reply.client_msg_id : reply.ref

const sendMessages = (client: WsClient, roomId: string, refs: ReadonlyArray<string>) =>
  Effect.forEach(refs, (ref) => client.send({ type: "message", room_id: roomId, content: `content of ${ref}`, client_msg_id: ref }), {
    discard: true
  })

const refs = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}-${i}`)

/** A fresh user with one connection, joined to two rooms of their own. */
const twoRooms = (tag: string) =>
  Effect.gen(function*() {
    const { baseUrl } = yield* Gateway
    const alice = yield* registerUser(baseUrl, tag)
    const roomA = yield* createRoom(baseUrl, alice, [])
    const roomB = yield* createRoom(baseUrl, alice, [])
    const client = yield* open(alice, tag, newAddress())
    yield* join(client, alice, roomA)
    yield* join(client, alice, roomB)
    return { client, roomA, roomB }
  })

/** Polls `check` every 20 ms until it holds; fails after `timeoutMs`. */
const eventually = <R>(what: string, check: Effect.Effect<boolean, never, R>, timeoutMs = 20_000) =>
  Effect.gen(function*() {
    const deadline = Date.now() + timeoutMs
    while (!(yield* check)) {
      if (Date.now() > deadline) return yield* Effect.die(new Error(`timed out waiting for ${what}`))
      yield* Effect.sleep("20 millis")
    }
  })

/** Everything the client wrote has left its socket buffer. */
const flushed = (client: WsClient) => eventually("the client's writes to leave its buffer", Effect.sync(() => client.socket.bufferedAmount === 0))

/**
 * Takes a lock with `take` in a transaction and holds it until the returned effect is run or the
 * scope closes: whatever needs that lock blocks meanwhile.
 */
const holdLock = (take: (sql: SqlClient) => Effect.Effect<unknown, SqlError>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient
    const locked = yield* Deferred.make<void>()
    const release = yield* Deferred.make<void>()
    const holder = yield* sql.withTransaction(Effect.gen(function*() {
      yield* take(sql)
      yield* Deferred.succeed(locked, undefined)
      yield* Deferred.await(release)
    })).pipe(Effect.orDie, Effect.forkScoped)
    yield* Deferred.await(locked)
    return Deferred.succeed(release, undefined).pipe(Effect.andThen(Fiber.join(holder)), Effect.asVoid)
  })

/** The room's row lock, which every send of the room waits for. */
const lockRoom = (roomId: string) => holdLock((sql) => sql`SELECT id FROM rooms WHERE id = ${roomId} FOR UPDATE`)

/** No one reads or writes any message meanwhile (history pages block). */
const lockMessages = holdLock((sql) => sql`LOCK TABLE messages IN ACCESS EXCLUSIVE MODE`)

const storedCount = (roomId: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient
    const rows = yield* sql<{ readonly n: number }>`SELECT count(*)::int AS n FROM messages WHERE room_id = ${roomId}`
    return rows[0]?.n ?? 0
  }).pipe(Effect.orDie)

layer(Live, { excludeTestServices: true, timeout: "180 seconds" })("WebSocket limits and busy senders", (it) => {
  describe("bursts and backpressure", () => {
    it.effect("1,500 message frames at once: acks for the budget, RATE_LIMITED for the rest, in frame order; reading pauses, the socket stays open", () =>
      Effect.gen(function*() {
        const { baseUrl } = yield* Gateway
        const alice = yield* registerUser(baseUrl, "burst")
        const room = yield* createRoom(baseUrl, alice, [])
        const client = yield* open(alice, "burst", newAddress())
        yield* join(client, alice, room)
        const pausesBefore = yield* metricTotal("pylon_ws_inbound_pauses_total")

        const sent = refs("b", 1_500)
        yield* sendMessages(client, room, sent)
        const replies = yield* client.take(isReply, sent.length, 120_000)

        expect(replies.map(refOf)).toEqual(sent)
        const acks = replies.slice(0, MESSAGE_BUDGET)
        expect(acks.every((r) => r.type === "ack")).toBe(true)
        expect(acks.map((r) => r.type === "ack" ? r.seq : -1)).toEqual(Array.from({ length: MESSAGE_BUDGET }, (_, i) => i + 1))
        const refused = replies.slice(MESSAGE_BUDGET)
        expect(refused.every((r) => r.type === "error" && r.code === "RATE_LIMITED")).toBe(true)

        yield* client.roundTrip
        expect(client.closeInfo()).toBeUndefined()
        // 1,500 frames are far more than WS_INBOUND_BUFFER_BYTES: the gateway stopped reading
        // this socket (TCP backpressure) rather than holding them all.
        expect(yield* metricTotal("pylon_ws_inbound_pauses_total")).toBeGreaterThan(pausesBefore)
      }), { timeout: 150_000 })

    it.effect("300 messages queued offline and flushed on reconnect are all served in order", () =>
      Effect.gen(function*() {
        const { baseUrl } = yield* Gateway
        const alice = yield* registerUser(baseUrl, "offline")
        const bob = yield* registerUser(baseUrl, "reader")
        const room = yield* createRoom(baseUrl, alice, [bob])
        const reader = yield* open(bob, "reader", newAddress())
        yield* join(reader, bob, room)

        const client = yield* open(alice, "flusher", newAddress())
        yield* client.send({ type: "join", room_id: room, since_seq: 0 })
        const queued = refs("o", 300)
        yield* sendMessages(client, room, queued)

        const acks = yield* client.take(frame("ack", room), queued.length, 60_000)
        expect(acks.map((a) => a.client_msg_id)).toEqual(queued)
        expect(acks.map((a) => a.seq)).toEqual(queued.map((_, i) => i + 1))
        const delivered = yield* reader.take(frame("message", room), queued.length, 60_000)
        expect(delivered.map((m) => m.seq)).toEqual(queued.map((_, i) => i + 1))
        expect(client.pending(isError("RATE_LIMITED"))).toEqual([])
        expect(client.closeInfo()).toBeUndefined()
      }), { timeout: 150_000 })

    it.effect("a sender whose sends are slower than its frames arrive is served, not cut off", () =>
      Effect.gen(function*() {
        const { baseUrl } = yield* Gateway
        const alice = yield* registerUser(baseUrl, "busy")
        const room = yield* createRoom(baseUrl, alice, [])
        const client = yield* open(alice, "busy", newAddress())
        yield* join(client, alice, room)

        // Every send of the room waits for this lock: the frames pile up at the gateway.
        const release = yield* lockRoom(room)
        const sent = refs("s", 300)
        yield* sendMessages(client, room, sent)
        yield* flushed(client)
        // Give the gateway time to read what it will read (before the fix: to overflow and close).
        yield* Effect.sleep("500 millis")
        expect(client.closeInfo()).toBeUndefined()
        yield* release

        const acks = yield* client.take(frame("ack", room), sent.length, 60_000)
        expect(acks.map((a) => a.client_msg_id)).toEqual(sent)
        expect(acks.map((a) => a.seq)).toEqual(sent.map((_, i) => i + 1))
        expect(client.closeInfo()).toBeUndefined()
      }), { timeout: 150_000 })
  })

  describe("pipelined sends", () => {
    it.effect("a send blocked in room A does not hold back room B; replies stay in frame order and A's seqs in send order", () =>
      Effect.gen(function*() {
        const { client, roomA, roomB } = yield* twoRooms("pipe")

        const release = yield* lockRoom(roomA)
        yield* sendMessages(client, roomA, ["a-1"])
        yield* sendMessages(client, roomB, ["b-1", "b-2"])
        yield* sendMessages(client, roomA, ["a-2"])
        // B's sends commit while A's first send is still waiting for its lock.
        yield* eventually("room B's two messages to be stored", Effect.map(storedCount(roomB), (n) => n === 2))
        expect(yield* storedCount(roomA)).toBe(0)
        // …but their acks wait for a-1's: replies leave in the order the frames came.
        expect(client.pending(frame("ack"))).toEqual([])
        yield* release

        const replies = yield* client.take(isReply, 4, 30_000)
        expect(replies.map(refOf)).toEqual(["a-1", "b-1", "b-2", "a-2"])
        const seqOf = (ref: string) => {
          const reply = replies.find((r) => refOf(r) === ref)
          return reply?.type === "ack" ? reply.seq : -1
        }
        expect([seqOf("a-1"), seqOf("a-2"), seqOf("b-1"), seqOf("b-2")]).toEqual([1, 2, 1, 2])
        // The sender's own copies come in each room's order, each after its ack.
        const ownA = yield* client.take(frame("message", roomA), 2)
        const ownB = yield* client.take(frame("message", roomB), 2)
        expect([ownA.map((m) => m.client_msg_id), ownB.map((m) => m.client_msg_id)]).toEqual([["a-1", "a-2"], ["b-1", "b-2"]])
        for (const own of [...ownA, ...ownB]) {
          const ack = replies.find((r) => refOf(r) === own.client_msg_id)
          expect(client.received.indexOf(own)).toBeGreaterThan(ack === undefined ? Infinity : client.received.indexOf(ack))
        }
      }))

    it.effect("a send that cannot complete before WS_RPC_TIMEOUT_MS gets UNAVAILABLE with its ref; the connection keeps working", () =>
      Effect.gen(function*() {
        const { client, roomA, roomB } = yield* twoRooms("late")

        const release = yield* lockRoom(roomA)
        yield* sendMessages(client, roomA, ["stuck"])
        const error = yield* client.next(isError("UNAVAILABLE"), RPC_TIMEOUT_MS + 15_000)
        expect(error.ref).toBe("stuck")
        yield* sendMessages(client, roomB, ["after"])
        const ack = yield* client.next(frame("ack", roomB))
        expect(ack.client_msg_id).toBe("after")
        yield* release

        // The client retries the timed-out send with the same client_msg_id and gets its ack.
        yield* sendMessages(client, roomA, ["stuck"])
        const retried = yield* client.next(frame("ack", roomA))
        expect([retried.client_msg_id, retried.seq]).toEqual(["stuck", 1])
        expect(client.closeInfo()).toBeUndefined()
      }))
  })

  describe("deadlines", () => {
    it.effect("a replay page that times out is read again: the join completes once history answers", () =>
      Effect.gen(function*() {
        const { client, roomA } = yield* twoRooms("replay-retry")
        yield* sendMessages(client, roomA, ["first"])
        yield* client.next(frame("ack", roomA))
        yield* client.next(frame("message", roomA))
        yield* client.send({ type: "leave", room_id: roomA })

        const release = yield* lockMessages
        yield* client.send({ type: "join", room_id: roomA, since_seq: 0 })
        // The first page read runs into the deadline; history answers again before the retries end.
        yield* Effect.sleep(RPC_TIMEOUT_MS + 500)
        yield* release
        const replayed = yield* client.next(frame("message", roomA), 30_000)
        expect([replayed.seq, replayed.client_msg_id]).toEqual([1, "first"])
        expect(client.pending(isError("UNAVAILABLE"))).toEqual([])
        yield* sendMessages(client, roomA, ["still joined"])
        expect((yield* client.next(frame("ack", roomA))).client_msg_id).toBe("still joined")
      }))

    it.effect("a replay that keeps failing: the room is left and the client told (user_left, UNAVAILABLE), a later rejoin replays", () =>
      Effect.gen(function*() {
        const { client, roomA } = yield* twoRooms("replay")
        yield* sendMessages(client, roomA, ["first"])
        yield* client.next(frame("ack", roomA))
        yield* client.next(frame("message", roomA))
        yield* client.send({ type: "leave", room_id: roomA })

        const release = yield* lockMessages
        const before = client.received.length
        yield* client.send({ type: "join", room_id: roomA, since_seq: 0 })
        // Four attempts, each cut off by the deadline, with 0.5 + 1 + 2 s between them.
        const error = yield* client.next(isError("UNAVAILABLE"), 4 * RPC_TIMEOUT_MS + 20_000)
        expect(error.ref).toBeUndefined()
        // The socket's own copy carries the last seq it was sent (none here): it rejoins from there.
        const selfLeft = client.received.slice(before).flatMap((f) => f.type === "user_left" && f.room_id === roomA ? [f.last_seq] : [])
        expect(selfLeft).toEqual([0])
        yield* release
        yield* sendMessages(client, roomA, ["not joined"])
        expect((yield* client.next(isError("NOT_JOINED"))).ref).toBe("not joined")

        yield* client.send({ type: "join", room_id: roomA, since_seq: 0 })
        const replayed = yield* client.next(frame("message", roomA))
        expect([replayed.seq, replayed.client_msg_id]).toEqual([1, "first"])
        expect(client.closeInfo()).toBeUndefined()
      }))
  })

  describe("connection caps", () => {
    it.effect("a user's connections beyond WS_MAX_CONNECTIONS_PER_USER are closed with 1008; one is admitted again after another closes", () =>
      Effect.gen(function*() {
        const { baseUrl } = yield* Gateway
        const alice = yield* registerUser(baseUrl, "capped")
        const closesBefore = yield* metricTotal("pylon_ws_policy_closes_total")
        const first = yield* open(alice, "tab-1", newAddress())
        yield* open(alice, "tab-2", newAddress())
        const third = yield* open(alice, "tab-3", newAddress())
        yield* third.roundTrip

        const fourth = yield* open(alice, "tab-4", newAddress())
        const closed = yield* fourth.closed()
        expect(closed.code).toBe(1008)
        expect(closed.reason).toMatch(/too many connections/)
        yield* eventually("the policy close to be counted", Effect.map(metricTotal("pylon_ws_policy_closes_total"), (n) => n > closesBefore))
        yield* third.roundTrip

        yield* first.close
        // The freed slot is released when the gateway has finished the first session.
        yield* eventually("a new connection to be admitted", Effect.scoped(Effect.gen(function*() {
          const again = yield* open(alice, "tab-again", newAddress())
          // A refused connection is closed before its first frame is read: the close comes first.
          return yield* Effect.raceFirst(again.roundTrip.pipe(Effect.as(true)), again.closed().pipe(Effect.as(false)))
        })).pipe(Effect.orDie))
      }))

    it.effect("connections from one client address beyond WS_MAX_CONNECTIONS_PER_ADDRESS are closed with 1008; other addresses are not affected", () =>
      Effect.gen(function*() {
        const { baseUrl } = yield* Gateway
        const shared = newAddress()
        const users = yield* Effect.forEach([1, 2, 3, 4, 5], (i) => registerUser(baseUrl, `nat${i}`))
        const admitted = yield* Effect.forEach(users.slice(0, 4), (user) => open(user, user.username, shared))
        for (const client of admitted) yield* client.roundTrip

        const extra = yield* open(users[4]!, "one too many", shared)
        const closed = yield* extra.closed()
        expect(closed.code).toBe(1008)
        expect(closed.reason).toMatch(/too many connections/)

        const elsewhere = yield* open(users[4]!, "other address", newAddress())
        yield* elsewhere.roundTrip
        expect(elsewhere.closeInfo()).toBeUndefined()
      }))
  })

  describe("frame budgets", () => {
    it.effect("join and leave frames are charged to the join budget; replay pages to the history budget", () =>
      Effect.gen(function*() {
        const { baseUrl } = yield* Gateway
        const alice = yield* registerUser(baseUrl, "joiner")
        const room = yield* createRoom(baseUrl, alice, [])

        const churn = yield* open(alice, "churn", newAddress())
        for (let i = 0; i < JOIN_BUDGET / 2; i++) {
          yield* join(churn, alice, room)
          yield* churn.send({ type: "leave", room_id: room })
        }
        yield* churn.roundTrip
        expect(churn.pending(isError("RATE_LIMITED"))).toEqual([])
        yield* churn.send({ type: "join", room_id: room })
        const refused = yield* churn.next(isError("RATE_LIMITED"))
        expect(refused.message).toMatch(/join/)

        // One message, so each replay is one page.
        yield* churn.close
        const sender = yield* open(alice, "sender", newAddress())
        yield* join(sender, alice, room)
        yield* sendMessages(sender, room, ["only"])
        yield* sender.next(frame("ack", room))
        yield* sender.close

        const replayer = yield* open(alice, "replayer", newAddress())
        for (let i = 0; i < HISTORY_BUDGET; i++) {
          yield* join(replayer, alice, room, 0)
          const replayed = yield* replayer.next(frame("message", room))
          expect(replayed.seq).toBe(1)
          yield* replayer.send({ type: "leave", room_id: room })
        }
        yield* replayer.send({ type: "join", room_id: room, since_seq: 0 })
        const overBudget = yield* replayer.next(isError("RATE_LIMITED"))
        expect(overBudget.message).toMatch(/history/)
        // A join without a replay costs no history.
        yield* join(replayer, alice, room)
        expect(replayer.closeInfo()).toBeUndefined()
      }))

    it.effect("typing is throttled per user and room, across that user's sockets on the node", () =>
      Effect.gen(function*() {
        const { baseUrl } = yield* Gateway
        const alice = yield* registerUser(baseUrl, "typist")
        const bob = yield* registerUser(baseUrl, "watcher")
        const room = yield* createRoom(baseUrl, alice, [bob])
        const watcher = yield* open(bob, "watcher", newAddress())
        yield* join(watcher, bob, room)
        const phone = yield* open(alice, "phone", newAddress())
        const laptop = yield* open(alice, "laptop", newAddress())
        yield* join(phone, alice, room)
        yield* join(laptop, alice, room)

        yield* phone.send({ type: "typing", room_id: room })
        yield* phone.roundTrip
        yield* laptop.send({ type: "typing", room_id: room })
        yield* laptop.roundTrip
        // A message published after both: everything published before it has reached the watcher.
        yield* sendMessages(laptop, room, ["marker"])
        yield* watcher.next(frame("message", room))
        expect(watcher.pending(frame("typing", room)).filter((t) => t.user_id === alice.id)).toHaveLength(1)
      }))
  })
})
