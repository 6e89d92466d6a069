/**
 * The gateway's view of the other services: RPC clients derived from the contract groups.
 * Microservice mode provides them over HTTP (`rpcClientLayer`), embedded mode in-process
 * (`inProcessClientLayer`); gateway code cannot tell the difference.
 */
import { Context } from "effect"
import type { RpcClient, RpcClientError } from "effect/rpc"
import type { ChatRpcs } from "@pylon/contracts/ChatRpcs"
import type { NotificationRpcs } from "@pylon/contracts/NotificationRpcs"
import type { PresenceRpcs } from "@pylon/contracts/PresenceRpcs"
import type { RoomRpcs } from "@pylon/contracts/RoomRpcs"

export class RoomsClient extends Context.Service<
  RoomsClient,
  RpcClient.FromGroup<typeof RoomRpcs, RpcClientError.RpcClientError>
>()("pylon/gateway/RoomsClient") {}

export class ChatClient extends Context.Service<
  ChatClient,
  RpcClient.FromGroup<typeof ChatRpcs, RpcClientError.RpcClientError>
>()("pylon/gateway/ChatClient") {}

export class PresenceClient extends Context.Service<
  PresenceClient,
  RpcClient.FromGroup<typeof PresenceRpcs, RpcClientError.RpcClientError>
>()("pylon/gateway/PresenceClient") {}

export class NotificationsClient extends Context.Service<
  NotificationsClient,
  RpcClient.FromGroup<typeof NotificationRpcs, RpcClientError.RpcClientError>
>()("pylon/gateway/NotificationsClient") {}
