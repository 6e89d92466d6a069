/**
 * The room service's Layer graph: the domain on its PostgreSQL repository (`RoomServiceLive`)
 * and the process that serves it (`roomServiceApp`: `RoomRpcs` at `/rpc` plus `/health`,
 * `/ready`, `/metrics` on the configured port).
 */
import { postgresReady } from "@pylon/platform/http/ReadinessChecks"
import { Layer } from "effect"
import { RoomRpcs } from "@pylon/contracts/RoomRpcs"
import { healthRoutes } from "@pylon/platform/http/HealthRoutes"
import { serve } from "@pylon/platform/http/HttpServerLive"
import { rpcRoutes } from "@pylon/platform/rpc/InternalRpc"
import { PgRoomRepository } from "./PgRoomRepository.ts"
import { RoomHandlersLive } from "./RoomHandlers.ts"
import { RoomService } from "./RoomService.ts"

export const SERVICE_NAME = "room-service"

/** `RoomService` on PostgreSQL; needs a `SqlClient`. */
export const RoomServiceLive = RoomService.layer.pipe(Layer.provide(PgRoomRepository))


/** The room-service process; needs `ServerConfig`, `Draining` and a `SqlClient`. */
export const roomServiceApp = serve(Layer.mergeAll(rpcRoutes(RoomRpcs, SERVICE_NAME), healthRoutes(SERVICE_NAME, [postgresReady]))).pipe(
  Layer.provide(RoomHandlersLive),
  Layer.provide(RoomServiceLive)
)
