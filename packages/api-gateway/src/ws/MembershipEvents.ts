/**
 * The port between REST membership changes and live sockets (API.md §4: "Leaving unsubscribes the
 * user's live sockets from the room"): the REST (and Connect) leave calls `left`; the WebSocket
 * layer provides the implementation (`MembershipEventsLive.ts`). A no-op where no WebSocket layer
 * runs.
 */
import { Context, Effect } from "effect"
import type { RoomId, UserId } from "@pylon/contracts/Ids"

export interface MembershipEventsShape {
  /** The user is no longer a member of the room: their live sockets must stop receiving it. */
  readonly left: (userId: UserId, roomId: RoomId) => Effect.Effect<void>
}

export const MembershipEvents = Context.Reference<MembershipEventsShape>("pylon/gateway/MembershipEvents", {
  defaultValue: () => ({ left: () => Effect.void })
})
