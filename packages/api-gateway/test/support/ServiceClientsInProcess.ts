/**
 * The backend services answering the gateway in process, as in `pylon dev`: room and chat on the
 * test database, presence on an in-memory store (its Redis store has its own contract tests).
 * They need SqlClient and RoomBus from the caller.
 */
import { Layer } from "effect"
import { ChatRpcs } from "@pylon/contracts/ChatRpcs"
import { PresenceRpcs } from "@pylon/contracts/PresenceRpcs"
import { RoomRpcs } from "@pylon/contracts/RoomRpcs"
import { inProcessClientLayer } from "@pylon/platform/InternalRpc"
import { ChatClient, PresenceClient, RoomsClient } from "../../src/clients/ServiceClients.ts"
import { ChatHandlersLive, ChatServiceLive } from "../../../chat-service/src/index.ts"
import { MemoryPresenceStore, PresenceLive } from "../../../presence-service/src/index.ts"
import { RoomHandlersLive, RoomServiceLive } from "../../../room-service/src/index.ts"

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
