/**
 * Runs the `RateLimiter` contract against the in-memory and the Redis adapter, then checks what
 * only one of them has: Redis key layout, cross-connection atomicity and the Redis-down policy;
 * in-memory eviction; and the config (`RateLimitConfig.ts`) and headers (`RateLimitHeaders.ts`).
 */
import { randomUUID } from "node:crypto"
import { describe, expect, it, layer } from "@effect/vitest"
import { ConfigProvider, Context, Duration, Effect, Exit, Layer, Redacted } from "effect"
import { TestClock } from "effect/testing"
import { Redis as IORedis } from "ioredis"
import * as MemoryRateLimiter from "../../src/ratelimit/MemoryRateLimiter.ts"
import { RateLimitSettingsConfig } from "../../src/ratelimit/RateLimitConfig.ts"
import { RateLimiter } from "../../src/ratelimit/RateLimiter.ts"
import { rateLimitHeaders } from "../../src/ratelimit/RateLimitHeaders.ts"
import { RedisClient, RedisError } from "../../src/redis/Redis.ts"
import * as RedisRateLimiter from "../../src/ratelimit/RedisRateLimiter.ts"
import { rateLimiterContract } from "./RateLimiter.contract.ts"

rateLimiterContract("MemoryRateLimiter", MemoryRateLimiter.layer)

const redisUrl = process.env["REDIS_URL"]
const keyPrefix = `pylon:rl:test-${randomUUID().slice(0, 8)}:`

if (redisUrl === undefined || redisUrl === "") {
  describe("RedisRateLimiter", () => {
    it("needs REDIS_URL", () => {
      throw new Error("REDIS_URL is not set: the Redis rate-limiter tests need a real Redis (e.g. redis://127.0.0.1:6380)")
    })
  })
} else {
  const redis = RedisClient.layerFromUrl(Redacted.make(redisUrl))

  // Fail closed here: failing open would hide a broken Redis behind "allowed" answers.
  const options = { keyPrefix, onUnavailable: "fail" } as const
  const redisLimiter = () => RedisRateLimiter.layerWith(options).pipe(Layer.provide(redis))

  rateLimiterContract("RedisRateLimiter", redisLimiter())

  layer(redis, { excludeTestServices: true })("RedisRateLimiter on a real Redis", (it) => {
    it.effect("stores one expiring counter per (bucket, key) under the prefix", () =>
      Effect.gen(function*() {
        const limiter = yield* RedisRateLimiter.make(options)
        const { client } = yield* RedisClient
        yield* limiter.consume("login", "::ffff:10.0.0.1", 5, "1 minute")
        yield* limiter.consume("login", "::ffff:10.0.0.1", 5, "1 minute")
        const key = `${keyPrefix}login:::ffff:10.0.0.1`
        expect(yield* Effect.promise(() => client.get(key))).toBe("2")
        const ttl = yield* Effect.promise(() => client.pttl(key))
        expect(ttl).toBeGreaterThan(55_000)
        expect(ttl).toBeLessThanOrEqual(60_000)
      }))

    it.effect("two connections (two gateway processes) share one budget atomically", () =>
      Effect.gen(function*() {
        const first = yield* RedisRateLimiter.make(options)
        // Its own connection, kept open for the rest of the test by the test's scope.
        const second = Context.get(yield* Layer.build(redisLimiter()), RateLimiter)
        const bucket = `shared-${randomUUID()}`
        const decisions = yield* Effect.all(
          Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? first : second).consume(bucket, "alice", 10, "1 minute")),
          { concurrency: "unbounded" }
        )
        expect(decisions.filter((d) => d.allowed)).toHaveLength(10)
      }))

    it.effect("reloads the script after Redis lost its script cache", () =>
      Effect.gen(function*() {
        const limiter = yield* RedisRateLimiter.make(options)
        const { client } = yield* RedisClient
        const bucket = `flush-${randomUUID()}`
        yield* limiter.consume(bucket, "alice", 5, "1 minute")
        yield* Effect.promise(() => client.script("FLUSH"))
        const decision = yield* limiter.consume(bucket, "alice", 5, "1 minute")
        expect(decision).toMatchObject({ allowed: true, remaining: 3 })
      }))
  })
}

/** A RedisClient whose every call fails or hangs, as when Redis is down. */
const brokenRedis = (behaviour: "fail" | "hang") =>
  Layer.effect(
    RedisClient,
    Effect.acquireRelease(
      Effect.sync(() => new IORedis({ lazyConnect: true })),
      (client) => Effect.sync(() => client.disconnect())
    ).pipe(Effect.map((client) =>
      RedisClient.of({
        client,
        use: (op) =>
          behaviour === "fail"
            ? Effect.fail(new RedisError({ op, cause: new Error("connect ECONNREFUSED 127.0.0.1:6380") }))
            : Effect.never,
        duplicate: Effect.fail(new RedisError({ op: "duplicate", cause: new Error("down") }))
      })
    ))
  )

describe("RedisRateLimiter when Redis is unavailable", () => {
  it.live("fails open by default: the hit is allowed, not an error", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter
      const decisions = yield* Effect.all([1, 2, 3].map(() => limiter.consume("login", "10.0.0.1", 2, "1 minute")))
      expect(decisions.map((d) => d.allowed)).toEqual([true, true, true])
      expect(decisions[0]).toMatchObject({ limit: 2, remaining: 1, retryAfterSeconds: 0 })
    }).pipe(Effect.provide(RedisRateLimiter.layer.pipe(Layer.provide(brokenRedis("fail"))))))

  it.live("fails open quickly when Redis does not answer", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter
      const started = Date.now()
      const decision = yield* limiter.consume("login", "10.0.0.1", 2, "1 minute")
      expect(decision.allowed).toBe(true)
      expect(Date.now() - started).toBeLessThan(2_000)
    }).pipe(
      Effect.provide(
        RedisRateLimiter.layerWith({ timeout: Duration.millis(100) }).pipe(Layer.provide(brokenRedis("hang")))
      )
    ))

  it.live("fails closed with RateLimiterUnavailable when asked to", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter
      const exit = yield* Effect.exit(limiter.consume("login", "10.0.0.1", 2, "1 minute"))
      expect(Exit.isFailure(exit)).toBe(true)
      const error = yield* Effect.flip(limiter.consume("login", "10.0.0.1", 2, "1 minute"))
      expect(error._tag).toBe("RateLimiterUnavailable")
    }).pipe(
      Effect.provide(RedisRateLimiter.layerWith({ onUnavailable: "fail" }).pipe(Layer.provide(brokenRedis("fail"))))
    ))
})

describe("MemoryRateLimiter", () => {
  it.effect("follows the Effect Clock", () =>
    Effect.gen(function*() {
      const { limiter } = yield* MemoryRateLimiter.make()
      expect((yield* limiter.consume("join", "u1", 1, "1 minute")).allowed).toBe(true)
      expect((yield* limiter.consume("join", "u1", 1, "1 minute")).allowed).toBe(false)
      yield* TestClock.adjust("59 seconds")
      expect((yield* limiter.consume("join", "u1", 1, "1 minute")).retryAfterSeconds).toBe(1)
      yield* TestClock.adjust("1 second")
      expect((yield* limiter.consume("join", "u1", 1, "1 minute")).allowed).toBe(true)
    }))

  it.effect("evicts expired windows so memory stays bounded", () =>
    Effect.gen(function*() {
      const { limiter, size } = yield* MemoryRateLimiter.make({ sweepInterval: "1 second" })
      for (let i = 0; i < 1_000; i++) yield* limiter.consume("history", `user-${i}`, 10, "2 seconds")
      expect(yield* size).toBe(1_000)
      yield* TestClock.adjust("3 seconds")
      yield* limiter.consume("history", "late", 10, "2 seconds")
      expect(yield* size).toBe(1)
    }))
})

describe("rateLimitHeaders", () => {
  it("carries limit, remaining and reset; Retry-After only when denied", () => {
    expect(rateLimitHeaders({ allowed: true, limit: 10, remaining: 9, resetAt: 1_700_000_060, retryAfterSeconds: 0 }))
      .toEqual({ "X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "9", "X-RateLimit-Reset": "1700000060" })
    expect(rateLimitHeaders({ allowed: false, limit: 10, remaining: 0, resetAt: 1_700_000_060, retryAfterSeconds: 42 }))
      .toEqual({
        "X-RateLimit-Limit": "10",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": "1700000060",
        "Retry-After": "42"
      })
  })
})

describe("RateLimitSettingsConfig", () => {
  it.effect("defaults to the budgets of API.md §7 over one minute", () =>
    Effect.gen(function*() {
      const settings = yield* RateLimitSettingsConfig.parse(ConfigProvider.fromUnknown({}))
      expect(Duration.toSeconds(settings.window)).toBe(60)
      expect(settings.limits).toEqual({
        register: 5,
        login: 10,
        refresh: 30,
        createRoom: 30,
        join: 60,
        history: 600,
        wsMessages: 600,
        wsTyping: 60
      })
    }))

  it.effect("reads each budget and the window from its variable", () =>
    Effect.gen(function*() {
      const settings = yield* RateLimitSettingsConfig.parse(
        ConfigProvider.fromEnv({ env: { RATE_LIMIT_LOGIN: "3", RATE_LIMIT_WS_TYPING: "0", RATE_LIMIT_WINDOW_SECONDS: "10" } })
      )
      expect(settings.limits.login).toBe(3)
      expect(settings.limits.wsTyping).toBe(0)
      expect(settings.limits.register).toBe(5)
      expect(Duration.toSeconds(settings.window)).toBe(10)
    }))

  it.effect("rejects malformed values instead of dropping the limit", () =>
    Effect.gen(function*() {
      for (const env of [{ RATE_LIMIT_LOGIN: "ten" }, { RATE_LIMIT_LOGIN: "-1" }, { RATE_LIMIT_WINDOW_SECONDS: "0" }]) {
        const exit = yield* Effect.exit(RateLimitSettingsConfig.parse(ConfigProvider.fromEnv({ env })))
        expect(Exit.isFailure(exit)).toBe(true)
      }
    }))
})
