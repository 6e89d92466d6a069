/**
 * The node-side fan-out (ws/RoomFanout.ts) on the real chat service and PostgreSQL: messages reach
 * local subscribers in seq order, duplicates are dropped, and a gap left by a lost publish is
 * filled from history before anything newer is delivered.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import type { RoomId } from "@pylon/contracts/Ids"
import { ClientMsgId } from "@pylon/contracts/Ids"
import type { Message } from "@pylon/contracts/Messages"
import { encodeServerFrame, messageFrame } from "@pylon/contracts/WsFrames"
import * as MemoryRealtimeBus from "@pylon/platform/bus/MemoryRealtimeBus"
import { ChatClient } from "../src/clients/ServiceClients.ts"
import { decodeEnvelope, encodeEnvelope } from "../src/ws/BusEnvelope.ts"
import type { BusEnvelope } from "../src/ws/BusEnvelope.ts"
import { RoomFanout } from "../src/ws/RoomFanout.ts"
import type { LocalSubscriber } from "../src/ws/RoomFanout.ts"
import { FrameBudget } from "../src/ws/FrameBudget.ts"
import { TestDatabase } from "@pylon/testkit/TestDatabase"
import { createRoom, createUser } from "@pylon/testkit/ChatFixtures"
import { chatInProcess } from "./support/ServiceClientsInProcess.ts"

const TestLive = RoomFanout.layer.pipe(
  Layer.provideMerge(chatInProcess),
  Layer.provide(MemoryRealtimeBus.layer),
  Layer.provideMerge(TestDatabase)
)

const recorder = (userId: LocalSubscriber["userId"], connectionId: string) => {
  const seqs: Array<number> = []
  const jsons: Array<string> = []
  const events: Array<string> = []
  const subscriber: LocalSubscriber = {
    connectionId,
    userId,
    onMessage: (_room, seq, json) => {
      seqs.push(seq)
      jsons.push(json)
    },
    onEvent: (_room, json) => void events.push(json),
    onKicked: () => undefined
  }
  return { subscriber, seqs, jsons, events }
}

const waitFor = (condition: () => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 200 && !condition(); i++) yield* Effect.sleep("10 millis")
  })

/**
 * Waits until the room's fiber is past its catch-up read (it handles bus events only after it), so
 * messages stored afterwards can reach the subscriber only through the bus or a gap fill.
 */
const settled = (subscriber: ReturnType<typeof recorder>, room: RoomId) =>
  Effect.gen(function*() {
    const fanout = yield* RoomFanout
    const before = subscriber.events.length
    yield* fanout.publish(room, { kind: "event", excludeUserId: undefined, json: "{\"type\":\"pong\"}" })
    yield* waitFor(() => subscriber.events.length > before)
  })

describe("BusEnvelope", () => {
  it("round-trips every kind and rejects garbage", () => {
    const cases: ReadonlyArray<BusEnvelope> = [
      { kind: "message", roomId: "r-1", seq: 42, json: "{\"a\":\"x\\ny\"}" },
      { kind: "event", excludeUserId: "u-1", json: "{}" },
      { kind: "event", excludeUserId: undefined, json: "{}" },
      { kind: "kick", userId: "u-2" }
    ]
    for (const envelope of cases) expect(decodeEnvelope(encodeEnvelope(envelope))).toEqual(envelope)
    expect(decodeEnvelope("m 0 r-1\n{}")).toBeUndefined()
    expect(decodeEnvelope("m 1\n{}")).toBeUndefined()
    expect(decodeEnvelope("m 1 \n{}")).toBeUndefined()
    expect(decodeEnvelope("m x\n{}")).toBeUndefined()
    expect(decodeEnvelope("z 1\n{}")).toBeUndefined()
    expect(decodeEnvelope("garbage")).toBeUndefined()
  })
})

describe("FrameBudget", () => {
  it("admits `limit` frames per window, then says how long to wait", () => {
    const budget = new FrameBudget(3, 60_000)
    expect([budget.take(0), budget.take(1), budget.take(2)]).toEqual([0, 0, 0])
    expect(budget.take(3)).toBe(60)
    expect(budget.take(30_000)).toBe(30)
    expect(budget.take(60_000)).toBe(0)
  })
})

layer(TestLive, { excludeTestServices: true, timeout: "60 seconds" })("RoomFanout", (it) => {
  it.effect("delivers in seq order, drops duplicates and fills a gap from history", () =>
    Effect.gen(function*() {
      const fanout = yield* RoomFanout
      const chat = yield* ChatClient
      const alice = yield* createUser("alice")
      const bob = yield* createUser("bob")
      const room: RoomId = yield* createRoom(alice.id, [bob.id])
      const a = recorder(alice.id, "conn-a")
      const b = recorder(bob.id, "conn-b")
      yield* fanout.subscribe(a.subscriber, room, 0)
      yield* fanout.subscribe(b.subscriber, room, 0)

      const sent: Array<Message> = []
      for (let i = 1; i <= 5; i++) {
        const result = yield* chat.SendMessage({
          user_id: alice.id,
          room_id: room,
          content: `m${i}`,
          msg_type: "text",
          client_msg_id: ClientMsgId.make(`c-${i}`)
        })
        sent.push(result.message)
      }
      const publish = (index: number) => {
        const message = sent[index]!
        return fanout.publish(room, {
          kind: "message",
          roomId: message.room_id,
          seq: message.seq,
          json: encodeServerFrame(messageFrame(message))
        })
      }
      // 1, then 1 again (duplicate), then 4 (2 and 3 were "lost"), then 5.
      yield* publish(0)
      yield* publish(0)
      yield* publish(3)
      yield* publish(4)
      yield* waitFor(() => a.seqs.length >= 5 && b.seqs.length >= 5)
      expect(a.seqs).toEqual([1, 2, 3, 4, 5])
      expect(b.seqs).toEqual([1, 2, 3, 4, 5])
    }))

  it.effect("publishes that cross on the bus are put back in seq order without reading history", () =>
    Effect.gen(function*() {
      const fanout = yield* RoomFanout
      const chat = yield* ChatClient
      const alice = yield* createUser("alice")
      const room: RoomId = yield* createRoom(alice.id, [])
      const a = recorder(alice.id, "conn-reorder")
      yield* fanout.subscribe(a.subscriber, room, 0)
      yield* settled(a, room)
      for (let i = 1; i <= 3; i++) {
        yield* chat.SendMessage({ user_id: alice.id, room_id: room, content: `stored ${i}`, msg_type: "text", client_msg_id: null })
      }
      // The bus copies carry a marker the stored copies lack: a history read would show.
      const busCopy = (seq: number) =>
        fanout.publish(room, { kind: "message", roomId: room, seq, json: `{"marker":"bus-${seq}"}` })
      yield* busCopy(2)
      yield* busCopy(3)
      yield* busCopy(1)
      yield* waitFor(() => a.seqs.length >= 3)
      expect(a.seqs).toEqual([1, 2, 3])
      expect(a.jsons).toEqual([1, 2, 3].map((seq) => `{"marker":"bus-${seq}"}`))
      yield* fanout.unsubscribe("conn-reorder", room)
    }))

  it.effect("a gap that stays open is filled from history after the hold, and nothing is skipped", () =>
    Effect.gen(function*() {
      const fanout = yield* RoomFanout
      const chat = yield* ChatClient
      const alice = yield* createUser("alice")
      const room: RoomId = yield* createRoom(alice.id, [])
      const a = recorder(alice.id, "conn-hold")
      yield* fanout.subscribe(a.subscriber, room, 0)
      yield* settled(a, room)
      for (let i = 1; i <= 3; i++) {
        yield* chat.SendMessage({ user_id: alice.id, room_id: room, content: `stored ${i}`, msg_type: "text", client_msg_id: null })
      }
      // Only seq 3 is ever published: 1 and 2 come from history, then 3 from the bus.
      yield* fanout.publish(room, { kind: "message", roomId: room, seq: 3, json: `{"marker":"bus-3"}` })
      yield* waitFor(() => a.seqs.length >= 3)
      expect(a.seqs).toEqual([1, 2, 3])
      expect(a.jsons[0]).toContain("stored 1")
      expect(a.jsons[1]).toContain("stored 2")
      expect(a.jsons[2]).toBe(`{"marker":"bus-3"}`)
      yield* fanout.unsubscribe("conn-hold", room)
    }))

  it.effect("drops a message envelope of another room: no delivery and no cursor jump", () =>
    Effect.gen(function*() {
      const fanout = yield* RoomFanout
      const chat = yield* ChatClient
      const alice = yield* createUser("alice")
      const bob = yield* createUser("bob")
      const roomA: RoomId = yield* createRoom(alice.id, [])
      const roomB: RoomId = yield* createRoom(alice.id, [bob.id])
      const b = recorder(bob.id, "conn-b3")
      yield* fanout.subscribe(b.subscriber, roomB, 0)
      const send = (room_id: RoomId, content: string) =>
        chat.SendMessage({ user_id: alice.id, room_id, content, msg_type: "text", client_msg_id: null })
      // Room A runs ahead to seq 3; its message is (wrongly) published on room B's channel.
      yield* send(roomA, "a1")
      yield* send(roomA, "a2")
      const secret = (yield* send(roomA, "private to A")).message
      yield* fanout.publish(roomB, {
        kind: "message",
        roomId: secret.room_id,
        seq: secret.seq,
        json: encodeServerFrame(messageFrame(secret))
      })
      // B's own first message must still be delivered (its seq 1 is below A's 3).
      const own = (yield* send(roomB, "b1")).message
      yield* fanout.publish(roomB, {
        kind: "message",
        roomId: own.room_id,
        seq: own.seq,
        json: encodeServerFrame(messageFrame(own))
      })
      yield* waitFor(() => b.seqs.length >= 1)
      expect(b.seqs).toEqual([1])
      expect(b.jsons.some((json) => json.includes("private to A"))).toBe(false)
      yield* fanout.unsubscribe("conn-b3", roomB)
    }))

  it.effect("events skip the excluded user; a kick removes only that user's sockets", () =>
    Effect.gen(function*() {
      const fanout = yield* RoomFanout
      const alice = yield* createUser("alice")
      const bob = yield* createUser("bob")
      const room: RoomId = yield* createRoom(alice.id, [bob.id])
      const a = recorder(alice.id, "conn-a2")
      const b = recorder(bob.id, "conn-b2")
      yield* fanout.subscribe(a.subscriber, room, 0)
      yield* fanout.subscribe(b.subscriber, room, 0)
      yield* fanout.publish(room, { kind: "event", excludeUserId: alice.id, json: "{\"type\":\"pong\"}" })
      yield* waitFor(() => b.events.length === 1)
      expect(b.events).toEqual(["{\"type\":\"pong\"}"])
      expect(a.events).toEqual([])
      yield* fanout.publish(room, { kind: "kick", userId: bob.id })
      yield* waitFor(() => fanout.subscribersOf(room).length === 1)
      expect(fanout.subscribersOf(room).map((s) => s.connectionId)).toEqual(["conn-a2"])
      yield* fanout.unsubscribe("conn-a2", room)
      expect(fanout.localRooms()).not.toContain(room)
    }))
})
