/**
 * Connects REST membership changes to live sockets: after a REST leave, every gateway node drops
 * that user's sockets from the room at once (a `kick` on the room channel) and the room's other
 * subscribers get `user_left`.
 */
import { Effect, Layer } from "effect"
import { encodeServerFrame } from "@pylon/contracts/WsFrames"
import { MembershipEvents } from "./MembershipEvents.ts"
import { RoomFanout } from "./RoomFanout.ts"

export const MembershipEventsLive = Layer.effect(
  MembershipEvents,
  Effect.gen(function*() {
    const fanout = yield* RoomFanout
    return {
      left: (userId, roomId) =>
        Effect.andThen(
          fanout.publish(roomId, { kind: "kick", userId }),
          fanout.publish(roomId, {
            kind: "event",
            excludeUserId: undefined,
            json: encodeServerFrame({ type: "user_left", room_id: roomId, user_id: userId })
          })
        )
    }
  })
)
