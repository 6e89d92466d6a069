/**
 * The chat domain (API.md §5, ARCHITECTURE.md "Request paths"): sending a message durably and
 * idempotently, history pages for members (newest first by `before_id`, or catch-up after a
 * `seq`), and the bounded-page replay behind `StreamMessages`. Storage is the
 * `MessageRepository` port; this layer owns the access rules and the cursor semantics.
 */
import { Context, Effect, Layer, Metric, Option, Schema, Stream } from "effect"
import type { GetMessagesPayload, MessagesPageJson, SendMessageResult } from "@pylon/contracts/ChatRpcs"
import { MessageNotFound } from "@pylon/contracts/Errors"
import type { BadRequest, NotRoomMember, RoomNotFound, Unavailable } from "@pylon/contracts/Errors"
import { MessageId } from "@pylon/contracts/Ids"
import type { ClientMsgId, RoomId, UserId } from "@pylon/contracts/Ids"
import { MessagesResponse } from "@pylon/contracts/Messages"
import type { Message, MsgType } from "@pylon/contracts/Messages"
import { messagesSent } from "@pylon/platform/observability/OriginalMetrics"
import { newId } from "@pylon/platform/runtime/IdGenerator"
import { MessageRepository } from "./MessageRepository.ts"

/** `StreamMessages` replays history in pages of this many messages. */
export const STREAM_PAGE_SIZE = 100

export interface SendMessageInput {
  readonly user_id: UserId
  readonly room_id: RoomId
  readonly content: string
  readonly msg_type: MsgType
  readonly client_msg_id: ClientMsgId | null
}

export interface StreamMessagesInput {
  readonly user_id: UserId
  readonly room_id: RoomId
  readonly after_seq: number
}

type RoomAccessError = RoomNotFound | NotRoomMember | Unavailable

// The page is built by our own SQL, so one that does not decode is a bug (a defect).
const decodePage = Schema.decodeEffect(Schema.fromJsonString(MessagesResponse))

export class ChatService extends Context.Service<ChatService, {
  /** Stores the message (or returns the original for a repeated `client_msg_id`). */
  readonly send: (input: SendMessageInput) => Effect.Effect<SendMessageResult, RoomAccessError | BadRequest>
  /**
   * A history page for a member as JSON text, as the database built it (`GetMessagesJson`, the
   * HTTP history route); an unknown (or foreign) `before_id` is `MessageNotFound`.
   */
  readonly getMessagesJson: (
    payload: GetMessagesPayload
  ) => Effect.Effect<MessagesPageJson, RoomAccessError | MessageNotFound>
  /** `getMessagesJson` decoded to `Message`s (WebSocket gap fill, Connect). */
  readonly getMessages: (
    payload: GetMessagesPayload
  ) => Effect.Effect<MessagesResponse, RoomAccessError | MessageNotFound>
  /** Every message with `seq > after_seq`, oldest first, read in bounded pages; then ends. */
  readonly streamMessages: (input: StreamMessagesInput) => Stream.Stream<Message, RoomAccessError>
}>()("pylon/chat/ChatService") {
  static readonly layer = Layer.effect(
    ChatService,
    Effect.gen(function*() {
      const repository = yield* MessageRepository

      const send = Effect.fn("ChatService.send")(function*(input: SendMessageInput) {
        const id = MessageId.make(yield* newId)
        const result = yield* repository.send({
          id,
          room_id: input.room_id,
          sender_id: input.user_id,
          content: input.content,
          msg_type: input.msg_type,
          client_msg_id: input.client_msg_id
        })
        // New messages only (a repeated client_msg_id is not sent twice), by the room's type as
        // the send statement read it (docs/adr/0007-metric-names.md).
        if (result.created) {
          yield* Metric.update(
            Metric.withAttributes(messagesSent, { room_type: result.room_type, message_type: input.msg_type }),
            1
          )
        }
        return { message: result.message, created: result.created }
      })

      // Access check, cursor and page in one repository call (one query).
      const getMessagesJson = Effect.fn("ChatService.getMessagesJson")(function*(payload: GetMessagesPayload) {
        return yield* repository.memberPage(
          payload.room_id,
          payload.user_id,
          { before_id: payload.before_id, after_seq: payload.after_seq },
          payload.limit
        )
      })

      const getMessages = Effect.fn("ChatService.getMessages")(function*(payload: GetMessagesPayload) {
        return yield* Effect.orDie(decodePage(yield* getMessagesJson(payload)))
      })

      const streamMessages = (input: StreamMessagesInput): Stream.Stream<Message, RoomAccessError> =>
        Stream.unwrap(
          repository.requireMember(input.room_id, input.user_id).pipe(
            Effect.as(
              Stream.paginate(input.after_seq, (afterSeq: number) =>
                repository.oldestAfter(input.room_id, afterSeq, STREAM_PAGE_SIZE).pipe(
                  Effect.map((page) => {
                    const last = page.messages.at(-1)
                    const next = page.has_more && last !== undefined ? Option.some(last.seq) : Option.none<number>()
                    return [page.messages, next] as const
                  })
                ))
            )
          )
        ).pipe(Stream.withSpan("ChatService.streamMessages"))

      return ChatService.of({ send, getMessagesJson, getMessages, streamMessages })
    })
  )
}
