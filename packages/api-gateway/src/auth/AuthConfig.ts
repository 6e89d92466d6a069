/**
 * Auth settings: `JWT_SECRET`, `JWT_EXPIRY` (default 15 minutes), `JWT_REFRESH_EXPIRY` (default 7 days).
 * With `APP_ENV=production` a missing, short or well-known default secret stops the process at start.
 */
import { Config, Context, Duration, Effect, Layer, Option, Redacted } from "effect"
import { ServerConfig } from "@pylon/platform/ServerConfig"

/** Used only outside production so `npm start` works with no setup; refused in production. */
export const DEVELOPMENT_JWT_SECRET = "pylon-development-secret-do-not-use-in-production"
const KNOWN_WEAK_SECRETS = new Set([DEVELOPMENT_JWT_SECRET, "secret", "changeme", "change-me", "your-secret-key"])
const MIN_PRODUCTION_SECRET_LENGTH = 32

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
      const secret = yield* Config.option(Config.Redacted("JWT_SECRET"))
      const accessTokenTtl = yield* Config.Duration("JWT_EXPIRY").pipe(Config.withDefault(Duration.minutes(15)))
      const refreshTokenTtl = yield* Config.Duration("JWT_REFRESH_EXPIRY").pipe(Config.withDefault(Duration.days(7)))
      if (server.env === "production") {
        const value = Option.map(secret, Redacted.value)
        if (
          Option.isNone(value) || KNOWN_WEAK_SECRETS.has(value.value) ||
          value.value.length < MIN_PRODUCTION_SECRET_LENGTH
        ) {
          return yield* Effect.die(
            new Error(
              `JWT_SECRET must be set to a random value of at least ${MIN_PRODUCTION_SECRET_LENGTH} characters when APP_ENV=production`
            )
          )
        }
      }
      return AuthConfig.of({
        jwtSecret: Option.getOrElse(secret, () => Redacted.make(DEVELOPMENT_JWT_SECRET)),
        accessTokenTtl,
        refreshTokenTtl
      })
    })
  )

  static readonly make = (settings: AuthSettings) => Layer.succeed(AuthConfig, settings)
}
