/**
 * The cross-origin policy of the public HTTP edge, from `CORS_ORIGINS`: which browser origins may
 * call the REST API (CORS) and open `/ws` (Origin check before the upgrade). Empty (the default)
 * allows no cross-origin browser access; `*` allows any origin and is refused in production
 * (ServerConfig). Non-browser clients send no `Origin` and are never affected.
 */
import type { Effect } from "effect"
import { HttpMiddleware } from "effect/http"
import type { HttpServerRequest, HttpServerResponse } from "effect/http"

export const CORS_ALLOWED_METHODS: ReadonlyArray<string> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]

/** What browsers may send: bearer tokens, JSON bodies, request ids and the Connect protocol headers. */
export const CORS_ALLOWED_HEADERS: ReadonlyArray<string> = [
  "authorization",
  "content-type",
  "x-request-id",
  "connect-protocol-version",
  "connect-timeout-ms",
  "x-user-agent",
  "x-grpc-web",
  "grpc-timeout"
]

/**
 * What scripts may read: the rate-limit headers of API.md §7, the request id, and the status
 * headers a gRPC-Web (or Connect-Web) client reads from a response without a body trailer
 * (those of `@connectrpc/cors`).
 */
export const CORS_EXPOSED_HEADERS: ReadonlyArray<string> = [
  "x-ratelimit-limit",
  "x-ratelimit-remaining",
  "x-ratelimit-reset",
  "retry-after",
  "x-request-id",
  "grpc-status",
  "grpc-message",
  "grpc-status-details-bin"
]

/** Browsers cache a preflight this long (seconds), so a page does not pay one per request. */
const PREFLIGHT_MAX_AGE_SECONDS = 600

export interface CorsPolicy {
  readonly anyOrigin: boolean
  readonly origins: ReadonlySet<string>
}

export const corsPolicy = (corsOrigins: ReadonlyArray<string>): CorsPolicy => ({
  anyOrigin: corsOrigins.includes("*"),
  origins: new Set(corsOrigins.filter((origin) => origin !== "*"))
})

const allowsCrossOrigin = (policy: CorsPolicy): boolean => policy.anyOrigin || policy.origins.size > 0

export const isOriginAllowed = (policy: CorsPolicy, origin: string): boolean =>
  policy.anyOrigin || policy.origins.has(origin)

const hostOf = (origin: string): string | undefined => {
  try {
    return new URL(origin).host
  } catch {
    return undefined
  }
}

/**
 * May a WebSocket upgrade with this `Origin` proceed? No `Origin` (a non-browser client) and a page
 * from the gateway's own origin (`Origin` host = `Host`) may; any other origin must be listed.
 * Browsers do not apply CORS to WebSockets, so this is the only guard against other sites' pages.
 */
export const isUpgradeOriginAllowed = (
  policy: CorsPolicy,
  origin: string | undefined,
  host: string | undefined
): boolean => {
  if (origin === undefined) return true
  if (host !== undefined && hostOf(origin) === host.toLowerCase()) return true
  return isOriginAllowed(policy, origin)
}

/**
 * CORS for the router: preflight `OPTIONS` → 204, `Access-Control-Allow-Origin` only for allowed
 * origins, `Vary: Origin`. With no origin allowed it adds nothing (and OPTIONS is an ordinary
 * request, answered 404/405 like any other unknown method).
 */
export const corsMiddleware = (policy: CorsPolicy) => {
  if (!allowsCrossOrigin(policy)) {
    return <E, R>(app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) => app
  }
  const cors = HttpMiddleware.cors({
    // A predicate (not a one-element list, which Effect echoes for every caller) so that only
    // listed origins get the header back.
    allowedOrigins: (origin: string) => isOriginAllowed(policy, origin),
    allowedMethods: CORS_ALLOWED_METHODS,
    allowedHeaders: CORS_ALLOWED_HEADERS,
    exposedHeaders: CORS_EXPOSED_HEADERS,
    maxAge: PREFLIGHT_MAX_AGE_SECONDS,
    // Tokens travel in the Authorization header, never in cookies.
    credentials: false
  })
  return <E, R>(
    app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
  ): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | HttpServerRequest.HttpServerRequest> => cors(app)
}
