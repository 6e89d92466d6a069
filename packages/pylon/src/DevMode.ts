/**
 * `pylon dev` / `npm start`: the whole system in one process with no infrastructure.
 * PGlite (data in PYLON_DATA_DIR, default ./.pylon/data/pglite) served over the Postgres wire
 * protocol, migrations applied on start; in-memory twins for rate limits, the realtime bus, presence
 * and the event bus; every service's Layer graph in process, reached through in-process RPC.
 * One `MemoryEventBus` instance carries `message-events` from the outbox relay to the
 * notification consumer (the same consumer code as `pylon notification`, on the in-memory bus).
 */
import { Effect, Layer } from "effect"
import { ChatClient, NotificationsClient, PresenceClient, RoomsClient } from "@pylon/api-gateway/clients/ServiceClients"
import { gatewayApp } from "@pylon/api-gateway/GatewayLive"
import { ChatHandlersLive } from "@pylon/chat-service/ChatHandlers"
import { ChatServiceLive } from "@pylon/chat-service/ChatServiceApp"
import { OutboxRelayLive } from "@pylon/chat-service/outbox/OutboxRelay"
import { NotificationRpcs } from "@pylon/contracts/NotificationRpcs"
import { PresenceRpcs } from "@pylon/contracts/PresenceRpcs"
import { MemoryEventBus } from "@pylon/platform/events/MemoryEventBus"
import * as MemoryEventConsumer from "@pylon/notification-service/MemoryEventConsumer"
import { NotificationConfig } from "@pylon/notification-service/NotificationConfig"
import { NotificationConsumerLive } from "@pylon/notification-service/NotificationConsumer"
import { NotificationHandlersLive } from "@pylon/notification-service/NotificationHandlers"
import { NotificationServiceLive } from "@pylon/notification-service/NotificationServiceApp"
import * as MemoryPresenceStore from "@pylon/presence-service/MemoryPresenceStore"
import { PresenceLive } from "@pylon/presence-service/PresenceServiceApp"
import { ChatRpcs } from "@pylon/contracts/ChatRpcs"
import { RoomRpcs } from "@pylon/contracts/RoomRpcs"
import { boundPort } from "@pylon/platform/http/HttpServerLive"
import { embeddedDatabaseLayer, EmbeddedPostgres } from "@pylon/platform/sql/EmbeddedPostgres"
import { inProcessClientLayer } from "@pylon/platform/rpc/InternalRpc"
import * as MemoryRateLimiter from "@pylon/platform/ratelimit/MemoryRateLimiter"
import * as MemoryRealtimeBus from "@pylon/platform/bus/MemoryRealtimeBus"
import { Migrations } from "@pylon/platform/sql/Migrations"
import { ServerConfig } from "@pylon/platform/http/ServerConfig"
import { RoomHandlersLive } from "@pylon/room-service/RoomHandlers"
import { RoomServiceLive } from "@pylon/room-service/RoomServiceApp"

const announce = Layer.effectDiscard(Effect.gen(function*() {
  const port = yield* boundPort
  const database = yield* EmbeddedPostgres
  const { host } = yield* ServerConfig
  const url = `http://${host === "0.0.0.0" || host === "::" ? "localhost" : host}:${port}`
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

/** Presence in process: leases in memory, changes on the in-memory realtime bus. */
const PresenceInProcess = inProcessClientLayer(PresenceClient, PresenceRpcs).pipe(
  Layer.provide(PresenceLive),
  Layer.provide(MemoryPresenceStore.layer)
)

/** The notification service answering the gateway in process, on the same database and realtime bus. */
const NotificationsInProcess = inProcessClientLayer(NotificationsClient, NotificationRpcs).pipe(
  Layer.provide(NotificationHandlersLive),
  Layer.provide(NotificationServiceLive)
)

/**
 * `message-events` in memory: the outbox relay publishes to the bus, the notification consumer
 * (settings from NOTIFICATION_*) reads it, and its DLQ goes to the same bus. Both are given the
 * SAME bus instance, provided once below them.
 */
const EventFlow = Layer.mergeAll(
  OutboxRelayLive,
  NotificationConsumerLive.pipe(
    Layer.provide([NotificationServiceLive, NotificationConfig.layer, MemoryEventConsumer.layer])
  )
).pipe(Layer.provide(MemoryEventBus.layer))

export const devLayer = Layer.mergeAll(announce, EventFlow).pipe(
  Layer.provideMerge(gatewayApp()),
  Layer.provide([RoomsInProcess, ChatInProcess, PresenceInProcess, NotificationsInProcess]),
  // Services answer in process, so only the JWT secret decides where this process may listen.
  Layer.provide([MemoryRateLimiter.layer, MemoryRealtimeBus.layer, ServerConfig.fromEnv({ secretVariables: ["JWT_SECRET"] })]),
  Layer.provideMerge(Database)
)
