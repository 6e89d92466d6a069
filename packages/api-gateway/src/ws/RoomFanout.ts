/**
 * This gateway node's side of room fan-out. Local sockets subscribe to rooms here; the first
 * local subscriber of a room opens one bus subscription for the node, the last one closes it.
 * Each room is processed by one fiber, so messages reach sockets in `seq` order; a gap in the
 * seqs (a lost publish) is filled from history before anything newer is delivered, and
 * duplicates are dropped — a lost publish never becomes a lost message.
 */
import { Clock, Context, Duration, Effect, Fiber, Latch, Layer, Metric, Queue, Stream } from "effect"
import type { Scope } from "effect"

import { encodeServerFrame, messageFrame } from "@pylon/contracts/WsFrames"
import type { RoomId, UserId } from "@pylon/contracts/Ids"
import { RealtimeBus } from "@pylon/platform/bus/RealtimeBus"
import { roomChannel } from "@pylon/platform/bus/Channels"
import { ChatClient } from "../clients/ServiceClients.ts"
import type { BusEnvelope } from "./BusEnvelope.ts"
import { decodeEnvelope, encodeEnvelope } from "./BusEnvelope.ts"
import { OutgoingFrame } from "./OutgoingFrame.ts"

export interface LocalSubscriber {
  readonly connectionId: string
  readonly userId: UserId
  /**
   * A message of a joined room; called in seq order, once per seq. `frame` is `json` encoded
   * once for every local subscriber (a WebSocket writes its shared bytes).
   */
  readonly onMessage: (roomId: RoomId, seq: number, json: string, frame: OutgoingFrame) => void
  /** Any other room frame (typing, user_joined, user_left, presence), `frame` shared likewise. */
  readonly onEvent: (roomId: RoomId, json: string, frame: OutgoingFrame) => void
  /** The user left the room (REST leave on any node): stop delivering it to this socket. */
  readonly onKicked: (roomId: RoomId) => void
}

interface RoomState {
  readonly subscribers: Map<string, LocalSubscriber>
  lastSeq: number
  fiber: Fiber.Fiber<void> | undefined
  /** Messages that arrived ahead of a missing seq, held until the gap closes or is filled. */
  readonly ahead: Map<number, string>
}

const GAP_FILL_PAGE = 100
/**
 * How long a message that arrived ahead of a missing seq waits for it before the gap is filled
 * from history. Concurrent sends of one room are stored together (group commit) and their
 * publishes may cross on the bus; a short hold turns that reorder into no history read at all.
 */
const REORDER_HOLD = Duration.millis(25)
/** A gap fill that made no progress (chat unavailable) is retried this much later. */
const FILL_RETRY = Duration.seconds(1)
/** More messages than this held ahead of a gap: fill at once instead of waiting. */
const MAX_AHEAD = 256

const deliveredMessages = Metric.counter("pylon_ws_messages_delivered_total", {
  description: "Message frames handed to local sockets"
})
// Stored (the message's created_at, PostgreSQL's clock) to handed to this gateway's sockets, for
// messages delivered in order (held and gap-filled ones are slower by design and not sampled).
const deliveryLatency = Metric.histogram("pylon_ws_delivery_latency_seconds", {
  description: "Seconds from a message's created_at to its fan-out on this gateway",
  boundaries: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
})
const CREATED_AT = `"created_at":"`
const createdAtOf = (json: string): number | undefined => {
  const start = json.indexOf(CREATED_AT)
  if (start === -1) return undefined
  const from = start + CREATED_AT.length
  const millis = Date.parse(json.slice(from, json.indexOf(`"`, from)))
  return Number.isFinite(millis) ? millis : undefined
}
const misroutedMessages = Metric.counter("pylon_ws_misrouted_messages_total", {
  description: "Message envelopes dropped because their room differs from the channel they came on"
})
const gapFills = Metric.counter("pylon_ws_gap_fills_total", {
  description: "Times a room's seq gap was filled from history"
})

export class RoomFanout extends Context.Service<RoomFanout, {
  /** Subscribes a socket; resolves once this node is subscribed on the bus. */
  readonly subscribe: (subscriber: LocalSubscriber, roomId: RoomId, lastSeq: number) => Effect.Effect<void>
  readonly unsubscribe: (connectionId: string, roomId: RoomId) => Effect.Effect<void>
  readonly publish: (roomId: RoomId, envelope: BusEnvelope) => Effect.Effect<void>
  /** Rooms with at least one local subscriber (for presence fan-out). */
  readonly localRooms: () => ReadonlyArray<RoomId>
  readonly subscribersOf: (roomId: RoomId) => ReadonlyArray<LocalSubscriber>
}>()("pylon/gateway/RoomFanout") {
  static readonly layer = Layer.effect(
    RoomFanout,
    Effect.gen(function*() {
      const bus = yield* RealtimeBus
      const chat = yield* ChatClient
      const scope = yield* Effect.scope
      const rooms = new Map<RoomId, RoomState>()
      // Failure-only counters at 0, so dashboards and alerts see a series before the first one.
      yield* Metric.update(gapFills, 0)
      yield* Metric.update(misroutedMessages, 0)

      const deliver = (roomId: RoomId, state: RoomState, seq: number, json: string) => {
        if (seq <= state.lastSeq) return
        state.lastSeq = seq
        const frame = new OutgoingFrame(json)
        for (const subscriber of state.subscribers.values()) subscriber.onMessage(roomId, seq, json, frame)
      }

      /** Delivers the held messages that now follow `lastSeq` without a gap; drops stale ones. */
      const releaseAhead = (roomId: RoomId, state: RoomState) => {
        // The common case on the hot path: nothing is held.
        if (state.ahead.size === 0) return
        for (const seq of [...state.ahead.keys()]) if (seq <= state.lastSeq) state.ahead.delete(seq)
        let next = state.ahead.get(state.lastSeq + 1)
        while (next !== undefined) {
          state.ahead.delete(state.lastSeq + 1)
          deliver(roomId, state, state.lastSeq + 1, next)
          next = state.ahead.get(state.lastSeq + 1)
        }
      }

      /** Fetches everything after `state.lastSeq` (up to `until` when given) and delivers it in order. */
      const fillFromHistory = (roomId: RoomId, state: RoomState, until: number | undefined) =>
        Effect.gen(function*() {
          let more = true
          while (more && (until === undefined || state.lastSeq < until)) {
            const reader = state.subscribers.values().next()
            if (reader.done === true) return
            const page = yield* chat.GetMessages({
              user_id: reader.value.userId,
              room_id: roomId,
              limit: GAP_FILL_PAGE,
              after_seq: state.lastSeq
            })
            for (const message of page.messages) {
              if (until !== undefined && message.seq >= until) break
              deliver(roomId, state, message.seq, encodeServerFrame(messageFrame(message)))
            }
            more = page.has_more && page.messages.length > 0
          }
        }).pipe(
          Effect.tap(() => Metric.update(gapFills, 1)),
          Effect.catchCause((cause) => Effect.logWarning("room gap fill failed; the held messages wait for the retry", cause))
        )

      const handle = (
        roomId: RoomId,
        state: RoomState,
        payload: string,
        fillGap: Effect.Effect<void, never, Scope.Scope>,
        scheduleFill: (delay: Duration.Duration) => Effect.Effect<void, never, Scope.Scope>
      ) =>
        Effect.gen(function*() {
          const envelope = decodeEnvelope(payload)
          if (envelope === undefined) return yield* Effect.logWarning("ignoring malformed bus payload")
          switch (envelope.kind) {
            case "message": {
              if (envelope.roomId !== roomId) {
                // Never deliver another room's message here, nor let its seq move this room's cursor.
                yield* Metric.update(misroutedMessages, 1)
                return yield* Effect.logWarning("dropping a message envelope whose room is not its channel's")
              }
              if (envelope.seq <= state.lastSeq) return
              if (envelope.seq === state.lastSeq + 1) {
                deliver(roomId, state, envelope.seq, envelope.json)
                releaseAhead(roomId, state)
                const createdAt = createdAtOf(envelope.json)
                if (createdAt !== undefined) {
                  yield* Metric.update(deliveryLatency, Math.max(0, (yield* Clock.currentTimeMillis) - createdAt) / 1000)
                }
                return yield* Metric.update(deliveredMessages, state.subscribers.size)
              }
              // A seq is missing: hold this one (never skip past the gap) and fill it soon.
              state.ahead.set(envelope.seq, envelope.json)
              return yield* (state.ahead.size > MAX_AHEAD ? fillGap : scheduleFill(REORDER_HOLD))
            }
            case "event": {
              const frame = new OutgoingFrame(envelope.json)
              for (const subscriber of state.subscribers.values()) {
                if (subscriber.userId !== envelope.excludeUserId) subscriber.onEvent(roomId, envelope.json, frame)
              }
              return
            }
            case "kick": {
              for (const subscriber of [...state.subscribers.values()]) {
                if (subscriber.userId === envelope.userId) {
                  state.subscribers.delete(subscriber.connectionId)
                  subscriber.onKicked(roomId)
                }
              }
              return
            }
          }
        })

      /**
       * One fiber per room on this node: subscribe, catch up once, then follow the bus. Bus events
       * and the gap timer are processed one at a time, so the cursor only ever moves in seq order.
       */
      const follow = (roomId: RoomId, state: RoomState, subscribed: Effect.Effect<void>) =>
        Effect.gen(function*() {
          const stream = yield* bus.subscribe(roomChannel(roomId))
          const timerFired = yield* Queue.unbounded<"fill">()
          let timer: Fiber.Fiber<void> | undefined
          const scheduleFill = (delay: Duration.Duration) =>
            Effect.suspend(() =>
              timer !== undefined
                ? Effect.void
                : Effect.andThen(Effect.sleep(delay), Queue.offer(timerFired, "fill")).pipe(
                  Effect.asVoid,
                  Effect.forkScoped,
                  Effect.map((fiber) => {
                    timer = fiber
                  })
                )
            )
          /** Fills up to the first held message from history, then releases what follows it. */
          const fillGap = Effect.gen(function*() {
            if (timer !== undefined) yield* Fiber.interrupt(timer)
            timer = undefined
            releaseAhead(roomId, state)
            if (state.ahead.size === 0) return
            const before = state.lastSeq
            yield* fillFromHistory(roomId, state, Math.min(...state.ahead.keys()))
            releaseAhead(roomId, state)
            if (state.ahead.size > 0) yield* scheduleFill(state.lastSeq === before ? FILL_RETRY : REORDER_HOLD)
          })
          yield* subscribed
          // Anything committed between the joiner's membership check and our subscription.
          yield* fillFromHistory(roomId, state, undefined)
          yield* Stream.runForEach(Stream.merge(stream, Stream.fromQueue(timerFired)), (event) =>
            event === "fill"
              ? fillGap
              : event._tag === "Message"
              ? handle(roomId, state, event.payload, fillGap, scheduleFill)
              // Publishes were dropped (slow node or Redis reconnect): catch up from history.
              : Effect.andThen(fillFromHistory(roomId, state, undefined), Effect.sync(() => releaseAhead(roomId, state))))
        }).pipe(
          Effect.scoped,
          Effect.catchCause((cause) => Effect.logWarning("room subscription lost; resubscribing", cause)),
          // Keep following while the room has local subscribers; the catch-up after each
          // resubscription delivers whatever was published in between.
          Effect.andThen(Effect.sleep("1 second")),
          Effect.forever
        )

      const subscribe = Effect.fn("RoomFanout.subscribe")(function*(
        subscriber: LocalSubscriber,
        roomId: RoomId,
        lastSeq: number
      ) {
        const existing = rooms.get(roomId)
        if (existing !== undefined) {
          existing.subscribers.set(subscriber.connectionId, subscriber)
          return
        }
        const state: RoomState = {
          subscribers: new Map([[subscriber.connectionId, subscriber]]),
          lastSeq,
          fiber: undefined,
          ahead: new Map()
        }
        rooms.set(roomId, state)
        const ready = yield* Latch.make(false)
        state.fiber = yield* follow(roomId, state, ready.open).pipe(Effect.forkIn(scope))
        yield* ready.await.pipe(Effect.timeoutOption("5 seconds"), Effect.asVoid)
      })

      const unsubscribe = Effect.fn("RoomFanout.unsubscribe")(function*(connectionId: string, roomId: RoomId) {
        const state = rooms.get(roomId)
        if (state === undefined) return
        state.subscribers.delete(connectionId)
        if (state.subscribers.size > 0) return
        rooms.delete(roomId)
        if (state.fiber !== undefined) yield* Fiber.interrupt(state.fiber)
      })

      const publish = (roomId: RoomId, envelope: BusEnvelope) =>
        bus.publish(roomChannel(roomId), encodeEnvelope(envelope)).pipe(
          Effect.catchCause((cause) => Effect.logWarning("room bus publish failed", cause))
        )

      return RoomFanout.of({
        subscribe,
        unsubscribe,
        publish,
        localRooms: () => [...rooms.keys()],
        subscribersOf: (roomId) => [...(rooms.get(roomId)?.subscribers.values() ?? [])]
      })
    })
  )
}

