/**
 * Two `npm start` in the same folder: real `pylon dev` processes on one data directory. The
 * second must stop at once with a clear "in use" message naming the first (no stack trace, exit
 * status non-zero) without touching the database files: after the first stops, a third process
 * on the directory still has the user the first one stored. Likewise a `pylon dev` whose port
 * is taken says so in one line, and one stopped (SIGTERM) while PGlite is still starting exits
 * promptly and leaves the directory unlocked and usable.
 */
import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { access, mkdtemp, readdir, rm } from "node:fs/promises"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import * as NodePath from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { LOCK_FILE_NAME } from "@pylon/platform/sql/DataDirectoryLock"
import { MAIN } from "../src/ServiceProcess.ts"
import { request } from "@pylon/testkit/Rest"

/** Deadlines only bound a hang: a loaded 2-core CI box may take long to start a process. */
const START_DEADLINE_MS = 120_000
const EXIT_DEADLINE_MS = 60_000

interface DevProcess {
  readonly child: ChildProcess
  /** Everything written to stdout and stderr so far. */
  readonly output: () => string
}

const exitCode = (child: ChildProcess) =>
  Effect.callback<number | NodeJS.Signals>((resume) => {
    const settled = () => child.exitCode ?? child.signalCode
    const now = settled()
    if (now !== null) return resume(Effect.succeed(now))
    const done = () => resume(Effect.succeed(settled() ?? -1))
    child.once("exit", done)
    return Effect.sync(() => child.off("exit", done))
  })

/** `pylon dev` on `dataDir` and `port` (default: any free one), killed when the scope closes if still running. */
const startDev = (dataDir: string, port = 0) =>
  Effect.acquireRelease(
    Effect.sync((): DevProcess => {
      const child = spawn(process.execPath, [MAIN, "dev"], {
        env: { ...process.env, PYLON_DATA_DIR: dataDir, APP_PORT: String(port), APP_HOST: "127.0.0.1", METRICS_PORT: "0" },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let output = ""
      const append = (chunk: Buffer) => {
        output += chunk.toString("utf8")
        if (process.env.PYLON_TEST_LOGS !== undefined) process.stdout.write(chunk)
      }
      child.stdout.on("data", append)
      child.stderr.on("data", append)
      return { child, output: () => output }
    }),
    ({ child }) =>
      Effect.gen(function*() {
        if (child.exitCode !== null || child.signalCode !== null) return
        child.kill("SIGKILL")
        yield* exitCode(child)
      })
  )

/** Polls `dev`'s output until `pattern` matches; fails if the process exits or the deadline passes. */
const waitForOutput = (dev: DevProcess, pattern: RegExp) =>
  Effect.gen(function*() {
    const deadline = Date.now() + START_DEADLINE_MS
    while (Date.now() < deadline) {
      const match = pattern.exec(dev.output())
      if (match !== null) return match
      if (dev.child.exitCode !== null) {
        return yield* Effect.die(new Error(`pylon dev exited (${dev.child.exitCode}) before ${pattern}:\n${dev.output()}`))
      }
      yield* Effect.sleep("100 millis")
    }
    return yield* Effect.die(new Error(`no ${pattern} from pylon dev within ${START_DEADLINE_MS} ms:\n${dev.output()}`))
  })

/**
 * The base URL once the process says where it listens (the OS picked the port) and its `/health`
 * answers: the server listens a moment before its routes are attached (it answers 503 meanwhile).
 */
const baseUrlOf = (dev: DevProcess) =>
  Effect.gen(function*() {
    const match = yield* waitForOutput(dev, /Pylon is listening on https?:\/\/[^\s/"]+:(\d+)/)
    const url = `http://127.0.0.1:${match[1]}`
    const deadline = Date.now() + START_DEADLINE_MS
    while ((yield* request(url, "GET", "/health")).status !== 200) {
      if (Date.now() > deadline) return yield* Effect.die(new Error(`${url}/health never answered 200:\n${dev.output()}`))
      yield* Effect.sleep("100 millis")
    }
    return url
  })

/** Polls until `file` exists; fails if the process exits first or the deadline passes. */
const waitForFile = (dev: DevProcess, file: string) =>
  Effect.gen(function*() {
    const deadline = Date.now() + START_DEADLINE_MS
    while (!(yield* Effect.promise(() => access(file).then(() => true, () => false)))) {
      if (dev.child.exitCode !== null) {
        return yield* Effect.die(new Error(`pylon dev exited (${dev.child.exitCode}) before ${file} appeared:\n${dev.output()}`))
      }
      if (Date.now() > deadline) return yield* Effect.die(new Error(`no ${file} within ${START_DEADLINE_MS} ms:\n${dev.output()}`))
      // Short: the file appears well under a second before PGlite is ready.
      yield* Effect.sleep("20 millis")
    }
  })

const exitWithin = (dev: DevProcess, millis: number) =>
  exitCode(dev.child).pipe(
    Effect.timeoutOrElse({
      duration: millis,
      orElse: () => Effect.die(new Error(`pylon dev still running after ${millis} ms:\n${dev.output()}`))
    })
  )

const temporaryDataDir = Effect.acquireRelease(
  Effect.promise(() => mkdtemp(NodePath.join(tmpdir(), "pylon-dev-lock-"))),
  (directory) => Effect.promise(() => rm(directory, { recursive: true, force: true }))
)

/** A port held by another listener on 127.0.0.1 until the scope closes. */
const occupiedPort = Effect.acquireRelease(
  Effect.promise(() =>
    new Promise<{ readonly port: number; readonly close: () => void }>((resolve, reject) => {
      const server = createServer()
      server.once("error", reject)
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        if (address === null || typeof address === "string") return reject(new Error("no TCP address"))
        resolve({ port: address.port, close: () => server.close() })
      })
    })
  ),
  (held) => Effect.sync(held.close)
)

/** The run's output is one clear explanation: no stack trace. */
const expectNoStackTrace = (output: string) => expect(output).not.toMatch(/^\s+at /m)

const credentials = { email: "keeper@example.test", password: "correct horse battery" }

const decodeUserId = Schema.decodeUnknownSync(Schema.Struct({
  success: Schema.Literal(true),
  data: Schema.Struct({ user: Schema.Struct({ id: Schema.String }) })
}))

describe("a second pylon dev on the same data directory", () => {
  it.live("exits non-zero with a clear message naming the first process, and the data stays intact", () =>
    Effect.gen(function*() {
      const dataDir = yield* temporaryDataDir

      const first = yield* startDev(dataDir)
      const firstUrl = yield* baseUrlOf(first)
      const registered = yield* request(firstUrl, "POST", "/api/v1/auth/register", {
        json: { username: "keeper", ...credentials }
      })
      expect(registered.status).toBe(201)
      const userId = decodeUserId(registered.body).data.user.id

      const second = yield* startDev(dataDir)
      const code = yield* exitWithin(second, EXIT_DEADLINE_MS)
      expect(code).not.toBe(0)
      const message = second.output()
      expect(message).toContain(`The data directory ${dataDir} is in use`)
      expect(message).toContain(`pid ${first.child.pid}`)
      expect(message).toContain("main.ts dev")
      // One clear line, and the database was never opened.
      expectNoStackTrace(message)
      expect(message).not.toContain("PGlite) ready")

      // The first process never noticed.
      expect((yield* request(firstUrl, "POST", "/api/v1/auth/login", { json: credentials })).status).toBe(200)
      first.child.kill("SIGTERM")
      yield* exitWithin(first, EXIT_DEADLINE_MS)
      expect(yield* Effect.promise(() => readdir(dataDir))).not.toContain(LOCK_FILE_NAME)

      const third = yield* startDev(dataDir)
      const thirdUrl = yield* baseUrlOf(third)
      const login = yield* request(thirdUrl, "POST", "/api/v1/auth/login", { json: credentials })
      expect(login.status).toBe(200)
      expect(decodeUserId(login.body).data.user.id).toBe(userId)
    }), { timeout: 600_000 })
})

describe("pylon dev on a port that is already taken", () => {
  it.live("exits non-zero with a one-line explanation naming the address", () =>
    Effect.gen(function*() {
      const dataDir = yield* temporaryDataDir
      const { port } = yield* occupiedPort
      const dev = yield* startDev(dataDir, port)
      expect(yield* exitWithin(dev, START_DEADLINE_MS)).not.toBe(0)
      expect(dev.output()).toContain(`Cannot listen on 127.0.0.1:${port}: the port is already in use`)
      expectNoStackTrace(dev.output())
    }), { timeout: 300_000 })
})

describe("pylon dev stopped while PGlite is starting", () => {
  it.live("exits promptly, releases the data directory, and the next pylon dev starts on it", () =>
    Effect.gen(function*() {
      const dataDir = yield* temporaryDataDir
      const first = yield* startDev(dataDir)
      // PGlite writes PG_VERSION while it creates a new database; creating it keeps the event loop
      // busy, so the signal is handled just as startup goes on to the socket server and the pool.
      // A pool connection reaching the socket server as it stopped used to hang stop() forever.
      yield* waitForFile(first, NodePath.join(dataDir, "PG_VERSION"))
      first.child.kill("SIGTERM")
      yield* exitWithin(first, EXIT_DEADLINE_MS)
      expect(yield* Effect.promise(() => readdir(dataDir))).not.toContain(LOCK_FILE_NAME)

      const second = yield* startDev(dataDir)
      const url = yield* baseUrlOf(second)
      const registered = yield* request(url, "POST", "/api/v1/auth/register", {
        json: { username: "keeper", ...credentials }
      })
      expect(registered.status).toBe(201)
      second.child.kill("SIGTERM")
      yield* exitWithin(second, EXIT_DEADLINE_MS)
      expect(yield* Effect.promise(() => readdir(dataDir))).not.toContain(LOCK_FILE_NAME)
    }), { timeout: 600_000 })
})
