/**
 * The notification service's Layer graph.
 * - `NotificationServiceLive`: the domain on PostgreSQL (needs `SqlClient` and a `RealtimeBus` for
 *   live delivery).
 * - `NotificationConsumerLive` (NotificationConsumer.ts): the supervised consumer; needs an
 *   `EventConsumer` (`KafkaEventConsumer` or `MemoryEventConsumer`), an `EventPublisher` for the
 *   dead-letter topic and `NotificationConfig`.
 * - `KafkaNotificationConsumer`: the Kafka `EventConsumer` with the group timings of
 *   `NotificationConfig`.
 * - `notificationServiceApp(checks)`: the process (`pylon notification`, port 9004):
 *   `NotificationRpcs` at `/rpc`, `/health`, `/ready` (PostgreSQL, the event log, plus `checks`)
 *   and `/metrics`, next to the consumer. Embedded mode skips the server: it answers
 *   `NotificationsClient` in process from `NotificationHandlersLive` and runs the same consumer
 *   on the in-memory bus.
 */
import { postgresReady } from "@pylon/platform/http/ReadinessChecks"
import { Layer } from "effect"
import type { SqlClient } from "effect/sql/SqlClient"
import { NotificationRpcs } from "@pylon/contracts/NotificationRpcs"
import { healthRoutes } from "@pylon/platform/http/HealthRoutes"
import { serve } from "@pylon/platform/http/HttpServerLive"
import type { ReadinessCheck } from "@pylon/platform/http/HealthRoutes"
import { rpcRoutes } from "@pylon/platform/rpc/InternalRpc"
import type { KafkaClient } from "@pylon/platform/kafka/Kafka"
import { EventConsumer } from "./EventConsumer.ts"
import * as KafkaEventConsumer from "./KafkaEventConsumer.ts"
import { NotificationConfig } from "./NotificationConfig.ts"
import { NotificationConsumerLive } from "./NotificationConsumer.ts"
import { NotificationHandlersLive } from "./NotificationHandlers.ts"
import { NotificationService } from "./NotificationService.ts"
import { PgNotificationRepository } from "./PgNotificationRepository.ts"
import { RoomDirectory } from "./RoomDirectory.ts"

export const SERVICE_NAME = "notification-service"

/** `NotificationService` on PostgreSQL; needs `SqlClient` and `RealtimeBus`. */
export const NotificationServiceLive = NotificationService.layer.pipe(
  Layer.provide([PgNotificationRepository, RoomDirectory.layer])
)

/** The Kafka `EventConsumer` with the session timeout and heartbeat of `NotificationConfig`. */
export const KafkaNotificationConsumer: Layer.Layer<EventConsumer, never, KafkaClient | NotificationConfig> = Layer.unwrap(
  NotificationConfig.useSync((settings) =>
    KafkaEventConsumer.layerWith({
      sessionTimeout: settings.sessionTimeout,
      heartbeatInterval: settings.heartbeatInterval
    })
  )
)

const eventLogReady: ReadinessCheck<EventConsumer> = {
  name: "event-log",
  check: EventConsumer.use((consumer) => consumer.ready)
}

/**
 * The notification-service process; needs `ServerConfig`, `Draining`, `SqlClient`, `RealtimeBus`,
 * `EventConsumer`, `EventPublisher` and `NotificationConfig` (plus what `extraChecks` need).
 */
export const notificationServiceApp = <R = never>(extraChecks: ReadonlyArray<ReadinessCheck<R>> = []) => {
  const checks: ReadonlyArray<ReadinessCheck<SqlClient | EventConsumer | R>> = [postgresReady, eventLogReady, ...extraChecks]
  return Layer.mergeAll(
    serve(Layer.mergeAll(rpcRoutes(NotificationRpcs, SERVICE_NAME), healthRoutes(SERVICE_NAME, checks))),
    NotificationConsumerLive
  ).pipe(
    Layer.provide(NotificationHandlersLive),
    Layer.provide(NotificationServiceLive)
  )
}
