/**
 * `DatabaseLive` on the real PostgreSQL: every connection carries the statement timeout from
 * `DATABASE_STATEMENT_TIMEOUT_MS`, so a statement stuck (here: sleeping) longer is cancelled
 * instead of holding its caller forever.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Exit, Layer } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import { DatabaseLive } from "../../src/sql/Database.ts"

const databaseUrl = process.env["DATABASE_URL"] ?? ""

const withTimeout = (statementTimeoutMs: string) =>
  DatabaseLive.pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({
    DATABASE_URL: databaseUrl,
    DATABASE_POOL_MAX: "1",
    DATABASE_STATEMENT_TIMEOUT_MS: statementTimeoutMs
  }))))

describe("DatabaseLive", () => {
  it.effect("a statement running past DATABASE_STATEMENT_TIMEOUT_MS is cancelled by PostgreSQL", () =>
    Effect.gen(function*() {
      expect(databaseUrl, "DATABASE_URL (real PostgreSQL) must be set").not.toBe("")
      const sleep = (seconds: number) =>
        Effect.gen(function*() {
          const sql = yield* SqlClient
          const [row] = yield* sql<{ readonly timeout: string }>`SELECT current_setting('statement_timeout') AS timeout`
          const slept = yield* Effect.exit(sql`SELECT pg_sleep(${seconds})`)
          return { timeout: row?.timeout, slept }
        })
      const short = yield* sleep(3).pipe(Effect.provide(withTimeout("200")))
      expect(short.timeout).toBe("200ms")
      expect(Exit.isFailure(short.slept)).toBe(true)
      expect(JSON.stringify(short.slept)).toContain("57014") // query_canceled by statement_timeout
      const none = yield* sleep(0.3).pipe(Effect.provide(withTimeout("0")))
      expect(none.timeout).toBe("0")
      expect(Exit.isSuccess(none.slept)).toBe(true)
    }), { timeout: 30_000 })
})
