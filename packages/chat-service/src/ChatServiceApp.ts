/**
 * The chat service's Layer graph. `ChatServiceLive` is the domain on PostgreSQL (needs a
 * `SqlClient`); `chatServiceApp` serves its RPC group (`ChatRpcs`) at `/rpc` next to `/health`,
 * `/ready` and `/metrics` (needs `SqlClient` and `ServerConfig`). Embedded mode skips the server and
 * answers `ChatClient` in-process from `ChatHandlersLive` + `ChatServiceLive`.
 */
import { postgresReady } from "@pylon/platform/http/ReadinessChecks"
import { Layer } from "effect"
import { ChatRpcs } from "@pylon/contracts/ChatRpcs"
import { OutboxRelayLive } from "./outbox/OutboxRelay.ts"
import { Draining } from "@pylon/platform/runtime/Draining"
import { healthRoutes } from "@pylon/platform/http/HealthRoutes"
import { serve } from "@pylon/platform/http/HttpServerLive"
import { rpcRoutes } from "@pylon/platform/rpc/InternalRpc"
import { ChatHandlersLive } from "./ChatHandlers.ts"
import { ChatService } from "./ChatService.ts"
import { PgMessageRepository } from "./PgMessageRepository.ts"

export const SERVICE_NAME = "chat-service"

export const ChatServiceLive = ChatService.layer.pipe(Layer.provide(PgMessageRepository))

const routes = Layer.mergeAll(
  rpcRoutes(ChatRpcs, SERVICE_NAME),
  healthRoutes(SERVICE_NAME, [postgresReady])
).pipe(
  Layer.provide(ChatHandlersLive),
  Layer.provide(ChatServiceLive)
)

/**
 * The chat service process: RPC + health on the configured port, and the outbox relay publishing
 * `message-events` through whatever `EventPublisher` the caller provides (Kafka in production).
 * Readiness checks PostgreSQL only: sends must keep working while Kafka is down.
 */
export const chatServiceApp = Layer.mergeAll(serve(routes), OutboxRelayLive).pipe(Layer.provide(Draining.layer))
