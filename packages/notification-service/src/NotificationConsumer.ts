/**
 * The notification consumer (API.md §8, ARCHITECTURE.md rule 5): `message_created` events from
 * the event log (`EventConsumer`: Kafka, or the in-memory bus in embedded mode: the same code
 * on both) become notifications through `NotificationService`.
 *
 * Guarantees:
 * - **Supervised.** The consumer session runs on a fiber of the layer's scope. When it ends
 *   with a failure (broker unreachable, database down, a kafkajs crash) it is started again
 *   after a capped exponential backoff (`restartInitial` doubling up to `restartMax`; the
 *   count starts over once a session has handled a batch). It resumes from the committed offset.
 * - **Commit after store.** A batch's offset is committed only after every record in it was
 *   handled: notifications stored (one batch insert per event) or the record dead-lettered.
 * - **Never skipped silently.** Every record ends stored, dead-lettered (`dlqTopic`, with the
 *   failure reason in its headers), or deliberately ignored with a log line (another
 *   `event_type`). A transient failure (`Unavailable`: the database is down; or the DLQ publish
 *   failing) fails the batch, so it is delivered again after the restart; it never counts
 *   against the event.
 * - **Poison events.** An event that does not decode with the contract Schema is dead-lettered
 *   at once (decoding again cannot help). An event whose processing dies (a bug, or a row the
 *   database rejects) is tried `maxAttempts` times with a doubling delay, then dead-lettered;
 *   consumption goes on with the next record. The DLQ record keeps the original key, value and
 *   headers and adds `dlq_reason`, `dlq_source_topic`, `dlq_source_partition`,
 *   `dlq_source_offset`, `dlq_consumer_group`, `dlq_attempts` and `dlq_failed_at`.
 * - **Idempotent.** Redelivered events store nothing twice (unique per user and message; every
 *   row keeps its `event_id`) and announce nothing twice.
 * - **Drain.** Closing the layer's scope (SIGTERM) lets the batch in flight finish and commit.
 * - **One trace.** Each record is handled in a `kafka.consume <topic>` consumer span whose parent
 *   is the W3C trace context in the record's headers (the outbox relay's producer span).
 *
 * Metrics, labelled `{topic, consumer_group}`: `pylon_kafka_messages_consumed_total`,
 * `pylon_kafka_message_processing_seconds` (histogram), `pylon_kafka_consumer_retries_total`,
 * `pylon_kafka_dlq_messages_total`, `pylon_kafka_consumer_restarts_total`, and the gauge
 * `pylon_kafka_consumer_lag` (records behind, summed over partitions, every `lagInterval`).
 */
import { Cause, Clock, Duration, Effect, Exit, Layer, Metric, Option } from "effect"
import { Headers, HttpTraceContext } from "effect/http"
import { decodeMessageCreatedEvent, EVENT_TYPE_HEADER } from "@pylon/contracts/Events"
import type { MessageCreatedEvent } from "@pylon/contracts/Events"
import { makeBackoff } from "@pylon/platform/runtime/Backoff"
import type { Backoff } from "@pylon/platform/runtime/Backoff"
import { describeCause } from "@pylon/platform/runtime/CauseText"
import { EventPublisher } from "@pylon/platform/events/EventPublisher"
import { EventConsumer } from "./EventConsumer.ts"
import type { ConsumedEvent } from "./EventConsumer.ts"
import { NotificationConfig } from "./NotificationConfig.ts"
import type { NotificationSettings } from "./NotificationConfig.ts"
import { NotificationService } from "./NotificationService.ts"

const consumedTotal = Metric.counter("pylon_kafka_messages_consumed_total", {
  description: "Records the consumer finished with (stored, dead-lettered or ignored), by topic and group"
})
const processingSeconds = Metric.histogram("pylon_kafka_message_processing_seconds", {
  description: "Time to handle one consumed record, retries included",
  boundaries: Metric.exponentialBoundaries({ start: 0.001, factor: 2, count: 16 })
})
const retriesTotal = Metric.counter("pylon_kafka_consumer_retries_total", {
  description: "Extra attempts at records whose processing failed"
})
const dlqTotal = Metric.counter("pylon_kafka_dlq_messages_total", {
  description: "Records published to the dead-letter topic"
})
const restartsTotal = Metric.counter("pylon_kafka_consumer_restarts_total", {
  description: "Consumer sessions that ended with a failure and were started again"
})
const lagGauge = Metric.gauge("pylon_kafka_consumer_lag", {
  description: "Records in the topic not yet committed by the group, summed over partitions"
})

/** Longest `dlq_reason` header. */
const MAX_REASON_LENGTH = 2_000

/** Starts the supervised consumer (and its lag sampler) in the current scope. */
export const startNotificationConsumer = Effect.fnUntraced(function*(settings: NotificationSettings) {
  const consumer = yield* EventConsumer
  const notifications = yield* NotificationService
  const publisher = yield* EventPublisher
  const labels = { topic: settings.topic, consumer_group: settings.groupId }
  const consumed = Metric.withAttributes(consumedTotal, labels)
  const processing = Metric.withAttributes(processingSeconds, labels)
  const retries = Metric.withAttributes(retriesTotal, labels)
  const deadLettered = Metric.withAttributes(dlqTotal, labels)
  const restarts = Metric.withAttributes(restartsTotal, labels)
  const lag = Metric.withAttributes(lagGauge, labels)
  // The failure-only counters start at 0, so dashboards and alerts see a series before the first failure.
  yield* Effect.forEach([retries, deadLettered, restarts], (counter) => Metric.update(counter, 0), { discard: true })

  const recordLog = (record: ConsumedEvent) => ({
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    key: record.key
  })

  const deadLetter = Effect.fnUntraced(function*(record: ConsumedEvent, reason: string, attempts: number) {
    const failedAt = new Date(yield* Clock.currentTimeMillis).toISOString()
    const trimmed = reason.slice(0, MAX_REASON_LENGTH)
    yield* publisher.publish([{
      topic: settings.dlqTopic,
      key: record.key,
      value: record.value,
      headers: {
        ...record.headers,
        dlq_reason: trimmed,
        dlq_source_topic: record.topic,
        dlq_source_partition: String(record.partition),
        dlq_source_offset: record.offset,
        dlq_consumer_group: settings.groupId,
        dlq_attempts: String(attempts),
        dlq_failed_at: failedAt
      }
    }])
    yield* Metric.update(deadLettered, 1)
    yield* Effect.annotateCurrentSpan({ "pylon.dlq": true, "pylon.dlq.reason": trimmed })
    yield* Effect.logError("notification consumer: event dead-lettered").pipe(
      Effect.annotateLogs({ ...recordLog(record), dlq_topic: settings.dlqTopic, attempts, reason: trimmed })
    )
  })

  /**
   * Stores the event's notifications, retrying a processing that dies up to `maxAttempts` times
   * before dead-lettering the record. `Unavailable` (and interruption) are passed on untouched:
   * they fail the batch, not the event.
   */
  const notifyWithRetries = Effect.fnUntraced(function*(record: ConsumedEvent, event: MessageCreatedEvent) {
    // Made on the first failure only: most events are stored at the first attempt.
    let retryBackoff: Backoff | undefined
    for (let attempt = 1;; attempt++) {
      const exit = yield* Effect.exit(notifications.notifyMessage(event))
      if (Exit.isSuccess(exit)) return
      if (Cause.hasInterruptsOnly(exit.cause) || Option.isSome(Cause.findErrorOption(exit.cause))) {
        return yield* Effect.failCause(exit.cause)
      }
      const reason = describeCause(exit.cause)
      if (attempt >= settings.maxAttempts) return yield* deadLetter(record, reason, attempt)
      retryBackoff ??= yield* makeBackoff({ initial: settings.retryInitial, max: settings.retryMax })
      const delay = yield* retryBackoff.next
      yield* Metric.update(retries, 1)
      yield* Effect.logWarning("notification consumer: processing failed, retrying").pipe(
        Effect.annotateLogs({ ...recordLog(record), attempt, retry_in_ms: Duration.toMillis(delay), error: reason })
      )
      yield* Effect.sleep(delay)
    }
  })

  const handleRecord = (record: ConsumedEvent) =>
    Effect.gen(function*() {
      const started = yield* Clock.currentTimeMillis
      const eventType = record.headers[EVENT_TYPE_HEADER]
      if (eventType !== undefined && eventType !== "message_created") {
        yield* Effect.logDebug("notification consumer: ignoring event type").pipe(
          Effect.annotateLogs({ ...recordLog(record), event_type: eventType })
        )
      } else {
        const decoded = yield* Effect.exit(decodeMessageCreatedEvent(record.value))
        if (Exit.isSuccess(decoded)) {
          yield* Effect.annotateCurrentSpan({ "pylon.event_id": decoded.value.event_id })
          yield* notifyWithRetries(record, decoded.value)
        } else {
          yield* deadLetter(record, `undecodable event: ${describeCause(decoded.cause)}`, 1)
        }
      }
      yield* Metric.update(consumed, 1)
      yield* Metric.update(processing, ((yield* Clock.currentTimeMillis) - started) / 1000)
    }).pipe(
      Effect.withSpan(`kafka.consume ${record.topic}`, {
        kind: "consumer",
        parent: Option.getOrUndefined(HttpTraceContext.fromHeaders(Headers.fromInput(record.headers))),
        attributes: {
          "messaging.system": "kafka",
          "messaging.operation.type": "process",
          "messaging.destination.name": record.topic,
          "messaging.consumer.group.name": settings.groupId,
          "messaging.destination.partition.id": String(record.partition),
          "messaging.kafka.offset": record.offset,
          "messaging.kafka.message.key": record.key
        }
      })
    )

  /** One session after another; returns only by interruption. */
  const supervise = Effect.gen(function*() {
    const restartBackoff = yield* makeBackoff({ initial: settings.restartInitial, max: settings.restartMax })
    let failures = 0
    while (true) {
      let progressed = false
      const exit = yield* Effect.exit(consumer.run({
        topic: settings.topic,
        groupId: settings.groupId,
        handle: (batch) =>
          Effect.forEach(batch, handleRecord, { discard: true }).pipe(
            Effect.tap(() =>
              Effect.sync(() => {
                progressed = true
              })
            )
          )
      }))
      if (Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause)) return yield* Effect.interrupt
      // A session that got work done before it failed starts the backoff over.
      if (progressed) {
        failures = 0
        yield* restartBackoff.reset
      }
      failures++
      const delay = yield* restartBackoff.next
      yield* Metric.update(restarts, 1)
      yield* Effect.logWarning("notification consumer: session ended, restarting").pipe(
        Effect.annotateLogs({ attempt: failures, retry_in_ms: Duration.toMillis(delay), error: describeCause(exit.cause) })
      )
      yield* Effect.sleep(delay)
    }
  })

  const sampleLag = consumer.lag(settings.topic, settings.groupId).pipe(
    Effect.flatMap((partitions) => Metric.update(lag, partitions.reduce((sum, p) => sum + p.lag, 0))),
    Effect.catchCause((cause) => Effect.logDebug("notification consumer: lag not available", cause)),
    Effect.withTracerEnabled(false)
  )

  yield* supervise.pipe(
    Effect.onInterrupt(() => Effect.logDebug("notification consumer stopped")),
    Effect.annotateLogs({ component: "NotificationConsumer", topic: settings.topic, consumer_group: settings.groupId }),
    Effect.forkScoped
  )
  yield* Effect.forever(Effect.andThen(sampleLag, Effect.sleep(settings.lagInterval))).pipe(Effect.forkScoped)
})

/** The consumer with the settings of `NotificationConfig`. */
export const NotificationConsumerLive: Layer.Layer<
  never,
  never,
  NotificationConfig | EventConsumer | NotificationService | EventPublisher
> = Layer.effectDiscard(NotificationConfig.use(startNotificationConsumer))
