/**
 * Schema migrations from the repository's `migrations/` folder of plain `.sql` files.
 *
 * Files are named `NNNN_name.sql` and applied in id order by `PgMigrator`: every pending file
 * runs in one transaction (all or nothing) and is recorded in `effect_sql_migrations`. Only ids
 * above the highest recorded one run, so a new migration always gets a higher number. The native client refuses several
 * commands in one query, so each file is split into single statements (see SqlStatements).
 */
import * as PgMigrator from "@effect/sql-pg/PgMigrator"
import type { PgClient } from "@effect/sql-pg/PgClient"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Config, Effect, FileSystem, Layer, Option, Path } from "effect"
import { Migrator, SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import * as NodePath from "node:path"
import { splitStatements } from "./SqlStatements.ts"

/** `<repo>/migrations`, found from this file's location (packages/platform/src). */
export const defaultMigrationsDirectory: string = NodePath.resolve(import.meta.dirname, "../../../../migrations")

/** The table in which applied migrations are recorded. */
export const migrationsTable = "effect_sql_migrations"

const migrationFile = /^(\d+)_([A-Za-z0-9][A-Za-z0-9_-]*)\.sql$/

/**
 * A `Migrator.Loader` for a directory of `NNNN_name.sql` files. Other files are ignored;
 * an unreadable directory or file fails with a `MigrationError`.
 */
export const fromSqlDirectory = (directory: string): Migrator.Loader<FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const files = yield* fs.readDirectory(directory)
    const migrations: Array<Migrator.ResolvedMigration> = []
    for (const file of files) {
      const match = migrationFile.exec(file)
      if (match === null) continue
      const [, id, name] = match
      if (id === undefined || name === undefined) continue
      const statements = splitStatements(yield* fs.readFileString(path.join(directory, file)))
      const migration = Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        // A migration may legitimately run longer than the services' statement timeout.
        yield* sql.unsafe("SET LOCAL statement_timeout = 0").unprepared
        for (const statement of statements) {
          yield* sql.unsafe(statement).unprepared
        }
      })
      migrations.push([Number(id), name, Effect.succeed(migration)])
    }
    return migrations.sort(([a], [b]) => a - b)
  }).pipe(
    Effect.mapError((cause) =>
      new Migrator.MigrationError({
        kind: "Failed",
        message: `Could not read migrations from ${directory}`,
        cause
      })
    )
  )

export interface MigrationsOptions {
  /** Directory of `.sql` migrations; defaults to `PYLON_MIGRATIONS_DIR`, then the repo's `migrations/`. */
  readonly directory?: string | undefined
}

const resolveDirectory = (options: MigrationsOptions | undefined) =>
  options?.directory === undefined
    ? Config.option(Config.String("PYLON_MIGRATIONS_DIR")).pipe(
      Effect.map(Option.getOrElse(() => defaultMigrationsDirectory)),
      Effect.mapError((cause) =>
        new Migrator.MigrationError({ kind: "Failed", message: "Invalid PYLON_MIGRATIONS_DIR", cause })
      )
    )
    : Effect.succeed(options.directory)

/**
 * Applies every pending migration and returns the `[id, name]` pairs it ran (empty when
 * the schema is already current). Concurrent runs are serialized by a table lock.
 */
export const runMigrations = (
  options?: MigrationsOptions
): Effect.Effect<
  ReadonlyArray<readonly [id: number, name: string]>,
  Migrator.MigrationError | SqlError,
  SqlClient.SqlClient | PgClient
> =>
  Effect.gen(function*() {
    const directory = yield* resolveDirectory(options)
    const applied = yield* PgMigrator.run({ loader: fromSqlDirectory(directory), table: migrationsTable })
    if (applied.length > 0) {
      yield* Effect.logInfo("Applied migrations").pipe(
        Effect.annotateLogs("migrations", applied.map(([id, name]) => `${id}_${name}`).join(", "))
      )
    }
    return applied
  }).pipe(
    // PgMigrator.run also asks for what its pg_dump feature needs; no schemaDirectory is
    // given, so nothing is ever spawned, but the services must be present.
    Effect.provide(NodeServices.layer),
    Effect.withSpan("Migrations.run")
  )

/** A layer that applies pending migrations when built, before anything that needs the schema. */
export const migrationsLayer = (
  options?: MigrationsOptions
): Layer.Layer<never, Migrator.MigrationError | SqlError, SqlClient.SqlClient | PgClient> =>
  Layer.effectDiscard(runMigrations(options))

/** Applies pending migrations from `PYLON_MIGRATIONS_DIR` or the repo's `migrations/`. */
export const Migrations: Layer.Layer<never, Migrator.MigrationError | SqlError, SqlClient.SqlClient | PgClient> =
  migrationsLayer()
