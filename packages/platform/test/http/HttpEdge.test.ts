/**
 * The public HTTP edge every process serves (HttpServerLive): exact paths, CORS from `CORS_ORIGINS`, 415 for
 * bodies that are not JSON, security headers on every response, `/metrics` only on the internal
 * metrics port, and Node's timeouts against slow clients — each on a real socket.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { ConfigProvider, Context, Effect, Exit, Layer, Option, References, Schema } from "effect"
import { Draining } from "../../src/runtime/Draining.ts"
import { respondOk } from "../../src/http/HttpEnvelope.ts"
import { decodeJsonBody } from "../../src/http/HttpRequestDecoding.ts"
import { boundPort, serve } from "../../src/http/HttpServerLive.ts"
import { healthRoutes } from "../../src/http/HealthRoutes.ts"
import { resource } from "../../src/http/Resource.ts"
import { MetricsEndpoint } from "../../src/observability/MetricsServer.ts"
import { DEFAULT_METRICS_PORT, nodeServerOptions, ServerConfig } from "../../src/http/ServerConfig.ts"
import type { ServerSettings, ServerSettingsInput } from "../../src/http/ServerConfig.ts"
import { rawRequest, sendAndAwaitClose } from "../support/RawHttp.ts"

interface EdgeInfo {
  readonly port: number
  readonly baseUrl: string
  readonly metricsUrl: string
}

class Edge extends Context.Service<Edge, EdgeInfo>()("pylon/platform/test/Edge") {}

const APP_ORIGIN = "https://app.example"

const routes = Layer.mergeAll(
  resource("/echo", {
    POST: Effect.map(decodeJsonBody(Schema.Struct({ text: Schema.String })), (body) => respondOk(body))
  }),
  healthRoutes<never>("edge", [])
)

const edgeLayer = (settings: Partial<ServerSettingsInput>) =>
  Layer.effect(
    Edge,
    Effect.gen(function*() {
      const port = yield* boundPort
      const metrics = yield* MetricsEndpoint
      return Edge.of({ port, baseUrl: `http://127.0.0.1:${port}`, metricsUrl: `http://127.0.0.1:${metrics.port}` })
    })
  ).pipe(
    Layer.provide(serve(routes)),
    Layer.provide([
      Draining.layer,
      ServerConfig.make({ port: 0, host: "127.0.0.1", env: "test", corsOrigins: [], ...settings })
    ]),
    Layer.provide(Layer.succeed(References.MinimumLogLevel, "Warn"))
  )

const request = (path: string, options: Parameters<typeof rawRequest>[1] = {}) =>
  Edge.use(({ baseUrl }) => rawRequest(`${baseUrl}${path}`, options))

const preflight = (origin: string) =>
  request("/echo", {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization, content-type, connect-protocol-version"
    }
  })

const listOf = (value: string | Array<string> | undefined): ReadonlyArray<string> =>
  (Array.isArray(value) ? value.join(",") : value ?? "").split(",").map((item) => item.trim().toLowerCase()).filter(
    (item) => item.length > 0
  )

const errorCodeOf = (text: string): unknown => {
  const body: unknown = JSON.parse(text)
  return typeof body === "object" && body !== null && "error" in body ? body.error : undefined
}

layer(edgeLayer({ corsOrigins: [APP_ORIGIN] }), { excludeTestServices: true, timeout: "60 seconds" })(
  "CORS with CORS_ORIGINS set",
  (it) => {
    it.effect("a preflight from a listed origin gets 204 with the allowed methods and headers", () =>
      Effect.gen(function*() {
        const answer = yield* preflight(APP_ORIGIN)
        expect(answer.status).toBe(204)
        expect(answer.headers["access-control-allow-origin"]).toBe(APP_ORIGIN)
        expect(listOf(answer.headers["vary"])).toContain("origin")
        expect(listOf(answer.headers["access-control-allow-methods"])).toEqual(
          expect.arrayContaining(["get", "post", "put", "patch", "delete"])
        )
        expect(listOf(answer.headers["access-control-allow-headers"])).toEqual(expect.arrayContaining([
          "authorization",
          "content-type",
          "connect-protocol-version",
          "connect-timeout-ms",
          "x-user-agent",
          "x-grpc-web",
          "grpc-timeout"
        ]))
        expect(answer.headers["access-control-allow-credentials"]).toBeUndefined()
      }))

    it.effect("another origin gets no Access-Control-Allow-Origin", () =>
      Effect.gen(function*() {
        const answer = yield* preflight("https://evil.example")
        expect(answer.headers["access-control-allow-origin"]).toBeUndefined()
        const simple = yield* request("/health", { headers: { origin: "https://evil.example" } })
        expect(simple.status).toBe(200)
        expect(simple.headers["access-control-allow-origin"]).toBeUndefined()
      }))

    it.effect("a listed origin's request may read the rate-limit headers", () =>
      Effect.gen(function*() {
        const answer = yield* request("/health", { headers: { origin: APP_ORIGIN } })
        expect(answer.status).toBe(200)
        expect(answer.headers["access-control-allow-origin"]).toBe(APP_ORIGIN)
        expect(listOf(answer.headers["vary"])).toContain("origin")
        expect(listOf(answer.headers["access-control-expose-headers"])).toEqual(expect.arrayContaining([
          "x-ratelimit-limit",
          "x-ratelimit-remaining",
          "x-ratelimit-reset",
          "retry-after",
          // gRPC-Web status headers, read by browser Connect clients
          "grpc-status",
          "grpc-message",
          "grpc-status-details-bin"
        ]))
      }))
  }
)

layer(edgeLayer({ corsOrigins: [] }), { excludeTestServices: true, timeout: "60 seconds" })(
  "the default edge (no CORS_ORIGINS)",
  (it) => {
    it.effect("allows no cross-origin caller", () =>
      Effect.gen(function*() {
        const answer = yield* preflight(APP_ORIGIN)
        expect(answer.status).toBe(405)
        expect(answer.headers["access-control-allow-origin"]).toBeUndefined()
      }))

    it.effect("JSON bodies must be sent as application/json (415 otherwise)", () =>
      Effect.gen(function*() {
        const body = JSON.stringify({ text: "hi" })
        for (const contentType of [undefined, "text/plain", "application/x-www-form-urlencoded", "application/jsonx"]) {
          const answer = yield* request("/echo", {
            method: "POST",
            headers: contentType === undefined ? {} : { "content-type": contentType },
            body
          })
          expect({ contentType, status: answer.status, error: errorCodeOf(answer.text) }).toMatchObject({
            contentType,
            status: 415,
            error: { code: "unsupported_media_type" }
          })
        }
        for (const contentType of ["application/json", "application/json; charset=utf-8", "Application/JSON"]) {
          const answer = yield* request("/echo", { method: "POST", headers: { "content-type": contentType }, body })
          expect({ contentType, status: answer.status }).toEqual({ contentType, status: 200 })
        }
      }))

    it.effect("every response carries the security headers", () =>
      Effect.gen(function*() {
        const { metricsUrl } = yield* Edge
        const answers = [
          yield* request("/health"),
          yield* request("/nope"),
          yield* request("/health", { method: "POST" }),
          yield* request("/echo", { method: "POST", headers: { "content-type": "text/plain" }, body: "x" }),
          yield* rawRequest(`${metricsUrl}/metrics`)
        ]
        for (const answer of answers) {
          expect(answer.headers).toMatchObject({
            "x-content-type-options": "nosniff",
            "referrer-policy": "no-referrer",
            "content-security-policy": "default-src 'none'; frame-ancestors 'none'"
          })
        }
      }))

    it.effect("a request head over 16 KiB or a malformed request gets 400 with the envelope, not a bare 431", () =>
      Effect.gen(function*() {
        const { port } = yield* Edge
        const long = yield* sendAndAwaitClose(port, `GET /health?q=${"x".repeat(20_000)} HTTP/1.1\r\nHost: edge\r\n\r\n`)
        const garbage = yield* sendAndAwaitClose(port, "GARBAGE\r\n\r\n")
        for (const raw of [long, garbage]) {
          expect(raw).toMatch(/^HTTP\/1\.1 400 /)
          expect(raw.toLowerCase()).toContain("x-content-type-options: nosniff")
          const body = raw.slice(raw.indexOf("\r\n\r\n") + 4)
          expect(errorCodeOf(body)).toMatchObject({ code: "bad_request" })
        }
        expect(long).toContain("request head too large")
      }))

    it.effect("paths match exactly: another case, a trailing or a doubled slash is 404, not an alias", () =>
      Effect.gen(function*() {
        expect((yield* request("/health")).status).toBe(200)
        expect((yield* request("/echo", { method: "POST", headers: { "content-type": "application/json" }, body: `{"text":"a"}` })).status)
          .toBe(200)
        for (const path of ["/HEALTH", "/Health", "/health/", "//health", "/echo/", "/ECHO", "//echo"]) {
          for (const method of ["GET", "POST"]) {
            const answer = yield* request(path, { method, headers: { "content-type": "application/json" }, body: `{"text":"a"}` })
            expect({ method, path, status: answer.status, error: errorCodeOf(answer.text) }).toMatchObject({
              method,
              path,
              status: 404,
              error: { code: "not_found" }
            })
          }
        }
      }))

    it.effect("/metrics is served on the metrics port only", () =>
      Effect.gen(function*() {
        const { metricsUrl, port } = yield* Edge
        yield* request("/health")
        const publicMetrics = yield* request("/metrics")
        expect({ status: publicMetrics.status, error: errorCodeOf(publicMetrics.text) }).toMatchObject({
          status: 404,
          error: { code: "not_found" }
        })
        expect(metricsUrl).not.toBe(`http://127.0.0.1:${port}`)
        const metrics = yield* rawRequest(`${metricsUrl}/metrics`)
        expect(metrics.status).toBe(200)
        expect(metrics.headers["content-type"]).toMatch(/^text\/plain/)
        expect(metrics.text).toContain("pylon_http_requests_total")
        expect((yield* rawRequest(`${metricsUrl}/health`)).status).toBe(404)
      }))
  }
)

layer(
  edgeLayer({ corsOrigins: [], timeouts: { headersMs: 500, requestMs: 1_000, keepAliveMs: 500, http2IdleMs: 300_000 } }),
  { excludeTestServices: true, timeout: "60 seconds" }
)("timeouts against slow clients", (it) => {
  it.effect("a client that never finishes its headers is cut off", () =>
    Effect.gen(function*() {
      const { port } = yield* Edge
      // Node's defaults (60 s headers, checked every 30 s) would outlast this deadline.
      const received = yield* sendAndAwaitClose(port, "GET /health HTTP/1.1\r\nHost: edge\r\n").pipe(
        Effect.timeoutOption("20 seconds")
      )
      expect(Option.isSome(received), "connection closed by the server").toBe(true)
      expect(Option.getOrElse(received, () => "")).toMatch(/^(HTTP\/1\.1 408|$)/)
    }))

  it.effect("a client that never finishes its body is cut off", () =>
    Effect.gen(function*() {
      const { port } = yield* Edge
      const head = "POST /echo HTTP/1.1\r\nHost: edge\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
      const received = yield* sendAndAwaitClose(port, `${head}{"text":`).pipe(Effect.timeoutOption("20 seconds"))
      expect(Option.isSome(received), "connection closed by the server").toBe(true)
    }))
})

describe("edge settings", () => {
  const fromEnv = (env: Record<string, string>, options?: Parameters<typeof ServerConfig.fromEnv>[0]) =>
    ServerConfig.useSync((settings) => settings).pipe(
      Effect.provide(ServerConfig.fromEnv(options).pipe(
        Layer.provide([
          ConfigProvider.layer(ConfigProvider.fromUnknown(env)),
          Layer.succeed(References.MinimumLogLevel, "None")
        ])
      )),
      Effect.exit
    )

  it.effect("CORS_ORIGINS: exact origins; '*' only outside production", () =>
    Effect.gen(function*() {
      const listed = yield* fromEnv({ CORS_ORIGINS: "https://a.example, http://localhost:3000" })
      expect(Exit.isSuccess(listed) && listed.value.corsOrigins).toEqual(["https://a.example", "http://localhost:3000"])
      expect(Exit.isSuccess(yield* fromEnv({}))).toBe(true)
      expect(Exit.isSuccess(yield* fromEnv({ CORS_ORIGINS: "*", APP_ENV: "development" }))).toBe(true)
      expect(Exit.isFailure(yield* fromEnv({ CORS_ORIGINS: "*", APP_ENV: "production" }))).toBe(true)
      expect(Exit.isFailure(yield* fromEnv({ CORS_ORIGINS: "https://a.example/" }))).toBe(true)
      expect(Exit.isFailure(yield* fromEnv({ CORS_ORIGINS: "a.example" }))).toBe(true)
    }))

  it.effect("METRICS_PORT: the role's default, OS-picked with APP_PORT=0, or as set", () =>
    Effect.gen(function*() {
      const metricsPortOf = (exit: Exit.Exit<{ readonly metricsPort: number }, unknown>) =>
        Exit.isSuccess(exit) ? exit.value.metricsPort : -1
      expect(metricsPortOf(yield* fromEnv({}))).toBe(DEFAULT_METRICS_PORT)
      expect(metricsPortOf(yield* fromEnv({}, { defaultPort: 9003, defaultMetricsPort: 9467 }))).toBe(9467)
      expect(metricsPortOf(yield* fromEnv({ APP_PORT: "0" }))).toBe(0)
      expect(metricsPortOf(yield* fromEnv({ APP_PORT: "0", METRICS_PORT: "9999" }))).toBe(9999)
    }))

  it.effect("HTTP_*_TIMEOUT_MS become Node's server timeouts", () =>
    Effect.gen(function*() {
      const exit = yield* fromEnv({
        HTTP_HEADERS_TIMEOUT_MS: "2000",
        HTTP_REQUEST_TIMEOUT_MS: "4000",
        HTTP_KEEP_ALIVE_TIMEOUT_MS: "65000"
      })
      expect(Exit.isSuccess(exit) && nodeServerOptions(exit.value.timeouts)).toEqual({
        headersTimeout: 2_000,
        requestTimeout: 4_000,
        keepAliveTimeout: 65_000,
        connectionsCheckingInterval: 1_000
      })
      expect(Exit.isFailure(yield* fromEnv({ HTTP_HEADERS_TIMEOUT_MS: "5000", HTTP_REQUEST_TIMEOUT_MS: "1000" })))
        .toBe(true)
    }))

  it.effect("HTTP2_IDLE_TIMEOUT_MS is the h2c idle timeout (default 5 minutes)", () =>
    Effect.gen(function*() {
      const idleOf = (exit: Exit.Exit<ServerSettings, unknown>) => Exit.isSuccess(exit) ? exit.value.timeouts.http2IdleMs : -1
      expect(idleOf(yield* fromEnv({}))).toBe(300_000)
      expect(idleOf(yield* fromEnv({ HTTP2_IDLE_TIMEOUT_MS: "1500" }))).toBe(1_500)
      expect(Exit.isFailure(yield* fromEnv({ HTTP2_IDLE_TIMEOUT_MS: "0" }))).toBe(true)
    }))
})
