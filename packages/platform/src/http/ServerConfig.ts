/**
 * Settings every Pylon process reads at start (README "Configuration" lists each key and default).
 */
import type { ServerOptions } from "node:http"
import { Config, Context, Effect, Layer, Option, Schema } from "effect"
import { AppEnv } from "../runtime/AppEnv.ts"
import { decideBind, INTERNAL_SECRET_VARIABLES, unsetSecrets } from "./BindPolicy.ts"


/** Node's own limits against slow clients (README "Security"), in milliseconds. */
export interface HttpTimeouts {
  /** `server.headersTimeout`: the request line and headers must arrive within this. */
  readonly headersMs: number
  /** `server.requestTimeout`: the whole request (headers and body) must arrive within this. */
  readonly requestMs: number
  /** `server.keepAliveTimeout`: an idle keep-alive connection is closed after this. */
  readonly keepAliveMs: number
  /** An HTTP/2 (h2c) connection with no open stream for this long is closed (CleartextHttp2.ts). */
  readonly http2IdleMs: number
}

export const DEFAULT_HTTP_TIMEOUTS: HttpTimeouts = {
  headersMs: 10_000,
  requestMs: 30_000,
  keepAliveMs: 5_000,
  http2IdleMs: 300_000
}

/**
 * `http.Server` options for `timeouts`. Node checks the header and request deadlines only every
 * `connectionsCheckingInterval` (default 30 s, which would triple a 10 s limit), so it is at most 1 s.
 */
export const nodeServerOptions = (timeouts: HttpTimeouts): ServerOptions => ({
  headersTimeout: timeouts.headersMs,
  requestTimeout: timeouts.requestMs,
  keepAliveTimeout: timeouts.keepAliveMs,
  connectionsCheckingInterval: Math.min(1_000, timeouts.headersMs)
})

/** The gateway's metrics port; each backend service has its own default (README). */
export const DEFAULT_METRICS_PORT = 9464

export interface ServerSettings {
  readonly port: number
  readonly host: string
  readonly env: AppEnv
  /** `CORS_ORIGINS`: exact origins, or `*` (refused in production); empty = no cross-origin access. */
  readonly corsOrigins: ReadonlyArray<string>
  /** Port of the internal listener that serves `/metrics` (0 = OS-picked), never the public port. */
  readonly metricsPort: number
  readonly timeouts: HttpTimeouts
}

/** Settings as tests write them: the metrics port (default 0) and timeouts may be left out. */
export type ServerSettingsInput =
  & Omit<ServerSettings, "metricsPort" | "timeouts">
  & Partial<Pick<ServerSettings, "metricsPort" | "timeouts">>

export class InvalidServerConfig extends Schema.TaggedError<InvalidServerConfig>()("InvalidServerConfig", {
  message: Schema.String
}) {}

const portConfig = (name: string) =>
  Config.schema(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 65_535 })), name)

const millisConfig = (name: string, fallback: number) =>
  Config.schema(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 3_600_000 })), name).pipe(
    Config.withDefault(fallback)
  )

/** `https://app.example.com` is an origin; a path, query, or trailing slash is a typo that would never match. */
const isOrigin = (value: string): boolean => {
  if (value === "*") return true
  try {
    return new URL(value).origin === value
  } catch {
    return false
  }
}

const parseCorsOrigins = (raw: string, env: AppEnv): Effect.Effect<ReadonlyArray<string>, InvalidServerConfig> => {
  const origins = raw.split(",").map((origin) => origin.trim()).filter((origin) => origin.length > 0)
  const invalid = origins.filter((origin) => !isOrigin(origin))
  if (invalid.length > 0) {
    return Effect.fail(
      new InvalidServerConfig({
        message: `CORS_ORIGINS: not an origin (scheme://host[:port]): ${invalid.join(", ")}`
      })
    )
  }
  if (env === "production" && origins.includes("*")) {
    return Effect.fail(
      new InvalidServerConfig({ message: "CORS_ORIGINS=* is refused when APP_ENV=production: list the origins" })
    )
  }
  return Effect.succeed(origins)
}

export class ServerConfig extends Context.Service<ServerConfig, ServerSettings>()("pylon/platform/ServerConfig") {
  /**
   * Reads `APP_PORT` (or `portVariable`), `APP_HOST`, `APP_ENV`, `CORS_ORIGINS`, `METRICS_PORT`
   * and the `HTTP_*_TIMEOUT_MS` / `HTTP2_IDLE_TIMEOUT_MS` limits. The host follows BindPolicy.ts: with a built-in
   * development secret in use, loopback only.
   */
  static readonly fromEnv = (options?: {
    readonly portVariable?: string
    readonly defaultPort?: number
    readonly defaultMetricsPort?: number
    /** Secrets with built-in development defaults this process uses (BindPolicy.ts). */
    readonly secretVariables?: ReadonlyArray<string>
  }) =>
    Layer.effect(
      ServerConfig,
      Effect.gen(function*() {
        // 0 asks the OS for a free port (tests, side-by-side runs); the bound port is logged.
        const port = yield* portConfig(options?.portVariable ?? "APP_PORT").pipe(
          Config.withDefault(options?.defaultPort ?? 8080)
        )
        // With an OS-picked public port the metrics port is OS-picked too, so two such processes
        // on one host (tests, side-by-side runs) never fight over the fixed default.
        const metricsPort = yield* portConfig("METRICS_PORT").pipe(
          Config.withDefault(port === 0 ? 0 : options?.defaultMetricsPort ?? DEFAULT_METRICS_PORT)
        )
        const explicitEnv = yield* Config.option(Config.schema(AppEnv, "APP_ENV"))
        const env = Option.getOrElse(explicitEnv, (): AppEnv => "development")
        const bind = decideBind({
          configuredHost: yield* Config.option(Config.String("APP_HOST")),
          explicitEnv,
          unsetSecrets: yield* unsetSecrets(options?.secretVariables ?? INTERNAL_SECRET_VARIABLES)
        })
        if (bind._tag === "Refuse") return yield* new InvalidServerConfig({ message: bind.message })
        if (bind.notice !== undefined) yield* Effect.logWarning(bind.notice)
        const host = bind.host
        const corsOrigins = yield* parseCorsOrigins(
          yield* Config.String("CORS_ORIGINS").pipe(Config.withDefault("")),
          env
        )
        const timeouts: HttpTimeouts = {
          headersMs: yield* millisConfig("HTTP_HEADERS_TIMEOUT_MS", DEFAULT_HTTP_TIMEOUTS.headersMs),
          requestMs: yield* millisConfig("HTTP_REQUEST_TIMEOUT_MS", DEFAULT_HTTP_TIMEOUTS.requestMs),
          keepAliveMs: yield* millisConfig("HTTP_KEEP_ALIVE_TIMEOUT_MS", DEFAULT_HTTP_TIMEOUTS.keepAliveMs),
          http2IdleMs: yield* millisConfig("HTTP2_IDLE_TIMEOUT_MS", DEFAULT_HTTP_TIMEOUTS.http2IdleMs)
        }
        // Node refuses to construct a server whose headers may take longer than the whole request.
        if (timeouts.headersMs > timeouts.requestMs) {
          return yield* new InvalidServerConfig({
            message: "HTTP_HEADERS_TIMEOUT_MS must not exceed HTTP_REQUEST_TIMEOUT_MS"
          })
        }
        return ServerConfig.of({ port, host, env, corsOrigins, metricsPort, timeouts })
      })
    )

  static readonly make = (settings: ServerSettingsInput) =>
    Layer.succeed(ServerConfig, { metricsPort: 0, timeouts: DEFAULT_HTTP_TIMEOUTS, ...settings })
}
