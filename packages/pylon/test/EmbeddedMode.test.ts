/**
 * `npm start` (`pylon dev`): the whole system in one process — PGlite in a temporary data
 * directory, in-memory rate limits, realtime bus, presence and event bus, every service answering in
 * process — driven over real HTTP and WebSocket exactly as a client would: auth, rooms, a message
 * acked and fanned out in order, resume with `since_seq`, history, typing, presence, and the
 * notification that the outbox relay + consumer produce on the in-memory event bus.
 */
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as NodePath from "node:path"
import { expect, layer } from "@effect/vitest"
import { ConfigProvider, Context, Effect, Layer, References } from "effect"
import type { ServerFrame } from "@pylon/contracts/WsFrames"
import { boundPort } from "@pylon/platform/http/HttpServerLive"
import { devLayer } from "../src/DevMode.ts"
import { crossRoomReplay } from "./support/CrossRoomReplay.ts"
import { createRoom, fullHistory, registerUser } from "@pylon/testkit/Rest"
import type { TestUser } from "@pylon/testkit/Rest"
import { connect, frame } from "@pylon/testkit/WsClient"
import type { FrameOf, WsClient } from "@pylon/testkit/WsClient"

class BaseUrl extends Context.Service<BaseUrl, string>()("pylon/pylon/test/EmbeddedBaseUrl") {}

const Embedded = Layer.unwrap(Effect.gen(function*() {
  const dataDir = yield* Effect.acquireRelease(
    Effect.promise(() => mkdtemp(NodePath.join(tmpdir(), "pylon-dev-"))),
    (directory) => Effect.promise(() => rm(directory, { recursive: true, force: true }))
  )
  const config = ConfigProvider.fromUnknown({ APP_PORT: "0", APP_HOST: "127.0.0.1", PYLON_DATA_DIR: dataDir })
  return Layer.effect(BaseUrl, Effect.map(boundPort, (port) => `http://127.0.0.1:${port}`)).pipe(
    Layer.provide(devLayer),
    Layer.provide(ConfigProvider.layer(config)),
    Layer.provide(Layer.succeed(References.MinimumLogLevel, "Warn"))
  )
}))

const ownJoin = (roomId: string, user: TestUser) => (f: ServerFrame): f is FrameOf<"user_joined"> =>
  f.type === "user_joined" && f.room_id === roomId && f.user.id === user.id && f.last_seq !== undefined

const join = (client: WsClient, user: TestUser, roomId: string, sinceSeq?: number) =>
  Effect.gen(function*() {
    yield* client.send(sinceSeq === undefined ? { type: "join", room_id: roomId } : { type: "join", room_id: roomId, since_seq: sinceSeq })
    return (yield* client.next(ownJoin(roomId, user))).last_seq ?? -1
  })

layer(Embedded, { excludeTestServices: true, timeout: "120 seconds" })("embedded mode (pylon dev)", (it) => {
  it.effect("auth, rooms, ordered delivery with ack, resume, typing, presence and notifications in one process", () =>
    Effect.gen(function*() {
      const base = yield* BaseUrl
      const alice = yield* registerUser(base, "alice")
      const bob = yield* registerUser(base, "bob")
      const room = yield* createRoom(base, alice, [bob])

      const a = yield* connect(base, alice.token, { name: "alice" })
      expect(yield* join(a, alice, room)).toBe(0)
      const b = yield* connect(base, bob.token, { name: "bob", via: "token" })
      // bob's first connection makes him online for alice, who shares the room.
      yield* a.next((f): f is FrameOf<"presence"> => f.type === "presence" && f.user_id === bob.id && f.status === "online")
      yield* join(b, bob, room)

      for (let i = 1; i <= 5; i++) {
        yield* a.send({ type: "message", room_id: room, content: `hello ${i}`, client_msg_id: `c-${i}` })
      }
      const acks = yield* a.take(frame("ack", room), 5)
      expect(acks.map((ack) => ack.seq)).toEqual([1, 2, 3, 4, 5])
      const atBob = yield* b.take(frame("message", room), 5)
      expect(atBob.map((m) => [m.seq, m.content, m.sender.username])).toEqual(
        [1, 2, 3, 4, 5].map((seq) => [seq, `hello ${seq}`, alice.username])
      )
      // The same client_msg_id again: the original message, nothing stored twice.
      yield* a.send({ type: "message", room_id: room, content: "changed", client_msg_id: "c-3" })
      const retry = yield* a.next(frame("ack", room))
      expect([retry.seq, retry.message_id]).toEqual([3, acks[2]!.message_id])

      yield* a.send({ type: "typing", room_id: room })
      const typing = yield* b.next(frame("typing", room))
      expect([typing.user_id, typing.username]).toEqual([alice.id, alice.username])

      // Bob drops, misses two messages, and resumes with since_seq on a new connection.
      yield* b.close
      yield* a.next((f): f is FrameOf<"presence"> => f.type === "presence" && f.user_id === bob.id && f.status === "offline")
      yield* a.send({ type: "message", room_id: room, content: "missed 6" })
      yield* a.send({ type: "message", room_id: room, content: "missed 7" })
      yield* a.take(frame("ack", room), 2)
      const b2 = yield* connect(base, bob.token, { name: "bob-again" })
      yield* join(b2, bob, room, 5)
      const replayed = yield* b2.take(frame("message", room), 2)
      expect(replayed.map((m) => m.seq)).toEqual([6, 7])

      const history = yield* fullHistory(base, bob, room)
      expect(history.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7])

      // The outbox relay and the notification consumer share the in-memory event bus.
      const notification = yield* b2.next(frame("notification"), 15_000)
      expect(notification.notification.room_id).toBe(room)
      expect(notification.notification.type).toBe("message")
    }))
  it.effect("a client_msg_id reused in another room is a new message there: nothing of the first room leaks", () =>
    Effect.gen(function*() {
      const base = yield* BaseUrl
      yield* crossRoomReplay(base, base)
    }))
})
