// One process per embedded data directory: the lock file, its holder, stale-lock takeover.
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { SqlClient } from "effect/sql"
import { spawn } from "node:child_process"
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises"
import { hostname, tmpdir } from "node:os"
import { join } from "node:path"
import { acquireDataDirectoryLock, DataDirectoryInUse, LOCK_FILE_NAME } from "../../src/sql/DataDirectoryLock.ts"
import type { LockHolder } from "../../src/sql/DataDirectoryLock.ts"
import { EmbeddedPostgres, embeddedDatabaseLayer } from "../../src/sql/EmbeddedPostgres.ts"

/** A temporary directory removed when the test's scope closes. */
const temporaryDirectory = Effect.acquireRelease(
  Effect.promise(() => mkdtemp(join(tmpdir(), "pylon-lock-"))),
  (directory) => Effect.promise(() => rm(directory, { recursive: true, force: true }))
)

const readLock = (directory: string) =>
  Effect.promise(async (): Promise<unknown> => JSON.parse(await readFile(join(directory, LOCK_FILE_NAME), "utf8")))

const lockFileExists = (directory: string) =>
  Effect.promise(async () => (await readdir(directory)).includes(LOCK_FILE_NAME))

/** The pid of a process that has already exited. */
const deadPid = Effect.promise(() =>
  new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" })
    child.once("error", reject)
    child.once("exit", () => child.pid === undefined ? reject(new Error("no pid")) : resolve(child.pid))
  })
)

const writeLock = (directory: string, holder: LockHolder) =>
  Effect.promise(() => writeFile(join(directory, LOCK_FILE_NAME), JSON.stringify(holder)))

const holder = (fields: Partial<LockHolder>): LockHolder => ({
  pid: process.pid,
  hostname: hostname(),
  startedAt: "2024-01-01T00:00:00.000Z",
  command: "node main.ts dev",
  token: "earlier",
  ...fields
})

describe("DataDirectoryLock", () => {
  it.live("a second acquisition fails with DataDirectoryInUse naming the holder; released on scope close", () =>
    Effect.gen(function*() {
      const directory = yield* temporaryDirectory
      const first = yield* Scope.make()
      const me = yield* acquireDataDirectoryLock(directory).pipe(Scope.provide(first))
      expect(me.pid).toBe(process.pid)
      expect(yield* readLock(directory)).toEqual(me)
      // Nothing but the lock itself is left behind in the directory.
      expect(yield* Effect.promise(() => readdir(directory))).toEqual([LOCK_FILE_NAME])

      const second = yield* Effect.flip(Effect.scoped(acquireDataDirectoryLock(directory)))
      expect(second).toBeInstanceOf(DataDirectoryInUse)
      if (!(second instanceof DataDirectoryInUse)) return
      expect(second.holder).toEqual(me)
      expect(second.message).toContain(`${directory} is in use`)
      expect(second.message).toContain(`pid ${process.pid}`)
      // The failed attempt left the first holder's lock alone.
      expect(yield* readLock(directory)).toEqual(me)

      yield* Scope.close(first, Exit.void)
      expect(yield* lockFileExists(directory)).toBe(false)
      const again = yield* Effect.scoped(acquireDataDirectoryLock(directory))
      expect(again.token).not.toBe(me.token)
    }))

  it.live("a lock whose pid is no longer running is taken over", () =>
    Effect.gen(function*() {
      const directory = yield* temporaryDirectory
      yield* writeLock(directory, holder({ pid: yield* deadPid }))
      yield* Effect.scoped(Effect.gen(function*() {
        const me = yield* acquireDataDirectoryLock(directory)
        expect(yield* readLock(directory)).toEqual(me)
      }))
      expect(yield* lockFileExists(directory)).toBe(false)
    }))

  it.live("a lock with this process's pid that this process does not hold (a restarted pid 1) is taken over", () =>
    Effect.gen(function*() {
      const directory = yield* temporaryDirectory
      yield* writeLock(directory, holder({ pid: process.pid, token: "previous-life" }))
      const me = yield* Effect.scoped(acquireDataDirectoryLock(directory))
      expect(me.token).not.toBe("previous-life")
    }))

  it.live("a lock held from another host is respected (its pid cannot be checked from here)", () =>
    Effect.gen(function*() {
      const directory = yield* temporaryDirectory
      const remote = holder({ pid: yield* deadPid, hostname: `not-${hostname()}` })
      yield* writeLock(directory, remote)
      const error = yield* Effect.flip(Effect.scoped(acquireDataDirectoryLock(directory)))
      expect(error).toBeInstanceOf(DataDirectoryInUse)
      expect(error.message).toContain(`on host not-${hostname()}`)
      expect(yield* readLock(directory)).toEqual(remote)
    }))

  it.live("a second embedded database on the same directory fails before opening it; the first keeps working", () =>
    Effect.gen(function*() {
      const root = yield* temporaryDirectory
      const dataDir = join(root, "data")
      const firstDatabase = yield* Layer.build(embeddedDatabaseLayer({ dataDir }))
      const sql = Layer.succeedContext(firstDatabase)
      yield* Effect.gen(function*() {
        const client = yield* SqlClient.SqlClient
        yield* client`CREATE TABLE kept (value text)`
        yield* client`INSERT INTO kept VALUES ('before')`
      }).pipe(Effect.provide(sql))

      const second = yield* Effect.flip(
        Effect.scoped(Layer.build(embeddedDatabaseLayer({ dataDir })))
      )
      expect(second._tag).toBe("DataDirectoryInUse")
      expect(second.message).toContain(`pid ${process.pid}`)

      const rows = yield* Effect.gen(function*() {
        const client = yield* SqlClient.SqlClient
        yield* client`INSERT INTO kept VALUES ('after')`
        return yield* client<{ readonly value: string }>`SELECT value FROM kept ORDER BY value`
      }).pipe(Effect.provide(sql))
      expect(rows.map((row) => row.value)).toEqual(["after", "before"])
      expect(Context.get(firstDatabase, EmbeddedPostgres).dataDir).toBe(dataDir)
    }), { timeout: 120_000 })
})
