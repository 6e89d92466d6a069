/**
 * What each client frame does (API.md §6): `ping` → `pong`; `join`/`leave` → the connection's
 * room subscriptions; `typing` → a throttled, best-effort typing mark and event; `message` → the
 * chat service, then the ack, then (for a new message) the publish on the room channel. Budgets
 * are charged when a frame is planned, in arrival order; a room's frames share the room's lane
 * of the frame pipeline.
 */
import { Effect } from "effect"
import type { ClientMsgId, RoomId } from "@pylon/contracts/Ids"
import type { ClientFrame, SendFrame, ServerFrame } from "@pylon/contracts/WsFrames"
import { ackFrame, encodeServerFrame, messageFrame } from "@pylon/contracts/WsFrames"
import type { ChatClient } from "../clients/ServiceClients.ts"
import type { FrameStep } from "./FramePipeline.ts"
import type { FrameReplies, HandlerError } from "./FrameReplies.ts"
import type { PresenceLeases } from "./PresenceFanout.ts"
import type { RoomSubscriptions } from "./RoomSubscriptions.ts"
import type { SessionBudgets } from "./SessionBudgets.ts"
import type { SessionContext } from "./SessionContext.ts"
import type { TypingThrottle } from "./TypingThrottle.ts"

/** A planned frame: the pipeline lane it runs in (none: it may overlap anything) and its handler. */
export interface FramePlan {
  readonly lane: string | undefined
  readonly handle: (step: FrameStep) => Effect.Effect<void, HandlerError>
}

export interface FrameHandlersOptions {
  readonly context: SessionContext
  readonly rooms: RoomSubscriptions
  readonly chat: ChatClient["Service"]
  readonly leases: PresenceLeases["Service"]
  readonly typingThrottle: TypingThrottle["Service"]
  readonly budgets: SessionBudgets
  readonly replies: (step: FrameStep) => FrameReplies
}

export const makeFrameHandlers = (options: FrameHandlersOptions) => {
  const { budgets, chat, context, replies, rooms } = options
  const { publish, user, withDeadline } = context

  const typing = (roomId: RoomId, step: FrameStep) =>
    Effect.gen(function*() {
      if (!rooms.isJoined(roomId)) return yield* replies(step).error("NOT_JOINED", "join the room first")
      if (!(yield* options.typingThrottle.admit(user.id, roomId))) return
      // Best effort: a typing mark the presence service did not take in time is simply lost.
      yield* withDeadline(options.leases.typing(user.id, roomId)).pipe(Effect.ignore)
      yield* publish(roomId, {
        kind: "event",
        excludeUserId: user.id,
        json: encodeServerFrame({ type: "typing", room_id: roomId, user_id: user.id, username: user.username })
      })
    })

  const message = (frame: SendFrame, step: FrameStep) =>
    Effect.gen(function*() {
      const reply = replies(step)
      const ref = frame.client_msg_id
      if (!rooms.isJoined(frame.room_id)) return yield* reply.error("NOT_JOINED", "join the room first", ref)
      const sent = yield* withDeadline(chat.SendMessage({
        user_id: user.id,
        room_id: frame.room_id,
        content: frame.content,
        msg_type: frame.msg_type,
        client_msg_id: ref ?? null
      })).pipe(Effect.result)
      // Committed (or given up on): the room's next send may start while this one replies.
      yield* step.releaseLane
      if (sent._tag === "Failure") return yield* reply.failure(sent.failure, ref)
      const result = sent.success
      yield* reply.send(ackFrame(result.message))
      // A retry (`created: false`) is re-acked, never re-broadcast: its message was published
      // when it was created, and a lost publish is recovered by the seq gap fill.
      if (!result.created) return
      // After the ack went out, so the sender sees its ack before its own message frame.
      yield* publish(frame.room_id, {
        kind: "message",
        roomId: result.message.room_id,
        seq: result.message.seq,
        json: encodeServerFrame(messageFrame(result.message))
      })
    })

  /** Over a budget: a `RATE_LIMITED` reply in the frame's turn, with no lane. */
  const refuse = (what: string, wait: number, ref?: ClientMsgId): FramePlan => ({
    lane: undefined,
    handle: (step) => replies(step).error("RATE_LIMITED", `${what} rate limit exceeded, retry in ${wait} s`, ref)
  })

  /** A frame answered with `frame` and nothing else (a bad frame's error, say). */
  const immediate = (frame: ServerFrame): FramePlan => ({ lane: undefined, handle: (step) => replies(step).send(frame) })

  /** Charges the frame's budget and says how it is handled. */
  const plan = (frame: ClientFrame): Effect.Effect<FramePlan> =>
    Effect.gen(function*() {
      switch (frame.type) {
        case "ping":
          return immediate({ type: "pong" })
        case "join":
        case "leave": {
          const wait = yield* budgets.take("join")
          if (wait > 0) return refuse(frame.type, wait)
          return {
            lane: frame.room_id,
            handle: (step) =>
              frame.type === "join"
                ? rooms.join(frame.room_id, frame.since_seq, step, replies(step))
                : rooms.leave(frame.room_id, step)
          }
        }
        case "typing": {
          const wait = yield* budgets.take("typing")
          return wait > 0 ? refuse("typing", wait) : { lane: frame.room_id, handle: (step) => typing(frame.room_id, step) }
        }
        case "message": {
          const wait = yield* budgets.take("message")
          return wait > 0
            ? refuse("message", wait, frame.client_msg_id)
            : { lane: frame.room_id, handle: (step) => message(frame, step) }
        }
      }
    })

  return { plan, immediate }
}
