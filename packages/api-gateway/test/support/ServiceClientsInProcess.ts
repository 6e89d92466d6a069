/**
 * The backend services answering the gateway in process, as in `pylon dev`: room, chat and
 * notifications on the test database, presence on an in-memory store (its Redis store has its
 * own contract tests).
 * They need SqlClient and RealtimeBus from the caller.
 */
import { Layer } from "effect"
import { ChatRpcs } from "@pylon/contracts/ChatRpcs"
import { NotificationRpcs } from "@pylon/contracts/NotificationRpcs"
import { PresenceRpcs } from "@pylon/contracts/PresenceRpcs"
import { RoomRpcs } from "@pylon/contracts/RoomRpcs"
import { inProcessClientLayer } from "@pylon/platform/rpc/InternalRpc"
import { ChatClient, NotificationsClient, PresenceClient, RoomsClient } from "../../src/clients/ServiceClients.ts"
import { ChatHandlersLive } from "@pylon/chat-service/ChatHandlers"
import { ChatServiceLive } from "@pylon/chat-service/ChatServiceApp"
import { NotificationHandlersLive } from "@pylon/notification-service/NotificationHandlers"
import { NotificationServiceLive } from "@pylon/notification-service/NotificationServiceApp"
import * as MemoryPresenceStore from "@pylon/presence-service/MemoryPresenceStore"
import { PresenceLive } from "@pylon/presence-service/PresenceServiceApp"
import { RoomHandlersLive } from "@pylon/room-service/RoomHandlers"
import { RoomServiceLive } from "@pylon/room-service/RoomServiceApp"

export const roomsInProcess = inProcessClientLayer(RoomsClient, RoomRpcs).pipe(
  Layer.provide(RoomHandlersLive),
  Layer.provide(RoomServiceLive)
)

export const chatInProcess = inProcessClientLayer(ChatClient, ChatRpcs).pipe(
  Layer.provide(ChatHandlersLive),
  Layer.provide(ChatServiceLive)
)

export const presenceInProcess = inProcessClientLayer(PresenceClient, PresenceRpcs).pipe(
  Layer.provide(PresenceLive),
  Layer.provide(MemoryPresenceStore.layer)
)

/** The notification service's RPCs in process (its consumer is not started here). */
export const notificationsInProcess = inProcessClientLayer(NotificationsClient, NotificationRpcs).pipe(
  Layer.provide(NotificationHandlersLive),
  Layer.provide(NotificationServiceLive)
)
