/**
 * In-process adapter of `RoomBus` for embedded mode, passing the same contract suite as the
 * Redis one. A `MemoryBroker` stands in for the Redis server: every node attached to it gets the
 * messages of the channels it subscribed, synchronously and in publish order, and the broker
 * counts subscribed nodes per channel like `PUBSUB NUMSUB`. Each node keeps the shared
 * refcounting and bounded per-subscriber buffers of `RoomBus.ts`, so a slow subscriber behaves
 * exactly as it does with Redis. `layer` is one node on a private broker (one process is one node).
 */
import { Effect, Layer } from "effect"
import { makeLocalFanout, RoomBus } from "./RoomBus.ts"
import type { LocalFanout, RoomBusService, SubscribeOptions } from "./RoomBus.ts"

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
export const make = (broker: MemoryBroker, defaults: SubscribeOptions = {}): RoomBusService => {
  // Indirection: the fan-out needs the link, and the link delivers into the fan-out.
  const node: Deliver = (channel, payload) => fanout.deliver(channel, payload)
  const fanout: LocalFanout = makeLocalFanout({
    subscribe: (channel) => Effect.sync(() => broker.subscribe(channel, node)),
    unsubscribe: (channel) => Effect.sync(() => broker.unsubscribe(channel, node))
  }, defaults)
  const publish = Effect.fn("RoomBus.publish")(function*(channel: string, payload: string) {
    yield* Effect.sync(() => broker.publish(channel, payload))
  })
  return RoomBus.of({ publish, subscribe: fanout.subscribe })
}

export const layerWithBroker = (broker: MemoryBroker, defaults: SubscribeOptions = {}): Layer.Layer<RoomBus> =>
  Layer.sync(RoomBus, () => make(broker, defaults))

export const layer: Layer.Layer<RoomBus> = Layer.sync(RoomBus, () => make(makeBroker()))
