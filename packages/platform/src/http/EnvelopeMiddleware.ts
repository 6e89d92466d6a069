/**
 * What wraps every request of every Pylon HTTP server (unknown routes included): CORS, the JSON
 * envelope for every failure (404/413/500 and interrupts; 405 comes from `Resource.ts`), the
 * `x-request-id`, HTTP metrics, the request log, the security headers, and the name of the server
 * span (`METHOD /route/{param}`, ServerSpanName.ts).
 */
import { Cause, Clock, Effect, Metric, Option } from "effect"
import type { Types } from "effect"
import { HttpRouter, HttpServerError, HttpServerRequest, HttpServerResponse } from "effect/http"
import { httpRequestDuration, httpRequestsInFlight, httpRequestsTotal } from "../observability/OriginalMetrics.ts"
import { currentServerSpan, renameSpan, serverSpanName } from "../observability/ServerSpanName.ts"
import { corsMiddleware, corsPolicy } from "./Cors.ts"
import { HttpFailure, respondError, respondFailure } from "./HttpEnvelope.ts"
import { withSecurityHeaders } from "./SecurityHeaders.ts"
import { ServerConfig } from "./ServerConfig.ts"

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
      const serverSpan = yield* currentServerSpan(request.method)
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
      if (Option.isSome(serverSpan) && route !== "unmatched") {
        yield* renameSpan(serverSpan.value, serverSpanName(request.method, route))
      }
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
