/**
 * The rooms one connection has joined, and the ordering rule of its message frames: each room
 * has a cursor (the last seq sent to this socket). A `join` with `since_seq` replays everything
 * after it from history in pages; messages arriving live meanwhile are buffered and released in
 * seq order after the replay, so the client sees every seq once, in order, with no gap. A replay
 * cut short leaves the room (the client rejoins from the last seq it got); a `kick` (REST leave on
 * any node) stops delivery at once.
 */
import { Cause, Duration, Effect, Schedule } from "effect"
import type { RoomId, UserId } from "@pylon/contracts/Ids"
import { encodeServerFrame, errorFrame, messageFrame } from "@pylon/contracts/WsFrames"
import type { ChatClient, RoomsClient } from "../clients/ServiceClients.ts"
import type { BusEnvelope } from "./BusEnvelope.ts"
import type { FrameStep } from "./FramePipeline.ts"
import type { FrameReplies } from "./FrameReplies.ts"
import { OutgoingFrame } from "./OutgoingFrame.ts"
import type { LocalSubscriber, RoomFanout } from "./RoomFanout.ts"
import type { SessionBudgets } from "./SessionBudgets.ts"
import type { SessionContext } from "./SessionContext.ts"

const REPLAY_PAGE = 100
/** A replay page that failed (chat unavailable, deadline) is read again this many times… */
const REPLAY_RETRIES = 3
/** …after 0.5 s, 1 s, 2 s. */
const REPLAY_RETRY_DELAY = Duration.millis(500)
const MAX_PENDING_DURING_REPLAY = 10_000

interface JoinedRoom {
  cursor: number
  replaying: boolean
  pending: Array<{ readonly seq: number; readonly frame: OutgoingFrame }>
}

export interface RoomSubscriptionsOptions {
  readonly context: SessionContext
  readonly fanout: RoomFanout["Service"]
  readonly rooms: RoomsClient["Service"]
  readonly chat: ChatClient["Service"]
  readonly budgets: SessionBudgets
  /** More live messages waited during a replay than a connection may buffer. */
  readonly onOverflow: () => void
}

export const makeRoomSubscriptions = (options: RoomSubscriptionsOptions) => {
  const { budgets, chat, context, fanout } = options
  const { connectionId, output, publish, user, withDeadline } = context
  const joined = new Map<RoomId, JoinedRoom>()

  const subscriber: LocalSubscriber = {
    connectionId,
    userId: user.id,
    onMessage: (roomId, seq, _json, frame) => {
      const room = joined.get(roomId)
      if (room === undefined) return
      if (room.replaying) {
        room.pending.push({ seq, frame })
        if (room.pending.length > MAX_PENDING_DURING_REPLAY) options.onOverflow()
        return
      }
      if (seq <= room.cursor) return
      room.cursor = seq
      output.enqueue(frame)
    },
    onEvent: (roomId, _json, frame) => {
      if (joined.has(roomId)) output.enqueue(frame)
    },
    onKicked: (roomId) => {
      joined.delete(roomId)
    }
  }

  const userLeft = (roomId: RoomId, excludeUserId: UserId | undefined): BusEnvelope => ({
    kind: "event",
    excludeUserId,
    json: encodeServerFrame({ type: "user_left", room_id: roomId, user_id: user.id })
  })

  const join = (roomId: RoomId, sinceSeq: number | undefined, step: FrameStep, reply: FrameReplies) =>
    Effect.gen(function*() {
      const membership = yield* withDeadline(options.rooms.CheckMembership({ user_id: user.id, room_id: roomId }))
      if (membership.role === null) return yield* reply.error("FORBIDDEN", "not a member of this room")
      if (sinceSeq !== undefined) {
        // Replay pages are charged to the history budget up front, so a refused join changes nothing.
        const pages = Math.ceil(Math.max(0, membership.last_seq - sinceSeq) / REPLAY_PAGE)
        const wait = yield* budgets.take("history", pages)
        if (wait > 0) return yield* reply.error("RATE_LIMITED", `history rate limit exceeded, retry in ${wait} s`)
      }
      // From here on this frame writes straight to the socket: wait until the frames before it are answered.
      yield* step.turn
      const already = joined.get(roomId)
      const room: JoinedRoom = already ?? {
        cursor: sinceSeq ?? membership.last_seq,
        replaying: sinceSeq !== undefined,
        pending: []
      }
      if (already !== undefined && sinceSeq !== undefined) {
        room.replaying = true
        room.cursor = Math.min(room.cursor, sinceSeq)
      }
      joined.set(roomId, room)
      yield* fanout.subscribe(subscriber, roomId, membership.last_seq)
      output.sendFrame({ type: "user_joined", room_id: roomId, user, last_seq: membership.last_seq })
      yield* publish(roomId, {
        kind: "event",
        excludeUserId: user.id,
        json: encodeServerFrame({ type: "user_joined", room_id: roomId, user })
      })
      if (!room.replaying) return
      yield* replay(roomId, room).pipe(
        // A replay resumes from the room's cursor, so a failed page is simply read again (live
        // messages keep waiting in `pending`, bounded).
        Effect.retry({ times: REPLAY_RETRIES, schedule: Schedule.exponential(REPLAY_RETRY_DELAY) }),
        // Still cut short: that would leave a hole before the live messages, so leave the room and
        // say so on this socket (`user_left` for itself, carrying the last seq it was sent); the
        // client rejoins with that seq. (Interrupted: the session is closing and leaves every room itself.)
        Effect.onError((cause) => Cause.hasInterruptsOnly(cause) ? Effect.void : abandon(roomId, room))
      )
    })

  /** Everything after the room's cursor in pages, then what arrived live meanwhile. */
  const replay = (roomId: RoomId, room: JoinedRoom) =>
    Effect.gen(function*() {
      let more = true
      while (more) {
        const page = yield* withDeadline(
          chat.GetMessages({ user_id: user.id, room_id: roomId, limit: REPLAY_PAGE, after_seq: room.cursor })
        )
        for (const message of page.messages) {
          if (message.seq > room.cursor) {
            room.cursor = message.seq
            yield* output.enqueueWaiting(new OutgoingFrame(encodeServerFrame(messageFrame(message))))
          }
        }
        more = page.has_more && page.messages.length > 0
      }
      for (const item of room.pending.sort((a, b) => a.seq - b.seq)) {
        if (item.seq > room.cursor) {
          room.cursor = item.seq
          yield* output.enqueueWaiting(item.frame)
        }
      }
      room.pending = []
      room.replaying = false
    })

  const abandon = (roomId: RoomId, room: JoinedRoom) =>
    Effect.gen(function*() {
      if (joined.get(roomId) !== room) return
      joined.delete(roomId)
      yield* fanout.unsubscribe(connectionId, roomId)
      output.sendFrame({ type: "user_left", room_id: roomId, user_id: user.id, last_seq: room.cursor })
      yield* publish(roomId, userLeft(roomId, undefined))
    })

  const leave = (roomId: RoomId, step: FrameStep) =>
    Effect.gen(function*() {
      yield* step.turn
      if (!joined.delete(roomId)) return output.sendFrame(errorFrame("NOT_JOINED", "not joined to this room"))
      yield* fanout.unsubscribe(connectionId, roomId)
      yield* publish(roomId, userLeft(roomId, undefined))
    })

  /** The connection is closing: leave every room (the user's other sockets are not told). */
  const leaveAll = Effect.gen(function*() {
    for (const roomId of [...joined.keys()]) {
      joined.delete(roomId)
      yield* fanout.unsubscribe(connectionId, roomId)
      yield* publish(roomId, userLeft(roomId, user.id))
    }
  })

  return { join, leave, leaveAll, isJoined: (roomId: RoomId) => joined.has(roomId) }
}

export type RoomSubscriptions = ReturnType<typeof makeRoomSubscriptions>
