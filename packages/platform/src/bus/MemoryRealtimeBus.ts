/**
 * In-process adapter of `RealtimeBus` for embedded mode, passing the same contract suite as the
 * Redis one. A `MemoryBroker` stands in for the Redis server: every node attached to it gets the
 * messages of the channels it subscribed, synchronously and in publish order, and the broker
 * counts subscribed nodes per channel like `PUBSUB NUMSUB`. Each node keeps the shared
 * refcounting and bounded per-subscriber buffers of `LocalFanout.ts`, so a slow subscriber behaves
 * exactly as it does with Redis. `layer` is one node on a private broker (one process is one node).
 */
import { Effect, Layer } from "effect"
import { makeLocalFanout } from "./LocalFanout.ts"
import type { LocalFanout } from "./LocalFanout.ts"
import { RealtimeBus } from "./RealtimeBus.ts"
import type { RealtimeBusService, SubscribeOptions } from "./RealtimeBus.ts"

type Deliver = (channel: string, payload: string) => void

export interface MemoryBroker {
  readonly publish: (channel: string, payload: string) => void
  readonly subscribe: (channel: string, node: Deliver) => void
  readonly unsubscribe: (channel: string, node: Deliver) => void
  /** Nodes subscribed to `channel`. */
  readonly numsub: (channel: string) => number
}

export const makeBroker = (): MemoryBroker => {
  const channels = new Map<string, Set<Deliver>>()
  return {
    publish: (channel, payload) => {
      const nodes = channels.get(channel)
      if (nodes === undefined) return
      // A copy: a node may unsubscribe while being delivered to.
      for (const node of Array.from(nodes)) node(channel, payload)
    },
    subscribe: (channel, node) => {
      const nodes = channels.get(channel)
      if (nodes === undefined) channels.set(channel, new Set([node]))
      else nodes.add(node)
    },
    unsubscribe: (channel, node) => {
      const nodes = channels.get(channel)
      if (nodes === undefined) return
      nodes.delete(node)
      if (nodes.size === 0) channels.delete(channel)
    },
    numsub: (channel) => channels.get(channel)?.size ?? 0
  }
}

/** One node attached to `broker`. */
export const make = (broker: MemoryBroker, defaults: SubscribeOptions = {}): RealtimeBusService => {
  // Indirection: the fan-out needs the link, and the link delivers into the fan-out.
  const node: Deliver = (channel, payload) => fanout.deliver(channel, payload)
  const fanout: LocalFanout = makeLocalFanout({
    subscribe: (channel) => Effect.sync(() => broker.subscribe(channel, node)),
    unsubscribe: (channel) => Effect.sync(() => broker.unsubscribe(channel, node))
  }, defaults)
  const publish = Effect.fn("RealtimeBus.publish")(function*(channel: string, payload: string) {
    yield* Effect.sync(() => broker.publish(channel, payload))
  })
  return RealtimeBus.of({ publish, subscribe: fanout.subscribe })
}

export const layerWithBroker = (broker: MemoryBroker, defaults: SubscribeOptions = {}): Layer.Layer<RealtimeBus> =>
  Layer.sync(RealtimeBus, () => make(broker, defaults))

export const layer: Layer.Layer<RealtimeBus> = Layer.sync(RealtimeBus, () => make(makeBroker()))
