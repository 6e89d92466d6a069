/**
 * Every dashboard and alert expression against a real Prometheus (Debian's `prometheus` binary from
 * scripts/ops/tools.sh) scraping a running Pylon: the whole system in this process (`pylon dev`,
 * with the telemetry layer `pylon` launches with) serving `/metrics` on a port the OS picked,
 * Prometheus on a free port with infra/prometheus/alerts.yml loaded. Checks that
 * - every panel query and rule expression evaluates without error (data or an empty vector);
 * - every alerting rule evaluates with health "ok";
 * - the counters that only move on failure already have a series at 0, so the panels over them show
 *   0 and not "No data" (those the embedded topology runs; see FAILURE_COUNTERS).
 */
import { execFile, spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import * as NodePath from "node:path"
import { promisify } from "node:util"
import { expect, layer } from "@effect/vitest"
import { ConfigProvider, Context, Effect, Layer, References, Schema } from "effect"
import { MetricsEndpoint } from "@pylon/platform/observability/MetricsServer"
import { ObservabilityLive } from "@pylon/platform/observability/Observability"
import { boundPort } from "@pylon/platform/http/HttpServerLive"
import { devLayer } from "../src/DevMode.ts"
import { asPrometheusQuery, queryUses, ROOT } from "../../../scripts/ops/InfraQueries.ts"
import { metricNamesInPromQL } from "../../../scripts/ops/MetricNames.ts"

/**
 * Failure-only counters the embedded topology registers at start. Not here: the Redis rate limiter's
 * fail-open counter (embedded mode limits in memory; RedisRateLimiter.ts initialises it too).
 */
const FAILURE_COUNTERS: ReadonlyArray<string> = [
  "pylon_outbox_publish_failures_total",
  "pylon_kafka_consumer_retries_total",
  "pylon_kafka_dlq_messages_total",
  "pylon_kafka_consumer_restarts_total",
  "pylon_ws_slow_consumer_closes_total",
  "pylon_ws_policy_closes_total",
  "pylon_ws_gap_fills_total",
  "pylon_ws_misrouted_messages_total",
  "pylon_ws_inbound_pauses_total",
  "pylon_presence_publish_failures_total",
  "pylon_telemetry_export_failures_total",
  "pylon_telemetry_export_dropped_batches_total"
]

const DEADLINE_MS = 45_000

const sleep = (millis: number) => Effect.promise(() => new Promise((resolve) => setTimeout(resolve, millis)))

const freePort = Effect.promise(() =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
)

/** The `prometheus` binary tools.sh provides (it is cached after validate-infra's first run). */
const prometheusBinary = Effect.promise(async () => {
  const { stdout } = await promisify(execFile)("bash", [NodePath.join(ROOT, "scripts", "ops", "tools.sh")], { cwd: ROOT })
  const line = stdout.split("\n").find((l) => l.startsWith("PROMETHEUS="))
  if (line === undefined) throw new Error(`tools.sh printed no PROMETHEUS=…:\n${stdout}`)
  return line.slice("PROMETHEUS=".length).replace(/\\(.)/g, "$1")
})

const QueryReply = Schema.Struct({
  status: Schema.String,
  error: Schema.optional(Schema.String),
  data: Schema.optional(Schema.Struct({ resultType: Schema.String, result: Schema.Array(Schema.Unknown) }))
})
const RulesReply = Schema.Struct({
  status: Schema.String,
  data: Schema.Struct({
    groups: Schema.Array(Schema.Struct({
      rules: Schema.Array(Schema.Struct({
        name: Schema.String,
        health: Schema.String,
        lastError: Schema.optional(Schema.String),
        lastEvaluation: Schema.String
      }))
    }))
  })
})

const getJson = <S extends Schema.Top>(url: string, schema: S) =>
  Effect.promise(async () => {
    const response = await fetch(url)
    const body: unknown = await response.json()
    return { status: response.status, body }
  }).pipe(Effect.flatMap(({ body }) => Schema.decodeUnknownEffect(schema)(body)), Effect.orDie)

interface Prometheus {
  readonly url: string
  readonly query: (expression: string) => Effect.Effect<typeof QueryReply.Type>
}
class PrometheusServer extends Context.Service<PrometheusServer, Prometheus>()("pylon/test/PrometheusServer") {}

/** Polls `read` in real time until `check` holds. */
const eventually = <A>(read: Effect.Effect<A>, check: (a: A) => boolean, what: string) =>
  Effect.gen(function*() {
    const deadline = Date.now() + DEADLINE_MS
    while (true) {
      const value = yield* read
      if (check(value)) return value
      if (Date.now() > deadline) return yield* Effect.die(new Error(`timed out waiting for ${what}: ${JSON.stringify(value).slice(0, 2000)}`))
      yield* sleep(250)
    }
  })

const startPrometheus = (metricsPort: number) =>
  Effect.gen(function*() {
    const binary = yield* prometheusBinary
    const dir = yield* Effect.acquireRelease(
      Effect.promise(() => mkdtemp(NodePath.join(tmpdir(), "pylon-prometheus-"))),
      (directory) => Effect.promise(() => rm(directory, { recursive: true, force: true }))
    )
    const config = [
      "global: { scrape_interval: 1s, evaluation_interval: 1s }",
      `rule_files: [${JSON.stringify(NodePath.join(ROOT, "infra", "prometheus", "alerts.yml"))}]`,
      "scrape_configs:",
      "  - job_name: pylon-api-gateway",
      `    static_configs: [{ targets: ["127.0.0.1:${metricsPort}"] }]`
    ].join("\n")
    yield* Effect.promise(() => writeFile(NodePath.join(dir, "prometheus.yml"), config))
    // A port picked free can be taken before Prometheus binds it: then it exits, and we try another.
    for (let attempt = 1; ; attempt++) {
      const port = yield* freePort
      let output = ""
      const child = yield* Effect.acquireRelease(
        Effect.sync((): ChildProcess => {
          const process_ = spawn(binary, [
            `--config.file=${NodePath.join(dir, "prometheus.yml")}`,
            `--storage.tsdb.path=${NodePath.join(dir, `data-${attempt}`)}`,
            `--web.listen-address=127.0.0.1:${port}`,
            "--log.level=warn"
          ], { stdio: ["ignore", "pipe", "pipe"] })
          process_.stdout?.on("data", (chunk: Buffer) => { output += chunk.toString() })
          process_.stderr?.on("data", (chunk: Buffer) => { output += chunk.toString() })
          return process_
        }),
        (process_) => Effect.promise(() => new Promise<void>((resolve) => {
          if (process_.exitCode !== null || process_.signalCode !== null) return resolve()
          process_.once("exit", () => resolve())
          process_.kill("SIGTERM")
        }))
      )
      const url = `http://127.0.0.1:${port}`
      const deadline = Date.now() + DEADLINE_MS
      while (child.exitCode === null && Date.now() < deadline) {
        const ready = yield* Effect.promise(() => fetch(`${url}/-/ready`).then((r) => r.ok, () => false))
        if (ready) {
          return PrometheusServer.of({
            url,
            query: (expression) => getJson(`${url}/api/v1/query?query=${encodeURIComponent(expression)}`, QueryReply)
          })
        }
        yield* sleep(200)
      }
      if (attempt >= 3 || child.exitCode === null) {
        return yield* Effect.die(new Error(`prometheus did not become ready (exit ${child.exitCode}):\n${output}`))
      }
    }
  })

const Stack = Layer.unwrap(Effect.gen(function*() {
  const dataDir = yield* Effect.acquireRelease(
    Effect.promise(() => mkdtemp(NodePath.join(tmpdir(), "pylon-prom-dev-"))),
    (directory) => Effect.promise(() => rm(directory, { recursive: true, force: true }))
  )
  const config = ConfigProvider.fromUnknown({
    APP_PORT: "0",
    METRICS_PORT: "0",
    APP_HOST: "127.0.0.1",
    PYLON_DATA_DIR: dataDir
  })
  return Layer.effect(PrometheusServer, Effect.gen(function*() {
    const { port: metricsPort } = yield* MetricsEndpoint
    const appPort = yield* boundPort
    // Some traffic, so request series exist (and rate() has two samples of them).
    yield* Effect.promise(() => fetch(`http://127.0.0.1:${appPort}/health`).then((r) => r.arrayBuffer()))
    yield* Effect.promise(() => fetch(`http://127.0.0.1:${appPort}/nowhere`).then((r) => r.arrayBuffer()))
    return yield* startPrometheus(metricsPort)
  })).pipe(
    Layer.provide(devLayer),
    Layer.provide(ObservabilityLive("pylon")),
    Layer.provide(ConfigProvider.layer(config)),
    Layer.provide(Layer.succeed(References.MinimumLogLevel, "Warn"))
  )
}))

layer(Stack, { excludeTestServices: true, timeout: "120 seconds" })("a real Prometheus scraping pylon", (it) => {
  it.effect("every dashboard and alert expression evaluates; failure-only counters read 0, not nothing", () =>
    Effect.gen(function*() {
      const prometheus = yield* PrometheusServer
      // Three scrapes at least, so rate()/increase() have samples to work with.
      yield* eventually(
        prometheus.query(`count_over_time(up{job="pylon-api-gateway"}[1m])`),
        (reply) => reply.data?.result.length === 1 && JSON.stringify(reply.data.result).match(/"([3-9]|\d\d+)"\]/) !== null,
        "three scrapes of pylon"
      )
      expect((yield* prometheus.query(`up{job="pylon-api-gateway"}`)).data?.result).toHaveLength(1)

      const uses = queryUses()
      expect(uses.length).toBeGreaterThan(50)
      const failed: Array<string> = []
      const empty: Array<string> = []
      for (const use of uses) {
        const expression = asPrometheusQuery(use.expression)
        const reply = yield* prometheus.query(expression)
        if (reply.status !== "success") failed.push(`${NodePath.basename(use.file)}: ${expression}: ${reply.error ?? reply.status}`)
        const onFailureCounters = metricNamesInPromQL(expression).some((name) => FAILURE_COUNTERS.includes(name))
        if (use.kind === "dashboard" && onFailureCounters && reply.data?.result.length === 0) {
          empty.push(`${NodePath.basename(use.file)}: ${expression}`)
        }
      }
      expect(failed).toEqual([])
      expect(empty).toEqual([])
      for (const name of FAILURE_COUNTERS) {
        const reply = yield* prometheus.query(name)
        expect(reply.data?.result.length, name).toBeGreaterThan(0)
        expect(JSON.stringify(reply.data?.result), name).toMatch(/"0"\]/)
      }

      // Every alerting rule has been evaluated, without error.
      const rules = yield* eventually(
        getJson(`${prometheus.url}/api/v1/rules`, RulesReply),
        (reply) => reply.data.groups.every((g) => g.rules.every((r) => !r.lastEvaluation.startsWith("0001"))),
        "every rule evaluated"
      )
      const all = rules.data.groups.flatMap((g) => g.rules)
      expect(all.length).toBeGreaterThan(10)
      expect(all.filter((r) => r.health !== "ok").map((r) => `${r.name}: ${r.health} ${r.lastError ?? ""}`)).toEqual([])
    }))
})
