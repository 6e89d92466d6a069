/**
 * The cross-node fan-out port: topic pub/sub between gateway nodes (Redis pub/sub in production,
 * an in-process broker in embedded mode). Payloads are opaque strings; the gateway serialises a
 * room message once and every node forwards the same text to its local sockets.
 *
 * Delivery contract (both adapters, checked by `test/RoomBus.contract.ts`):
 * - `subscribe` returns once the broker has confirmed the subscription, so a caller that
 *   subscribes and THEN reads history cannot miss a message published in between.
 * - Each subscriber sees a channel's messages in publish order (per publishing node; across
 *   nodes, in the order the broker received them). Delivery is at-most-once: a publish while a
 *   node is cut off from the broker is lost for that node. Every loss a subscriber could notice
 *   is signalled by a `Gap` event at the point of the loss; consumers recover from history by
 *   `seq` (ARCHITECTURE.md rule 5) and drop duplicates by `seq`.
 * - Many local subscribers of a channel share ONE broker subscription: SUBSCRIBE on the first,
 *   UNSUBSCRIBE when the last one's scope closes.
 *
 * Slow-subscriber policy: every subscriber has its own buffer of `bufferSize` events (default
 * 1,024), filled synchronously by the broker reader, which therefore never waits for anyone.
 * When a subscriber's buffer is full, its whole backlog is discarded and replaced by ONE
 * `Gap { reason: "Lagged", dropped }`, followed by the new message. Discarding the backlog
 * rather than the newest message means a consumer that fell behind resumes at the live edge and
 * replays what it missed from history in pages, instead of crawling through a stale buffer; and
 * the marker is in its stream immediately, not only when the next message happens to arrive.
 * Other subscribers of the same channel are unaffected.
 *
 * `Gap { reason: "Reconnected" }` is emitted to every subscriber after the node's broker
 * connection came back and all active channels are subscribed again.
 */
import { Cause, Context, Data, Deferred, Effect, Exit, Queue, Schema, Stream } from "effect"
import type { Scope } from "effect"

/** The broker did not accept a publish or a subscription (down, or too slow). */
export class RoomBusUnavailable extends Schema.TaggedError<RoomBusUnavailable>()("RoomBusUnavailable", {
  op: Schema.String,
  cause: Schema.Defect()
}) {}

export type GapReason = "Lagged" | "Reconnected"

/** What a subscriber reads: a published payload, or a marker that messages may be missing here. */
export type RoomBusEvent = Data.TaggedEnum<{
  Message: { readonly payload: string }
  /** Messages may have been lost before this point (`dropped` counts them when known, else 0). */
  Gap: { readonly reason: GapReason; readonly dropped: number }
}>
export const RoomBusEvent = Data.taggedEnum<RoomBusEvent>()

export interface SubscribeOptions {
  /** Events buffered for this subscriber before its backlog is discarded (see the header). */
  readonly bufferSize?: number
}

export interface RoomBusService {
  /** Publishes `payload` to every subscriber of `channel` on every node. */
  readonly publish: (channel: string, payload: string) => Effect.Effect<void, RoomBusUnavailable>
  /**
   * Subscribes to `channel` until the surrounding scope closes, then the stream ends. Succeeds
   * once the subscription is active at the broker. The stream drains this subscriber's buffer,
   * so run it once. `Stream.unwrap(bus.subscribe(c))` gives a stream that subscribes when run
   * and unsubscribes when it stops.
   */
  readonly subscribe: (
    channel: string,
    options?: SubscribeOptions
  ) => Effect.Effect<Stream.Stream<RoomBusEvent>, RoomBusUnavailable, Scope.Scope>
}

export class RoomBus extends Context.Service<RoomBus, RoomBusService>()("pylon/platform/RoomBus") {}

/** Messages of one room, serialised once by the gateway that accepted them. */
export const roomChannel = (roomId: string): string => `pylon:room:${roomId}`
/** Frames for one user's sockets on whichever nodes hold them (notifications). */
export const userChannel = (userId: string): string => `pylon:user:${userId}`
/** Presence changes of every user: JSON `UserPresence` (contracts/Presence.ts), one per change. */
export const PRESENCE_CHANNEL = "pylon:presence"

export const DEFAULT_BUFFER_SIZE = 1_024

/**
 * How an adapter reaches its broker. `subscribe` resolves once the broker confirmed;
 * `unsubscribe` is best effort (a failure leaves a subscription whose messages nobody reads).
 */
export interface BrokerLink {
  readonly subscribe: (channel: string) => Effect.Effect<void, RoomBusUnavailable>
  readonly unsubscribe: (channel: string) => Effect.Effect<void>
}

interface Subscriber {
  readonly queue: Queue.Queue<RoomBusEvent, Cause.Done>
  readonly capacity: number
}

interface ChannelEntry {
  readonly subscribers: Set<Subscriber>
  readonly ready: Deferred.Deferred<void, RoomBusUnavailable>
}

/** The node-local half every adapter shares: refcounted broker subscriptions, bounded buffers. */
export interface LocalFanout {
  /** Hands one broker message to the channel's local subscribers; never blocks. */
  readonly deliver: (channel: string, payload: string) => void
  /** Puts a `Gap` into every local subscriber's stream. */
  readonly signalGap: (reason: GapReason) => void
  /** Channels with at least one local subscriber (to re-subscribe after a reconnect). */
  readonly activeChannels: () => ReadonlyArray<string>
  readonly subscribe: RoomBusService["subscribe"]
}

const clearBacklog = (queue: Queue.Queue<RoomBusEvent, Cause.Done>): number => {
  let dropped = 0
  while (Queue.sizeUnsafe(queue) > 0) {
    const taken = Queue.takeUnsafe(queue)
    if (taken === undefined || Exit.isFailure(taken)) break
    if (taken.value._tag === "Message") dropped++
  }
  return dropped
}

const offer = (subscriber: Subscriber, event: RoomBusEvent): void => {
  if (Queue.sizeUnsafe(subscriber.queue) >= subscriber.capacity) {
    const dropped = clearBacklog(subscriber.queue)
    Queue.offerUnsafe(subscriber.queue, RoomBusEvent.Gap({ reason: "Lagged", dropped }))
  }
  Queue.offerUnsafe(subscriber.queue, event)
}

export const makeLocalFanout = (link: BrokerLink, defaults: SubscribeOptions = {}): LocalFanout => {
  const channels = new Map<string, ChannelEntry>()
  const defaultCapacity = defaults.bufferSize ?? DEFAULT_BUFFER_SIZE

  const deliver = (channel: string, payload: string): void => {
    const entry = channels.get(channel)
    if (entry === undefined) return
    const event = RoomBusEvent.Message({ payload })
    for (const subscriber of entry.subscribers) offer(subscriber, event)
  }

  const signalGap = (reason: GapReason): void => {
    for (const entry of channels.values()) {
      for (const subscriber of entry.subscribers) offer(subscriber, RoomBusEvent.Gap({ reason, dropped: 0 }))
    }
  }

  const activeChannels = () => Array.from(channels.keys())

  // Runs in a finalizer. The entry may already be gone (its SUBSCRIBE failed) or replaced.
  const leave = (channel: string, entry: ChannelEntry, subscriber: Subscriber) =>
    Effect.suspend(() => {
      Queue.endUnsafe(subscriber.queue)
      entry.subscribers.delete(subscriber)
      if (entry.subscribers.size > 0 || channels.get(channel) !== entry) return Effect.void
      channels.delete(channel)
      return link.unsubscribe(channel)
    })

  const subscribe = (channel: string, options?: SubscribeOptions) =>
    Effect.gen(function*() {
      const capacity = Math.max(1, Math.floor(options?.bufferSize ?? defaultCapacity))
      const queue = yield* Queue.make<RoomBusEvent, Cause.Done>()
      const subscriber: Subscriber = { queue, capacity }
      const joined = yield* Effect.acquireRelease(
        Effect.sync(() => {
          const existing = channels.get(channel)
          if (existing !== undefined) {
            existing.subscribers.add(subscriber)
            return { entry: existing, first: false }
          }
          const entry: ChannelEntry = { subscribers: new Set([subscriber]), ready: Deferred.makeUnsafe() }
          channels.set(channel, entry)
          return { entry, first: true }
        }),
        ({ entry }) => leave(channel, entry, subscriber)
      )
      const { entry } = joined
      if (joined.first) {
        // Uninterruptible: subscribers that joined meanwhile wait on `ready`, so it must complete.
        yield* Effect.uninterruptible(Effect.gen(function*() {
          const exit = yield* Effect.exit(link.subscribe(channel))
          if (Exit.isFailure(exit) && channels.get(channel) === entry) {
            channels.delete(channel)
            // The SUBSCRIBE may still land later (e.g. it timed out); release it, best effort.
            yield* link.unsubscribe(channel)
          }
          yield* Deferred.done(entry.ready, exit)
        }))
      }
      yield* Deferred.await(entry.ready)
      return Stream.fromQueue(queue)
    })

  return { deliver, signalGap, activeChannels, subscribe }
}
