/**
 * The original's HTTP metrics and the Node.js runtime metrics on a real `/metrics` scrape
 * (docs/adr/0007-metric-names.md): `pylon_http_requests_total{method,path,status_code}` with the
 * route template as path, `pylon_http_requests_in_flight` counting a request while it is served,
 * and the runtime gauges sampled at scrape time.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Context, Deferred, Effect, Fiber, Layer, References } from "effect"
import { Draining } from "../../src/runtime/Draining.ts"
import { respondOk } from "../../src/http/HttpEnvelope.ts"
import { boundPort, serve } from "../../src/http/HttpServerLive.ts"
import { healthRoutes } from "../../src/http/HealthRoutes.ts"
import { resource } from "../../src/http/Resource.ts"
import { MetricsEndpoint } from "../../src/observability/MetricsServer.ts"
import { ServerConfig } from "../../src/http/ServerConfig.ts"
import { rawRequest } from "../support/RawHttp.ts"

class Edge extends Context.Service<Edge, { readonly baseUrl: string; readonly metricsUrl: string; readonly release: Deferred.Deferred<void> }>()(
  "pylon/platform/test/MetricsEdge"
) {}

const edge = Layer.unwrap(Effect.gen(function*() {
  const release = yield* Deferred.make<void>()
  const routes = Layer.mergeAll(
    resource("/items/:itemId", { GET: Effect.succeed(respondOk({ ok: true })) }),
    // Answers only once the test releases it, so it is in flight while the test scrapes.
    resource("/slow", { GET: Effect.as(Deferred.await(release), respondOk({ ok: true })) }),
    healthRoutes<never>("metrics-edge", [])
  )
  return Layer.effect(
    Edge,
    Effect.gen(function*() {
      const port = yield* boundPort
      const metrics = yield* MetricsEndpoint
      return Edge.of({ baseUrl: `http://127.0.0.1:${port}`, metricsUrl: `http://127.0.0.1:${metrics.port}`, release })
    })
  ).pipe(
    Layer.provide(serve(routes)),
    Layer.provide([Draining.layer, ServerConfig.make({ port: 0, host: "127.0.0.1", env: "test", corsOrigins: [] })]),
    Layer.provide(Layer.succeed(References.MinimumLogLevel, "Warn"))
  )
}))

/** The value of the one series `name{labels}` (labels in any order), or undefined. */
const sample = (text: string, name: string, labels: Readonly<Record<string, string>>): number | undefined => {
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s+(\S+)/.exec(line)
    if (match === null || match[1] !== name) continue
    const found = new Map<string, string>()
    for (const label of (match[2] ?? "").matchAll(/([a-zA-Z_]+)="([^"]*)"/g)) found.set(label[1] ?? "", label[2] ?? "")
    if (Object.entries(labels).every(([key, value]) => found.get(key) === value)) return Number(match[3])
  }
  return undefined
}

const scrape = Effect.flatMap(Edge, ({ metricsUrl }) => rawRequest(`${metricsUrl}/metrics`)).pipe(Effect.map((r) => r.text))

layer(edge, { excludeTestServices: true, timeout: "60 seconds" })("original metrics at the HTTP edge", (it) => {
  describe("pylon_http_requests_total / _duration_seconds", () => {
    it.effect("count by method, route template (path) and status_code", () =>
      Effect.gen(function*() {
        const { baseUrl } = yield* Edge
        const labels = { method: "GET", path: "/items/:itemId", status_code: "200" }
        const before = sample(yield* scrape, "pylon_http_requests_total", labels) ?? 0
        yield* rawRequest(`${baseUrl}/items/1`)
        yield* rawRequest(`${baseUrl}/items/2`)
        yield* rawRequest(`${baseUrl}/nowhere`)
        const text = yield* scrape
        expect(sample(text, "pylon_http_requests_total", labels)).toBe(before + 2)
        expect(sample(text, "pylon_http_requests_total", { path: "unmatched", status_code: "404" })).toBeGreaterThanOrEqual(1)
        expect(sample(text, "pylon_http_request_duration_seconds_count", { method: "GET", path: "/items/:itemId" })).toBe(before + 2)
        // the raw URL never becomes a label value
        expect(text).not.toContain(`path="/items/1"`)
      }))
  })

  it.effect("pylon_http_requests_in_flight counts a request while it is served", () =>
    Effect.gen(function*() {
      const { baseUrl, release } = yield* Edge
      const idle = sample(yield* scrape, "pylon_http_requests_in_flight", {}) ?? 0
      const slow = yield* Effect.forkChild(rawRequest(`${baseUrl}/slow`))
      // wait (generously) until the server holds it
      let during = idle
      for (let i = 0; i < 200 && during === idle; i++) {
        yield* Effect.sleep("25 millis")
        during = sample(yield* scrape, "pylon_http_requests_in_flight", {}) ?? 0
      }
      expect(during).toBe(idle + 1)
      yield* Deferred.succeed(release, undefined)
      expect((yield* Fiber.join(slow)).status).toBe(200)
      expect(sample(yield* scrape, "pylon_http_requests_in_flight", {})).toBe(idle)
    }))

  it.effect("Node.js runtime metrics are sampled at each scrape", () =>
    Effect.gen(function*() {
      const text = yield* scrape
      expect(sample(text, "process_resident_memory_bytes", {})).toBeGreaterThan(10 * 1024 * 1024)
      expect(sample(text, "nodejs_heap_size_used_bytes", {})).toBeGreaterThan(0)
      expect(sample(text, "process_cpu_seconds_total", {})).toBeGreaterThan(0)
      expect(sample(text, "nodejs_eventloop_lag_p99_seconds", {})).toBeGreaterThanOrEqual(0)
    }))
})
