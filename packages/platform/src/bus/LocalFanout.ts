/**
 * The node-local half every `RealtimeBus` adapter shares: one broker subscription per channel
 * however many local subscribers it has (SUBSCRIBE on the first, UNSUBSCRIBE when the last one's
 * scope closes), and a bounded buffer per subscriber whose overflow becomes one `Gap` (the
 * slow-subscriber policy in `RealtimeBus.ts`). The adapter hands it a `BrokerLink` and feeds it
 * what the broker delivers.
 */
import { Cause, Deferred, Effect, Exit, Queue, Stream } from "effect"
import { RealtimeBusEvent } from "./RealtimeBus.ts"
import type { GapReason, RealtimeBusService, RealtimeBusUnavailable, SubscribeOptions } from "./RealtimeBus.ts"

export const DEFAULT_BUFFER_SIZE = 1_024

/**
 * How an adapter reaches its broker. `subscribe` resolves once the broker confirmed;
 * `unsubscribe` is best effort (a failure leaves a subscription whose messages nobody reads).
 */
export interface BrokerLink {
  readonly subscribe: (channel: string) => Effect.Effect<void, RealtimeBusUnavailable>
  readonly unsubscribe: (channel: string) => Effect.Effect<void>
}

interface Subscriber {
  readonly queue: Queue.Queue<RealtimeBusEvent, Cause.Done>
  readonly capacity: number
}

interface ChannelEntry {
  readonly subscribers: Set<Subscriber>
  readonly ready: Deferred.Deferred<void, RealtimeBusUnavailable>
}

/** The node-local half every adapter shares: refcounted broker subscriptions, bounded buffers. */
export interface LocalFanout {
  /** Hands one broker message to the channel's local subscribers; never blocks. */
  readonly deliver: (channel: string, payload: string) => void
  /** Puts a `Gap` into every local subscriber's stream. */
  readonly signalGap: (reason: GapReason) => void
  /** Channels with at least one local subscriber (to re-subscribe after a reconnect). */
  readonly activeChannels: () => ReadonlyArray<string>
  readonly subscribe: RealtimeBusService["subscribe"]
}

const clearBacklog = (queue: Queue.Queue<RealtimeBusEvent, Cause.Done>): number => {
  let dropped = 0
  while (Queue.sizeUnsafe(queue) > 0) {
    const taken = Queue.takeUnsafe(queue)
    if (taken === undefined || Exit.isFailure(taken)) break
    if (taken.value._tag === "Message") dropped++
  }
  return dropped
}

const offer = (subscriber: Subscriber, event: RealtimeBusEvent): void => {
  if (Queue.sizeUnsafe(subscriber.queue) >= subscriber.capacity) {
    const dropped = clearBacklog(subscriber.queue)
    Queue.offerUnsafe(subscriber.queue, RealtimeBusEvent.Gap({ reason: "Lagged", dropped }))
  }
  Queue.offerUnsafe(subscriber.queue, event)
}

export const makeLocalFanout = (link: BrokerLink, defaults: SubscribeOptions = {}): LocalFanout => {
  const channels = new Map<string, ChannelEntry>()
  const defaultCapacity = defaults.bufferSize ?? DEFAULT_BUFFER_SIZE

  const deliver = (channel: string, payload: string): void => {
    const entry = channels.get(channel)
    if (entry === undefined) return
    const event = RealtimeBusEvent.Message({ payload })
    for (const subscriber of entry.subscribers) offer(subscriber, event)
  }

  const signalGap = (reason: GapReason): void => {
    for (const entry of channels.values()) {
      for (const subscriber of entry.subscribers) offer(subscriber, RealtimeBusEvent.Gap({ reason, dropped: 0 }))
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
      const queue = yield* Queue.make<RealtimeBusEvent, Cause.Done>()
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
