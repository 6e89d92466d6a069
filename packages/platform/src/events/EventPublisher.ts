/**
 * The event-publisher port: hands a batch of records to the event log (Kafka in microservice
 * mode, `MemoryEventBus` in embedded mode). Callers (the outbox relay) see a batch as all or
 * nothing: success means every record was durably accepted, in order per key; a failure means
 * the batch must be published again, so some of its records may then arrive twice (at least
 * once; consumers are idempotent by `event_id`).
 */
import { Context, Schema } from "effect"
import type { Effect } from "effect"

/** One record for the log: `key` picks the partition (per-key order), `value` is JSON text. */
export interface EventRecord {
  readonly topic: string
  readonly key: string
  readonly value: string
  readonly headers: Readonly<Record<string, string>>
}

/** The log did not accept the batch (unreachable, timed out, rejected). */
export class EventPublishError extends Schema.TaggedError<EventPublishError>()("EventPublishError", {
  message: Schema.String,
  cause: Schema.Defect()
}) {}

export interface EventPublisherService {
  /** Publishes the records in the given order; an empty batch is a no-op. */
  readonly publish: (records: ReadonlyArray<EventRecord>) => Effect.Effect<void, EventPublishError>
}

export class EventPublisher extends Context.Service<EventPublisher, EventPublisherService>()(
  "pylon/platform/EventPublisher"
) {}
