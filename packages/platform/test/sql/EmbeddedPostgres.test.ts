// Embedded mode: PGlite behind its socket server, reached with the ordinary PgClient.
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { randomUUID } from "node:crypto"
import { mkdtemp, readdir, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { EmbeddedPostgres, embeddedDatabaseLayer } from "../../src/sql/EmbeddedPostgres.ts"
import { defaultMigrationsDirectory, runMigrations } from "../../src/sql/Migrations.ts"

/** A temporary directory removed when the test's scope closes. */
const temporaryDirectory = Effect.acquireRelease(
  Effect.promise(() => mkdtemp(join(tmpdir(), "pylon-pglite-"))),
  (directory) => Effect.promise(() => rm(directory, { recursive: true, force: true }))
)

describe("EmbeddedPostgres", () => {
  it.live("serves a migrated database whose data survives a restart", () =>
    Effect.gen(function*() {
      const root = yield* temporaryDirectory
      const dataDir = join(root, "data")
      const userId = randomUUID()

      const firstRun = yield* Effect.gen(function*() {
        const server = yield* EmbeddedPostgres
        expect(server.dataDir).toBe(dataDir)
        expect(server.host).toBe("127.0.0.1")
        expect(server.port).toBeGreaterThan(0)
        const applied = yield* runMigrations()
        const sql = yield* SqlClient.SqlClient
        yield* sql`INSERT INTO users (id, username, email, password_hash)
          VALUES (${userId}, 'Persistent', 'persistent@example.com', 'hash')`
        // Constraints behave as on PostgreSQL.
        const duplicate = yield* Effect.flip(sql`INSERT INTO users (id, username, email, password_hash)
          VALUES (${randomUUID()}, 'PERSISTENT', 'other@example.com', 'hash')`)
        expect(duplicate.reason._tag).toBe("UniqueViolation")
        // A failed transaction leaves nothing behind.
        const failed = yield* Effect.flip(sql.withTransaction(Effect.gen(function*() {
          yield* sql`INSERT INTO users (id, username, email, password_hash)
            VALUES (${randomUUID()}, 'rolled_back', 'rolled@example.com', 'hash')`
          yield* sql`INSERT INTO users (id, username, email, password_hash)
            VALUES (${randomUUID()}, 'persistent', 'again@example.com', 'hash')`
        })))
        expect(failed.reason._tag).toBe("UniqueViolation")
        return applied
      }).pipe(Effect.provide(embeddedDatabaseLayer({ dataDir })))

      // Every migration file, in order (ids from the file names).
      const files = (yield* Effect.promise(() => readdir(defaultMigrationsDirectory))).filter((name) => name.endsWith(".sql"))
      expect(firstRun.map(([id]) => id)).toEqual(files.map((name) => Number(name.slice(0, 4))).sort((a, b) => a - b))
      expect((yield* Effect.promise(() => readdir(dataDir))).length).toBeGreaterThan(0)

      const secondRun = yield* Effect.gen(function*() {
        const applied = yield* runMigrations()
        const sql = yield* SqlClient.SqlClient
        const users = yield* sql<{ readonly id: string; readonly username: string; readonly created_at: Date }>`
          SELECT id, username, created_at FROM users ORDER BY username`
        return { applied, users }
      }).pipe(
        // This time the data directory comes from PYLON_DATA_DIR, as in `pylon dev`.
        Effect.provide(embeddedDatabaseLayer().pipe(
          Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ PYLON_DATA_DIR: dataDir })))
        ))
      )

      expect(secondRun.applied).toEqual([])
      expect(secondRun.users.map((user) => [user.id, user.username])).toEqual([[userId, "Persistent"]])
      expect(secondRun.users[0]?.created_at).toBeInstanceOf(Date)
    }), { timeout: 120_000 })
})
