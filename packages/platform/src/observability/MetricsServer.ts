/**
 * The internal listener that serves Prometheus `/metrics` on `METRICS_PORT` (ServerConfig), apart
 * from the public port: scrapers reach it inside the cluster, clients on the internet never do.
 * Anything but `GET /metrics` is a 404/405 envelope. Each scrape samples the Node.js runtime
 * metrics first (ProcessMetrics.ts).
 */
import { createServer } from "node:http"
import { NodeHttpServer } from "@effect/platform-node"
import { Context, Effect, Layer } from "effect"
import { HttpServerRequest, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { respondError } from "../http/HttpEnvelope.ts"
import { withSecurityHeaders } from "../http/SecurityHeaders.ts"
import { nodeServerOptions, ServerConfig } from "../http/ServerConfig.ts"
import { sampleProcessMetrics, startProcessMetrics } from "./ProcessMetrics.ts"

export const METRICS_PATH = "/metrics"

export interface MetricsEndpointInfo {
  /** The port the metrics listener bound (the OS's pick when `METRICS_PORT` is 0). */
  readonly port: number
}

export class MetricsEndpoint extends Context.Service<MetricsEndpoint, MetricsEndpointInfo>()(
  "pylon/platform/MetricsEndpoint"
) {}

const pathOf = (url: string): string => {
  const q = url.indexOf("?")
  return q === -1 ? url : url.slice(0, q)
}

const metricsApp = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  if (pathOf(request.url) !== METRICS_PATH) return respondError("not_found", "route not found")
  if (request.method !== "GET" && request.method !== "HEAD") {
    return respondError("method_not_allowed", `method ${request.method} not allowed`)
  }
  yield* sampleProcessMetrics
  const body = yield* PrometheusMetrics.format()
  return HttpServerResponse.text(body, { contentType: "text/plain; version=0.0.4; charset=utf-8" })
}).pipe(Effect.map(withSecurityHeaders))

/** Starts the metrics listener on `APP_HOST`:`METRICS_PORT` for the lifetime of the layer. */
export const MetricsServerLive = Layer.effect(
  MetricsEndpoint,
  Effect.gen(function*() {
    const config = yield* ServerConfig
    yield* startProcessMetrics
    const server = yield* NodeHttpServer.make(() => createServer(nodeServerOptions(config.timeouts)), {
      port: config.metricsPort,
      host: config.host,
      gracefulShutdownTimeout: "2 seconds"
    })
    yield* server.serve(metricsApp)
    const port = server.address._tag === "UnixPathAddress" ? 0 : server.address.port
    yield* Effect.logInfo(`metrics on http://${config.host}:${port}${METRICS_PATH}`)
    return MetricsEndpoint.of({ port })
  })
)
