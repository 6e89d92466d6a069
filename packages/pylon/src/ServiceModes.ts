/**
 * Each service as its own process on the real infrastructure (microservice topology).
 */
import { Config, Effect, Layer } from "effect"
import { ChatClient, RoomsClient } from "@pylon/api-gateway/clients/ServiceClients"
import { gatewayApp } from "@pylon/api-gateway/GatewayLive"
import { ChatRpcs } from "@pylon/contracts/ChatRpcs"
import { RoomRpcs } from "@pylon/contracts/RoomRpcs"
import { DatabaseLive } from "@pylon/platform/Database"
import { rpcClientLayer } from "@pylon/platform/InternalRpc"
import { RedisClient } from "@pylon/platform/Redis"
import * as RedisRateLimiter from "@pylon/platform/RedisRateLimiter"
import * as RedisRoomBus from "@pylon/platform/RedisRoomBus"
import { ServerConfig } from "@pylon/platform/ServerConfig"

const redisReady = {
  name: "redis",
  check: Effect.gen(function*() {
    const redis = yield* RedisClient
    yield* redis.use("ping", (client) => client.ping())
  })
}

/** `ROOM_SERVICE_URL` (default http://127.0.0.1:9003): where the room service's `/rpc` lives. */
const RoomsRemote = Layer.unwrap(Effect.gen(function*() {
  const url = yield* Config.String("ROOM_SERVICE_URL").pipe(Config.withDefault("http://127.0.0.1:9003"))
  return rpcClientLayer(RoomsClient, RoomRpcs, url)
}))

/** `CHAT_SERVICE_URL` (default http://127.0.0.1:9001): where the chat service's `/rpc` lives. */
const ChatRemote = Layer.unwrap(Effect.gen(function*() {
  const url = yield* Config.String("CHAT_SERVICE_URL").pipe(Config.withDefault("http://127.0.0.1:9001"))
  return rpcClientLayer(ChatClient, ChatRpcs, url)
}))

export const gatewayLayer = gatewayApp([redisReady]).pipe(
  Layer.provide([RoomsRemote, ChatRemote]),
  Layer.provide([RedisRateLimiter.layer, RedisRoomBus.layer, ServerConfig.fromEnv()]),
  Layer.provide(RedisClient.layer),
  Layer.provide(DatabaseLive)
)
