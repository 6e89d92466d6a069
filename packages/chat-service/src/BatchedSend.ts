/**
 * `MessageRepository.send` with group commit (`GroupCommit`): concurrent sends are stored
 * together by one statement (`PgSendBatch`), at most one batch in flight per room and at most
 * `CHAT_SEND_CONCURRENCY` batches in flight in all (a stalled one gives its slot up); a batch
 * takes the waiting sends of every room that has none in flight. So a busy room costs one round trip per batch, not one transaction of
 * several round trips per message with the room row lock held across them, and many busy rooms
 * share statements and commits instead of each paying for its own. With one batch in flight per
 * room, a room's sends are stored (and get their seqs) in submission order.
 *
 * Per-send guarantees are those of a send on its own: each item gets its own result (a
 * non-member's refusal, or a value PostgreSQL refuses, fails only that send — a batch that
 * fails on a refused value is re-run one send at a time to find it); a repeated
 * `(room_id, sender_id, client_msg_id)` — earlier, or twice in the same batch — returns the
 * original with `created: false`; the ack (this effect's success) comes only after commit.
 */
import { Config, DateTime, Duration, Effect, Exit, Metric, Option, Schema } from "effect"
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

/** Most sends stored by one statement; more wait for the next batch. */
export const MAX_SEND_BATCH = 128

/**
 * `CHAT_SEND_CONCURRENCY` [1]: send statements one chat process runs at once, not counting a
 * batch stalled for `STALL_AFTER` (which gives its slot up, so one stuck room does not hold back
 * the others). Fewer make bigger batches, which is what saves PostgreSQL's and this process's
 * CPU per send (docs/perf.md §13); more let statements overlap on a database with cores to spare.
 */
export const SendConcurrencyConfig = Config.schema(
  Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 64 })),
  "CHAT_SEND_CONCURRENCY"
).pipe(Config.withDefault(1))

/** A send batch in flight this long (a room lock held elsewhere, say) stops holding back the others. */
export const STALL_AFTER = Duration.millis(100)

/** Most stalled send batches at once, beyond `CHAT_SEND_CONCURRENCY`. */
const MAX_STALLED = 16

export const sendBatchSize = Metric.histogram("pylon_chat_send_batch_size", {
  description: "Sends stored by one send statement (group commit; several rooms may share one)",
  boundaries: [1, 2, 4, 8, 16, 32, 64, 128]
})
export const sendBatchesStalled = Metric.counter("pylon_chat_send_batches_stalled_total", {
  description: `Send batches still in flight after ${Duration.format(STALL_AFTER)}, which gave their slot up to the other rooms`
})

/**
 * Times a batch is re-run after another process stored one of its idempotency keys first, or
 * PostgreSQL broke a lock cycle (rooms are locked in id order, so only as a safety net).
 */
const RETRIES = 5

export type SendError = RoomNotFound | NotRoomMember | BadRequest | Unavailable
type SendExit = Exit.Exit<StoredSend, SendError>

/** The W3C trace context (plus b3) of the current span, for the outbox row's Kafka headers. */
const traceHeaders = Effect.map(
  currentLocalSpan,
  Option.match({ onNone: () => ({}), onSome: (span): Record<string, string> => ({ ...HttpTraceContext.toHeaders(span) }) })
)

const toExit = (outcome: BatchOutcome): SendExit => {
  switch (outcome._tag) {
    case "Created":
      return Exit.succeed({ message: outcome.message, created: true, room_type: outcome.room_type })
    case "Existing":
      return Exit.succeed({ message: outcome.message, created: false, room_type: outcome.room_type })
    case "NotMember":
      return Exit.fail(new NotRoomMember({ room_id: outcome.room_id }))
    case "NoRoom":
      return Exit.fail(new RoomNotFound({ room_id: outcome.room_id }))
  }
}

/** Nothing was stored and no seq taken: the same batch may simply run again. */
const isRetryable = (error: SqlError) => error.reason._tag === "UniqueViolation" || error.reason._tag === "DeadlockError"

/** The batched `send` (and how many sends of a room wait for a batch); batch fibers live in the current scope. */
export const makeBatchedSend = Effect.fnUntraced(function*(sql: SqlClient, options: { readonly concurrency: number }) {
  /** Stores distinct-key sends; a refused value fails only its own send. */
  const storeDistinct = (items: ReadonlyArray<BatchItem>): Effect.Effect<ReadonlyArray<SendExit>, SendError> =>
    storeSendBatch(sql, items).pipe(
      // Another process committed one of these keys between our lookup and insert (or a lock
      // cycle was broken): the statement stored nothing and took no seq; run again, and the
      // lookup now finds the key.
      Effect.retry({ times: RETRIES, while: isRetryable }),
      sqlFailureToDomainError,
      Effect.map((outcomes) => outcomes.map(toExit)),
      Effect.catchTag("BadRequest", (refused) =>
        items.length === 1
          ? Effect.fail(refused)
          : Effect.forEach(items, (item) =>
            Effect.exit(storeDistinct([item])).pipe(
              Effect.map((exit): SendExit => Exit.isSuccess(exit) ? (exit.value[0] ?? Exit.die(new Error("no result"))) : Exit.failCause(exit.cause))
            )))
    )

  /** One batch: repeated keys within it are stored once and share the result. */
  const runBatch = (items: ReadonlyArray<BatchItem>): Effect.Effect<ReadonlyArray<SendExit>, SendError> => {
    const distinct: Array<BatchItem> = []
    const slotOf: Array<{ readonly index: number; readonly repeat: boolean }> = []
    const byKey = new Map<string, number>()
    for (const item of items) {
      const { client_msg_id, room_id, sender_id } = item.input
      const key = client_msg_id === null ? undefined : `${room_id} ${sender_id} ${client_msg_id}`
      const seen = key === undefined ? undefined : byKey.get(key)
      if (seen !== undefined) {
        slotOf.push({ index: seen, repeat: true })
        continue
      }
      if (key !== undefined) byKey.set(key, distinct.length)
      slotOf.push({ index: distinct.length, repeat: false })
      distinct.push(item)
    }
    return Effect.map(storeDistinct(distinct), (exits) =>
      slotOf.map(({ index, repeat }): SendExit => {
        const exit = exits[index] ?? Exit.die(new Error("send batch: missing result"))
        // The same key twice in one batch: the second is a retry of the first.
        return repeat && Exit.isSuccess(exit) ? Exit.succeed({ ...exit.value, created: false }) : exit
      }))
  }

  yield* Metric.update(sendBatchesStalled, 0) // a series before the first stall (dashboards show 0)
  const committer = yield* makeGroupCommit<RoomId, BatchItem, StoredSend, SendError>({
    maxBatch: MAX_SEND_BATCH,
    maxInFlight: options.concurrency,
    stallAfter: STALL_AFTER,
    maxStalled: MAX_STALLED,
    onStall: Metric.update(sendBatchesStalled, 1),
    run: (items) => Effect.andThen(Metric.update(sendBatchSize, items.length), runBatch(items))
  })

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
