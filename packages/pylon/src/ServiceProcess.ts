/**
 * Runs one Pylon service as a child process (`node packages/pylon/src/main.ts <service>`), streams
 * its output with a `[name]` prefix, waits until its `/ready` answers, and on release sends
 * SIGTERM (SIGKILL after a grace period). Used by `npm run dev:stack` and the topology tests.
 */
import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import * as NodePath from "node:path"
import { createInterface } from "node:readline"
import { Effect, Schema } from "effect"
import { freePorts } from "./FreePorts.ts"

export const MAIN = NodePath.resolve(import.meta.dirname, "main.ts")

export class ServiceStartError extends Schema.TaggedError<ServiceStartError>()("ServiceStartError", {
  service: Schema.String,
  message: Schema.String
}) {}

export interface ServiceSpec {
  /** Log prefix, e.g. "gateway-1". */
  readonly name: string
  /** `pylon` sub-command: gateway | room | chat | presence | notification. */
  readonly command: string
  readonly port: number
  /** `METRICS_PORT`, its internal `/metrics` listener; a free port is picked when absent. */
  readonly metricsPort?: number | undefined
  readonly env: Readonly<Record<string, string>>
}

export interface RunningService {
  readonly spec: ServiceSpec
  readonly child: ChildProcess
  readonly baseUrl: string
  /** `http://127.0.0.1:<metrics port>`: where its `/metrics` is (never on `baseUrl`). */
  readonly metricsUrl: string
  /** Stops the process now (SIGTERM, then SIGKILL); used by tests that kill a node. */
  readonly stop: (signal?: NodeJS.Signals) => Effect.Effect<void>
}

const pipeWithPrefix = (name: string, stream: NodeJS.ReadableStream | null, out: NodeJS.WritableStream) => {
  if (stream === null) return
  createInterface({ input: stream }).on("line", (line) => out.write(`[${name}] ${line}\n`))
}

const exited = (child: ChildProcess) =>
  Effect.callback<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    const done = () => resume(Effect.void)
    child.once("exit", done)
    return Effect.sync(() => child.off("exit", done))
  })

const stopChild = (child: ChildProcess, signal: NodeJS.Signals = "SIGTERM") =>
  Effect.gen(function*() {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill(signal)
    const graceful = yield* exited(child).pipe(Effect.timeoutOption("15 seconds"))
    if (graceful._tag === "None") {
      child.kill("SIGKILL")
      yield* exited(child)
    }
  })

/**
 * One `/ready` probe may take this long. A connection accepted while the process is still
 * starting (the port is bound before the routes are served) can stay unanswered for good, so a
 * probe without a deadline could outlast the whole start deadline; the next probe, on a new
 * connection, is answered.
 */
const PROBE_TIMEOUT_MS = 3_000

const waitReady = (spec: ServiceSpec, baseUrl: string, child: ChildProcess, timeoutMs: number) =>
  Effect.gen(function*() {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      if (child.exitCode !== null) {
        return yield* new ServiceStartError({ service: spec.name, message: `exited with code ${child.exitCode}` })
      }
      const ok = yield* Effect.promise(() =>
        fetch(`${baseUrl}/ready`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) }).then((response) => response.ok, () => false)
      )
      if (ok) return
      yield* Effect.sleep("150 millis")
    }
    return yield* new ServiceStartError({ service: spec.name, message: `not ready after ${timeoutMs} ms` })
  })

/** Starts the service within the current scope; it is stopped when the scope closes. */
export const startService = (spec: ServiceSpec, options?: { readonly quiet?: boolean; readonly readyTimeoutMs?: number }) =>
  Effect.gen(function*() {
    const metricsPort = spec.metricsPort ?? (yield* freePorts(1))[0] ?? 0
    const child = yield* Effect.acquireRelease(
      Effect.sync(() =>
        spawn(process.execPath, [MAIN, spec.command], {
          env: { ...process.env, ...spec.env, APP_PORT: String(spec.port), METRICS_PORT: String(metricsPort) },
          stdio: ["ignore", "pipe", "pipe"]
        })
      ),
      (child) => stopChild(child)
    )
    if (options?.quiet === true) {
      child.stdout?.resume()
      child.stderr?.resume()
    } else {
      pipeWithPrefix(spec.name, child.stdout, process.stdout)
      pipeWithPrefix(spec.name, child.stderr, process.stderr)
    }
    const baseUrl = `http://127.0.0.1:${spec.port}`
    yield* waitReady(spec, baseUrl, child, options?.readyTimeoutMs ?? 60_000)
    const metricsUrl = `http://127.0.0.1:${metricsPort}`
    const running: RunningService = { spec, child, baseUrl, metricsUrl, stop: (signal) => stopChild(child, signal) }
    return running
  })
