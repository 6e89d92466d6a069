/**
 * `MessageRepository.send` with group commit: concurrent sends to the same room are stored
 * together by one statement (`PgSendBatch`), at most one batch per room in flight per process
 * (`GroupCommit`), so a hot room costs one round trip per batch, not one transaction of several
 * round trips per message with the room row lock held across them.
 *
 * Per-send guarantees are those of a send on its own: each item gets its own result (a
 * non-member's refusal, or a value PostgreSQL refuses, fails only that send — a batch that
 * fails on a refused value is re-run one send at a time to find it); a repeated
 * `(room_id, sender_id, client_msg_id)` — earlier, or twice in the same batch — returns the
 * original with `created: false`; the ack (this effect's success) comes only after commit.
 */
import { DateTime, Effect, Exit, Option } from "effect"
import { HttpTraceContext } from "effect/http"
import type { SqlClient } from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import { NotRoomMember, RoomNotFound } from "@pylon/contracts/Errors"
import type { BadRequest, Unavailable } from "@pylon/contracts/Errors"
import { encodeMessageCreatedEvent, messageCreatedEventOf } from "@pylon/contracts/Events"
import { EventId } from "@pylon/contracts/Ids"
import type { RoomId } from "@pylon/contracts/Ids"
import { Message } from "@pylon/contracts/Messages"
import { currentLocalSpan } from "@pylon/platform/observability/CurrentSpan"
import { newId } from "@pylon/platform/runtime/IdGenerator"
import { sqlFailureToDomainError } from "@pylon/platform/sql/SqlFailures"
import { makeGroupCommit } from "./GroupCommit.ts"
import type { NewMessage, StoredSend } from "./MessageRepository.ts"
import { storeSendBatch } from "./PgSendBatch.ts"
import type { BatchItem, BatchOutcome } from "./PgSendBatch.ts"

/** Most sends stored by one statement; more wait for the room's next batch. */
export const MAX_SEND_BATCH = 128

/** Times a batch is re-run after another process stored one of its idempotency keys first. */
const KEY_RACE_RETRIES = 5

export type SendError = RoomNotFound | NotRoomMember | BadRequest | Unavailable
type SendExit = Exit.Exit<StoredSend, SendError>

/** The W3C trace context (plus b3) of the current span, for the outbox row's Kafka headers. */
const traceHeaders = Effect.map(
  currentLocalSpan,
  Option.match({ onNone: () => ({}), onSome: (span): Record<string, string> => ({ ...HttpTraceContext.toHeaders(span) }) })
)

const toExit = (room_id: RoomId) => (outcome: BatchOutcome): SendExit => {
  switch (outcome._tag) {
    case "Created":
      return Exit.succeed({ message: outcome.message, created: true, room_type: outcome.room_type })
    case "Existing":
      return Exit.succeed({ message: outcome.message, created: false, room_type: outcome.room_type })
    case "NotMember":
      return Exit.fail(new NotRoomMember({ room_id }))
    case "NoRoom":
      return Exit.fail(new RoomNotFound({ room_id }))
  }
}

const isKeyRace = (error: SqlError) => error.reason._tag === "UniqueViolation"

/** The batched `send` (and how many sends of a room wait for its next batch); batch fibers live in the current scope. */
export const makeBatchedSend = Effect.fnUntraced(function*(sql: SqlClient) {
  /** Stores distinct-key sends of one room; a refused value fails only its own send. */
  const storeDistinct = (room_id: RoomId, items: ReadonlyArray<BatchItem>): Effect.Effect<ReadonlyArray<SendExit>, SendError> =>
    storeSendBatch(sql, room_id, items).pipe(
      // Another process committed one of these keys between our lookup and insert: the
      // statement stored nothing and took no seq; run again, and the lookup now finds it.
      Effect.retry({ times: KEY_RACE_RETRIES, while: isKeyRace }),
      sqlFailureToDomainError,
      Effect.map((outcomes) => outcomes.map(toExit(room_id))),
      Effect.catchTag("BadRequest", (refused) =>
        items.length === 1
          ? Effect.fail(refused)
          : Effect.forEach(items, (item) =>
            Effect.exit(storeDistinct(room_id, [item])).pipe(
              Effect.map((exit): SendExit => Exit.isSuccess(exit) ? (exit.value[0] ?? Exit.die(new Error("no result"))) : Exit.failCause(exit.cause))
            )))
    )

  /** One batch of one room: repeated keys within it are stored once and share the result. */
  const runBatch = (room_id: RoomId, items: ReadonlyArray<BatchItem>): Effect.Effect<ReadonlyArray<SendExit>, SendError> => {
    const distinct: Array<BatchItem> = []
    const slotOf: Array<{ readonly index: number; readonly repeat: boolean }> = []
    const byKey = new Map<string, number>()
    for (const item of items) {
      const key = item.input.client_msg_id === null ? undefined : `${item.input.sender_id} ${item.input.client_msg_id}`
      const seen = key === undefined ? undefined : byKey.get(key)
      if (seen !== undefined) {
        slotOf.push({ index: seen, repeat: true })
        continue
      }
      if (key !== undefined) byKey.set(key, distinct.length)
      slotOf.push({ index: distinct.length, repeat: false })
      distinct.push(item)
    }
    return Effect.map(storeDistinct(room_id, distinct), (exits) =>
      slotOf.map(({ index, repeat }): SendExit => {
        const exit = exits[index] ?? Exit.die(new Error("send batch: missing result"))
        // The same key twice in one batch: the second is a retry of the first.
        return repeat && Exit.isSuccess(exit) ? Exit.succeed({ ...exit.value, created: false }) : exit
      }))
  }

  const committer = yield* makeGroupCommit({ maxBatch: MAX_SEND_BATCH, run: runBatch })

  const send = Effect.fn("MessageRepository.send")(function*(input: NewMessage) {
    const created_at = yield* DateTime.now
    // The event is encoded here, in the sender's span; PostgreSQL fills in the two fields it
    // alone knows (seq, sender_username) when it stores the batch.
    const template = new Message({
      id: input.id,
      room_id: input.room_id,
      seq: 1,
      sender: { id: input.sender_id, username: "", display_name: null, avatar_url: null },
      content: input.content,
      msg_type: input.msg_type,
      client_msg_id: input.client_msg_id,
      created_at
    })
    const event = messageCreatedEventOf(template, { event_id: EventId.make(yield* newId), timestamp: created_at })
    return yield* committer.submit(input.room_id, {
      input,
      created_at,
      payload: encodeMessageCreatedEvent(event),
      headers: JSON.stringify(yield* traceHeaders)
    })
  })
  return { send, queued: committer.queued }
})
