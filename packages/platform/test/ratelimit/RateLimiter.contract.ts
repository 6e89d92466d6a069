/**
 * The behaviour every `RateLimiter` adapter must show, registered once per adapter by
 * `RateLimiter.test.ts`. Real time with short windows (test services excluded), so the same
 * suite runs unchanged against Redis, whose TTLs no TestClock can move. Buckets are unique per
 * run and per test, so a shared store (one Redis for parallel test files) cannot leak counts in.
 */
import { randomUUID } from "node:crypto"
import { expect, layer } from "@effect/vitest"
import { Clock, Duration, Effect } from "effect"
import type { Layer } from "effect"
import { RateLimiter } from "../../src/ratelimit/RateLimiter.ts"

export const rateLimiterContract = <E>(name: string, implementation: Layer.Layer<RateLimiter, E>): void => {
  const run = randomUUID().slice(0, 8)
  let counter = 0
  const freshBucket = (label: string) => `contract-${run}-${label}-${++counter}`

  layer(implementation, { excludeTestServices: true })(`RateLimiter contract: ${name}`, (it) => {
    it.effect("allows exactly `limit` hits per window, then denies", () =>
      Effect.gen(function*() {
        const limiter = yield* RateLimiter
        const bucket = freshBucket("exact")
        const decisions = []
        for (let i = 0; i < 5; i++) decisions.push(yield* limiter.consume(bucket, "alice", 3, "1 minute"))
        expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false, false])
        expect(decisions.every((d) => d.limit === 3)).toBe(true)
      }))

    it.effect("counts `remaining` down to 0 and keeps it there", () =>
      Effect.gen(function*() {
        const limiter = yield* RateLimiter
        const bucket = freshBucket("remaining")
        const remaining = []
        for (let i = 0; i < 5; i++) remaining.push((yield* limiter.consume(bucket, "alice", 3, "1 minute")).remaining)
        expect(remaining).toEqual([2, 1, 0, 0, 0])
      }))

    it.effect("reports one reset time per window, and a Retry-After only when denied", () =>
      Effect.gen(function*() {
        const limiter = yield* RateLimiter
        const bucket = freshBucket("reset")
        const before = Math.floor((yield* Clock.currentTimeMillis) / 1000)
        const first = yield* limiter.consume(bucket, "alice", 1, "30 seconds")
        const denied = yield* limiter.consume(bucket, "alice", 1, "30 seconds")
        expect(first.allowed).toBe(true)
        expect(first.retryAfterSeconds).toBe(0)
        expect(first.resetAt).toBeGreaterThanOrEqual(before + 29)
        expect(first.resetAt).toBeLessThanOrEqual(before + 31)
        expect(Math.abs(denied.resetAt - first.resetAt)).toBeLessThanOrEqual(1)
        expect(denied.allowed).toBe(false)
        expect(denied.retryAfterSeconds).toBeGreaterThanOrEqual(1)
        expect(denied.retryAfterSeconds).toBeLessThanOrEqual(30)
      }))

    it.effect("keeps keys and buckets independent", () =>
      Effect.gen(function*() {
        const limiter = yield* RateLimiter
        const bucket = freshBucket("keys")
        const other = freshBucket("keys")
        expect((yield* limiter.consume(bucket, "alice", 1, "1 minute")).allowed).toBe(true)
        expect((yield* limiter.consume(bucket, "alice", 1, "1 minute")).allowed).toBe(false)
        expect((yield* limiter.consume(bucket, "bob", 1, "1 minute")).allowed).toBe(true)
        expect((yield* limiter.consume(other, "alice", 1, "1 minute")).allowed).toBe(true)
        // Keys that look like IPv6 addresses or contain separators stay distinct too.
        expect((yield* limiter.consume(bucket, "::1", 1, "1 minute")).allowed).toBe(true)
        expect((yield* limiter.consume(bucket, "::1:x", 1, "1 minute")).allowed).toBe(true)
      }))

    it.effect("allows again once the window has passed", () =>
      Effect.gen(function*() {
        const limiter = yield* RateLimiter
        const bucket = freshBucket("window")
        expect((yield* limiter.consume(bucket, "alice", 2, "1 second")).allowed).toBe(true)
        expect((yield* limiter.consume(bucket, "alice", 2, "1 second")).allowed).toBe(true)
        const denied = yield* limiter.consume(bucket, "alice", 2, "1 second")
        expect(denied.allowed).toBe(false)
        expect(denied.retryAfterSeconds).toBe(1)
        yield* Effect.sleep(Duration.millis(1_150))
        const again = yield* limiter.consume(bucket, "alice", 2, "1 second")
        expect(again.allowed).toBe(true)
        expect(again.remaining).toBe(1)
      }))

    it.effect("denied hits do not extend the window", () =>
      Effect.gen(function*() {
        const limiter = yield* RateLimiter
        const bucket = freshBucket("extend")
        yield* limiter.consume(bucket, "alice", 1, "1 second")
        // Keep hammering through the window; a limiter that re-armed its timer on every hit would never reopen.
        for (let i = 0; i < 5; i++) {
          yield* limiter.consume(bucket, "alice", 1, "1 second")
          yield* Effect.sleep(Duration.millis(200))
        }
        yield* Effect.sleep(Duration.millis(150))
        expect((yield* limiter.consume(bucket, "alice", 1, "1 second")).allowed).toBe(true)
      }))

    it.effect("never admits more than `limit` under concurrent hits", () =>
      Effect.gen(function*() {
        const limiter = yield* RateLimiter
        const bucket = freshBucket("concurrent")
        const decisions = yield* Effect.all(
          Array.from({ length: 50 }, () => limiter.consume(bucket, "alice", 10, "1 minute")),
          { concurrency: "unbounded" }
        )
        expect(decisions.filter((d) => d.allowed)).toHaveLength(10)
        expect(decisions.map((d) => d.remaining).filter((r) => r > 0).sort((a, b) => a - b)).toEqual(
          [1, 2, 3, 4, 5, 6, 7, 8, 9]
        )
      }))

    it.effect("a limit of 0 denies every hit", () =>
      Effect.gen(function*() {
        const limiter = yield* RateLimiter
        const decision = yield* limiter.consume(freshBucket("zero"), "alice", 0, "1 minute")
        expect(decision).toMatchObject({ allowed: false, limit: 0, remaining: 0 })
        expect(decision.retryAfterSeconds).toBeGreaterThanOrEqual(1)
      }))
  })
}
