/**
 * `ChatService/StreamMessages`: the room's stored messages with `seq > after_seq` (0: the whole
 * room; unset, as the original clients send it: none, the stream starts at the room's position
 * when it opens — what the original served), then live ones from any gateway node, each seq
 * exactly once and in order — the rule of the WebSocket `join` with `since_seq`
 * (RoomSubscriptions.ts), on a live room stream
 * (LiveRoomStream.ts). The node subscribes first and replays after, so nothing committed in
 * between is missed: live messages arriving during the replay wait (at most
 * MAX_PENDING_DURING_REPLAY) and are released after it, those the replay already sent dropped.
 *
 * The replay goes at the reader's pace, one page of REPLAY_PAGE at a time, each page spending one
 * unit of the user's REST `history` budget (an exhausted budget ends the stream with
 * `resource_exhausted`; the client resumes later from the last seq it got). A page that fails
 * (chat unavailable) is read again REPLAY_RETRIES times, then the stream ends with `unavailable`.
 */
import { Duration, Effect, Schedule, Schema, Stream } from "effect"
import type { AccessTokenClaims } from "@pylon/contracts/Auth"
import type { Message } from "@pylon/contracts/Messages"
import { MessageFrame } from "@pylon/contracts/WsFrames"
import { HttpFailure } from "@pylon/platform/http/HttpEnvelope"
import type { RateLimitConfig } from "@pylon/platform/ratelimit/RateLimitConfig"
import type { RateLimiter } from "@pylon/platform/ratelimit/RateLimiter"
import type * as ChatPb from "@pylon/proto-gen/chat/v1/chat"
import { ChatClient } from "../clients/ServiceClients.ts"
import { failWithRpcError } from "../http/HttpErrors.ts"
import { spendBudget } from "./ConnectBridge.ts"
import { liveRoomStream, slowReader } from "./LiveRoomStream.ts"
import { ChatMapping } from "./ProtoMapping.ts"

const REPLAY_PAGE = 100
const REPLAY_RETRIES = 3
const REPLAY_RETRY_DELAY = Duration.millis(500)
export const MAX_PENDING_DURING_REPLAY = 10_000

/** A stored message (replay) or the JSON `message` frame the fan-out delivers (live). */
type Item = Message | string

const decodeFrame = Schema.decodeUnknownEffect(Schema.fromJsonString(MessageFrame))

const messageOfFrame = (frame: MessageFrame): Message => ({
  id: frame.message_id,
  room_id: frame.room_id,
  seq: frame.seq,
  sender: frame.sender,
  content: frame.content,
  msg_type: frame.msg_type,
  client_msg_id: frame.client_msg_id,
  created_at: frame.created_at
})

const toProto = (item: Item): Effect.Effect<ChatPb.Message, HttpFailure> =>
  typeof item === "string"
    ? decodeFrame(item).pipe(
      Effect.map((frame) => ChatMapping.messageToProto(messageOfFrame(frame))),
      // Frames on the bus are written by gateways from stored messages: one that does not decode is a bug.
      Effect.catch((error) =>
        Effect.andThen(
          Effect.logError("undecodable message frame on the room bus", error),
          Effect.fail(HttpFailure.of("internal_error", "internal error"))
        )
      )
    )
    : Effect.succeed(ChatMapping.messageToProto(item))

export const streamMessages = (payload: ChatMapping.StreamMessagesPayload, claims: AccessTokenClaims) =>
  liveRoomStream<Item, ChatClient | RateLimiter | RateLimitConfig>(
    claims,
    payload.room_id,
    (sink, membership) =>
      Effect.gen(function*() {
        const chat = yield* ChatClient
        // Without `after_seq` the replay still runs from the room's position at the membership
        // check, so what is committed before the subscription is not missed.
        let cursor = payload.after_seq ?? membership.last_seq
        let replaying = true
        const pending: Array<{ readonly seq: number; readonly json: string }> = []

        const emit = (seq: number, item: Item) =>
          Effect.suspend(() => {
            if (seq <= cursor) return Effect.void
            cursor = seq
            return sink.offer(item)
          })

        const replayPage = Effect.gen(function*() {
          yield* spendBudget("history", claims.sub)
          return yield* chat.GetMessages({
            user_id: claims.sub,
            room_id: payload.room_id,
            limit: REPLAY_PAGE,
            after_seq: cursor
          }).pipe(
            failWithRpcError,
            // Resumes from the cursor, so a failed page is simply read again.
            Effect.retry({
              times: REPLAY_RETRIES,
              schedule: Schedule.exponential(REPLAY_RETRY_DELAY),
              while: (failure) => failure.code === "service_unavailable"
            })
          )
        })

        const replay = Effect.gen(function*() {
          let more = true
          while (more) {
            const page = yield* replayPage
            for (const message of page.messages) yield* emit(message.seq, message)
            more = page.has_more && page.messages.length > 0
          }
          // What arrived live meanwhile, in seq order; more may arrive while these are offered.
          while (pending.length > 0) {
            const batch = pending.splice(0).sort((a, b) => a.seq - b.seq)
            for (const item of batch) yield* emit(item.seq, item.json)
          }
          replaying = false
        })

        return {
          onMessage: (seq: number, json: string) => {
            if (replaying) {
              pending.push({ seq, json })
              if (pending.length > MAX_PENDING_DURING_REPLAY) sink.fail(slowReader(MAX_PENDING_DURING_REPLAY))
              return
            }
            if (seq <= cursor) return
            cursor = seq
            sink.push(json)
          },
          run: replay
        }
      })
  ).pipe(Stream.mapEffect(toProto))
