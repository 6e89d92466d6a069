/**
 * The PostgreSQL client of the services: `PgClient` and `SqlClient` built from config.
 *
 * Column names come back exactly as stored (snake_case, like the wire contract): no name
 * transforms are applied in either direction.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { Config, Effect, Layer, Schema } from "effect"
import type { SqlClient } from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"

/**
 * - `DATABASE_URL` (required, secret): `postgres://user:password@host:port/database`
 * - `DATABASE_POOL_MAX` (default 10): upper bound of the connection pool, 1–1000
 */
export const DatabaseConfig = Config.all({
  url: Config.Redacted("DATABASE_URL"),
  maxConnections: Config.schema(
    Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1000 })),
    "DATABASE_POOL_MAX"
  ).pipe(Config.withDefault(10))
})

/** `PgClient` + `SqlClient` for `DATABASE_URL`, pooled up to `DATABASE_POOL_MAX` connections. */
export const DatabaseLive: Layer.Layer<PgClient.PgClient | SqlClient, Config.ConfigError | SqlError> = Layer.unwrap(
  Effect.gen(function*() {
    const config = yield* DatabaseConfig
    return PgClient.layer({ ...config, applicationName: "pylon" })
  })
)
