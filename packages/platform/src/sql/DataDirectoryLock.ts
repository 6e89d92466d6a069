/**
 * One process per embedded data directory. PGlite has no lock of its own: a second `pylon dev`
 * on the same directory would open the same files as a second, unsynchronized writer. So before
 * PGlite opens the directory, `pylon.lock` is created in it atomically (a fully written private
 * file hard-linked into place, which fails if a lock already exists) naming the holder: pid,
 * host, process start time and command line. Closing the scope removes it.
 *
 * A lock whose holder is gone (same host, pid no longer running) is taken over with a warning,
 * so a crash or `kill -9` never leaves the directory unusable. A lock from another host cannot
 * be checked and is respected.
 */
import { Effect, Option, Schema } from "effect"
import { randomUUID } from "node:crypto"
import { link, readFile, rename, unlink, writeFile } from "node:fs/promises"
import { hostname } from "node:os"
import * as NodePath from "node:path"

/** The lock file's name inside the data directory. */
export const LOCK_FILE_NAME = "pylon.lock"

/** What the lock file holds (JSON). `token` tells this acquisition from any other by the same pid. */
export const LockHolder = Schema.Struct({
  pid: Schema.Int,
  hostname: Schema.String,
  startedAt: Schema.String,
  command: Schema.String,
  token: Schema.String
})
export type LockHolder = typeof LockHolder.Type

const LockFileJson = Schema.fromJsonString(LockHolder)
const decodeLockFile = Schema.decodeUnknownOption(LockFileJson)
const encodeLockFile = Schema.encodeSync(LockFileJson)

/** Another live process holds the data directory. */
export class DataDirectoryInUse extends Schema.TaggedError<DataDirectoryInUse>()("DataDirectoryInUse", {
  directory: Schema.String,
  lockFile: Schema.String,
  holder: LockHolder,
  message: Schema.String
}) {}

/** The lock could not be read or written (permissions, a damaged lock file, …). */
export class DataDirectoryLockError extends Schema.TaggedError<DataDirectoryLockError>()("DataDirectoryLockError", {
  message: Schema.String,
  cause: Schema.Defect()
}) {}

const inUse = (directory: string, lockFile: string, holder: LockHolder) => {
  const where = holder.hostname === hostname() ? "" : ` on host ${holder.hostname}`
  // A dead holder on this host is taken over by itself; one whose pid was reused after a crash,
  // or one on another host, needs a human.
  const staleHint = holder.hostname === hostname()
    ? ` If pid ${holder.pid} is not Pylon, delete ${lockFile}.`
    : ` If that process is gone, delete ${lockFile}.`
  return new DataDirectoryInUse({
    directory,
    lockFile,
    holder,
    message: `The data directory ${directory} is in use by another Pylon process: pid ${holder.pid}${where}, ` +
      `started ${holder.startedAt}, command: ${holder.command}. Stop that process, or set PYLON_DATA_DIR to ` +
      `another directory.${staleHint}`
  })
}

/** Tokens of the locks this process holds now: tells "held by me" from "left by a previous me". */
const heldHere = new Set<string>()

const codeOf = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "code" in error && typeof error.code === "string"
    ? error.code
    : undefined

/**
 * Whether the holder may still be using the directory. A holder on another host cannot be
 * probed. One with this process's pid is alive only if this process took that very lock: a
 * container restarted as pid 1 must not be locked out by its previous life.
 */
const isAlive = (holder: LockHolder): boolean => {
  if (holder.hostname !== hostname()) return true
  if (holder.pid === process.pid) return heldHere.has(holder.token)
  try {
    process.kill(holder.pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return codeOf(error) === "EPERM"
  }
}

const failWith = (message: string) => (cause: unknown) => new DataDirectoryLockError({ message, cause })

/** Links `draft` to `lockFile`; false when a lock file already exists. */
const tryLink = (draft: string, lockFile: string) =>
  Effect.tryPromise({
    try: () => link(draft, lockFile).then(() => true, (error: unknown) => {
      if (codeOf(error) === "EEXIST") return false
      throw error
    }),
    catch: failWith(`Cannot create the lock file ${lockFile}`)
  })

/** The lock file's raw text, or None when it vanished meanwhile. */
const readText = (file: string) =>
  Effect.tryPromise({
    try: () => readFile(file, "utf8").then(Option.some, (error: unknown) => {
      if (codeOf(error) === "ENOENT") return Option.none<string>()
      throw error
    }),
    catch: failWith(`Cannot read the lock file ${file}`)
  })

const removeQuietly = (file: string) => Effect.promise(() => unlink(file).catch(() => undefined))

/**
 * Removes the stale lock whose text was `staleText`. It is first renamed to a private name, so
 * of two processes taking over the same stale lock only one moves it; if what was moved is no
 * longer the stale lock (a racing process replaced it in between), it is put back.
 */
const removeStale = (lockFile: string, staleText: string, token: string) =>
  Effect.gen(function*() {
    const aside = `${lockFile}.${token}.stale`
    const moved = yield* Effect.tryPromise({
      try: () => rename(lockFile, aside).then(() => true, (error: unknown) => {
        if (codeOf(error) === "ENOENT") return false
        throw error
      }),
      catch: failWith(`Cannot remove the stale lock file ${lockFile}`)
    })
    if (!moved) return
    const text = yield* readText(aside)
    if (Option.isSome(text) && text.value !== staleText) yield* Effect.ignore(tryLink(aside, lockFile))
    yield* removeQuietly(aside)
  })

/** Removes the lock if it is still this acquisition's. */
const release = (lockFile: string, token: string) =>
  Effect.gen(function*() {
    heldHere.delete(token)
    const text = yield* readText(lockFile)
    const holder = Option.flatMap(text, decodeLockFile)
    if (Option.isSome(holder) && holder.value.token === token) {
      yield* Effect.tryPromise({ try: () => unlink(lockFile), catch: failWith(`Cannot remove ${lockFile}`) })
    }
  }).pipe(Effect.catch((error) => Effect.logWarning("Releasing the data directory lock failed", error)))

/** A few rounds cover a lock vanishing or being taken over by someone else between our steps. */
const MAX_ATTEMPTS = 5

/** Links the fully written `draft` into place as the lock, taking over a stale one. */
const claim = (directory: string, lockFile: string, draft: string, me: LockHolder) =>
  Effect.gen(function*() {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (yield* tryLink(draft, lockFile)) {
        heldHere.add(me.token)
        yield* Effect.addFinalizer(() => release(lockFile, me.token))
        return me
      }
      const text = yield* readText(lockFile)
      if (Option.isNone(text)) continue
      const holder = decodeLockFile(text.value)
      if (Option.isNone(holder)) {
        return yield* new DataDirectoryLockError({
          message: `The lock file ${lockFile} is unreadable. If no Pylon process uses ${directory}, delete it.`,
          cause: text.value
        })
      }
      if (isAlive(holder.value)) return yield* inUse(directory, lockFile, holder.value)
      yield* Effect.logWarning(
        `Taking over the lock of ${directory}: its holder, pid ${holder.value.pid}, is no longer running`
      ).pipe(Effect.annotateLogs({ startedAt: holder.value.startedAt, command: holder.value.command }))
      yield* removeStale(lockFile, text.value, me.token)
    }
    return yield* new DataDirectoryLockError({
      message: `Could not lock ${directory}: the lock file kept changing`,
      cause: undefined
    })
  })

/**
 * Locks `directory` (which must exist) for this process until the scope closes. Fails with
 * `DataDirectoryInUse` naming the holder when another live process has it.
 */
export const acquireDataDirectoryLock = Effect.fn("DataDirectoryLock.acquire")(function*(directory: string) {
  const lockFile = NodePath.join(directory, LOCK_FILE_NAME)
  const me: LockHolder = {
    pid: process.pid,
    hostname: hostname(),
    startedAt: new Date(Math.round(performance.timeOrigin)).toISOString(),
    command: process.argv.join(" "),
    token: randomUUID()
  }
  // Written in full under a private name first, so a lock file is never seen half-written; the
  // draft name goes away once linked (or not), the lock itself stays until the scope closes.
  const draft = `${lockFile}.${me.token}.tmp`
  return yield* Effect.tryPromise({
    try: () => writeFile(draft, encodeLockFile(me), { flag: "wx" }),
    catch: failWith(`Cannot write a lock file in ${directory}`)
  }).pipe(
    Effect.andThen(claim(directory, lockFile, draft, me)),
    Effect.ensuring(removeQuietly(draft))
  )
})
