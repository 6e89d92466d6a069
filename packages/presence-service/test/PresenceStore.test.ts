/**
 * Runs the `PresenceStore` contract against the in-memory and the Redis adapter, then what only
 * one of them has: the Redis key layout under a configurable prefix, replicas sharing one Redis,
 * script-cache loss and the Redis-down policy; the in-memory store on a TestClock.
 */
import { randomUUID } from "node:crypto"
import { describe, expect, it, layer } from "@effect/vitest"
import { Context, Effect, Layer, Redacted } from "effect"
import { TestClock } from "effect/testing"
import { Redis as IORedis } from "ioredis"
import { RedisClient } from "@pylon/platform/redis/Redis"
import * as MemoryPresenceStore from "../src/MemoryPresenceStore.ts"
import { PresenceStore } from "../src/PresenceStore.ts"
import * as RedisPresenceStore from "../src/RedisPresenceStore.ts"
import { connection, freshRoom, freshUser, presenceStoreContract } from "./PresenceStore.contract.ts"

presenceStoreContract("MemoryPresenceStore", MemoryPresenceStore.layer)

const redisUrl = process.env["REDIS_URL"]
const keyPrefix = `pylon:presence:test-${randomUUID().slice(0, 8)}:`

if (redisUrl === undefined || redisUrl === "") {
  describe("RedisPresenceStore", () => {
    it("needs REDIS_URL", () => {
      throw new Error("REDIS_URL is not set: the Redis presence tests need a real Redis (e.g. redis://127.0.0.1:6380)")
    })
  })
} else {
  const redis = () => RedisClient.layerFromUrl(Redacted.make(redisUrl))
  const redisStore = () => RedisPresenceStore.layerWith({ keyPrefix }).pipe(Layer.provide(redis()))

  presenceStoreContract("RedisPresenceStore", redisStore())

  layer(redis(), { excludeTestServices: true, timeout: "30 seconds" })("RedisPresenceStore on a real Redis", (it) => {
    it.effect("keeps leases, the expiry index and last-seen under the prefix, all expiring", () =>
      Effect.gen(function*() {
        const store = yield* RedisPresenceStore.make({ keyPrefix })
        const { client } = yield* RedisClient
        const alice = freshUser()
        const tab = connection("tab")
        const { at } = yield* store.connect(alice, tab, "1 minute")
        const userKey = `${keyPrefix}user:${alice}`
        expect(yield* Effect.promise(() => client.zscore(userKey, tab))).toBe(String(at + 60_000))
        const ttl = yield* Effect.promise(() => client.pttl(userKey))
        expect(ttl).toBeGreaterThan(55_000)
        expect(ttl).toBeLessThanOrEqual(60_000)
        expect(yield* Effect.promise(() => client.zscore(`${keyPrefix}expiries`, alice))).toBe(String(at + 60_000))

        const gone = yield* store.disconnect(alice, tab)
        expect(yield* Effect.promise(() => client.exists(userKey))).toBe(0)
        expect(yield* Effect.promise(() => client.zscore(`${keyPrefix}expiries`, alice))).toBeNull()
        expect(yield* Effect.promise(() => client.get(`${keyPrefix}seen:${alice}`))).toBe(String(gone.at))
        expect(yield* Effect.promise(() => client.pttl(`${keyPrefix}seen:${alice}`))).toBeGreaterThan(29 * 86_400_000)

        const room = freshRoom()
        yield* store.typing(room, alice, "5 seconds")
        const typingTtl = yield* Effect.promise(() => client.pttl(`${keyPrefix}typing:${room}`))
        expect(typingTtl).toBeGreaterThan(4_000)
        expect(typingTtl).toBeLessThanOrEqual(5_000)
      }))

    it.effect("replicas on separate connections share leases and report each change once", () =>
      Effect.gen(function*() {
        const first = yield* RedisPresenceStore.make({ keyPrefix })
        const second = Context.get(yield* Layer.build(redisStore()), PresenceStore)
        const alice = freshUser()
        const connections = Array.from({ length: 10 }, (_, i) => connection(`c${i}`))
        const ups = yield* Effect.forEach(
          connections,
          (c, i) => (i % 2 === 0 ? first : second).connect(alice, c, "200 millis"),
          { concurrency: "unbounded" }
        )
        expect(ups.filter((t) => t.changed)).toHaveLength(1)
        expect((yield* second.presence([alice])).get(alice)?.online).toBe(true)
        yield* Effect.sleep("300 millis")
        const [a, b] = yield* Effect.all([first.sweep, second.sweep], { concurrency: "unbounded" })
        expect([...a, ...b].filter((e) => e.userId === alice)).toHaveLength(1)
      }))

    it.effect("reloads its scripts after Redis lost its script cache", () =>
      Effect.gen(function*() {
        const store = yield* RedisPresenceStore.make({ keyPrefix })
        const { client } = yield* RedisClient
        const alice = freshUser()
        yield* store.connect(alice, connection("a"), "1 minute")
        yield* Effect.promise(() => client.script("FLUSH"))
        expect((yield* store.connect(alice, connection("b"), "1 minute")).changed).toBe(false)
        expect((yield* store.presence([alice])).get(alice)?.online).toBe(true)
      }))

    it.effect("reads presence of many users in slices", () =>
      Effect.gen(function*() {
        const store = yield* RedisPresenceStore.make({ keyPrefix })
        const users = Array.from({ length: 1_200 }, freshUser)
        const online = users.filter((_, i) => i % 3 === 0)
        yield* Effect.forEach(online, (u) => store.connect(u, connection("n"), "1 minute"), { concurrency: 50 })
        const states = yield* store.presence(users)
        expect(states.size).toBe(users.length)
        expect(users.filter((u) => states.get(u)?.online)).toEqual(online)
      }))
  })
}

describe("RedisPresenceStore when Redis is unavailable", () => {
  const hangingRedis = Layer.effect(
    RedisClient,
    Effect.acquireRelease(
      Effect.sync(() => new IORedis({ lazyConnect: true })),
      (client) => Effect.sync(() => client.disconnect())
    ).pipe(Effect.map((client) =>
      RedisClient.of({ client, use: () => Effect.never, duplicate: Effect.die("not used") })
    ))
  )

  it.live("fails with Unavailable after its timeout", () =>
    Effect.gen(function*() {
      const store = yield* RedisPresenceStore.make({ timeout: "100 millis" })
      const error = yield* Effect.flip(store.connect(freshUser(), connection("x"), "1 minute"))
      expect(error._tag).toBe("Unavailable")
      expect((yield* Effect.flip(store.onlineCount))._tag).toBe("Unavailable")
    }).pipe(Effect.provide(hangingRedis)))
})

describe("MemoryPresenceStore", () => {
  it.effect("follows the Effect Clock", () =>
    Effect.gen(function*() {
      const store = yield* MemoryPresenceStore.make
      const alice = freshUser()
      expect((yield* store.connect(alice, connection("tab"), "30 seconds")).changed).toBe(true)
      yield* TestClock.adjust("29 seconds")
      expect(yield* store.sweep).toEqual([])
      yield* TestClock.adjust("2 seconds")
      expect((yield* store.presence([alice])).get(alice)?.online).toBe(false)
      expect(yield* store.sweep).toEqual([{ userId: alice, lastSeenAt: 30_000 }])
      expect((yield* store.presence([alice])).get(alice)).toEqual({ online: false, lastSeenAt: 30_000 })
    }))

  it.effect("forgets last-seen after the retention period", () =>
    Effect.gen(function*() {
      const store = yield* MemoryPresenceStore.make
      const alice = freshUser()
      const tab = connection("tab")
      yield* store.connect(alice, tab, "30 seconds")
      yield* store.disconnect(alice, tab)
      yield* TestClock.adjust("31 days")
      yield* store.sweep
      expect((yield* store.presence([alice])).get(alice)).toEqual({ online: false, lastSeenAt: null })
    }))
})
