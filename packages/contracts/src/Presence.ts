/** Presence: who is online (a lease per connection) and the values presence RPCs return. */
import { Schema } from "effect"
import { UserId } from "./Ids.ts"
import { Timestamp } from "./Time.ts"

export const PresenceStatus = Schema.Literals(["online", "offline"])
export type PresenceStatus = typeof PresenceStatus.Type

/** One WebSocket connection, as named by the gateway node that holds it. */
export const ConnectionId = Schema.String.check(
  Schema.isBetweenLength(1, 128, { message: "must be 1–128 characters" })
).pipe(Schema.brand("ConnectionId"))
export type ConnectionId = typeof ConnectionId.Type

export const UserPresence = Schema.Struct({
  user_id: UserId,
  status: PresenceStatus,
  /** When the user's last connection closed; `null` while online or if never seen. */
  last_seen_at: Schema.NullOr(Timestamp)
})
export type UserPresence = typeof UserPresence.Type

/** `GET /api/v1/rooms/{id}/presence`: every member's status (members only). */
export const RoomPresenceResponse = Schema.Struct({ presence: Schema.Array(UserPresence) })
export type RoomPresenceResponse = typeof RoomPresenceResponse.Type
