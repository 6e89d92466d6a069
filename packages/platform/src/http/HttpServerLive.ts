/**
 * The HTTP server every Pylon process runs: JSON envelope for all errors (404/405/413/500 included),
 * request ids and request logs, HTTP metrics, CORS and security headers, `/health` and `/ready`,
 * Node's timeouts against slow clients, graceful drain, and `/metrics` on its own internal port.
 */
import { NodeHttpServer } from "@effect/platform-node"
import { Cause, Clock, Effect, Layer, Metric, Option } from "effect"
import type { Types } from "effect"
import { HttpRouter, HttpServer, HttpServerError, HttpServerRequest, HttpServerResponse } from "effect/http"
import { corsMiddleware, corsPolicy } from "./Cors.ts"
import { Draining } from "../runtime/Draining.ts"
import { HttpFailure, respondError, respondFailure, respondOk } from "./HttpEnvelope.ts"
import { MetricsServerLive } from "../observability/MetricsServer.ts"
import { httpRequestDuration, httpRequestsInFlight, httpRequestsTotal } from "../observability/OriginalMetrics.ts"
import { withSecurityHeaders } from "./SecurityHeaders.ts"
import { answerClientError } from "./ClientErrors.ts"
import { nodeServerOptions, ServerConfig } from "./ServerConfig.ts"
import { UpgradeInterceptor, UpgradeRoutingServer } from "./UpgradeInterceptor.ts"
import { RpcMaxBodyBytes } from "../rpc/InternalRpc.ts"

const requestIdOf = (request: HttpServerRequest.HttpServerRequest): string => {
  const given = request.headers["x-request-id"]
  return given !== undefined && /^[A-Za-z0-9._-]{1,128}$/.test(given) ? given : crypto.randomUUID()
}

const pathOf = (url: string): string => {
  const q = url.indexOf("?")
  return q === -1 ? url : url.slice(0, q)
}

/** Turns whatever a handler failed with into the envelope; defects are logged, never shown. */
const renderCause = (cause: Cause.Cause<unknown>) =>
  Effect.gen(function*() {
    const error = Cause.findErrorOption(cause)
    if (Option.isSome(error)) {
      const e = error.value
      if (e instanceof HttpFailure) return respondFailure(e)
      if (HttpServerError.isHttpServerError(e)) {
        if (e.reason._tag === "RouteNotFound") return respondError("not_found", "route not found")
        if (e.reason._tag === "RequestParseError") {
          return e.reason.reason === "BodyTooLarge"
            ? respondError("payload_too_large", "request body too large")
            : respondError("bad_request", "request could not be parsed")
        }
      }
    }
    if (Cause.hasInterruptsOnly(cause)) return respondError("service_unavailable", "request interrupted")
    yield* Effect.logError("unhandled failure", cause)
    return respondError("internal_error", "internal error")
  })

/**
 * Around every route (and unknown routes): CORS, the envelope for failures, metrics, the request
 * log, `x-request-id` and the security headers.
 */
export const EnvelopeMiddleware = HttpRouter.middleware<{ handles: HttpFailure }>()(Effect.gen(function*() {
  const cors = corsMiddleware(corsPolicy((yield* ServerConfig).corsOrigins))
  return (
    httpEffect
  ): Effect.Effect<HttpServerResponse.HttpServerResponse, Types.unhandled, HttpServerRequest.HttpServerRequest> =>
    Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const requestId = requestIdOf(request)
      const started = yield* Clock.currentTimeMillis
      yield* Metric.modify(httpRequestsInFlight, 1)
      const response = yield* cors(httpEffect).pipe(
        Effect.catchCause(renderCause),
        Effect.ensuring(Metric.modify(httpRequestsInFlight, -1))
      )
      const status = response.status
      const seconds = ((yield* Clock.currentTimeMillis) - started) / 1000
      const route = yield* Effect.serviceOption(HttpRouter.RouteContext).pipe(
        Effect.map(Option.match({ onNone: () => "unmatched", onSome: (ctx) => ctx.route.path }))
      )
      // The original's labels (docs/adr/0007-metric-names.md): path is the route template.
      const attributes = { method: request.method, path: route, status_code: String(status) }
      yield* Metric.update(Metric.withAttributes(httpRequestsTotal, attributes), 1)
      yield* Metric.update(Metric.withAttributes(httpRequestDuration, { method: request.method, path: route }), seconds)
      if (route !== "/health") {
        yield* Effect.logInfo(`${request.method} ${pathOf(request.url)} ${status}`).pipe(
          Effect.annotateLogs({ request_id: requestId, duration_ms: Math.round(seconds * 1000) })
        )
      }
      return withSecurityHeaders(HttpServerResponse.setHeader(response, "x-request-id", requestId))
    })
}), { global: true })

/** Registers one path with a handler per method; other methods get `405 method_not_allowed`. */
export const resource = <E, R>(
  path: HttpRouter.PathInput,
  handlers: Partial<Record<"GET" | "POST" | "PUT" | "PATCH" | "DELETE", Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>>>
) =>
  HttpRouter.add(
    "*",
    path,
    Effect.flatMap(
      HttpServerRequest.HttpServerRequest,
      (request): Effect.Effect<HttpServerResponse.HttpServerResponse, E | HttpFailure, R> => {
        const handler = handlers[request.method as keyof typeof handlers]
        return handler ?? Effect.fail(HttpFailure.of("method_not_allowed", `method ${request.method} not allowed`))
      }
    )
  )

export interface ReadinessCheck<R> {
  readonly name: string
  readonly check: Effect.Effect<unknown, unknown, R>
}

/** `/health` (liveness, no dependencies), `/ready` (dependencies answer, not draining); `/metrics` is on MetricsServer. */
export const healthRoutes = <R>(service: string, checks: ReadonlyArray<ReadinessCheck<R>>) =>
  Layer.mergeAll(
    resource("/health", { GET: Effect.succeed(respondOk({ service, status: "ok" })) }),
    resource("/ready", {
      GET: Effect.gen(function*() {
        const draining = yield* Draining
        if (yield* draining.isDraining) return respondError("service_unavailable", "draining")
        const results = yield* Effect.forEach(checks, ({ name, check }) =>
          check.pipe(
            Effect.timeout("2 seconds"),
            Effect.match({ onFailure: () => [name, "down"] as const, onSuccess: () => [name, "up"] as const })
          ), { concurrency: "unbounded" })
        const failed = results.filter(([, state]) => state === "down").map(([name]) => name)
        return failed.length === 0
          ? respondOk({ service, status: "ready", checks: Object.fromEntries(results) })
          : respondError("service_unavailable", `not ready: ${failed.join(", ")}`)
      })
    })
  )

/**
 * Serves `routes` on the configured port, and `/metrics` on the metrics port; on shutdown `/ready`
 * flips to 503 before connections close.
 */
export const serve = <E, R>(routes: Layer.Layer<never, E, R>) =>
  Layer.unwrap(Effect.gen(function*() {
    const config = yield* ServerConfig
    // The only upgrade Effect's server handles is internal RPC's `GET /rpc` (the gateway's `/ws`
    // has its own `ws` server, UpgradeInterceptor.ts): one frame is one RPC message.
    const rpcMaxBytes = yield* RpcMaxBodyBytes
    const intercept = yield* UpgradeInterceptor
    const nodeServer = NodeHttpServer.layer(() => {
      const server = new UpgradeRoutingServer(nodeServerOptions(config.timeouts))
      server.intercept = intercept
      server.on("clientError", answerClientError)
      return server
    }, {
      port: config.port,
      host: config.host,
      gracefulShutdownTimeout: "10 seconds",
      websocket: { maxPayload: rpcMaxBytes, perMessageDeflate: false }
    })
    const drainOnShutdown = Layer.effectDiscard(Effect.gen(function*() {
      const draining = yield* Draining
      yield* Effect.addFinalizer(() => draining.start)
    }))
    return HttpRouter.serve(Layer.mergeAll(routes, EnvelopeMiddleware, drainOnShutdown), { disableLogger: true })
      .pipe(Layer.provideMerge(nodeServer), Layer.merge(MetricsServerLive))
  }))

/** The TCP port the server actually bound (useful with port 0 in tests). */
export const boundPort = Effect.gen(function*() {
  const server = yield* HttpServer.HttpServer
  return server.address._tag === "UnixPathAddress" ? 0 : server.address.port
})
