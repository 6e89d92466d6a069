/**
 * Settings of the presence service, read once at start:
 * - `PRESENCE_LEASE_TTL_SECONDS` (default 60): how long a connection counts as online after its
 *   last `SetOnline`. The gateway renews every live connection well within it (e.g. every
 *   20 s); when a gateway node dies its users go offline at most this long (plus one sweep) later.
 * - `PRESENCE_TYPING_TTL_SECONDS` (default 5, API.md §6): how long one `SetTyping` lasts.
 * - `PRESENCE_SWEEP_INTERVAL_SECONDS` (default 5): how often expired leases are looked for.
 */
import { Config, Context, Duration, Effect, Layer, Schema } from "effect"

export interface PresenceSettings {
  readonly leaseTtl: Duration.Duration
  readonly typingTtl: Duration.Duration
  readonly sweepInterval: Duration.Duration
}

const seconds = (name: string, fallback: number) =>
  Config.schema(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)), name).pipe(Config.withDefault(fallback))

export const PresenceSettingsConfig: Config.Config<PresenceSettings> = Config.all({
  leaseTtl: seconds("PRESENCE_LEASE_TTL_SECONDS", 60),
  typingTtl: seconds("PRESENCE_TYPING_TTL_SECONDS", 5),
  sweepInterval: seconds("PRESENCE_SWEEP_INTERVAL_SECONDS", 5)
}).pipe(
  Config.map((s): PresenceSettings => ({
    leaseTtl: Duration.seconds(s.leaseTtl),
    typingTtl: Duration.seconds(s.typingTtl),
    sweepInterval: Duration.seconds(s.sweepInterval)
  }))
)

export class PresenceConfig extends Context.Service<PresenceConfig, PresenceSettings>()(
  "pylon/presence/PresenceConfig"
) {
  static readonly layer = Layer.effect(
    PresenceConfig,
    Effect.gen(function*() {
      return PresenceConfig.of(yield* PresenceSettingsConfig)
    })
  )

  static readonly make = (settings: PresenceSettings) => Layer.succeed(PresenceConfig, settings)
}
