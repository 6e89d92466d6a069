/**
 * `pylon_users_online` as a cluster-wide figure: every presence-service replica sets its gauge
 * from the store's count of users reported online (`PresenceStore.onlineCount`, one Redis
 * `ZCARD` on the state all replicas share), at start and then every
 * `PRESENCE_SWEEP_INTERVAL_SECONDS`. So every replica reports the same total (give or take one
 * interval), a restarted replica reports it at once, and dashboards read
 * `max(pylon_users_online)` across replicas, never the sum (docs/adr/0007-metric-names.md).
 * A failed read leaves the last value (the store logs the outage); the fiber ends with the
 * layer's scope.
 */
import { Effect, Layer, Metric } from "effect"
import { usersOnline } from "@pylon/platform/observability/OriginalMetrics"
import { PresenceConfig } from "./PresenceConfig.ts"
import { PresenceStore } from "./PresenceStore.ts"

export const OnlineUsersGaugeLive: Layer.Layer<never, never, PresenceStore | PresenceConfig> = Layer.effectDiscard(
  Effect.gen(function*() {
    const store = yield* PresenceStore
    const { sweepInterval } = yield* PresenceConfig
    const refresh = store.onlineCount.pipe(
      Effect.flatMap((count) => Metric.update(usersOnline, count)),
      Effect.ignore
    )
    yield* refresh.pipe(Effect.andThen(Effect.sleep(sweepInterval)), Effect.forever, Effect.forkScoped)
  })
)
