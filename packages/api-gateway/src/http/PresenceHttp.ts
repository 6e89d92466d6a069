/**
 * `GET /api/v1/rooms/{id}/presence`: every member's presence, for a member of the room (the
 * snapshot a client shows before live `presence` frames arrive). The room id is decoded with the
 * contract Schema (400), the presence service's `GetRoomPresence` checks membership (403 for a
 * non-member, 404 for an unknown room, as on the other room routes), and the answer is the
 * contract's `RoomPresenceResponse`.
 */
import { Effect } from "effect"
import { RoomId } from "@pylon/contracts/Ids"
import { RoomPresenceResponse } from "@pylon/contracts/Presence"
import { respondWith } from "@pylon/platform/http/HttpEnvelope"
import { decodePathParam } from "@pylon/platform/http/HttpRequestDecoding"
import { PresenceClient } from "../clients/ServiceClients.ts"
import { authenticatedResource, CurrentUser } from "./Authentication.ts"
import { failWithRpcError } from "./HttpErrors.ts"

export const PresenceRoutes = authenticatedResource("/api/v1/rooms/:id/presence", {
  GET: Effect.gen(function*() {
    const claims = yield* CurrentUser
    const roomId = yield* decodePathParam("id", RoomId)
    const presence = yield* (yield* PresenceClient).GetRoomPresence({ user_id: claims.sub, room_id: roomId }).pipe(failWithRpcError)
    return yield* respondWith(RoomPresenceResponse, { presence })
  })
})
