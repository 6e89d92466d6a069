/**
 * Redis pub/sub adapter of `RealtimeBus`: how gateway nodes reach each other. PUBLISH goes out on
 * the node's main connection; all of the node's subscriptions share one dedicated subscriber
 * connection (`RedisClient.duplicate`, since a subscribed connection can run nothing else), with
 * one Redis SUBSCRIBE per channel however many local subscribers it has (see `LocalFanout.ts`).
 *
 * Reconnects: ioredis re-subscribes a dropped subscriber connection by itself (`autoResubscribe`,
 * on by default: its ready handler replays the channels the old connection had). Whatever was
 * published while the connection was down is lost, so after every reconnect this adapter
 * subscribes the node's active channels once more, waits for Redis to confirm, and only then puts
 * `Gap { reason: "Reconnected" }` into every local stream; a consumer that re-reads history on
 * that marker cannot miss a message, because the subscription is live again before it reads.
 *
 * Redis-down policy: `publish` fails with `RealtimeBusUnavailable` after `publishTimeout` (default
 * 2 s) instead of waiting out ioredis' retries; the message is durable in PostgreSQL already
 * and subscribers recover it by `seq`. A subscription that Redis does not confirm within
 * `subscribeTimeout` (default 5 s) fails the same way.
 */
import { Duration, Effect, Layer, Queue } from "effect"
import type { Scope } from "effect"
import type { Redis as IORedis } from "ioredis"
import { RedisClient } from "../redis/Redis.ts"
import type { RedisError } from "../redis/Redis.ts"
import { makeLocalFanout } from "./LocalFanout.ts"
import { RealtimeBus, RealtimeBusUnavailable } from "./RealtimeBus.ts"
import type { RealtimeBusService } from "./RealtimeBus.ts"

export interface RedisRealtimeBusOptions {
  /** Per-subscriber buffer when `subscribe` is not given one; default 1,024 events. */
  readonly bufferSize?: number
  readonly publishTimeout?: Duration.Input
  readonly subscribeTimeout?: Duration.Input
}

/** The bus and, for tests and diagnostics, its subscriber connection. */
export interface RedisRealtimeBusHandle {
  readonly bus: RealtimeBusService
  readonly subscriber: IORedis
}

const unavailable = (op: string) => (cause: unknown) => new RealtimeBusUnavailable({ op, cause })

/** Gives up on Redis after `timeout` instead of waiting out ioredis' reconnect retries. */
const within = (op: string, timeout: Duration.Duration) =>
<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | RealtimeBusUnavailable, R> =>
  Effect.timeoutOrElse(effect, {
    duration: timeout,
    orElse: () => Effect.fail(new RealtimeBusUnavailable({ op, cause: new Error(`no answer within ${Duration.format(timeout)}`) }))
  })

export const make = (
  options: RedisRealtimeBusOptions = {}
): Effect.Effect<RedisRealtimeBusHandle, RedisError, RedisClient | Scope.Scope> =>
  Effect.gen(function*() {
    const redis = yield* RedisClient
    const publishTimeout = Duration.fromInputUnsafe(options.publishTimeout ?? Duration.seconds(2))
    const subscribeTimeout = Duration.fromInputUnsafe(options.subscribeTimeout ?? Duration.seconds(5))
    const subscriber = yield* redis.duplicate

    const call = (op: string, timeout: Duration.Duration, f: (c: IORedis) => Promise<unknown>) =>
      Effect.tryPromise({ try: () => f(subscriber), catch: unavailable(op) }).pipe(within(op, timeout), Effect.asVoid)

    const fanout = makeLocalFanout({
      subscribe: (channel) => call("realtimeBus.subscribe", subscribeTimeout, (c) => c.subscribe(channel)),
      unsubscribe: (channel) =>
        call("realtimeBus.unsubscribe", subscribeTimeout, (c) => c.unsubscribe(channel)).pipe(
          Effect.catch((error) => Effect.logDebug("realtime bus: unsubscribe failed", error))
        )
    }, options)

    const onMessage = (channel: string, payload: string) => fanout.deliver(channel, payload)

    // Coalesced: several reconnects before the resync fiber runs need one resync.
    const reconnects = yield* Queue.sliding<void>(1)
    const onReady = () => {
      Queue.offerUnsafe(reconnects, undefined)
    }

    yield* Effect.acquireRelease(
      Effect.sync(() => {
        subscriber.on("message", onMessage)
        // The initial "ready" has already fired (`duplicate` connects), so each one from now on is a reconnect.
        subscriber.on("ready", onReady)
      }),
      () =>
        Effect.sync(() => {
          subscriber.off("message", onMessage)
          subscriber.off("ready", onReady)
        })
    )

    const resync = Effect.gen(function*() {
      const channels = fanout.activeChannels()
      if (channels.length > 0) {
        yield* call("realtimeBus.resubscribe", subscribeTimeout, (c) => c.subscribe(...channels)).pipe(
          Effect.catch((error) => Effect.logWarning("realtime bus: re-subscribing after a reconnect failed", error))
        )
      }
      yield* Effect.logInfo("realtime bus: subscriber connection re-established").pipe(
        Effect.annotateLogs({ channels: channels.length })
      )
      fanout.signalGap("Reconnected")
    })
    yield* Queue.take(reconnects).pipe(Effect.andThen(resync), Effect.forever, Effect.forkScoped)

    const publish = Effect.fn("RealtimeBus.publish")(function*(channel: string, payload: string) {
      yield* redis.use("realtimeBus.publish", (c) => c.publish(channel, payload)).pipe(
        Effect.mapError(unavailable("realtimeBus.publish")),
        within("realtimeBus.publish", publishTimeout)
      )
    })

    return { bus: RealtimeBus.of({ publish, subscribe: fanout.subscribe }), subscriber }
  })

export const layerWith = (options: RedisRealtimeBusOptions): Layer.Layer<RealtimeBus, RedisError, RedisClient> =>
  Layer.effect(RealtimeBus, Effect.map(make(options), ({ bus }) => bus))

export const layer: Layer.Layer<RealtimeBus, RedisError, RedisClient> = layerWith({})
