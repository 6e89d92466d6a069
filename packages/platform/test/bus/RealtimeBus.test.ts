/**
 * Runs the `RealtimeBus` contract against the in-memory broker and a real Redis (each node its own
 * connections), then what only Redis has: recovery after the subscriber connection drops, and
 * typed failures when Redis does not answer.
 */
import { randomUUID } from "node:crypto"
import { describe, expect, it, layer } from "@effect/vitest"
import { Context, Deferred, Effect, Fiber, Layer, Redacted, Schema, Stream } from "effect"
import { Redis as IORedis } from "ioredis"
import * as MemoryRealtimeBus from "../../src/bus/MemoryRealtimeBus.ts"
import { RedisClient } from "../../src/redis/Redis.ts"
import * as RedisRealtimeBus from "../../src/bus/RedisRealtimeBus.ts"
import { RealtimeBus } from "../../src/bus/RealtimeBus.ts"
import { PRESENCE_CHANNEL, roomChannel, userChannel } from "../../src/bus/Channels.ts"
import { realtimeBusContract, RealtimeBusKit, takeEvents } from "./RealtimeBus.contract.ts"

const memoryKit = Layer.sync(RealtimeBusKit, () => {
  const broker = MemoryRealtimeBus.makeBroker()
  return RealtimeBusKit.of({
    node: Effect.sync(() => MemoryRealtimeBus.make(broker)),
    numsub: (channel) => Effect.sync(() => broker.numsub(channel))
  })
})

realtimeBusContract("MemoryRealtimeBus", memoryKit)

describe("channel names", () => {
  it("are the documented Redis channels", () => {
    expect(roomChannel("r1")).toBe("pylon:room:r1")
    expect(userChannel("u1")).toBe("pylon:user:u1")
    expect(PRESENCE_CHANNEL).toBe("pylon:presence")
  })
})

const NumsubReply = Schema.Tuple([Schema.String, Schema.Number])

const redisUrl = process.env["REDIS_URL"]

if (redisUrl === undefined || redisUrl === "") {
  describe("RedisRealtimeBus", () => {
    it("needs REDIS_URL", () => {
      throw new Error("REDIS_URL is not set: the Redis room-bus tests need a real Redis (e.g. redis://127.0.0.1:6380)")
    })
  })
} else {
  const redis = () => RedisClient.layerFromUrl(Redacted.make(redisUrl))

  const numsub = (channel: string) =>
    Effect.gen(function*() {
      const { use } = yield* RedisClient
      const reply = yield* use("pubsub", (c) => c.pubsub("NUMSUB", channel))
      return (yield* Schema.decodeUnknownEffect(NumsubReply)(reply))[1]
    })

  const redisKit = Layer.effect(
    RealtimeBusKit,
    Effect.gen(function*() {
      const client = yield* RedisClient
      return RealtimeBusKit.of({
        // Every node has its own main and subscriber connection, like a separate gateway process.
        node: Layer.build(RedisRealtimeBus.layer.pipe(Layer.provide(redis()))).pipe(
          Effect.map((context) => Context.get(context, RealtimeBus))
        ),
        numsub: (channel) => numsub(channel).pipe(Effect.provideService(RedisClient, client))
      })
    })
  ).pipe(Layer.provide(redis()))

  realtimeBusContract("RedisRealtimeBus", redisKit)

  const run = randomUUID().slice(0, 8)

  layer(redis(), { excludeTestServices: true, timeout: "30 seconds" })("RedisRealtimeBus on a real Redis", (it) => {
    it.effect("after the subscriber connection drops, re-subscribes and signals Reconnected", () =>
      Effect.gen(function*() {
        const { bus, subscriber } = yield* RedisRealtimeBus.make()
        const { client } = yield* RedisClient
        const channel = `pylon:test:${run}:reconnect`
        const connectionId = yield* Effect.promise(() => subscriber.client("ID"))
        const stream = yield* bus.subscribe(channel)
        yield* bus.publish(channel, "before")

        const gapSeen = yield* Deferred.make<void>()
        const reading = yield* stream.pipe(
          Stream.tap((event) => event._tag === "Gap" ? Deferred.succeed(gapSeen, undefined) : Effect.void),
          Stream.takeUntil((event) => event._tag === "Message" && event.payload === "after"),
          Stream.runCollect,
          Effect.timeout("10 seconds"),
          Effect.forkChild
        )
        yield* Effect.promise(() => client.client("KILL", "ID", String(connectionId)))
        yield* Deferred.await(gapSeen).pipe(Effect.timeout("10 seconds"))
        // The Gap comes only once Redis confirmed the subscription again.
        expect(yield* numsub(channel)).toBe(1)
        yield* bus.publish(channel, "after")
        const events = yield* Fiber.join(reading)
        expect(events).toEqual([
          { _tag: "Message", payload: "before" },
          { _tag: "Gap", reason: "Reconnected", dropped: 0 },
          { _tag: "Message", payload: "after" }
        ])
      }))
  })
}

/** A RedisClient whose calls hang and whose subscriber connection cannot connect: Redis is down. */
const deadRedis = Layer.effect(
  RedisClient,
  Effect.acquireRelease(
    Effect.sync(() => new IORedis({ lazyConnect: true })),
    (client) => Effect.sync(() => client.disconnect())
  ).pipe(Effect.map((client) =>
    RedisClient.of({
      client,
      use: () => Effect.never,
      duplicate: Effect.acquireRelease(
        Effect.sync(() => {
          const connection = new IORedis({
            host: "127.0.0.1",
            port: 1,
            lazyConnect: true,
            maxRetriesPerRequest: 0,
            retryStrategy: () => null
          })
          connection.on("error", () => undefined)
          return connection
        }),
        (connection) => Effect.sync(() => connection.disconnect())
      )
    })
  ))
)

describe("RedisRealtimeBus when Redis is unavailable", () => {
  it.live("publish fails with RealtimeBusUnavailable instead of hanging", () =>
    Effect.gen(function*() {
      const { bus } = yield* RedisRealtimeBus.make({ publishTimeout: "100 millis" })
      const error = yield* Effect.flip(bus.publish("pylon:test:down", "x"))
      expect(error._tag).toBe("RealtimeBusUnavailable")
    }).pipe(Effect.provide(deadRedis)))

  it.live("subscribe fails with RealtimeBusUnavailable, and a later subscribe tries again", () =>
    Effect.gen(function*() {
      const { bus } = yield* RedisRealtimeBus.make({ subscribeTimeout: "500 millis" })
      const first = yield* Effect.flip(Effect.scoped(bus.subscribe("pylon:test:down")))
      expect(first._tag).toBe("RealtimeBusUnavailable")
      const second = yield* Effect.flip(Effect.scoped(bus.subscribe("pylon:test:down")))
      expect(second._tag).toBe("RealtimeBusUnavailable")
    }).pipe(Effect.provide(deadRedis)))
})

describe("MemoryRealtimeBus", () => {
  it.effect("a subscriber's stream ends when its scope closes", () =>
    Effect.gen(function*() {
      const bus = MemoryRealtimeBus.make(MemoryRealtimeBus.makeBroker())
      const stream = yield* Effect.scoped(bus.subscribe("c"))
      expect(yield* takeEvents(stream, 5)).toEqual([])
    }))
})
