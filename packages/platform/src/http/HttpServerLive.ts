/**
 * The HTTP server every Pylon process runs: the routes it is given behind `EnvelopeMiddleware.ts`
 * (envelope, request ids and logs, metrics, CORS, security headers), Node's timeouts against slow
 * clients, graceful drain, HTTP/2 cleartext on the same port where the process asks for it
 * (`CleartextHttp2.ts`), and `/metrics` on its own internal port. Routes are declared with
 * `Resource.ts`; `/health` and `/ready` come from `HealthRoutes.ts`.
 */
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import { MetricsServerLive } from "../observability/MetricsServer.ts"
import { RpcMaxBodyBytes } from "../rpc/InternalRpc.ts"
import { Draining } from "../runtime/Draining.ts"
import { answerClientError } from "./ClientErrors.ts"
import { acceptCleartextHttp2, CleartextHttp2 } from "./CleartextHttp2.ts"
import { EnvelopeMiddleware } from "./EnvelopeMiddleware.ts"
import { nodeServerOptions, ServerConfig } from "./ServerConfig.ts"
import { UpgradeInterceptor, UpgradeRoutingServer } from "./UpgradeInterceptor.ts"

/**
 * Paths match exactly: `/API/V1/ROOMS`, `/api/v1/rooms/` and `//api/v1/rooms` are 404, not
 * aliases of `/api/v1/rooms` (Effect's router ignores case, trailing and repeated slashes by
 * default). One spelling per resource keeps path-keyed rules outside the process (ingress, WAF,
 * caches, log queries) in step with what is served, and gRPC/Connect method paths are
 * case-sensitive by protocol (docs/adr/0012-exact-paths.md).
 */
export const EXACT_PATHS = { caseSensitive: true, ignoreTrailingSlash: false, ignoreDuplicateSlashes: false } as const

/** Pending connections the kernel queues for accept (Node's default is 511). */
export const LISTEN_BACKLOG = 4096

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
    const h2c = yield* CleartextHttp2
    const nodeServer = NodeHttpServer.layer(() => {
      const server = new UpgradeRoutingServer(nodeServerOptions(config.timeouts))
      server.intercept = intercept
      server.on("clientError", answerClientError)
      if (h2c) {
        acceptCleartextHttp2(server, { sniffTimeoutMs: config.timeouts.headersMs, idleTimeoutMs: config.timeouts.http2IdleMs })
      }
      return server
    }, {
      port: config.port,
      host: config.host,
      // Node's default accept backlog (511) overflows in a burst of connects (10k offered at
      // 1,000/s): the kernel drops SYNs and clients come back only on TCP's 1 s / 2 s retries
      // (docs/perf.md §7). The kernel caps this at net.core.somaxconn.
      backlog: LISTEN_BACKLOG,
      gracefulShutdownTimeout: "10 seconds",
      websocket: { maxPayload: rpcMaxBytes, perMessageDeflate: false }
    })
    const drainOnShutdown = Layer.effectDiscard(Effect.gen(function*() {
      const draining = yield* Draining
      yield* Effect.addFinalizer(() => draining.start)
    }))
    return HttpRouter.serve(Layer.mergeAll(routes, EnvelopeMiddleware, drainOnShutdown), {
      disableLogger: true,
      routerConfig: EXACT_PATHS
    })
      .pipe(Layer.provideMerge(nodeServer), Layer.merge(MetricsServerLive))
  }))

/** The TCP port the server actually bound (useful with port 0 in tests). */
export const boundPort = Effect.gen(function*() {
  const server = yield* HttpServer.HttpServer
  return server.address._tag === "UnixPathAddress" ? 0 : server.address.port
})
