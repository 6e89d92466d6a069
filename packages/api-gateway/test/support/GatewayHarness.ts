/**
 * The API gateway on a real socket for integration tests: `gatewayApp` (what `pylon gateway`
 * runs) on `127.0.0.1:0`, with a fresh migrated PostgreSQL database (`TestDatabase`), the real
 * Redis (`REDIS_URL`) for the realtime bus and for a rate limiter whose keys carry a prefix unique to
 * this harness (so test files and repeated runs never share budgets), and the room service
 * answering in process on the same database (as in `pylon dev`).
 *
 * Settings the gateway reads from the environment (`JWT_*`, `RATE_LIMIT_*`, `TRUSTED_PROXIES`)
 * are given to it through a `ConfigProvider` holding only the harness's values, so the real
 * config-reading code runs and the developer's environment cannot leak into the tests.
 */
import { randomBytes } from "node:crypto"
import { ConfigProvider, Context, Effect, Layer, References } from "effect"
import type { Config } from "effect"
import { boundPort } from "@pylon/platform/http/HttpServerLive"
import { MetricsEndpoint } from "@pylon/platform/observability/MetricsServer"
import type { RateLimitBucket } from "@pylon/platform/ratelimit/RateLimitConfig"
import { RedisClient } from "@pylon/platform/redis/Redis"
import * as RedisRateLimiter from "@pylon/platform/ratelimit/RedisRateLimiter"
import * as RedisRealtimeBus from "@pylon/platform/bus/RedisRealtimeBus"
import { ServerConfig } from "@pylon/platform/http/ServerConfig"
import type { SqlClient } from "effect/sql/SqlClient"
import type { RealtimeBus } from "@pylon/platform/bus/RealtimeBus"
import type { ChatClient, NotificationsClient } from "../../src/clients/ServiceClients.ts"
import { gatewayApp } from "../../src/GatewayLive.ts"
import { TestDatabase } from "@pylon/testkit/TestDatabase"
import { chatInProcess, notificationsInProcess, presenceInProcess, roomsInProcess } from "./ServiceClientsInProcess.ts"

export interface GatewayOptions {
  /** Per-minute budgets; buckets not named get 1000 so ordinary tests never hit them. */
  readonly rateLimits?: Partial<Record<RateLimitBucket, number>>
  /** `TRUSTED_PROXIES` (default none). */
  readonly trustedProxies?: string
  /** Further settings (e.g. `WS_*`) the gateway reads from its environment. */
  readonly env?: Readonly<Record<string, string>>
  /** The chat service's client; the real service in process by default. */
  readonly chat?: Layer.Layer<ChatClient, Config.ConfigError, SqlClient>
  /** The notification service's client; the real service in process by default. */
  readonly notifications?: Layer.Layer<NotificationsClient, Config.ConfigError, SqlClient | RealtimeBus>
}

export interface GatewayInfo {
  /** `http://127.0.0.1:<bound port>` */
  readonly baseUrl: string
  /** `http://127.0.0.1:<metrics port>`: its internal `/metrics` listener. */
  readonly metricsUrl: string
  /** The `JWT_SECRET` this gateway signs with (random per harness). */
  readonly jwtSecret: string
  /** The Redis key prefix of this gateway's rate limiter. */
  readonly keyPrefix: string
}

export class Gateway extends Context.Service<Gateway, GatewayInfo>()("pylon/gateway/test/Gateway") {}

const GENEROUS_BUDGET = 1000

const redisReady = {
  name: "redis",
  check: Effect.gen(function*() {
    const redis = yield* RedisClient
    yield* redis.use("ping", (client) => client.ping())
  })
}

/** `Gateway` for the `gatewayApp` provided below it: where its two listeners are bound. */
export const gatewayInfoLayer = (jwtSecret: string, keyPrefix: string) =>
  Layer.effect(
    Gateway,
    Effect.gen(function*() {
      const port = yield* boundPort
      const metrics = yield* MetricsEndpoint
      return Gateway.of({
        baseUrl: `http://127.0.0.1:${port}`,
        metricsUrl: `http://127.0.0.1:${metrics.port}`,
        jwtSecret,
        keyPrefix
      })
    })
  )

/** The room service answering the gateway in process, on the test database. */
export const gatewayLayer = (options: GatewayOptions = {}) => {
  const jwtSecret = randomBytes(32).toString("base64url")
  const keyPrefix = `pylon:rl:test-gw-${randomBytes(6).toString("hex")}:`
  const limits = options.rateLimits ?? {}
  const budget = (bucket: RateLimitBucket) => String(limits[bucket] ?? GENEROUS_BUDGET)
  const settings = ConfigProvider.fromUnknown({
    JWT_SECRET: jwtSecret,
    RATE_LIMIT_WINDOW_SECONDS: "60",
    RATE_LIMIT_REGISTER: budget("register"),
    RATE_LIMIT_LOGIN: budget("login"),
    RATE_LIMIT_REFRESH: budget("refresh"),
    RATE_LIMIT_CREATE_ROOM: budget("createRoom"),
    RATE_LIMIT_JOIN: budget("join"),
    RATE_LIMIT_HISTORY: budget("history"),
    RATE_LIMIT_WS_MESSAGES: budget("wsMessages"),
    RATE_LIMIT_WS_TYPING: budget("wsTyping"),
    TRUSTED_PROXIES: options.trustedProxies ?? "",
    ...options.env
  })

  const info = gatewayInfoLayer(jwtSecret, keyPrefix)

  return info.pipe(
    Layer.provide(gatewayApp([redisReady]).pipe(Layer.provide(ConfigProvider.layer(settings)))),
    Layer.provide([
      RedisRateLimiter.layerWith({ keyPrefix, onUnavailable: "fail" }),
      RedisRealtimeBus.layer,
      ServerConfig.make({ port: 0, host: "127.0.0.1", env: "test", corsOrigins: [] })
    ]),
    Layer.provide([
      roomsInProcess,
      options.chat ?? chatInProcess,
      presenceInProcess,
      options.notifications ?? notificationsInProcess
    ]),
    Layer.provide(RedisRealtimeBus.layer),
    Layer.provideMerge(RedisClient.layer),
    Layer.provideMerge(TestDatabase),
    // Request and migration logs would drown the test output; warnings and errors still show.
    Layer.provide(Layer.succeed(References.MinimumLogLevel, "Warn"))
  )
}
