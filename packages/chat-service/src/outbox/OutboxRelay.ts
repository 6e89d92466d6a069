/**
 * The outbox relay (ARCHITECTURE.md rule 5, API.md §8): a background fiber that moves committed
 * `outbox` rows to the event log through `EventPublisher`, at least once and in id order, and
 * marks them published. Sends never wait for it: they only insert rows.
 *
 * One batch is one short transaction:
 *   1. `pg_try_advisory_xact_lock`: one relay per database publishes at a time. Several chat
 *      processes may run a relay; the others see the lock taken and wait a poll interval. This
 *      is what keeps per-key (per-room) order: two relays publishing different batches side by
 *      side could put a room's later event ahead of an earlier one.
 *   2. `SELECT … WHERE published_at IS NULL ORDER BY id LIMIT n FOR UPDATE SKIP LOCKED`.
 *   3. Publish the batch (key = aggregate_key, value = payload JSON text, headers = stored headers
 *      + `event_type` + the trace context of a producer span parented on the stored one).
 *   4. Success: `published_at` is set for those ids. Failure (or `publishTimeout`): their
 *      `attempts`/`last_error` are bumped instead and the rows stay unpublished. Either way it
 *      commits, which releases the row locks and the advisory lock.
 * After a failure the relay waits (capped exponential backoff with jitter) and tries the same
 * rows again, forever. A batch whose publish succeeded but whose commit failed is published again
 * later: consumers are idempotent by `event_id`.
 *
 * Idle, it waits `pollInterval`, probing with one untraced indexed query, so an idle relay
 * produces no spans. `wake` cuts that wait short; nothing in production calls it today (sends only
 * insert rows and the next poll finds them; the tests use it), so event latency is up to
 * `pollInterval` after an idle spell. A batch runs
 * uninterruptibly: closing the layer's scope lets the in-flight batch finish (bounded by
 * `publishTimeout`) and stops the fiber at its next wait.
 *
 * Embedded mode (PGlite, one connection): the transaction holds the only connection while it
 * publishes, which is harmless there because the in-memory bus publishes synchronously.
 */
import { Cause, Config, Context, Duration, Effect, Exit, Layer, Metric, Option, Queue, Schema } from "effect"
import type { Tracer } from "effect"
import { Headers, HttpTraceContext } from "effect/http"
import { SqlClient } from "effect/sql/SqlClient"
import * as SqlSchema from "effect/sql/SqlSchema"
import { EVENT_TYPE_HEADER } from "@pylon/contracts/Events"
import { makeBackoff } from "@pylon/platform/runtime/Backoff"
import { describeCause } from "@pylon/platform/runtime/CauseText"
import { EventPublisher, EventPublishError } from "@pylon/platform/events/EventPublisher"
import { rowSchemaFailureToDefect } from "@pylon/platform/sql/SqlFailures"
import type { EventRecord } from "@pylon/platform/events/EventPublisher"
import { defaultOutboxRelaySettings, OutboxRelayConfig } from "./OutboxRelayConfig.ts"
import type { OutboxRelaySettings } from "./OutboxRelayConfig.ts"

const publishedTotal = Metric.counter("pylon_outbox_published_total", {
  description: "Outbox rows published to the event log and marked published"
})
const publishFailuresTotal = Metric.counter("pylon_outbox_publish_failures_total", {
  description: "Outbox batches that failed (publish error, timeout or database error) and will be retried"
})
const lagSeconds = Metric.gauge("pylon_outbox_lag_seconds", {
  description: "Age of the oldest unpublished outbox row, 0 when there is none"
})

/** `pg_try_advisory_xact_lock` key of the relay: "pylonout" in ASCII. */
const RELAY_LOCK_KEY = 0x70796c6f6e6f7574n

/** Longest `last_error` stored. */
const MAX_ERROR_LENGTH = 2_000

const OutboxRow = Schema.Struct({
  id: Schema.BigInt,
  topic: Schema.String,
  aggregate_key: Schema.String,
  event_type: Schema.String,
  payload: Schema.String,
  headers: Schema.Unknown
})
type OutboxRow = typeof OutboxRow.Type

const LagRow = Schema.Struct({ age_seconds: Schema.Number })
const LockRow = Schema.Struct({ locked: Schema.Boolean })

const StoredHeaders = Schema.Record(Schema.String, Schema.String)
const decodeStoredHeaders = Schema.decodeUnknownOption(StoredHeaders)


type BatchOutcome =
  | { readonly _tag: "Idle" }
  | { readonly _tag: "Busy" }
  | { readonly _tag: "Published"; readonly count: number }
  | { readonly _tag: "Failed"; readonly count: number; readonly reason: string }

const idle: BatchOutcome = { _tag: "Idle" }
const busy: BatchOutcome = { _tag: "Busy" }

export interface OutboxRelayService {
  /**
   * Asks the relay to look at the outbox now rather than at its next poll; never waits. Not called
   * by the send path (see the module comment); a caller that wants lower event latency may.
   */
  readonly wake: Effect.Effect<void>
}

/** Starts a relay in the current scope; it stops (after its in-flight batch) when the scope closes. */
export const make = Effect.fnUntraced(function*(settings: OutboxRelaySettings) {
  const sql = yield* SqlClient
  const publisher = yield* EventPublisher
  const wakeups = yield* Queue.dropping<void>(1)
  yield* Metric.update(publishFailuresTotal, 0) // a series before the first failure (dashboards show 0)

  // Rows come from our own schema, so a row that does not decode is a bug (a defect).
  const lagRow = SqlSchema.findOneOption({
    Request: Schema.Void,
    Result: LagRow,
    execute: () =>
      sql`
        SELECT EXTRACT(EPOCH FROM (clock_timestamp() - created_at))::float8 AS age_seconds
        FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT 1`
  })
  const tryLock = SqlSchema.findOne({
    Request: Schema.Void,
    Result: LockRow,
    execute: () => sql`SELECT pg_try_advisory_xact_lock(${RELAY_LOCK_KEY}) AS locked`
  })
  const claimRows = SqlSchema.findAll({
    Request: Schema.Void,
    Result: OutboxRow,
    execute: () =>
      sql`
        SELECT id, topic, aggregate_key, event_type, payload::text AS payload, headers
        FROM outbox
        WHERE published_at IS NULL
        ORDER BY id
        LIMIT ${settings.batchSize}
        FOR UPDATE SKIP LOCKED`
  })

  /** Age of the oldest unpublished row, if any. */
  const oldestUnpublished = lagRow(undefined).pipe(
    Effect.map(Option.map((row) => row.age_seconds)),
    rowSchemaFailureToDefect
  )

  /** The record for `row`, sent on behalf of `span`, whose context consumers continue. */
  const recordOf = (row: OutboxRow, stored: Readonly<Record<string, string>>, span: Tracer.Span): EventRecord => ({
    topic: row.topic,
    key: row.aggregate_key,
    value: row.payload,
    headers: { ...stored, ...HttpTraceContext.toHeaders(span), [EVENT_TYPE_HEADER]: row.event_type }
  })

  /**
   * Publishes `rows` as one batch. Each row gets a producer span parented on the trace context
   * stored with it (the send that wrote it); the spans end with the publish's outcome.
   */
  const publishRows = (rows: ReadonlyArray<OutboxRow>) =>
    Effect.scoped(Effect.gen(function*() {
      const spans: Array<Tracer.Span> = []
      const records: Array<EventRecord> = []
      for (const row of rows) {
        const stored = decodeStoredHeaders(row.headers)
        if (Option.isNone(stored)) {
          yield* Effect.logWarning("outbox row has malformed headers; publishing it without them").pipe(
            Effect.annotateLogs({ outbox_id: String(row.id) })
          )
        }
        const headers = Option.getOrElse(stored, () => ({}))
        const span = yield* Effect.makeSpanScoped(`outbox.publish ${row.topic}`, {
          kind: "producer",
          parent: Option.getOrUndefined(HttpTraceContext.fromHeaders(Headers.fromInput(headers))),
          attributes: {
            "messaging.operation.type": "send",
            "messaging.destination.name": row.topic,
            "messaging.kafka.message.key": row.aggregate_key,
            "pylon.outbox.id": String(row.id),
            "pylon.event_type": row.event_type
          }
        })
        spans.push(span)
        records.push(recordOf(row, headers, span))
      }
      yield* publisher.publish(records).pipe(
        Effect.linkSpans(spans),
        Effect.timeoutOrElse({
          duration: settings.publishTimeout,
          orElse: () =>
            Effect.fail(
              new EventPublishError({
                message: `publish timed out after ${Duration.format(settings.publishTimeout)}`,
                cause: undefined
              })
            )
        })
      )
    }))

  /**
   * Claims, publishes and marks one batch, in one transaction. Its span starts a trace of its
   * own (a batch serves many sends); the producer spans inside join the senders' traces.
   */
  const relayBatch = Effect.fn("OutboxRelay.relayBatch", { root: true })(function*() {
    return yield* sql.withTransaction(Effect.gen(function*() {
      const lock = yield* tryLock(undefined).pipe(rowSchemaFailureToDefect, Effect.catchTag("NoSuchElementError", Effect.die))
      if (!lock.locked) return busy
      const rows = yield* claimRows(undefined).pipe(rowSchemaFailureToDefect)
      if (rows.length === 0) return idle
      yield* Effect.annotateCurrentSpan({ "pylon.outbox.rows": rows.length })
      const ids = rows.map((row) => row.id)
      const published = yield* Effect.exit(publishRows(rows))
      if (Exit.isSuccess(published)) {
        yield* sql`UPDATE outbox SET published_at = clock_timestamp() WHERE id IN ${sql.in(ids)}`
        return { _tag: "Published", count: rows.length } satisfies BatchOutcome
      }
      const reason = describeCause(published.cause).slice(0, MAX_ERROR_LENGTH)
      yield* sql`
        UPDATE outbox SET attempts = attempts + 1, last_error = ${reason}
        WHERE id IN ${sql.in(ids)}`
      return { _tag: "Failed", count: rows.length, reason } satisfies BatchOutcome
    }))
  })

  /** One step of the loop; never fails (database trouble is a failed step, retried like any). */
  const step: Effect.Effect<BatchOutcome> = Effect.gen(function*() {
    const age = yield* oldestUnpublished.pipe(Effect.withTracerEnabled(false))
    yield* Metric.update(lagSeconds, Option.getOrElse(age, () => 0))
    if (Option.isNone(age)) return idle
    return yield* Effect.uninterruptible(relayBatch())
  }).pipe(
    Effect.catchCause((cause): Effect.Effect<BatchOutcome> =>
      Cause.hasInterruptsOnly(cause)
        ? Effect.interrupt
        : Effect.succeed({ _tag: "Failed", count: 0, reason: describeCause(cause) })
    )
  )

  const waitForWork = Effect.raceFirst(Queue.take(wakeups), Effect.sleep(settings.pollInterval))

  const loop = Effect.gen(function*() {
    const backoff = yield* makeBackoff({ initial: settings.retryInitial, max: settings.retryMax })
    let failures = 0
    while (true) {
      const outcome = yield* step
      switch (outcome._tag) {
        case "Published": {
          yield* Metric.update(publishedTotal, outcome.count)
          if (failures > 0) {
            yield* Effect.logInfo("outbox relay: publishing again").pipe(
              Effect.annotateLogs({ failed_attempts: failures })
            )
            failures = 0
            yield* backoff.reset
          }
          break
        }
        case "Idle":
          yield* waitForWork
          break
        case "Busy":
          yield* Effect.sleep(settings.pollInterval)
          break
        case "Failed": {
          failures++
          yield* Metric.update(publishFailuresTotal, 1)
          const delay = yield* backoff.next
          yield* Effect.logWarning("outbox relay: batch failed, will retry").pipe(
            Effect.annotateLogs({
              attempt: failures,
              rows: outcome.count,
              retry_in_ms: Duration.toMillis(delay),
              error: outcome.reason
            })
          )
          yield* Effect.sleep(delay)
          break
        }
      }
    }
  })

  yield* loop.pipe(
    Effect.onInterrupt(() => Effect.logDebug("outbox relay stopped")),
    Effect.annotateLogs({ component: "OutboxRelay" }),
    Effect.forkScoped
  )

  return { wake: Effect.asVoid(Queue.offer(wakeups, undefined)) } satisfies OutboxRelayService
})

export class OutboxRelay extends Context.Service<OutboxRelay, OutboxRelayService>()("pylon/chat/OutboxRelay") {
  /** A relay with the given settings (the rest default); needs `SqlClient` and `EventPublisher`. */
  static readonly layerWith = (
    settings: Partial<OutboxRelaySettings> = {}
  ): Layer.Layer<OutboxRelay, never, SqlClient | EventPublisher> =>
    Layer.effect(OutboxRelay, Effect.map(make({ ...defaultOutboxRelaySettings, ...settings }), OutboxRelay.of))

  /** A relay configured from the environment (`OutboxRelayConfig`). */
  static readonly layer: Layer.Layer<OutboxRelay, Config.ConfigError, SqlClient | EventPublisher> = Layer.effect(
    OutboxRelay,
    Effect.flatMap(OutboxRelayConfig, (settings) => Effect.map(make(settings), OutboxRelay.of))
  )
}

/** The relay as the chat service runs it: settings from the environment. */
export const OutboxRelayLive = OutboxRelay.layer
