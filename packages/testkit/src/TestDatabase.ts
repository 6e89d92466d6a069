/**
 * A fresh, fully migrated PostgreSQL database per test file.
 *
 * Connects to `DATABASE_URL` as an administrator, creates `t_<random>`, applies the
 * migrations and provides `PgClient`/`SqlClient` for it; the database is dropped
 * `WITH (FORCE)` when the layer is released. Integration tests run against real
 * PostgreSQL only: without `DATABASE_URL` the layer fails instead of falling back.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { Config, Context, Effect, Layer, Option, Redacted } from "effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import type { Migrator } from "effect/sql"
import type { SqlClient } from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import { randomBytes } from "node:crypto"
import { migrationsLayer } from "@pylon/platform/sql/Migrations"

/** The throwaway database behind a `TestDatabase` layer. */
export class TestDatabaseInfo extends Context.Service<TestDatabaseInfo, {
  readonly name: string
  readonly url: Redacted.Redacted
}>()("pylon/platform/test/TestDatabaseInfo") {}

const missingDatabaseUrl = () =>
  Effect.die(
    new Error(
      "DATABASE_URL is not set. Integration tests need a real PostgreSQL: run them through " +
        "`npm test` (scripts/pylon.sh starts one) or export DATABASE_URL=postgres://…"
    )
  )

/** Creates `t_<random>` through `adminUrl` and drops it (forcefully) when the scope closes. */
const isolatedDatabase = Effect.fnUntraced(function*(adminUrl: Redacted.Redacted) {
  const name = `t_${Date.now().toString(36)}_${randomBytes(6).toString("hex")}`
  const admin = yield* PgClient.make({ url: adminUrl, maxConnections: 1, applicationName: "pylon-test-admin" }).pipe(
    Effect.provide(Reactivity.layer)
  )
  yield* Effect.acquireRelease(
    admin.unsafe(`CREATE DATABASE "${name}"`).unprepared,
    () =>
      admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).unprepared.pipe(
        Effect.catch((error) => Effect.logWarning(`Could not drop test database ${name}`, error))
      )
  )
  const url = new URL(Redacted.value(adminUrl))
  url.pathname = `/${name}`
  return TestDatabaseInfo.of({ name, url: Redacted.make(url.toString()) })
})

/** `PgClient` + `SqlClient` (and `TestDatabaseInfo`) for a fresh migrated database. */
export const TestDatabase: Layer.Layer<
  PgClient.PgClient | SqlClient | TestDatabaseInfo,
  Migrator.MigrationError | SqlError | Config.ConfigError
> = Layer.unwrap(
  Effect.gen(function*() {
    const adminUrl = yield* Config.option(Config.Redacted("DATABASE_URL"))
    if (Option.isNone(adminUrl)) return yield* missingDatabaseUrl()
    const info = yield* isolatedDatabase(adminUrl.value)
    const client = PgClient.layer({ url: info.url, maxConnections: 4, applicationName: "pylon-test" })
    return migrationsLayer().pipe(
      Layer.provideMerge(client),
      Layer.merge(Layer.succeed(TestDatabaseInfo, info))
    )
  })
)
