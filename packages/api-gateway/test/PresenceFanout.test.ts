/**
 * Presence fan-out on a bus that loses messages (ws/PresenceFanout.ts): a change published while
 * this node missed it reaches the room's local sockets once the bus reports the gap, because the
 * node re-reads the room's presence — and only what changed is announced.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Layer, Queue, Stream } from "effect"
import { ConnectionId } from "@pylon/contracts/Presence"
import type { RoomId, UserId } from "@pylon/contracts/Ids"
import * as MemoryRealtimeBus from "@pylon/platform/bus/MemoryRealtimeBus"
import { RealtimeBus, RealtimeBusEvent } from "@pylon/platform/bus/RealtimeBus"
import { PRESENCE_CHANNEL } from "@pylon/platform/bus/Channels"
import { PresenceClient } from "../src/clients/ServiceClients.ts"
import { PresenceFanoutLive } from "../src/ws/PresenceFanout.ts"
import { RoomFanout } from "../src/ws/RoomFanout.ts"
import type { LocalSubscriber } from "../src/ws/RoomFanout.ts"
import { TestDatabase } from "@pylon/testkit/TestDatabase"
import { createRoom, createUser } from "@pylon/testkit/ChatFixtures"
import { chatInProcess, presenceInProcess, roomsInProcess } from "./support/ServiceClientsInProcess.ts"

/** Drops presence publishes while `dropping`, and lets the test inject a `Gap` on the presence channel. */
const lossy: { dropping: boolean; gaps: Queue.Queue<RealtimeBusEvent> | undefined } = { dropping: false, gaps: undefined }

const LossyRealtimeBus = Layer.effect(RealtimeBus, Effect.gen(function*() {
  const real = yield* RealtimeBus
  const gaps = yield* Queue.unbounded<RealtimeBusEvent>()
  lossy.gaps = gaps
  return RealtimeBus.of({
    publish: (channel, payload) => channel === PRESENCE_CHANNEL && lossy.dropping ? Effect.void : real.publish(channel, payload),
    subscribe: (channel, options) =>
      channel === PRESENCE_CHANNEL
        ? Effect.map(
          real.subscribe(channel, options),
          (stream): Stream.Stream<RealtimeBusEvent> => Stream.merge(stream, Stream.fromQueue(gaps))
        )
        : real.subscribe(channel, options)
  })
})).pipe(Layer.provide(MemoryRealtimeBus.layer))

const TestLive = PresenceFanoutLive.pipe(
  Layer.provideMerge(RoomFanout.layer),
  Layer.provideMerge(Layer.mergeAll(chatInProcess, roomsInProcess, presenceInProcess)),
  Layer.provideMerge(LossyRealtimeBus),
  Layer.provideMerge(TestDatabase)
)

const waitFor = (condition: () => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 500 && !condition(); i++) yield* Effect.sleep("10 millis")
  })

layer(TestLive, { excludeTestServices: true, timeout: "60 seconds" })("PresenceFanout", (it) => {
  it.effect("a change lost on the bus is announced after the gap, once; unchanged members are not re-announced", () =>
    Effect.gen(function*() {
      const fanout = yield* RoomFanout
      const presence = yield* PresenceClient
      const alice = yield* createUser("alice")
      const bob = yield* createUser("bob")
      const room: RoomId = yield* createRoom(alice.id, [bob.id])
      const frames: Array<string> = []
      const subscriber: LocalSubscriber = {
        connectionId: "conn-alice",
        userId: alice.id,
        onMessage: () => undefined,
        onEvent: (_room, json) => void frames.push(json),
        onKicked: () => undefined
      }
      yield* fanout.subscribe(subscriber, room, 0)
      const online = (userId: UserId) =>
        presence.SetOnline({ user_id: userId, connection_id: ConnectionId.make(`test:${userId}`) })

      // Seen live: alice comes online.
      yield* online(alice.id)
      yield* waitFor(() => frames.length === 1)
      expect(frames.map((f) => JSON.parse(f) as unknown)).toEqual([
        { type: "presence", room_id: room, user_id: alice.id, status: "online" }
      ])

      // Lost: bob comes online while this node misses the publish.
      lossy.dropping = true
      yield* online(bob.id)
      yield* Effect.sleep("100 millis")
      expect(frames).toHaveLength(1)
      lossy.dropping = false

      // The bus reports the gap: bob's change is recovered, alice's is not repeated.
      if (lossy.gaps === undefined) return yield* Effect.die(new Error("the lossy bus was not built"))
      yield* Queue.offer(lossy.gaps, RealtimeBusEvent.Gap({ reason: "Reconnected", dropped: 0 }))
      yield* waitFor(() => frames.length === 2)
      expect(frames.map((f) => JSON.parse(f) as unknown)).toEqual([
        { type: "presence", room_id: room, user_id: alice.id, status: "online" },
        { type: "presence", room_id: room, user_id: bob.id, status: "online" }
      ])
      yield* fanout.unsubscribe("conn-alice", room)
    }))
})
