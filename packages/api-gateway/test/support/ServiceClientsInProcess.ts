/**
 * The backend services answering the gateway in process, as in `pylon dev`: room, chat and
 * notifications on the test database, presence on an in-memory store (its Redis store has its
 * own contract tests).
 * They need SqlClient and RoomBus from the caller.
 */
import { Layer } from "effect"
import { ChatRpcs } from "@pylon/contracts/ChatRpcs"
import { NotificationRpcs } from "@pylon/contracts/NotificationRpcs"
import { PresenceRpcs } from "@pylon/contracts/PresenceRpcs"
import { RoomRpcs } from "@pylon/contracts/RoomRpcs"
import { inProcessClientLayer } from "@pylon/platform/InternalRpc"
import { ChatClient, NotificationsClient, PresenceClient, RoomsClient } from "../../src/clients/ServiceClients.ts"
import { ChatHandlersLive, ChatServiceLive } from "@pylon/chat-service"
import { NotificationHandlersLive, NotificationServiceLive } from "@pylon/notification-service"
import { MemoryPresenceStore, PresenceLive } from "@pylon/presence-service"
import { RoomHandlersLive, RoomServiceLive } from "@pylon/room-service"

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
