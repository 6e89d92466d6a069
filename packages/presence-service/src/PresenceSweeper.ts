/**
 * The background fiber that turns expired leases (a gateway node died without saying goodbye)
 * into published `offline` changes, every `PRESENCE_SWEEP_INTERVAL_SECONDS`. Every replica may
 * run one: the store hands each expired user to exactly one sweep. A failed sweep is logged and
 * the next one tries again; the fiber ends with the layer's scope.
 */
import { Effect, Layer } from "effect"
import { PresenceConfig } from "./PresenceConfig.ts"
import { PresenceService } from "./PresenceService.ts"

export const PresenceSweeperLive: Layer.Layer<never, never, PresenceService | PresenceConfig> = Layer.effectDiscard(
  Effect.gen(function*() {
    const presence = yield* PresenceService
    const { sweepInterval } = yield* PresenceConfig
    const sweepOnce = presence.sweepExpired.pipe(
      Effect.tap((count) => count > 0 ? Effect.logInfo(`presence: ${count} user(s) offline after lease expiry`) : Effect.void),
      Effect.catchCause((cause) => Effect.logWarning("presence: sweep failed", cause))
    )
    yield* Effect.sleep(sweepInterval).pipe(Effect.andThen(sweepOnce), Effect.forever, Effect.forkScoped)
  })
)
