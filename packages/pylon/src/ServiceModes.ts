/**
 * Each service as its own process on the real infrastructure (microservice topology).
 */
import { redisReady } from "@pylon/platform/http/ReadinessChecks"
import { Layer } from "effect"
import { ChatClient, NotificationsClient, PresenceClient, RoomsClient } from "@pylon/api-gateway/clients/ServiceClients"
import { gatewayApp } from "@pylon/api-gateway/GatewayLive"
import { ChatRpcs } from "@pylon/contracts/ChatRpcs"
import { NotificationRpcs } from "@pylon/contracts/NotificationRpcs"
import { PresenceRpcs } from "@pylon/contracts/PresenceRpcs"
import { RoomRpcs } from "@pylon/contracts/RoomRpcs"
import { KafkaClient, KafkaProducer } from "@pylon/platform/kafka/Kafka"
import * as KafkaEventPublisher from "@pylon/platform/events/KafkaEventPublisher"
import { NotificationConfig } from "@pylon/notification-service/NotificationConfig"
import { KafkaNotificationConsumer, notificationServiceApp } from "@pylon/notification-service/NotificationServiceApp"
import { presenceServiceApp } from "@pylon/presence-service/PresenceServiceApp"
import { DatabaseLive } from "@pylon/platform/sql/Database"
import { rpcClientLayerFromConfig } from "@pylon/platform/rpc/InternalRpc"
import { RedisClient } from "@pylon/platform/redis/Redis"
import * as RedisRateLimiter from "@pylon/platform/ratelimit/RedisRateLimiter"
import * as RedisRealtimeBus from "@pylon/platform/bus/RedisRealtimeBus"
import { INTERNAL_SECRET_VARIABLES } from "@pylon/platform/http/BindPolicy"
import { ServerConfig } from "@pylon/platform/http/ServerConfig"
import { Draining } from "@pylon/platform/runtime/Draining"
import { chatServiceApp } from "@pylon/chat-service/ChatServiceApp"
import { roomServiceApp } from "@pylon/room-service/RoomServiceApp"

/** Where the gateway finds each service's `/rpc` (README: `*_SERVICE_URL`). */
const RoomsRemote = rpcClientLayerFromConfig(RoomsClient, RoomRpcs, "ROOM_SERVICE_URL", "http://127.0.0.1:9003")
const ChatRemote = rpcClientLayerFromConfig(ChatClient, ChatRpcs, "CHAT_SERVICE_URL", "http://127.0.0.1:9001")
const PresenceRemote = rpcClientLayerFromConfig(
  PresenceClient,
  PresenceRpcs,
  "PRESENCE_SERVICE_URL",
  "http://127.0.0.1:9002"
)
const NotificationsRemote = rpcClientLayerFromConfig(
  NotificationsClient,
  NotificationRpcs,
  "NOTIFICATION_SERVICE_URL",
  "http://127.0.0.1:9004"
)

export const gatewayLayer = gatewayApp([redisReady]).pipe(
  Layer.provide([RoomsRemote, ChatRemote, PresenceRemote, NotificationsRemote]),
  Layer.provide([
    RedisRateLimiter.layer,
    RedisRealtimeBus.layer,
    ServerConfig.fromEnv({ secretVariables: ["JWT_SECRET", ...INTERNAL_SECRET_VARIABLES] })
  ]),
  Layer.provide(RedisClient.layer),
  Layer.provide(DatabaseLive)
)

/** `pylon room`: the room service on `APP_PORT` (default 9003), metrics on `METRICS_PORT` (default 9467). */
export const roomLayer = roomServiceApp.pipe(
  Layer.provide([Draining.layer, ServerConfig.fromEnv({ defaultPort: 9003, defaultMetricsPort: 9467 })]),
  Layer.provide(DatabaseLive)
)

/**
 * `pylon chat`: the chat service on `APP_PORT` (default 9001), metrics on `METRICS_PORT` (default 9465),
 * its outbox relay publishing to Kafka.
 */
export const chatLayer = chatServiceApp.pipe(
  Layer.provide([ServerConfig.fromEnv({ defaultPort: 9001, defaultMetricsPort: 9465 }), KafkaEventPublisher.layer]),
  Layer.provide(KafkaProducer.layer),
  Layer.provide(KafkaClient.layer("chat-service")),
  Layer.provide(DatabaseLive)
)

/** `pylon presence`: the presence service on `APP_PORT` (default 9002), metrics on `METRICS_PORT` (default 9466). */
export const presenceLayer = presenceServiceApp.pipe(
  Layer.provide([Draining.layer, ServerConfig.fromEnv({ defaultPort: 9002, defaultMetricsPort: 9466 })]),
  Layer.provide(RedisClient.layer),
  Layer.provide(DatabaseLive)
)

/**
 * `pylon notification`: the notification service on `APP_PORT` (default 9004), metrics on
 * `METRICS_PORT` (default 9468). Its consumer reads
 * `NOTIFICATION_TOPIC` (default message-events) from Kafka, dead-letters to Kafka, and announces
 * notifications on the Redis realtime bus.
 */
export const notificationLayer = notificationServiceApp([redisReady]).pipe(
  Layer.provide([
    Draining.layer,
    ServerConfig.fromEnv({ defaultPort: 9004, defaultMetricsPort: 9468 }),
    KafkaEventPublisher.layer,
    KafkaNotificationConsumer,
    RedisRealtimeBus.layer
  ]),
  Layer.provide([KafkaProducer.layer, NotificationConfig.layer]),
  Layer.provide([KafkaClient.layer("notification-service"), RedisClient.layer]),
  Layer.provide(DatabaseLive)
)
