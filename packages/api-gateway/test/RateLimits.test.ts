/**
 * API.md §7 over real HTTP with the Redis limiter: X-RateLimit-* on every limited response,
 * 429 rate_limited with Retry-After, per-address budgets for the auth routes, and
 * X-Forwarded-For believed only from a trusted proxy. Small budgets; each test uses its own
 * bucket (or its own addresses) so the tests do not depend on each other's order.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import { RedisClient } from "@pylon/platform/redis/Redis"
import { Gateway, gatewayLayer } from "./support/GatewayHarness.ts"
import type { HttpResult, TokenPairJson } from "./support/Http.ts"
import { expectError, expectOk, newCredentials, post, refresh } from "./support/Http.ts"

const WINDOW_SECONDS = 60

/** The three headers, checked against the expected limit/remaining; returns them as numbers. */
const expectBudget = (result: HttpResult, limit: number, remaining: number) => {
  const headers = {
    limit: result.headers.get("x-ratelimit-limit"),
    remaining: result.headers.get("x-ratelimit-remaining"),
    reset: result.headers.get("x-ratelimit-reset")
  }
  expect(headers, `status ${result.status}`).toMatchObject({ limit: String(limit), remaining: String(remaining) })
  const reset = Number(headers.reset)
  const now = Date.now() / 1000
  expect(Number.isInteger(reset)).toBe(true)
  expect(reset).toBeGreaterThanOrEqual(Math.floor(now))
  expect(reset).toBeLessThanOrEqual(Math.ceil(now) + WINDOW_SECONDS + 1)
  return reset
}

const expectRateLimited = (result: HttpResult, limit: number) => {
  expectError(result, 429, "rate_limited")
  expectBudget(result, limit, 0)
  const retryAfter = Number(result.headers.get("retry-after"))
  expect(Number.isInteger(retryAfter)).toBe(true)
  expect(retryAfter).toBeGreaterThanOrEqual(1)
  expect(retryAfter).toBeLessThanOrEqual(WINDOW_SECONDS)
}

const loginAs = (forwardedFor?: string) =>
  post("/api/v1/auth/login", {
    json: { email: "nobody@example.com", password: "wrong-password" },
    ...(forwardedFor === undefined ? {} : { headers: { "x-forwarded-for": forwardedFor } })
  })

describe("rate limits behind no trusted proxy", () => {
  layer(gatewayLayer({ rateLimits: { register: 2, login: 3, refresh: 2 } }), { excludeTestServices: true })((it) => {
    it.effect("register: headers on every answer (success and failure), then 429 with Retry-After", () =>
      Effect.gen(function*() {
        const first = yield* post("/api/v1/auth/register", { json: newCredentials() })
        expectOk(first, 201)
        const reset = expectBudget(first, 2, 1)
        // A refused registration still counts and still carries the headers.
        const second = yield* post("/api/v1/auth/register", { json: { username: "x" } })
        expectError(second, 400, "bad_request")
        expect(expectBudget(second, 2, 0)).toBe(reset)

        const credentials = newCredentials()
        const refused = yield* post("/api/v1/auth/register", { json: credentials })
        expectRateLimited(refused, 2)
        expect(refused.body).toEqual({ success: false, error: { code: "rate_limited", message: expect.any(String) as string } })
        expectRateLimited(yield* post("/api/v1/auth/register", { json: newCredentials() }), 2)
        // Refused before the handler ran: no user was created.
        const sql = yield* SqlClient
        const rows = yield* sql`SELECT 1 FROM users WHERE username = ${credentials.username}`
        expect(rows.length).toBe(0)
      }))

    it.effect("refresh: headers on 200 and 401, then 429", () =>
      Effect.gen(function*() {
        const gateway = yield* Gateway
        const redis = yield* RedisClient
        // Whatever the test above left of this address's register budget, start it afresh.
        yield* redis.use("del", (c) => c.del(`${gateway.keyPrefix}register:127.0.0.1`))
        const created = expectOk<TokenPairJson>(yield* post("/api/v1/auth/register", { json: newCredentials() }), 201)
        const ok = yield* refresh(created.refresh_token)
        expectOk(ok)
        expectBudget(ok, 2, 1)
        const bad = yield* refresh("not-a-token")
        expectError(bad, 401, "unauthorized")
        expectBudget(bad, 2, 0)
        expectRateLimited(yield* refresh("not-a-token"), 2)
      }))

    it.effect("login: X-Forwarded-For from an untrusted peer is ignored, so the budget is the peer's", () =>
      Effect.gen(function*() {
        const gateway = yield* Gateway
        const first = yield* loginAs("198.51.100.1")
        expectError(first, 401, "unauthorized")
        expectBudget(first, 3, 2)
        expectBudget(yield* loginAs("198.51.100.2"), 3, 1)
        expectBudget(yield* loginAs(), 3, 0)
        expectRateLimited(yield* loginAs("198.51.100.3"), 3)

        // The budget lives in Redis under the peer's address, with the window as expiry.
        const redis = yield* RedisClient
        const key = `${gateway.keyPrefix}login:127.0.0.1`
        expect(yield* redis.use("get", (c) => c.get(key))).toBe("4")
        const ttl = yield* redis.use("pttl", (c) => c.pttl(key))
        expect(ttl).toBeGreaterThan(0)
        expect(ttl).toBeLessThanOrEqual(WINDOW_SECONDS * 1000)
      }))
  })
})

describe("rate limits behind a trusted proxy (TRUSTED_PROXIES=127.0.0.1)", () => {
  layer(gatewayLayer({ rateLimits: { login: 2 }, trustedProxies: "10.9.0.0/16, 127.0.0.1" }), {
    excludeTestServices: true
  })((it) => {
    it.effect("X-Forwarded-For names the client: each client address has its own budget", () =>
      Effect.gen(function*() {
        expectBudget(yield* loginAs("203.0.113.7"), 2, 1)
        expectBudget(yield* loginAs("203.0.113.7"), 2, 0)
        expectRateLimited(yield* loginAs("203.0.113.7"), 2)
        // Another client behind the same proxy is not affected.
        expectBudget(yield* loginAs("203.0.113.8"), 2, 1)
        // Hops written by the client (left of the first untrusted hop) are ignored; trusted
        // proxies in between are skipped.
        expectRateLimited(yield* loginAs("192.0.2.1, 203.0.113.7"), 2)
        expectRateLimited(yield* loginAs("203.0.113.7, 10.9.0.1"), 2)
        expectBudget(yield* loginAs("203.0.113.7, 203.0.113.9"), 2, 1)
        // Without the header the proxy itself is the client.
        expectBudget(yield* loginAs(), 2, 1)
      }))
  })
})
