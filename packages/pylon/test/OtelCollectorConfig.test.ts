/**
 * infra/otel/collector.yaml (the OpenTelemetry Collector config of docker-compose and Kubernetes,
 * image otel/opentelemetry-collector-contrib) checked by a real collector binary: Jaeger v2 IS an
 * OpenTelemetry Collector distribution, and scripts/jaeger.sh builds it (`npm test` in the
 * background), so its `jaeger validate --config=…` (the collector's own `validate` command:
 * resolves `${env:…}`, looks every component up in the distribution, decodes and validates each
 * one's settings and the pipelines) runs on our file.
 *
 * One substitution, and only one: our config's `health_check` extension (the contrib
 * `healthcheckextension`, which the probes use) is not in Jaeger's distribution; Jaeger has its
 * successor `healthcheckv2` (`healthcheckv2extension`), which reads the same settings (`endpoint`)
 * in its default legacy mode. So the file is validated with `health_check` renamed to
 * `healthcheckv2` — and the test also shows that the unchanged file fails on exactly that
 * component, so the substitution is no larger than it has to be. Everything else (otlp receiver,
 * memory_limiter and batch processors, otlp and debug exporters, the traces pipeline) is validated
 * as written.
 *
 * Then the same file RUNS in that collector: with its listen addresses moved to free loopback
 * ports and its own telemetry metrics off (`--set` flags, not edits: 4317/4318/8888 may be taken
 * on a developer's machine), it answers its health endpoint, accepts one span over OTLP/HTTP JSON
 * (what Pylon's processes send) and its debug exporter logs that span. The otlp exporter points at
 * a closed port (TRACES_OTLP_ENDPOINT): no backend is needed to see the pipeline work.
 */
import { execFile, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as NodePath from "node:path"
import { expect, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import type { Scope } from "effect"
import { freePorts } from "../src/FreePorts.ts"
import { JAEGER_DEADLINE_MS, jaegerBinary, REPO_ROOT } from "./support/Jaeger.ts"

const COLLECTOR_CONFIG = NodePath.join(REPO_ROOT, "infra", "otel", "collector.yaml")

/** The one component of our config Jaeger's distribution lacks, and what stands in for it. */
const MISSING_COMPONENT = "health_check"
const SUBSTITUTE = "healthcheckv2"

interface Outcome {
  readonly code: number
  readonly output: string
}

interface Running {
  /** Everything the collector printed so far. */
  readonly output: () => string
}

class Collector extends Context.Service<Collector, {
  readonly validate: (configText: string) => Effect.Effect<Outcome>
  /** Runs `configText` with these `--set` overrides and env, until the calling scope closes. */
  readonly run: (
    configText: string,
    sets: ReadonlyArray<string>,
    env: Readonly<Record<string, string>>
  ) => Effect.Effect<Running, never, Scope.Scope>
}>()("pylon/pylon/test/Collector") {}

const CollectorLive = Layer.effect(
  Collector,
  Effect.gen(function*() {
    const binary = yield* jaegerBinary
    const directory = yield* Effect.acquireRelease(
      Effect.promise(() => mkdtemp(NodePath.join(tmpdir(), "pylon-otel-"))),
      (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
    )
    let n = 0
    const configFile = (configText: string) =>
      Effect.promise(async () => {
        const file = NodePath.join(directory, `collector-${n++}.yaml`)
        await writeFile(file, configText)
        return file
      })
    const validate = (configText: string) =>
      Effect.flatMap(configFile(configText), (file) =>
        Effect.promise((): Promise<Outcome> =>
          new Promise((resolve) => {
          // TRACES_OTLP_ENDPOINT unset: the file's own default (`${env:…:-jaeger-collector:4317}`) is validated.
          const env = { ...process.env }
          delete env["TRACES_OTLP_ENDPOINT"]
          execFile(binary, ["validate", `--config=file:${file}`], { env, timeout: 120_000 }, (error, stdout, stderr) => {
            const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1
            resolve({ code, output: `${stdout}${stderr}` })
          })
        })))
    const run = (configText: string, sets: ReadonlyArray<string>, env: Readonly<Record<string, string>>) =>
      Effect.gen(function*() {
        const file = yield* configFile(configText)
        let output = ""
        yield* Effect.acquireRelease(
          Effect.sync(() => {
            const child = spawn(binary, [`--config=file:${file}`, ...sets.map((set) => `--set=${set}`)], {
              env: { ...process.env, ...env },
              stdio: ["ignore", "pipe", "pipe"]
            })
            child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()))
            child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()))
            child.on("exit", (code, signal) => (output += `\n[exited: ${code ?? signal}]`))
            return child
          }),
          (child) =>
            Effect.promise(() =>
              new Promise<void>((resolve) => {
                if (child.exitCode !== null || child.signalCode !== null) return resolve()
                child.once("exit", () => resolve())
                child.kill("SIGTERM")
                setTimeout(() => child.kill("SIGKILL"), 10_000).unref()
              })
            )
        )
        return { output: () => output } satisfies Running
      })
    return Collector.of({ validate, run })
  })
)

/** Every whole-word occurrence of the missing component's id outside comments replaced; how many there were. */
const substituted = (text: string) => {
  const pattern = new RegExp(`\\b${MISSING_COMPONENT}\\b`, "g")
  let count = 0
  const lines = text.split("\n").map((line) => {
    if (/^\s*#/.test(line)) return line
    count += line.match(pattern)?.length ?? 0
    return line.replace(pattern, SUBSTITUTE)
  })
  return { text: lines.join("\n"), count }
}

layer(CollectorLive, { excludeTestServices: true, timeout: `${JAEGER_DEADLINE_MS / 1000 + 300} seconds` })(
  "infra/otel/collector.yaml in a real collector (Jaeger v2's distribution)",
  (it) => {
    it.effect("validates, with only the health_check extension replaced by healthcheckv2", () =>
      Effect.gen(function*() {
        const collector = yield* Collector
        const original = yield* Effect.promise(() => readFile(COLLECTOR_CONFIG, "utf8"))
        const { count, text } = substituted(original)
        // the extension's definition and its entry in service.extensions
        expect(count).toBe(2)
        const outcome = yield* collector.validate(text)
        expect(outcome.code, outcome.output).toBe(0)
      }), { timeout: 300_000 })

    it.effect("the unchanged file fails only for lack of the health_check extension", () =>
      Effect.gen(function*() {
        const collector = yield* Collector
        const original = yield* Effect.promise(() => readFile(COLLECTOR_CONFIG, "utf8"))
        const outcome = yield* collector.validate(original)
        expect(outcome.code).not.toBe(0)
        expect(outcome.output).toContain(`"${MISSING_COMPONENT}"`)
        expect(outcome.output).toMatch(/unknown type/)
      }), { timeout: 300_000 })

    it.effect("validation reads the settings, not just the names: a broken batch timeout fails", () =>
      Effect.gen(function*() {
        const collector = yield* Collector
        const { text } = substituted(yield* Effect.promise(() => readFile(COLLECTOR_CONFIG, "utf8")))
        const broken = text.replace(/(batch:\n(?:\s+.*\n)*?\s+timeout:) 5s/, "$1 not-a-duration")
        expect(broken).not.toBe(text)
        const outcome = yield* collector.validate(broken)
        expect(outcome.code).not.toBe(0)
        expect(outcome.output).toContain("batch")
      }), { timeout: 300_000 })

    it.effect("runs: health endpoint up, one OTLP/HTTP span in, the debug exporter logs it", () =>
      Effect.gen(function*() {
        const collector = yield* Collector
        const { text } = substituted(yield* Effect.promise(() => readFile(COLLECTOR_CONFIG, "utf8")))
        const [http, grpc, health, closed] = yield* freePorts(4)
        if (http === undefined || grpc === undefined || health === undefined || closed === undefined) {
          return yield* Effect.die(new Error("could not find free ports"))
        }
        const running = yield* collector.run(text, [
          `receivers.otlp.protocols.http.endpoint=127.0.0.1:${http}`,
          `receivers.otlp.protocols.grpc.endpoint=127.0.0.1:${grpc}`,
          `extensions.${SUBSTITUTE}.endpoint=127.0.0.1:${health}`,
          "service.telemetry.metrics.level=none"
        ], { TRACES_OTLP_ENDPOINT: `127.0.0.1:${closed}` })

        const healthy = yield* until(running, () => get(`http://127.0.0.1:${health}/`).then((status) => status === 200))
        expect(healthy, running.output()).toBe(true)

        const traceId = randomBytes(16).toString("hex")
        const status = yield* Effect.promise(() => postSpan(`http://127.0.0.1:${http}/v1/traces`, traceId))
        expect(status, running.output()).toBe(200)
        const logged = yield* until(running, () => Promise.resolve(/Traces.*"spans": 1\b/.test(running.output())))
        expect(logged, running.output()).toBe(true)
      }).pipe(Effect.scoped), { timeout: 300_000 })
  }
)

const get = (url: string) => fetch(url).then((response) => response.status, () => 0)

/** One span of service `otel-collector-test` in OTLP/HTTP JSON, as Pylon's exporter sends it. */
const postSpan = (url: string, traceId: string) => {
  const now = BigInt(Date.now()) * 1_000_000n
  const body = {
    resourceSpans: [{
      resource: { attributes: [{ key: "service.name", value: { stringValue: "otel-collector-test" } }] },
      scopeSpans: [{
        scope: { name: "pylon-test" },
        spans: [{
          traceId,
          spanId: randomBytes(8).toString("hex"),
          name: "collector config check",
          kind: 1,
          startTimeUnixNano: String(now - 1_000_000n),
          endTimeUnixNano: String(now)
        }]
      }]
    }]
  }
  return fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
    .then((response) => response.status, () => 0)
}

/** Polls `check` every 250 ms for up to 60 s (a loaded machine); false at the deadline or if the collector exited. */
const until = (running: Running, check: () => Promise<boolean>) =>
  Effect.promise(async () => {
    const deadline = Date.now() + 60_000
    while (Date.now() < deadline) {
      if (await check()) return true
      if (running.output().includes("[exited:")) return false
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
    return false
  })
