/**
 * The cross-room `client_msg_id` replay scenario (issue #7 item 1), run on both topologies: a
 * member who reuses in room B an id they used in room A must get a new message in B — never A's
 * message acked or fanned out to B — and B's later live messages must keep arriving (no cursor
 * jump to A's seq). A retry in B is re-acked, never re-broadcast.
 */
import { Effect } from "effect"
import { expect } from "@effect/vitest"
import type { ServerFrame } from "@pylon/contracts/WsFrames"
import { createRoom, fullHistory, registerUser } from "@pylon/testkit/Rest"
import type { TestUser } from "@pylon/testkit/Rest"
import { connect, frame } from "@pylon/testkit/WsClient"
import type { FrameOf, WsClient } from "@pylon/testkit/WsClient"

const ownJoin = (roomId: string, user: TestUser) => (f: ServerFrame): f is FrameOf<"user_joined"> =>
  f.type === "user_joined" && f.room_id === roomId && f.user.id === user.id && f.last_seq !== undefined

const join = (client: WsClient, user: TestUser, roomId: string) =>
  Effect.gen(function*() {
    yield* client.send({ type: "join", room_id: roomId })
    yield* client.next(ownJoin(roomId, user))
  })

const ackOf = (clientMsgId: string) => (f: ServerFrame): f is FrameOf<"ack"> =>
  f.type === "ack" && f.client_msg_id === clientMsgId

/** `senderUrl` is where alice connects, `readerUrl` where carol (a member of B only) does. */
export const crossRoomReplay = (senderUrl: string, readerUrl: string) =>
  Effect.gen(function*() {
    const alice = yield* registerUser(senderUrl, "alice")
    const bob = yield* registerUser(senderUrl, "bob")
    const carol = yield* registerUser(senderUrl, "carol")
    const roomA = yield* createRoom(senderUrl, alice, [bob])
    const roomB = yield* createRoom(senderUrl, alice, [carol])

    const a = yield* connect(senderUrl, alice.token, { name: "alice" })
    const c = yield* connect(readerUrl, carol.token, { name: "carol" })
    yield* join(a, alice, roomA)
    yield* join(a, alice, roomB)
    yield* join(c, carol, roomB)

    // Room A runs ahead (seq 3) so a cursor jump in B would hide B's next messages.
    for (const [i, id] of ["a-1", "a-2", "shared-id"].entries()) {
      yield* a.send({ type: "message", room_id: roomA, content: `private to A ${i + 1}`, client_msg_id: id })
      yield* a.next(ackOf(id))
    }

    yield* a.send({ type: "message", room_id: roomB, content: "hello B", client_msg_id: "shared-id" })
    const ack = yield* a.next((f): f is FrameOf<"ack"> => f.type === "ack" && f.room_id === roomB)
    expect([ack.room_id, ack.seq, ack.client_msg_id]).toEqual([roomB, 1, "shared-id"])

    // A retry in B: the same ack again, and no second delivery.
    yield* a.send({ type: "message", room_id: roomB, content: "retry", client_msg_id: "shared-id" })
    const retry = yield* a.next((f): f is FrameOf<"ack"> => f.type === "ack" && f.room_id === roomB)
    expect(retry).toEqual(ack)

    yield* a.send({ type: "message", room_id: roomB, content: "second in B", client_msg_id: "b-2" })
    yield* a.next(ackOf("b-2"))

    const atCarol = yield* c.take(frame("message", roomB), 2)
    expect(atCarol.map((m) => [m.seq, m.content])).toEqual([[1, "hello B"], [2, "second in B"]])
    yield* c.roundTrip
    expect(c.pending(frame("message"))).toEqual([])
    expect(c.received.some((f) => JSON.stringify(f).includes("private to A"))).toBe(false)

    const history = yield* fullHistory(readerUrl, carol, roomB)
    expect(history.map((m) => [m.seq, m.content])).toEqual([[1, "hello B"], [2, "second in B"]])
    yield* a.close
    yield* c.close
  })
