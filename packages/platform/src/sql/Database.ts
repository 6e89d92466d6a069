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
 * - `DATABASE_STATEMENT_TIMEOUT_MS` (default 15000, 0 = none): PostgreSQL cancels any statement
 *   running longer (a send stuck behind a lock fails as `Unavailable` instead of waiting forever);
 *   migrations lift it for their own transaction
 */
export const DatabaseConfig = Config.all({
  url: Config.Redacted("DATABASE_URL"),
  maxConnections: Config.schema(
    Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1000 })),
    "DATABASE_POOL_MAX"
  ).pipe(Config.withDefault(10)),
  statementTimeoutMs: Config.schema(
    Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 3_600_000 })),
    "DATABASE_STATEMENT_TIMEOUT_MS"
  ).pipe(Config.withDefault(15_000))
})

/** A transaction left open by a stuck client is ended by PostgreSQL after this long. */
const IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000

/** `PgClient` + `SqlClient` for `DATABASE_URL`, pooled up to `DATABASE_POOL_MAX` connections. */
export const DatabaseLive: Layer.Layer<PgClient.PgClient | SqlClient, Config.ConfigError | SqlError> = Layer.unwrap(
  Effect.gen(function*() {
    const { statementTimeoutMs, ...config } = yield* DatabaseConfig
    return PgClient.layer({
      ...config,
      applicationName: "pylon",
      startupParameters: {
        statement_timeout: String(statementTimeoutMs),
        idle_in_transaction_session_timeout: String(IDLE_IN_TRANSACTION_TIMEOUT_MS)
      }
    })
  })
)
