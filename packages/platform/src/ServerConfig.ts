/**
 * Settings every Pylon process reads at start (README "Configuration" lists each key and default).
 */
import { Config, Context, Effect, Layer, Schema } from "effect"

export const AppEnv = Schema.Literals(["development", "test", "production"])
export type AppEnv = typeof AppEnv.Type

export interface ServerSettings {
  readonly port: number
  readonly host: string
  readonly env: AppEnv
  readonly corsOrigins: ReadonlyArray<string>
}

export class ServerConfig extends Context.Service<ServerConfig, ServerSettings>()("pylon/platform/ServerConfig") {
  /** Reads `APP_PORT` (or `portVariable`), `APP_HOST`, `APP_ENV`, `CORS_ORIGINS`. */
  static readonly fromEnv = (options?: { readonly portVariable?: string; readonly defaultPort?: number }) =>
    Layer.effect(
      ServerConfig,
      Effect.gen(function*() {
        // 0 asks the OS for a free port (tests, side-by-side runs); the bound port is logged.
        const port = yield* Config.schema(
          Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 65_535 })),
          options?.portVariable ?? "APP_PORT"
        ).pipe(
          Config.withDefault(options?.defaultPort ?? 8080)
        )
        const host = yield* Config.String("APP_HOST").pipe(Config.withDefault("0.0.0.0"))
        const env = yield* Config.schema(AppEnv, "APP_ENV").pipe(Config.withDefault<AppEnv>("development"))
        const corsOrigins = yield* Config.String("CORS_ORIGINS").pipe(Config.withDefault(""))
        return ServerConfig.of({
          port,
          host,
          env,
          corsOrigins: corsOrigins.split(",").map((origin) => origin.trim()).filter((origin) => origin.length > 0)
        })
      })
    )

  static readonly make = (settings: ServerSettings) => Layer.succeed(ServerConfig, settings)
}
