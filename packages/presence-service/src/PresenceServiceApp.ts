/**
 * The presence service's Layer graph. `PresenceServiceLive` is the domain on its ports (any
 * `PresenceStore` and `RealtimeBus`, plus a `SqlClient` for membership); `PresenceLive` adds the RPC
 * handlers, the lease sweeper and the users-online gauge (embedded mode serves them through
 * `inProcessClientLayer`);
 * `presenceServiceApp` is the process: Redis adapters, `PresenceRpcs` at `/rpc`, `/health`,
 * `/ready` (PostgreSQL and Redis) and `/metrics` on the configured port.
 */
import { postgresReady, redisReady } from "@pylon/platform/http/ReadinessChecks"
import { Layer } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import { PresenceRpcs } from "@pylon/contracts/PresenceRpcs"
import { healthRoutes } from "@pylon/platform/http/HealthRoutes"
import { serve } from "@pylon/platform/http/HttpServerLive"
import { rpcRoutes } from "@pylon/platform/rpc/InternalRpc"
import { RedisClient } from "@pylon/platform/redis/Redis"
import * as RedisRealtimeBus from "@pylon/platform/bus/RedisRealtimeBus"
import { OnlineUsersGaugeLive } from "./OnlineUsersGauge.ts"
import { PresenceConfig } from "./PresenceConfig.ts"
import { PresenceHandlersLive } from "./PresenceHandlers.ts"
import { PresenceService } from "./PresenceService.ts"
import { PresenceSweeperLive } from "./PresenceSweeper.ts"
import * as RedisPresenceStore from "./RedisPresenceStore.ts"
import { RoomMembership } from "./RoomMembership.ts"

export const SERVICE_NAME = "presence-service"

/** `PresenceService` (and its `PresenceConfig`, read from the environment); needs `PresenceStore`, `RealtimeBus`, `SqlClient`. */
export const PresenceServiceLive = PresenceService.layer.pipe(
  Layer.provide(RoomMembership.layer),
  Layer.provideMerge(PresenceConfig.layer)
)

/**
 * RPC handlers, the sweeper and the `pylon_users_online` refresher on top of `PresenceServiceLive`;
 * also outputs `PresenceService`.
 */
export const PresenceLive = Layer.mergeAll(PresenceHandlersLive, PresenceSweeperLive, OnlineUsersGaugeLive).pipe(
  Layer.provideMerge(PresenceServiceLive)
)



/** The presence-service process; needs `ServerConfig`, `Draining`, a `SqlClient` and a `RedisClient`. */
export const presenceServiceApp = serve(
  Layer.mergeAll(rpcRoutes(PresenceRpcs, SERVICE_NAME), healthRoutes<SqlClient | RedisClient>(SERVICE_NAME, [postgresReady, redisReady]))
).pipe(
  Layer.provide(PresenceLive),
  Layer.provide([RedisPresenceStore.layer, RedisRealtimeBus.layer])
)
