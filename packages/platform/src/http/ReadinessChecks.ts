/**
 * The dependency checks behind `/ready`, shared by every service.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import type { ReadinessCheck } from "./HealthRoutes.ts"
import { RedisClient } from "../redis/Redis.ts"

export const postgresReady: ReadinessCheck<SqlClient> = {
  name: "postgres",
  check: Effect.gen(function*() {
    const sql = yield* SqlClient
    yield* sql`SELECT 1`
  })
}

export const redisReady: ReadinessCheck<RedisClient> = {
  name: "redis",
  check: Effect.gen(function*() {
    const redis = yield* RedisClient
    yield* redis.use("ping", (client) => client.ping())
  })
}
