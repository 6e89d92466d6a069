/**
 * `pylon_users_online` is a cluster-wide figure (docs/adr/0007-metric-names.md): two presence
 * replicas, each the service's own `PresenceLive` on its own Redis connection and its own metric
 * registry (as two processes would have), share one real Redis. Users brought online through
 * either replica are counted by both, once each; a replica started later reports the same total
 * at once. With per-replica counting the first replica would show 3 and the second 2.
 */
import { randomUUID } from "node:crypto"
import { describe, expect, it, layer } from "@effect/vitest"
import { ConfigProvider, Context, Effect, Layer, Metric, Redacted, Schedule } from "effect"
import { UserId } from "@pylon/contracts/Ids"
import { ConnectionId } from "@pylon/contracts/Presence"
import * as RedisRealtimeBus from "@pylon/platform/bus/RedisRealtimeBus"
import { usersOnline } from "@pylon/platform/observability/OriginalMetrics"
import { RedisClient } from "@pylon/platform/redis/Redis"
import { TestDatabase } from "@pylon/testkit/TestDatabase"
import { PresenceService } from "../src/PresenceService.ts"
import { PresenceLive } from "../src/PresenceServiceApp.ts"
import * as RedisPresenceStore from "../src/RedisPresenceStore.ts"

const redisUrl = process.env["REDIS_URL"]
const keyPrefix = `pylon:presence:test-${randomUUID().slice(0, 8)}:`

interface Replica {
  readonly presence: PresenceService["Service"]
  readonly usersOnline: Effect.Effect<number>
}

if (redisUrl === undefined || redisUrl === "") {
  describe("pylon_users_online", () => {
    it("needs REDIS_URL", () => {
      throw new Error("REDIS_URL is not set: the users-online gauge test needs a real Redis (e.g. redis://127.0.0.1:6380)")
    })
  })
} else {
  /** One presence replica (refreshing its gauge every second) in the test's scope, with its own registry. */
  const startReplica = Effect.gen(function*() {
    const registry: Metric.MetricRegistry = new Map()
    const replicaLayer = Layer.fresh(PresenceLive).pipe(
      Layer.provide(Layer.mergeAll(RedisPresenceStore.layerWith({ keyPrefix }), RedisRealtimeBus.layer)),
      Layer.provide(Layer.fresh(RedisClient.layerFromUrl(Redacted.make(redisUrl)))),
      Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env: { PRESENCE_SWEEP_INTERVAL_SECONDS: "1" } }))),
      Layer.provide(Layer.succeed(Metric.MetricRegistry, registry))
    )
    const context = yield* Layer.build(replicaLayer)
    const replica: Replica = {
      presence: Context.get(context, PresenceService),
      usersOnline: Metric.value(usersOnline).pipe(
        Effect.map((state) => state.value),
        Effect.provideService(Metric.MetricRegistry, registry)
      )
    }
    return replica
  })

  /** Waits (generously: a loaded machine) until every replica's gauge shows `expected`; returns what they show. */
  const gaugesAt = (replicas: ReadonlyArray<Replica>, expected: number) =>
    Effect.all(replicas.map((r) => r.usersOnline)).pipe(
      Effect.repeat({ until: (values) => values.every((v) => v === expected), schedule: Schedule.spaced("100 millis") }),
      Effect.timeout("45 seconds"),
      Effect.orElseSucceed(() => "timed out"),
      Effect.andThen(Effect.all(replicas.map((r) => r.usersOnline)))
    )

  const connection = (label: string) => ConnectionId.make(`${label}-${randomUUID()}`)

  layer(TestDatabase, { excludeTestServices: true, timeout: "120 seconds" })("pylon_users_online", (it) => {
    it.effect("two replicas on one Redis report the same cluster-wide total; a new replica too", () =>
      Effect.gen(function*() {
        const first = yield* startReplica
        const second = yield* startReplica
        const users = Array.from({ length: 5 }, () => UserId.make(randomUUID()))
        const [u0, u1, u2, u3, u4] = users as [UserId, UserId, UserId, UserId, UserId]
        const conns = users.map((u) => connection(u.slice(0, 4)))
        const [c0, c1, c2, c3, c4] = conns as [ConnectionId, ConnectionId, ConnectionId, ConnectionId, ConnectionId]

        yield* first.presence.setOnline(u0, c0)
        yield* first.presence.setOnline(u1, c1)
        yield* first.presence.setOnline(u2, c2)
        yield* second.presence.setOnline(u3, c3)
        yield* second.presence.setOnline(u4, c4)
        // u3's second tab, through the other replica: still one user.
        yield* first.presence.setOnline(u3, connection("tab2"))
        expect(yield* gaugesAt([first, second], 5)).toEqual([5, 5])

        // Offline through the replica that did not bring them online.
        yield* second.presence.setOffline(u0, c0)
        yield* second.presence.setOffline(u1, c1)
        expect(yield* gaugesAt([first, second], 3)).toEqual([3, 3])

        // A replica that starts now (a restart) reports the total, not 0.
        const third = yield* startReplica
        expect(yield* gaugesAt([first, second, third], 3)).toEqual([3, 3, 3])
      }))
  })
}
