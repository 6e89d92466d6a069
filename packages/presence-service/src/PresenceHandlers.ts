/** `PresenceRpcs` handlers: each RPC is one `PresenceService` call on the payload's user. */
import { Effect } from "effect"
import { PresenceRpcs } from "@pylon/contracts/PresenceRpcs"
import { PresenceService } from "./PresenceService.ts"

export const PresenceHandlersLive = PresenceRpcs.toLayer(Effect.gen(function*() {
  const presence = yield* PresenceService
  return PresenceRpcs.of({
    SetOnline: ({ connection_id, user_id }) => presence.setOnline(user_id, connection_id),
    SetOffline: ({ connection_id, user_id }) => presence.setOffline(user_id, connection_id),
    SetTyping: ({ room_id, user_id }) => presence.setTyping(user_id, room_id),
    GetPresence: ({ target_user_ids }) => presence.getPresence(target_user_ids),
    GetRoomPresence: ({ room_id, user_id }) => presence.getRoomPresence(user_id, room_id)
  })
}))
