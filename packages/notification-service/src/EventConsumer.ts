/**
 * The event-consumer port: reads a topic of the event log as a member of a consumer group (Kafka
 * in microservice mode, `MemoryEventBus` in embedded mode). Both adapters pass
 * `test/EventConsumer.contract.ts`; the guarantees callers build on:
 *
 * - `run` is one consumer session. It hands `handle` the records in batches, in log order per
 *   partition (and so per key), starting after the group's committed offset.
 * - A batch is committed only after `handle` succeeded for it: `handle` failing (or dying) ends
 *   the session with that failure and commits nothing of the batch, so the next session of the
 *   group gets the batch again (at least once; handlers are idempotent).
 * - Interrupting a session (shutdown) lets the batch in flight finish and be committed; then the
 *   session leaves the group. Nothing is skipped: every record is either committed after its
 *   batch was handled, or delivered again.
 * - The session also ends with `EventConsumerError` when the log is unreachable; supervision
 *   (restart with backoff) is the caller's job.
 */
import { Context, Schema } from "effect"
import type { Effect } from "effect"

/** One record as a consumer sees it. */
export interface ConsumedEvent {
  readonly topic: string
  readonly partition: number
  /** The record's offset in its partition (a decimal string, as Kafka gives it). */
  readonly offset: string
  readonly key: string
  /** The value as text (UTF-8); empty for a record without a value. */
  readonly value: string
  readonly headers: Readonly<Record<string, string>>
  /** When the record was appended (epoch milliseconds). */
  readonly timestamp: number
}

/** The log could not be reached, or the session was thrown out of its group. */
export class EventConsumerError extends Schema.TaggedError<EventConsumerError>()("EventConsumerError", {
  op: Schema.String,
  message: Schema.String,
  cause: Schema.Defect()
}) {}

export interface ConsumeOptions<E, R> {
  readonly topic: string
  readonly groupId: string
  /** Handles one batch (records of one partition, in order); the batch is committed after it succeeds. */
  readonly handle: (batch: ReadonlyArray<ConsumedEvent>) => Effect.Effect<void, E, R>
}

/** How far a group is behind on one partition. */
export interface PartitionLag {
  readonly partition: number
  /** Records after the group's committed offset (the whole retained log if it never committed). */
  readonly lag: number
}

export interface EventConsumerService {
  /** Runs one session until it fails or is interrupted; it never succeeds. */
  readonly run: <E, R>(options: ConsumeOptions<E, R>) => Effect.Effect<never, E | EventConsumerError, R>
  /** The group's lag per partition of `topic`. */
  readonly lag: (topic: string, groupId: string) => Effect.Effect<ReadonlyArray<PartitionLag>, EventConsumerError>
  /** Succeeds when the log answers (readiness). */
  readonly ready: Effect.Effect<void, EventConsumerError>
}

export class EventConsumer extends Context.Service<EventConsumer, EventConsumerService>()(
  "pylon/notification/EventConsumer"
) {}
