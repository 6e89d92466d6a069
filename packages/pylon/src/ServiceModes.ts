/**
 * Each service as its own process on the real infrastructure (microservice topology).
 */
import { Effect, Layer } from "effect"
import { gatewayApp } from "@pylon/api-gateway/GatewayLive"
import { DatabaseLive } from "@pylon/platform/Database"
import { RedisClient } from "@pylon/platform/Redis"
import * as RedisRateLimiter from "@pylon/platform/RedisRateLimiter"
import { ServerConfig } from "@pylon/platform/ServerConfig"

const redisReady = {
  name: "redis",
  check: Effect.gen(function*() {
    const redis = yield* RedisClient
    yield* redis.use("ping", (client) => client.ping())
  })
}

export const gatewayLayer = gatewayApp([redisReady]).pipe(
  Layer.provide([RedisRateLimiter.layer, ServerConfig.fromEnv()]),
  Layer.provide(RedisClient.layer),
  Layer.provide(DatabaseLive)
)
