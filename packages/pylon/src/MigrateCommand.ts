/**
 * `pylon migrate` / `npm run migrate`: applies the pending migrations to `DATABASE_URL` and prints
 * each one it applied (or that there was none), on stdout, one line each.
 */
import { Console, Effect } from "effect"
import { DatabaseLive } from "@pylon/platform/sql/Database"
import { runMigrations } from "@pylon/platform/sql/Migrations"

/** One line per applied migration (its file name), then the count. */
export const describeMigrations = (applied: ReadonlyArray<readonly [number, string]>): ReadonlyArray<string> =>
  applied.length === 0
    ? ["migrations applied: 0 (the database is up to date)"]
    : [
      ...applied.map(([id, name]) => `applied ${String(id).padStart(4, "0")}_${name}.sql`),
      `migrations applied: ${applied.length}`
    ]

export const migrateCommand = runMigrations().pipe(
  Effect.tap((applied) => Effect.forEach(describeMigrations(applied), (line) => Console.log(line))),
  Effect.provide(DatabaseLive),
  Effect.asVoid
)
