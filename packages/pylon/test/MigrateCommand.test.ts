/**
 * `npm run migrate` (`pylon migrate`, issue #9 item 8) prints what it applied: run as the real
 * command (a child process) on a fresh migrated database whose migrations directory has gained one
 * new file — as after a developer adds a migration — it names that file and the count; run again,
 * it says there was nothing to apply. The new table really exists afterwards.
 */
import { execFile } from "node:child_process"
import { copyFile, mkdtemp, readdir, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as NodePath from "node:path"
import { promisify } from "node:util"
import { expect, layer } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import { defaultMigrationsDirectory } from "@pylon/platform/sql/Migrations"
import { TestDatabase, TestDatabaseInfo } from "@pylon/testkit/TestDatabase"
import { MAIN } from "../src/ServiceProcess.ts"

const execFileAsync = promisify(execFile)

const migrate = (databaseUrl: string, migrationsDir: string) =>
  Effect.promise(() =>
    execFileAsync(process.execPath, [MAIN, "migrate"], {
      env: { ...process.env, DATABASE_URL: databaseUrl, PYLON_MIGRATIONS_DIR: migrationsDir, LOG_FORMAT: "text" },
      timeout: 120_000
    })
  ).pipe(Effect.map(({ stdout }) => stdout.split("\n").filter((line) => /^(applied |migrations applied)/.test(line))))

layer(TestDatabase, { excludeTestServices: true, timeout: "60 seconds" })("pylon migrate output", (it) => {
  it.effect("names every migration it applied, then says when there is nothing to apply", () =>
    Effect.gen(function*() {
      const { url } = yield* TestDatabaseInfo
      const dir = yield* Effect.acquireRelease(
        Effect.promise(() => mkdtemp(NodePath.join(tmpdir(), "pylon-migrations-"))),
        (directory) => Effect.promise(() => rm(directory, { recursive: true, force: true }))
      )
      const existing = (yield* Effect.promise(() => readdir(defaultMigrationsDirectory))).filter((f) => f.endsWith(".sql")).sort()
      yield* Effect.promise(() =>
        Promise.all(existing.map((file) => copyFile(NodePath.join(defaultMigrationsDirectory, file), NodePath.join(dir, file))))
      )
      const next = Math.max(...existing.map((file) => Number(file.slice(0, file.indexOf("_"))))) + 1
      const added = `${String(next).padStart(4, "0")}_migrate_output_probe.sql`
      yield* Effect.promise(() => writeFile(NodePath.join(dir, added), "CREATE TABLE migrate_output_probe (id integer);\n"))

      expect(yield* migrate(Redacted.value(url), dir)).toEqual([`applied ${added}`, "migrations applied: 1"])
      expect(yield* migrate(Redacted.value(url), dir)).toEqual(["migrations applied: 0 (the database is up to date)"])
      const sql = yield* SqlClient
      const [probe] = yield* sql<{ readonly exists: boolean }>`SELECT to_regclass('migrate_output_probe') IS NOT NULL AS exists`
      expect(probe?.exists).toBe(true)
    }).pipe(Effect.scoped), { timeout: 300_000 })
})
