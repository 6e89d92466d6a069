/**
 * OTLP export that says when it fails (TelemetryExport.ts, Observability.ts), against a real local
 * HTTP receiver on a port the OS picked: refused while it is down (one warning, failures counted,
 * retried with backoff on the TestClock, the outage's spans delivered once it is up, one recovery
 * warning), 404 (one warning, the signal stops), a full queue (newer batches dropped and counted),
 * and which signals ObservabilityLive exports by default (traces only) and when switched on.
 */
import { createServer } from "node:http"
import type { IncomingMessage, Server, ServerResponse } from "node:http"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Logger, Metric, Ref } from "effect"
import { FetchHttpClient, HttpClient, HttpClientRequest } from "effect/http"
import { OtlpSerialization, OtlpTracer } from "effect/observability"
import { TestClock } from "effect/testing"
import { ObservabilityLive } from "../../src/observability/Observability.ts"
import type { ExportQueueSettings, TelemetrySignal } from "../../src/observability/TelemetryExport.ts"
import { DEFAULT_EXPORT_QUEUE, droppedBatches, exportFailures, layerExportClient } from "../../src/observability/TelemetryExport.ts"

interface Received {
  readonly path: string
  readonly body: string
}

/** A receiver that answers `status()` to every POST and records what it got. */
const startReceiver = (port: number, status: () => number) =>
  Effect.acquireRelease(
    Effect.callback<{ readonly server: Server; readonly received: Array<Received> }>((resume) => {
      const received: Array<Received> = []
      const server = createServer((request: IncomingMessage, response: ServerResponse) => {
        const chunks: Array<Buffer> = []
        request.on("data", (chunk: Buffer) => chunks.push(chunk))
        request.on("end", () => {
          received.push({ path: request.url ?? "", body: Buffer.concat(chunks).toString("utf8") })
          response.writeHead(status(), { "content-type": "application/json" }).end("{}")
        })
      })
      server.listen(port, "127.0.0.1", () => resume(Effect.succeed({ server, received })))
    }),
    ({ server }) => Effect.callback<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
  )

const portOf = (server: Server): number => {
  const address = server.address()
  return typeof address === "object" && address !== null ? address.port : 0
}

/** A port nothing listens on (the OS picked it, then it was closed again): connections are refused. */
const refusedPort = Effect.scoped(Effect.map(startReceiver(0, () => 200), ({ server }) => portOf(server)))

/** Waits in real time (the TestClock does not move) until `check` holds; generous deadline. */
const eventually = <A>(read: Effect.Effect<A>, check: (a: A) => boolean, what: string) =>
  Effect.gen(function*() {
    const deadline = Date.now() + 30_000
    while (true) {
      const value = yield* read
      if (check(value)) return value
      if (Date.now() > deadline) return yield* Effect.die(new Error(`timed out waiting for ${what} (last: ${JSON.stringify(value)})`))
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 20)))
    }
  })

/** Warnings logged, captured instead of printed. */
const captureWarnings = Effect.gen(function*() {
  const lines = yield* Ref.make<ReadonlyArray<string>>([])
  const logger = Logger.make((options) => {
    if (options.logLevel === "Warn") {
      const text = String(Array.isArray(options.message) ? options.message.join(" ") : options.message)
      Effect.runSync(Ref.update(lines, (all) => [...all, text]))
    }
  })
  return { lines, layer: Logger.layer([logger]) }
})

const counterValue = (counter: typeof exportFailures, signal: TelemetrySignal) =>
  Metric.value(Metric.withAttributes(counter, { signal })).pipe(Effect.map((state) => state.count))

// The request timeout is far beyond any TestClock.adjust here: a real request in flight while the
// test moves virtual time must not time out.
const SETTINGS: ExportQueueSettings = { ...DEFAULT_EXPORT_QUEUE, capacity: 2, requestTimeout: "1 day" }

describe("OTLP export that says when it fails", () => {
  it.effect("refused: warns once, counts and retries with backoff; the outage's spans arrive when the receiver is up; recovery warns once", () =>
    Effect.gen(function*() {
      const port = yield* refusedPort
      const warnings = yield* captureWarnings
      const tracer = OtlpTracer.layer({ url: `http://127.0.0.1:${port}/v1/traces`, resource: { serviceName: "test" }, exportInterval: "1 second" }).pipe(
        Layer.provide(layerExportClient("traces", SETTINGS)),
        Layer.provide([OtlpSerialization.layerJson, FetchHttpClient.layer]),
        Layer.provide(warnings.layer)
      )
      const context = yield* Layer.build(tracer)
      yield* Effect.void.pipe(Effect.withSpan("span-during-outage"), Effect.provide(context))

      yield* TestClock.adjust("1 second") // the exporter's interval: the batch goes to the queue and is posted
      yield* eventually(counterValue(exportFailures, "traces"), (n) => n >= 1, "the first refused attempt")
      for (let retry = 2; retry <= 4; retry++) {
        yield* TestClock.adjust("1 minute") // longer than any backoff delay: at least one more attempt
        yield* eventually(counterValue(exportFailures, "traces"), (n) => n >= retry, `refused attempt ${retry}`)
      }
      expect(yield* Ref.get(warnings.lines)).toHaveLength(1)
      expect((yield* Ref.get(warnings.lines))[0]).toMatch(/OTLP traces export to http:\/\/127\.0\.0\.1:\d+\/v1\/traces failed/)

      const receiver = yield* startReceiver(port, () => 200)
      yield* TestClock.adjust("1 minute")
      yield* eventually(Effect.sync(() => receiver.received.length), (n) => n >= 1, "the outage's batch")
      expect(receiver.received[0]?.path).toBe("/v1/traces")
      expect(receiver.received[0]?.body).toContain("span-during-outage")
      const lines = yield* eventually(Ref.get(warnings.lines), (all) => all.length >= 2, "the recovery warning")
      const failures = yield* counterValue(exportFailures, "traces")
      expect(lines[1]).toContain(`recovered after ${failures} failed attempts (0 batches dropped)`)

      // Afterwards export is immediate again (no disabled window).
      yield* Effect.void.pipe(Effect.withSpan("span-after-recovery"), Effect.provide(context))
      yield* TestClock.adjust("1 second")
      yield* eventually(Effect.sync(() => receiver.received.map((r) => r.body).join()), (all) => all.includes("span-after-recovery"), "the next batch")
      expect(yield* counterValue(exportFailures, "traces")).toBe(failures)
      expect(yield* Ref.get(warnings.lines)).toHaveLength(2)
    }).pipe(Effect.scoped, Effect.provideService(Metric.MetricRegistry, new Map())))

  it.effect("404: one warning, the signal stops, later batches are not posted", () =>
    Effect.gen(function*() {
      const receiver = yield* startReceiver(0, () => 404)
      const warnings = yield* captureWarnings
      const url = `http://127.0.0.1:${portOf(receiver.server)}/v1/logs`
      const context = yield* Layer.build(
        layerExportClient("logs", SETTINGS).pipe(Layer.provide(FetchHttpClient.layer), Layer.provide(warnings.layer))
      )
      const client = HttpClient.HttpClient.pipe(Effect.provide(context))
      const post = Effect.flatMap(client, (c) => c.execute(HttpClientRequest.bodyText(HttpClientRequest.post(url), "{}")))
      expect((yield* post).status).toBe(202) // accepted into the queue, whatever the receiver says
      yield* eventually(Ref.get(warnings.lines), (all) => all.length >= 1, "the 404 warning")
      expect((yield* Ref.get(warnings.lines))[0]).toContain(`No OTLP receiver for logs at ${url} (HTTP 404): logs export stopped`)

      yield* post
      yield* post
      yield* TestClock.adjust("10 minutes")
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 200)))
      expect(receiver.received).toHaveLength(1)
      expect(yield* Ref.get(warnings.lines)).toHaveLength(1)
      expect(yield* counterValue(exportFailures, "logs")).toBe(1)
    }).pipe(Effect.scoped, Effect.provideService(Metric.MetricRegistry, new Map())))

  it.effect("a full queue drops newer batches and counts them; what is held goes out after the outage", () =>
    Effect.gen(function*() {
      const port = yield* refusedPort
      const warnings = yield* captureWarnings
      const url = `http://127.0.0.1:${port}/v1/metrics`
      const context = yield* Layer.build(
        layerExportClient("metrics", SETTINGS).pipe(Layer.provide(FetchHttpClient.layer), Layer.provide(warnings.layer))
      )
      const client = yield* HttpClient.HttpClient.pipe(Effect.provide(context))
      const post = (n: number) => client.execute(HttpClientRequest.bodyText(HttpClientRequest.post(url), `{"batch":${n}}`))
      yield* post(1)
      yield* eventually(counterValue(exportFailures, "metrics"), (n) => n >= 1, "the first refused attempt")
      // Batch 1 waits for its retry; the queue (capacity 2) takes 2 and 3, drops 4 and 5.
      for (const n of [2, 3, 4, 5]) yield* post(n)
      expect(yield* counterValue(droppedBatches, "metrics")).toBe(2)

      const receiver = yield* startReceiver(port, () => 200)
      yield* TestClock.adjust("1 minute")
      yield* eventually(Effect.sync(() => receiver.received.length), (n) => n >= 3, "the held batches")
      expect(receiver.received.map((r) => r.body)).toEqual(['{"batch":1}', '{"batch":2}', '{"batch":3}'])
      const lines = yield* eventually(Ref.get(warnings.lines), (all) => all.length >= 2, "the recovery warning")
      expect(lines[1]).toContain("(2 batches dropped)")
    }).pipe(Effect.scoped, Effect.provideService(Metric.MetricRegistry, new Map())))

  const signalsPosted = (env: Record<string, string>) =>
    Effect.gen(function*() {
      const receiver = yield* startReceiver(0, () => 200)
      const observability = ObservabilityLive("test-service").pipe(
        Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({
          OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${portOf(receiver.server)}`,
          LOG_FORMAT: "text",
          ...env
        })))
      )
      yield* Effect.gen(function*() {
        yield* Effect.logInfo("a log line").pipe(Effect.withSpan("a-span"))
        yield* Metric.update(exportFailures, 0)
        yield* TestClock.adjust("1 minute") // every exporter's interval has passed
      }).pipe(Effect.provide(observability), Effect.scoped) // closing the scope flushes every exporter
      return [...new Set(receiver.received.map((r) => r.path))].sort()
    }).pipe(Effect.scoped)

  it.effect("ObservabilityLive exports traces only by default (the collector's one pipeline)", () =>
    Effect.gen(function*() {
      expect(yield* signalsPosted({})).toEqual(["/v1/traces"])
    }))

  it.effect("OTEL_{TRACES,METRICS,LOGS}_EXPORTER switch each signal", () =>
    Effect.gen(function*() {
      expect(yield* signalsPosted({ OTEL_TRACES_EXPORTER: "none", OTEL_LOGS_EXPORTER: "otlp" })).toEqual(["/v1/logs"])
      expect(yield* signalsPosted({ OTEL_METRICS_EXPORTER: "otlp", OTEL_LOGS_EXPORTER: "otlp" })).toEqual(
        ["/v1/logs", "/v1/metrics", "/v1/traces"]
      )
    }))
})
