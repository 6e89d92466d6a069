/**
 * A fresh PostgreSQL database for one benchmark run: created next to `DATABASE_URL`'s database
 * (`bench_<time>_<random>`), migrated with the repository's migrations, and dropped
 * (`WITH (FORCE)`) when the surrounding scope closes — after the stack using it has stopped.
 */
import { randomBytes } from "node:crypto"
import { Config, ConfigProvider, Effect, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { DatabaseLive } from "../../packages/platform/src/sql/Database.ts"
import { runMigrations } from "../../packages/platform/src/sql/Migrations.ts"

export interface BenchDatabaseInfo {
  readonly name: string
  /** Connection URL of the fresh database (same server and credentials as `DATABASE_URL`). */
  readonly url: string
}

/** Runs one statement that cannot run in a transaction (CREATE/DROP DATABASE) on `DATABASE_URL`. */
const adminStatement = (statement: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(statement).unprepared
  }).pipe(Effect.provide(DatabaseLive))

/** Runs `effect` with `DATABASE_URL` set to `url` (the benchmark database, say). */
export const withDatabaseUrl = (url: string) =>
  Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromUnknown({ DATABASE_URL: url }))

export const benchDatabase = Effect.gen(function*() {
  const adminUrl = Redacted.value(yield* Config.Redacted("DATABASE_URL"))
  const name = `bench_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`
  yield* Effect.acquireRelease(
    adminStatement(`CREATE DATABASE "${name}"`),
    () =>
      adminStatement(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).pipe(
        Effect.catchCause((cause) => Effect.logWarning(`could not drop benchmark database ${name}`, cause))
      )
  )
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  const info: BenchDatabaseInfo = { name, url: url.toString() }
  yield* runMigrations().pipe(Effect.provide(DatabaseLive), withDatabaseUrl(info.url))
  return info
}).pipe(Effect.withSpan("BenchDatabase.create"))
