/**
 * HTTP server spans are named `METHOD /route/{param}` (ServerSpanName.ts, applied by
 * EnvelopeMiddleware) on a real server: the route template, never the raw URL; unknown routes keep
 * the bare method; and the request log line written inside the span carries its trace id.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Logger, References, Tracer } from "effect"
import { Draining } from "../../src/runtime/Draining.ts"
import { respondOk } from "../../src/http/HttpEnvelope.ts"
import { boundPort, serve } from "../../src/http/HttpServerLive.ts"
import { resource } from "../../src/http/Resource.ts"
import { ServerConfig } from "../../src/http/ServerConfig.ts"
import { routeTemplate } from "../../src/observability/ServerSpanName.ts"
import { formatJsonWithTrace } from "../../src/observability/JsonLogger.ts"
import { rawRequest } from "../support/RawHttp.ts"

describe("server span names", () => {
  it("route templates use {param}", () => {
    expect(routeTemplate("/api/v1/rooms/:roomId/messages/:messageId")).toBe("/api/v1/rooms/{roomId}/messages/{messageId}")
    expect(routeTemplate("/health")).toBe("/health")
  })

  it.live("a real request's server span is METHOD /route/{param}; its request log has the trace id", () =>
    Effect.gen(function*() {
      const spans: Array<Tracer.Span> = []
      const recording = Tracer.make({
        span: (options) => {
          const span = new Tracer.NativeSpan(options)
          spans.push(span)
          return span
        }
      })
      const logs: Array<string> = []
      const capture = Logger.make((options) => {
        logs.push(formatJsonWithTrace.log(options))
      })
      const server = serve(Layer.mergeAll(
        resource("/rooms/:roomId/members/:userId", { GET: Effect.succeed(respondOk({ ok: true })) }),
        resource("/health", { GET: Effect.succeed(respondOk({ ok: true })) })
      )).pipe(
        Layer.provide([Draining.layer, ServerConfig.make({ port: 0, host: "127.0.0.1", env: "test", corsOrigins: [] })]),
        Layer.provide(Layer.succeed(Tracer.Tracer)(recording)),
        Layer.provide(Logger.layer([capture])),
        Layer.provide(Layer.succeed(References.MinimumLogLevel, "Info"))
      )
      const port = yield* boundPort.pipe(Effect.provide(yield* Layer.build(server)))
      expect((yield* rawRequest(`http://127.0.0.1:${port}/rooms/r-42/members/u-7`)).status).toBe(200)
      expect((yield* rawRequest(`http://127.0.0.1:${port}/nowhere/at/all`)).status).toBe(404)

      const serverSpans = spans.filter((span) => span.kind === "server")
      expect(serverSpans.map((span) => span.name)).toEqual(["GET /rooms/{roomId}/members/{userId}", "GET"])
      const line = logs.find((l) => l.includes("/rooms/r-42/members/u-7 200"))
      expect(line).toBeDefined()
      expect(line).toContain(`"trace_id":"${serverSpans[0]?.traceId.padStart(32, "0")}"`)
    }).pipe(Effect.scoped))
})
