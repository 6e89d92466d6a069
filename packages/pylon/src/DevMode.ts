/**
 * `pylon dev` / `npm start`: the whole system in one process with no infrastructure.
 * PGlite (data in PYLON_DATA_DIR, default ./.pylon/data/pglite) served over the Postgres wire
 * protocol, migrations applied on start, in-memory rate limits.
 */
import { Effect, Layer } from "effect"
import { gatewayApp } from "@pylon/api-gateway/GatewayLive"
import { boundPort } from "@pylon/platform/HttpServerLive"
import { embeddedDatabaseLayer, EmbeddedPostgres } from "@pylon/platform/EmbeddedPostgres"
import * as MemoryRateLimiter from "@pylon/platform/MemoryRateLimiter"
import { Migrations } from "@pylon/platform/Migrations"
import { ServerConfig } from "@pylon/platform/ServerConfig"

const announce = Layer.effectDiscard(Effect.gen(function*() {
  const port = yield* boundPort
  const database = yield* EmbeddedPostgres
  const url = `http://localhost:${port}`
  yield* Effect.logInfo(`embedded PostgreSQL (PGlite) data in ${database.dataDir}`)
  yield* Effect.logInfo(`Pylon is listening on ${url}`)
}))

const Database = Layer.provideMerge(Migrations, embeddedDatabaseLayer())

export const devLayer = announce.pipe(
  Layer.provideMerge(gatewayApp()),
  Layer.provide([MemoryRateLimiter.layer, ServerConfig.fromEnv()]),
  Layer.provideMerge(Database)
)
