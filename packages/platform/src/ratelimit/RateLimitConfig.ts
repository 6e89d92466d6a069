/**
 * The rate-limit budgets of API.md §7, one per bucket, read from the `RATE_LIMIT_*` environment
 * variables; `RateLimitConfig` is the service the gateway's guards read them from.
 */
import { Config, Context, Duration, Effect, Layer, Schema } from "effect"

/** The budgets of API.md §7; each name doubles as the limiter's bucket. */
export const RateLimitBucket = Schema.Literals([
  "register",
  "login",
  "refresh",
  "createRoom",
  "join",
  "history",
  "wsMessages",
  "wsTyping"
])
export type RateLimitBucket = typeof RateLimitBucket.Type

export interface RateLimitSettings {
  /** Length of every window (`RATE_LIMIT_WINDOW_SECONDS`, default 60). */
  readonly window: Duration.Duration
  /** Hits allowed per window, by bucket. */
  readonly limits: { readonly [B in RateLimitBucket]: number }
}

const budget = (name: string, fallback: number) =>
  Config.schema(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)), name).pipe(Config.withDefault(fallback))

/** Reads the `RATE_LIMIT_*` variables; a malformed value fails startup rather than disabling a limit. */
export const RateLimitSettingsConfig: Config.Config<RateLimitSettings> = Config.all({
  windowSeconds: Config.schema(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)), "RATE_LIMIT_WINDOW_SECONDS").pipe(
    Config.withDefault(60)
  ),
  register: budget("RATE_LIMIT_REGISTER", 5),
  login: budget("RATE_LIMIT_LOGIN", 10),
  refresh: budget("RATE_LIMIT_REFRESH", 30),
  createRoom: budget("RATE_LIMIT_CREATE_ROOM", 30),
  join: budget("RATE_LIMIT_JOIN", 60),
  history: budget("RATE_LIMIT_HISTORY", 600),
  wsMessages: budget("RATE_LIMIT_WS_MESSAGES", 600),
  wsTyping: budget("RATE_LIMIT_WS_TYPING", 60)
}).pipe(
  Config.map(({ windowSeconds, ...limits }): RateLimitSettings => ({
    window: Duration.seconds(windowSeconds),
    limits
  }))
)

export class RateLimitConfig extends Context.Service<RateLimitConfig, RateLimitSettings>()(
  "pylon/platform/RateLimitConfig"
) {
  static readonly layer = Layer.effect(
    RateLimitConfig,
    Effect.gen(function*() {
      return RateLimitConfig.of(yield* RateLimitSettingsConfig)
    })
  )

  static readonly make = (settings: RateLimitSettings) => Layer.succeed(RateLimitConfig, settings)
}
