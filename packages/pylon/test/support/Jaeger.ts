/**
 * The real Jaeger of scripts/jaeger.sh for tests: `npm test` builds (first time: minutes of CPU,
 * docs/adr/0010) and starts it in the background while the static checks run, so tests that need it
 * wait here. Needs PYLON_JAEGER_URL and PYLON_JAEGER_OTLP_ENDPOINT (`eval "$(bash scripts/jaeger.sh env)"`
 * after `bash scripts/jaeger.sh up`); while Jaeger is not answering yet it waits — up to 30 minutes,
 * for a first build on a loaded machine — unless the background job (PYLON_JAEGER_ENSURE_PID) has died.
 */
import { execFile } from "node:child_process"
import { access, readFile } from "node:fs/promises"
import * as NodePath from "node:path"
import { promisify } from "node:util"
import { Config, Effect, Option } from "effect"

export const JAEGER_DEADLINE_MS = 30 * 60_000

/** The repository root (this file is packages/pylon/test/support/Jaeger.ts). */
export const REPO_ROOT = NodePath.resolve(import.meta.dirname, "..", "..", "..", "..")

const JaegerEnv = Config.all({
  url: Config.String("PYLON_JAEGER_URL"),
  otlp: Config.String("PYLON_JAEGER_OTLP_ENDPOINT"),
  ensurePid: Config.option(Config.Int("PYLON_JAEGER_ENSURE_PID")),
  ensureLog: Config.option(Config.String("PYLON_JAEGER_ENSURE_LOG"))
}).pipe(
  Effect.mapError(() =>
    new Error("PYLON_JAEGER_URL / PYLON_JAEGER_OTLP_ENDPOINT are not set: run through `npm test`, or " +
      "`bash scripts/jaeger.sh up && eval \"$(bash scripts/jaeger.sh env)\"`")
  ),
  Effect.orDie
)

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const answers = (url: string) => Effect.promise(() => fetch(`${url}/api/services`).then((r) => r.ok, () => false))

/** Waits until Jaeger's query API answers; fails at once when the job that builds/starts it is gone. */
export const awaitJaeger = Effect.gen(function*() {
  const env = yield* JaegerEnv
  const deadline = Date.now() + JAEGER_DEADLINE_MS
  while (Date.now() < deadline) {
    if (yield* answers(env.url)) return env
    if (Option.isSome(env.ensurePid) && !alive(env.ensurePid.value) && !(yield* answers(env.url))) {
      const logFile = Option.getOrElse(env.ensureLog, () => "")
      const log = logFile === "" ? "" : yield* Effect.promise(() => readFile(logFile, "utf8").catch(() => ""))
      return yield* Effect.die(new Error(`scripts/jaeger.sh ensure ended and Jaeger does not answer at ${env.url}:\n${log.slice(-3000)}`))
    }
    yield* Effect.sleep("2 seconds")
  }
  return yield* Effect.die(new Error(`Jaeger did not answer at ${env.url} within ${JAEGER_DEADLINE_MS / 60_000} minutes`))
})

/**
 * The `jaeger` binary scripts/jaeger.sh built (`jaeger.sh bin`), once Jaeger answers (so the build
 * is done); dies when it is not there.
 */
export const jaegerBinary = Effect.gen(function*() {
  yield* awaitJaeger
  const { stdout } = yield* Effect.promise(() =>
    promisify(execFile)("bash", [NodePath.join(REPO_ROOT, "scripts", "jaeger.sh"), "bin"], { cwd: REPO_ROOT })
  )
  const binary = stdout.trim()
  const present = yield* Effect.promise(() => access(binary).then(() => true, () => false))
  if (!present) return yield* Effect.die(new Error(`Jaeger answers, but scripts/jaeger.sh's binary is not at ${binary}`))
  return binary
})
