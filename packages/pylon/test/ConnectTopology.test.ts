/**
 * The Connect streams across gateway nodes (issue #8, CONNECT-COMPAT.md rule 6) in the
 * microservice topology: room, chat and presence services and two gateways as separate processes
 * on the real PostgreSQL, Redis and Kafka (support/TopologyStack.ts). A message sent over the
 * WebSocket on gateway A reaches StreamMessages streams opened on gateway B (gRPC over HTTP/2
 * cleartext and Connect JSON); a `SendMessage` on gateway B reaches a WebSocket on gateway A;
 * typing over the WebSocket on A reaches a StreamPresence stream on B.
 */
import { createClient } from "@connectrpc/connect"
import type { Transport } from "@connectrpc/connect"
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import type { ServerFrame } from "@pylon/contracts/WsFrames"
import { ChatService } from "@pylon/proto-gen/chat/v1/chat"
import type { Message } from "@pylon/proto-gen/chat/v1/chat"
import { PresenceService, PresenceStatus } from "@pylon/proto-gen/presence/v1/presence"
import { createRoom, registerUser } from "@pylon/testkit/Rest"
import type { TestUser } from "@pylon/testkit/Rest"
import { cancelling, readStream } from "@pylon/testkit/StreamReader"
import type { StreamReader } from "@pylon/testkit/StreamReader"
import { connect, frame } from "@pylon/testkit/WsClient"
import type { FrameOf, WsClient } from "@pylon/testkit/WsClient"
import { Topology, TopologyStack } from "./support/TopologyStack.ts"

const bearer = (user: TestUser, signal: AbortSignal) => ({ headers: { authorization: `Bearer ${user.token}` }, signal })

const transports: ReadonlyArray<readonly [string, (baseUrl: string) => Transport]> = [
  ["gRPC (HTTP/2 cleartext)", (baseUrl) => createGrpcTransport({ baseUrl })],
  ["Connect JSON", (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1" })]
]

/** Alice and bob (registered on A) in a new room; alice's WebSocket on A has joined it. */
const setup = Effect.gen(function*() {
  const { gateways: [a, b] } = yield* Topology
  const [alice, bob] = yield* Effect.all([registerUser(a.baseUrl, "alice"), registerUser(a.baseUrl, "bob")])
  const roomId = yield* createRoom(a.baseUrl, alice, [bob])
  const socket = yield* connect(a.baseUrl, alice.token, { name: "alice@A" })
  yield* socket.send({ type: "join", room_id: roomId })
  yield* socket.next((f: ServerFrame): f is FrameOf<"user_joined"> =>
    f.type === "user_joined" && f.room_id === roomId && f.user.id === alice.id && f.last_seq !== undefined
  )
  return { A: a.baseUrl, B: b.baseUrl, alice, bob, roomId, socket }
})

/** Sends `content` over the WebSocket and returns the seq of its ack. */
const sendOverWs = (socket: WsClient, roomId: string, content: string) =>
  Effect.gen(function*() {
    yield* socket.send({ type: "message", room_id: roomId, content })
    const ack = yield* socket.next(frame("ack", roomId))
    return ack.seq
  })

/**
 * Waits until `stream` is live: sends probes over the WebSocket until one arrives (the stream was
 * opened without `after_seq`, so only what is sent after it subscribed can reach it).
 */
const untilLive = (stream: StreamReader<Message>, socket: WsClient, roomId: string) => {
  let probe = 0
  return Effect.gen(function*() {
    probe += 1
    yield* sendOverWs(socket, roomId, `probe ${probe}`)
    yield* stream.take(1, 2_000)
  }).pipe(Effect.retry({ times: 20 }))
}

layer(TopologyStack(), { excludeTestServices: true, timeout: "180 seconds" })("Connect streams across gateway nodes", (it) => {
  for (const [protocol, transport] of transports) {
    it.effect(`${protocol}: a message sent over the WebSocket on gateway A arrives on a StreamMessages stream on gateway B`, () =>
      Effect.scoped(Effect.gen(function*() {
        const { B, bob, roomId, socket } = yield* setup
        const chat = createClient(ChatService, transport(B))
        yield* cancelling((controller) =>
          Effect.gen(function*() {
            const stream = readStream(chat.streamMessages({ roomId }, bearer(bob, controller.signal)))
            yield* untilLive(stream, socket, roomId)
            const seqs = [
              yield* sendOverWs(socket, roomId, "cross-node 1"),
              yield* sendOverWs(socket, roomId, "cross-node 2")
            ]
            const live = yield* stream.take(2)
            expect(live.map((m) => m.content)).toEqual(["cross-node 1", "cross-node 2"])
            expect(live.map((m) => Number(m.seq))).toEqual(seqs)
          })
        )
      })), { timeout: 90_000 })

    it.effect(`${protocol}: SendMessage on gateway B reaches a WebSocket on gateway A`, () =>
      Effect.scoped(Effect.gen(function*() {
        const { B, bob, roomId, socket } = yield* setup
        const chat = createClient(ChatService, transport(B))
        const sent = yield* cancelling((controller) =>
          Effect.promise(() => chat.sendMessage({ roomId, content: "from B" }, bearer(bob, controller.signal)))
        )
        const delivered = yield* socket.next(frame("message", roomId))
        expect(delivered).toMatchObject({ content: "from B", seq: Number(sent.message?.seq), message_id: sent.message?.id })
      })), { timeout: 90_000 })
  }

  it.effect("typing over the WebSocket on gateway A reaches a StreamPresence stream on gateway B", () =>
    Effect.scoped(Effect.gen(function*() {
      const { B, alice, bob, roomId, socket } = yield* setup
      const presence = createClient(PresenceService, createGrpcTransport({ baseUrl: B }))
      yield* cancelling((controller) =>
        Effect.gen(function*() {
          const events = readStream(presence.streamPresence({ roomId }, bearer(bob, controller.signal)))
          // Subscribed once a first event reaches it: typing again until one does.
          yield* Effect.gen(function*() {
            yield* socket.send({ type: "typing", room_id: roomId })
            yield* events.take(1, 2_000)
          }).pipe(Effect.retry({ times: 20 }))
          expect(events.items[0]).toMatchObject({ userId: alice.id, roomId, status: PresenceStatus.TYPING })
        })
      )
    })), { timeout: 90_000 })
})
