/**
 * Embedded PostgreSQL for `pylon dev`: PGlite (Postgres compiled to WASM) keeping its data
 * in a directory, served on 127.0.0.1 by the PGlite socket server, so the ordinary native
 * `PgClient` talks to it over the wire protocol and application code cannot tell it from a
 * real server.
 *
 * PGlite is a single session: the socket server serializes every query, and the client
 * pool is held to one connection so transactions never interleave. It is also a single
 * process: the data directory is locked (`DataDirectoryLock`) before PGlite opens it.
 */
import { PGlite } from "@electric-sql/pglite"
import { PGLiteSocketServer } from "@electric-sql/pglite-socket"
import * as PgClient from "@effect/sql-pg/PgClient"
import { Config, Context, Duration, Effect, Layer, Redacted, Schema } from "effect"
import type { SqlClient } from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import { mkdir } from "node:fs/promises"
import * as NodePath from "node:path"
import { acquireDataDirectoryLock } from "./DataDirectoryLock.ts"
import type { DataDirectoryInUse, DataDirectoryLockError } from "./DataDirectoryLock.ts"

export class EmbeddedPostgresError extends Schema.TaggedError<EmbeddedPostgresError>()("EmbeddedPostgresError", {
  message: Schema.String,
  cause: Schema.Defect()
}) {}

export interface EmbeddedPostgresOptions {
  /** Where PGlite keeps its files; defaults to `PYLON_DATA_DIR`, then `./.pylon/data/pglite`. */
  readonly dataDir?: string | undefined
}

/** `PYLON_DATA_DIR` (default `./.pylon/data/pglite`, relative to the working directory). */
export const EmbeddedPostgresDataDir = Config.String("PYLON_DATA_DIR").pipe(
  Config.withDefault("./.pylon/data/pglite")
)

/** A running embedded server. */
export class EmbeddedPostgres extends Context.Service<EmbeddedPostgres, {
  /** Absolute path of the data directory. */
  readonly dataDir: string
  readonly host: string
  readonly port: number
  /** Connection URL for `PgClient` (`postgres://postgres@127.0.0.1:<port>/postgres`). */
  readonly url: Redacted.Redacted
}>()("pylon/platform/EmbeddedPostgres") {}

const fail = (message: string) => (cause: unknown) => new EmbeddedPostgresError({ message, cause })

/**
 * How long a finalizer step may take before it is abandoned, so shutting down never hangs. The
 * socket server's stop is the step known to hang (below) and loses nothing when cut short; closing
 * PGlite flushes the data to disk, so it gets far longer on a slow or loaded machine.
 */
const SERVER_STOP_TIMEOUT = Duration.seconds(5)
const DATABASE_CLOSE_TIMEOUT = Duration.seconds(120)

/**
 * Runs one shutdown step (`what`, e.g. "Closing PGlite"), abandoning it with a warning when it
 * fails or has not finished within `timeout`. The socket server's `stop()` waits for
 * every accepted connection to end, and a connection that arrives while it stops (the pool
 * connecting while startup is interrupted) is only half-closed and never tracked: without a
 * bound, the steps after it, the data directory lock's release included, would never run.
 * Finalizers are uninterruptible, so the step is made interruptible for the timeout to abandon it.
 */
const boundedRelease = (what: string, timeout: Duration.Duration, step: () => Promise<void>) =>
  Effect.interruptible(Effect.tryPromise(step)).pipe(
    Effect.timeoutOrElse({
      duration: timeout,
      orElse: () => Effect.logWarning(`${what} did not finish within ${Duration.format(timeout)}; abandoned it`)
    }),
    Effect.catch((error) => Effect.logWarning(`${what} failed`, error))
  )

/**
 * Locks `dataDir`, opens (creating it on first use) the PGlite database in it and serves it
 * on 127.0.0.1 on a free port. Closing the scope stops the server, then closes the
 * database, which flushes it to disk, then releases the lock; each of the first two steps is
 * abandoned with a warning after its timeout (5 s for the server, 120 s for the database's
 * flush), so the lock is always released. Fails with
 * `DataDirectoryInUse` (before touching the database files) when another process has it.
 */
export const startEmbeddedPostgres = Effect.fn("EmbeddedPostgres.start")(function*(dataDir: string) {
  const directory = NodePath.resolve(dataDir)
  yield* Effect.tryPromise({
    try: () => mkdir(directory, { recursive: true }),
    catch: fail(`Cannot create the PGlite data directory ${directory}`)
  })
  yield* acquireDataDirectoryLock(directory)
  const db = yield* Effect.acquireRelease(
    Effect.tryPromise({
      try: () => PGlite.create({ dataDir: directory }),
      catch: fail(`Cannot open the PGlite database in ${directory}`)
    }),
    (db) => boundedRelease("Closing PGlite", DATABASE_CLOSE_TIMEOUT, () => db.close())
  )
  const server = yield* Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        // A few spare connection slots: a pooled connection being replaced may still be
        // registered with the server for a moment after its successor connects.
        const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: 4 })
        await server.start()
        return server
      },
      catch: fail("Cannot start the PGlite socket server")
    }),
    (server) => boundedRelease("Stopping the PGlite socket server", SERVER_STOP_TIMEOUT, () => server.stop())
  )
  // After start() the server reports the port it actually bound, as "host:port".
  const address = server.getServerConn()
  const port = Number(address.slice(address.lastIndexOf(":") + 1))
  if (!Number.isInteger(port) || port <= 0) {
    return yield* new EmbeddedPostgresError({
      message: `The PGlite socket server reported an unexpected address: ${address}`,
      cause: undefined
    })
  }
  const host = "127.0.0.1"
  yield* Effect.logInfo("Embedded PostgreSQL (PGlite) ready").pipe(
    Effect.annotateLogs({ dataDir: directory, address: `${host}:${port}` })
  )
  return EmbeddedPostgres.of({
    dataDir: directory,
    host,
    port,
    url: Redacted.make(`postgres://postgres@${host}:${port}/postgres?sslmode=disable`)
  })
})

/** The embedded server alone, data directory from the options or `PYLON_DATA_DIR`. */
export const embeddedPostgresLayer = (
  options?: EmbeddedPostgresOptions
): Layer.Layer<
  EmbeddedPostgres,
  EmbeddedPostgresError | DataDirectoryInUse | DataDirectoryLockError | Config.ConfigError
> =>
  Layer.effect(
    EmbeddedPostgres,
    Effect.gen(function*() {
      const dataDir = options?.dataDir ?? (yield* EmbeddedPostgresDataDir)
      return yield* startEmbeddedPostgres(dataDir)
    })
  )

/**
 * `PgClient` + `SqlClient` (one pooled connection) on an embedded server, which is also
 * provided so callers can log where the data lives.
 */
export const embeddedDatabaseLayer = (
  options?: EmbeddedPostgresOptions
): Layer.Layer<
  PgClient.PgClient | SqlClient | EmbeddedPostgres,
  EmbeddedPostgresError | DataDirectoryInUse | DataDirectoryLockError | Config.ConfigError | SqlError
> =>
  Layer.unwrap(
    Effect.gen(function*() {
      const server = yield* EmbeddedPostgres
      return PgClient.layer({ url: server.url, maxConnections: 1, applicationName: "pylon" })
    })
  ).pipe(Layer.provideMerge(embeddedPostgresLayer(options)))

/** The embedded database with its data directory from `PYLON_DATA_DIR`. */
export const EmbeddedDatabaseLive = embeddedDatabaseLayer()
