/**
 * `pylon dev` / `npm start`: the whole system in one process with no infrastructure.
 * PGlite (data in PYLON_DATA_DIR, default ./.pylon/data/pglite) served over the Postgres wire
 * protocol, migrations applied on start, in-memory rate limits.
 */
import { Effect, Layer } from "effect"
import { ChatClient, RoomsClient } from "@pylon/api-gateway/clients/ServiceClients"
import { gatewayApp } from "@pylon/api-gateway/GatewayLive"
import { ChatHandlersLive, ChatServiceLive } from "@pylon/chat-service"
import { ChatRpcs } from "@pylon/contracts/ChatRpcs"
import { RoomRpcs } from "@pylon/contracts/RoomRpcs"
import { boundPort } from "@pylon/platform/HttpServerLive"
import { embeddedDatabaseLayer, EmbeddedPostgres } from "@pylon/platform/EmbeddedPostgres"
import { inProcessClientLayer } from "@pylon/platform/InternalRpc"
import * as MemoryRateLimiter from "@pylon/platform/MemoryRateLimiter"
import * as MemoryRoomBus from "@pylon/platform/MemoryRoomBus"
import { Migrations } from "@pylon/platform/Migrations"
import { ServerConfig } from "@pylon/platform/ServerConfig"
import { RoomHandlersLive, RoomServiceLive } from "@pylon/room-service"

const announce = Layer.effectDiscard(Effect.gen(function*() {
  const port = yield* boundPort
  const database = yield* EmbeddedPostgres
  const url = `http://localhost:${port}`
  yield* Effect.logInfo(`embedded PostgreSQL (PGlite) data in ${database.dataDir}`)
  yield* Effect.logInfo(`Pylon is listening on ${url}`)
}))

const Database = Layer.provideMerge(Migrations, embeddedDatabaseLayer())

/** The room service answering the gateway in process, on the same database. */
const RoomsInProcess = inProcessClientLayer(RoomsClient, RoomRpcs).pipe(
  Layer.provide(RoomHandlersLive),
  Layer.provide(RoomServiceLive)
)

/** The chat service answering the gateway in process, on the same database. */
const ChatInProcess = inProcessClientLayer(ChatClient, ChatRpcs).pipe(
  Layer.provide(ChatHandlersLive),
  Layer.provide(ChatServiceLive)
)

export const devLayer = announce.pipe(
  Layer.provideMerge(gatewayApp()),
  Layer.provide([RoomsInProcess, ChatInProcess]),
  Layer.provide([MemoryRateLimiter.layer, MemoryRoomBus.layer, ServerConfig.fromEnv()]),
  Layer.provideMerge(Database)
)
