/**
 * Auth settings: `JWT_SECRET`, `JWT_EXPIRY` (default 15 minutes), `JWT_REFRESH_EXPIRY` (default 7 days).
 * `JWT_SECRET` follows the production-secret policy (platform/SecretPolicy.ts): with `APP_ENV=production`
 * a missing, short or well-known secret stops the process at start.
 */
import { Config, Context, Duration, Effect, Layer } from "effect"
import type { Redacted } from "effect"
import { configuredSecret, DEVELOPMENT_JWT_SECRET } from "@pylon/platform/runtime/SecretPolicy"
import { ServerConfig } from "@pylon/platform/http/ServerConfig"

export { DEVELOPMENT_JWT_SECRET }

export interface AuthSettings {
  readonly jwtSecret: Redacted.Redacted<string>
  readonly accessTokenTtl: Duration.Duration
  readonly refreshTokenTtl: Duration.Duration
}

export class AuthConfig extends Context.Service<AuthConfig, AuthSettings>()("pylon/gateway/AuthConfig") {
  static readonly layer = Layer.effect(
    AuthConfig,
    Effect.gen(function*() {
      const server = yield* ServerConfig
      const jwtSecret = yield* configuredSecret("JWT_SECRET", DEVELOPMENT_JWT_SECRET, server.env)
      const accessTokenTtl = yield* Config.Duration("JWT_EXPIRY").pipe(Config.withDefault(Duration.minutes(15)))
      const refreshTokenTtl = yield* Config.Duration("JWT_REFRESH_EXPIRY").pipe(Config.withDefault(Duration.days(7)))
      return AuthConfig.of({
        jwtSecret,
        accessTokenTtl,
        refreshTokenTtl
      })
    })
  )

  static readonly make = (settings: AuthSettings) => Layer.succeed(AuthConfig, settings)
}
