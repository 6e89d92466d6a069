/**
 * The realtime bus: topic pub/sub between nodes (Redis pub/sub in production, an in-process broker
 * in embedded mode) that carries everything pushed to sockets live — room messages, user
 * notifications, presence changes and session revocations (the channels are named in
 * `Channels.ts`). Payloads are opaque strings; the gateway serialises a room message once and
 * every node forwards the same text to its local sockets.
 *
 * Delivery contract (both adapters, checked by `test/bus/RealtimeBus.contract.ts`):
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
 * Slow-subscriber policy (implemented once, for both adapters, by `LocalFanout.ts`): every subscriber has its own buffer of `bufferSize` events (default
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
import { Context, Data, Schema } from "effect"
import type { Effect, Scope, Stream } from "effect"

/** The broker did not accept a publish or a subscription (down, or too slow). */
export class RealtimeBusUnavailable extends Schema.TaggedError<RealtimeBusUnavailable>()("RealtimeBusUnavailable", {
  op: Schema.String,
  cause: Schema.Defect()
}) {}

export type GapReason = "Lagged" | "Reconnected"

/** What a subscriber reads: a published payload, or a marker that messages may be missing here. */
export type RealtimeBusEvent = Data.TaggedEnum<{
  Message: { readonly payload: string }
  /** Messages may have been lost before this point (`dropped` counts them when known, else 0). */
  Gap: { readonly reason: GapReason; readonly dropped: number }
}>
export const RealtimeBusEvent = Data.taggedEnum<RealtimeBusEvent>()

export interface SubscribeOptions {
  /** Events buffered for this subscriber before its backlog is discarded (see the header). */
  readonly bufferSize?: number
}

export interface RealtimeBusService {
  /** Publishes `payload` to every subscriber of `channel` on every node. */
  readonly publish: (channel: string, payload: string) => Effect.Effect<void, RealtimeBusUnavailable>
  /**
   * Subscribes to `channel` until the surrounding scope closes, then the stream ends. Succeeds
   * once the subscription is active at the broker. The stream drains this subscriber's buffer,
   * so run it once. `Stream.unwrap(bus.subscribe(c))` gives a stream that subscribes when run
   * and unsubscribes when it stops.
   */
  readonly subscribe: (
    channel: string,
    options?: SubscribeOptions
  ) => Effect.Effect<Stream.Stream<RealtimeBusEvent>, RealtimeBusUnavailable, Scope.Scope>
}

export class RealtimeBus extends Context.Service<RealtimeBus, RealtimeBusService>()("pylon/platform/RealtimeBus") {}
