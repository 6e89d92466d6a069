/**
 * `EventConsumer` on Kafka (kafkajs). One session is one kafkajs consumer in the group:
 * `connect → subscribe → run({ eachBatch })`, disconnected when the session's scope closes.
 *
 * - Commits are manual (`autoCommit: false`, `eachBatchAutoResolve: false`): a batch's offset is
 *   committed (through the batch's own `commitOffsetsIfNecessary`, which works while the consumer
 *   is stopping, unlike `consumer.commitOffsets`) and resolved only after `handle` succeeded.
 * - A failed `handle`, a failed commit or a kafkajs crash ends the session with that failure:
 *   the partition is paused, nothing more is handled, and the scope closes the consumer. kafkajs'
 *   own restart is switched off (`restartOnFailure: false`) so that restarting, with backoff,
 *   stays the caller's decision and always starts from the committed offset.
 * - While a batch is handled the consumer keeps heartbeating, so a long batch does not cost the
 *   group membership (which would make its commit fail and the batch come again, forever).
 * - Each batch runs on a fiber of its own, so interrupting the session does not cut it: closing
 *   the scope calls `disconnect()`, which waits for the batch in flight (and its commit) before
 *   leaving the group; after `drainTimeout` the batch is interrupted instead.
 * - Consumer lag per partition is the topic's high watermark minus the group's committed offset
 *   (admin `fetchTopicOffsets` / `fetchOffsets`).
 */
import { Array as Arr, Deferred, Duration, Effect, Exit, FiberSet, Layer } from "effect"
import type { Admin, Consumer, EachBatchPayload, KafkaMessage } from "kafkajs"
import { headersAsText as headerText, KafkaClient, kafkaErrorMessage } from "@pylon/platform/kafka/Kafka"
import { EventConsumer, EventConsumerError } from "./EventConsumer.ts"
import type { ConsumedEvent, ConsumeOptions } from "./EventConsumer.ts"

export interface KafkaEventConsumerOptions {
  /** Group session timeout: a consumer that stops heartbeating leaves the group after it. */
  readonly sessionTimeout?: Duration.Input
  readonly heartbeatInterval?: Duration.Input
  /** How long a stopping session waits for its batch in flight (default 30 s). */
  readonly drainTimeout?: Duration.Input
  /** Longest wait of one fetch for new records (default 1 s). */
  readonly maxWaitTime?: Duration.Input
}


const failure = (op: string, cause: unknown) =>
  new EventConsumerError({ op, message: `Kafka ${op} failed: ${kafkaErrorMessage(cause)}`, cause })

const attempt = <A>(op: string, f: () => Promise<A>) => Effect.tryPromise({ try: f, catch: (cause) => failure(op, cause) })


const eventOf = (topic: string, partition: number, message: KafkaMessage): ConsumedEvent => ({
  topic,
  partition,
  offset: message.offset,
  key: message.key?.toString() ?? "",
  value: message.value?.toString() ?? "",
  headers: headerText(message.headers),
  timestamp: Number(message.timestamp)
})

const millis = (input: Duration.Input) => Duration.toMillis(Duration.fromInputUnsafe(input))

export const make = Effect.fnUntraced(function*(options: KafkaEventConsumerOptions = {}) {
  const kafka = yield* KafkaClient
  const drainTimeout = Duration.fromInputUnsafe(options.drainTimeout ?? Duration.seconds(30))
  const sessionTimeout = millis(options.sessionTimeout ?? Duration.seconds(30))
  const heartbeatInterval = millis(options.heartbeatInterval ?? Duration.seconds(3))
  const maxWaitTimeInMs = millis(options.maxWaitTime ?? Duration.seconds(1))

  // One admin client for lag and probes, connected on demand (connect is a no-op when connected).
  const admin: Admin = yield* Effect.acquireRelease(
    Effect.sync(() => kafka.admin()),
    (a) => Effect.promise(() => a.disconnect()).pipe(Effect.timeout("5 seconds"), Effect.ignore)
  )
  const withAdmin = <A>(op: string, f: (a: Admin) => Promise<A>) =>
    attempt(op, async () => {
      await admin.connect()
      return f(admin)
    })

  const run = <E, R>({ groupId, handle, topic }: ConsumeOptions<E, R>): Effect.Effect<never, E | EventConsumerError, R> =>
    Effect.scoped(Effect.gen(function*() {
      // Created before the consumer, so it closes after `disconnect()` has waited for the batch.
      const runBatch = yield* FiberSet.makeRuntimePromise<R>()
      const ended = yield* Deferred.make<never, E | EventConsumerError>()
      const end = (exit: Exit.Exit<never, E | EventConsumerError>) => Deferred.doneUnsafe(ended, exit)

      const consumer: Consumer = yield* Effect.acquireRelease(
        Effect.sync(() =>
          kafka.consumer({
            groupId,
            sessionTimeout,
            heartbeatInterval,
            rebalanceTimeout: Math.max(sessionTimeout, 10_000),
            maxWaitTimeInMs,
            retry: { retries: 5, initialRetryTime: 300, maxRetryTime: 5_000, restartOnFailure: () => Promise.resolve(false) }
          })
        ),
        (c) => Effect.promise(() => c.disconnect()).pipe(Effect.timeout(drainTimeout), Effect.ignore)
      )
      consumer.on(consumer.events.CRASH, (event) => {
        end(Exit.fail(failure("consume", event.payload.error)))
      })

      const stop = (pause: () => unknown, exit: Exit.Exit<never, E | EventConsumerError>) => {
        pause()
        end(exit)
      }

      const eachBatch = async (payload: EachBatchPayload) => {
        const { batch } = payload
        const pause = () => payload.pause()
        // The session is ending: hand out nothing more; the consumer is about to be closed.
        if (Deferred.isDoneUnsafe(ended)) {
          pause()
          return
        }
        if (!Arr.isReadonlyArrayNonEmpty(batch.messages)) return
        const last = Arr.lastNonEmpty(batch.messages)
        const events = batch.messages.map((message) => eventOf(batch.topic, batch.partition, message))
        // Keep the group membership alive while a long batch is handled (kafkajs throttles the
        // actual heartbeats to `heartbeatInterval`); a rebalance shows up as a failed commit.
        const beating = setInterval(() => void payload.heartbeat().catch(() => undefined), heartbeatInterval)
        const handled = await runBatch(Effect.exit(handle(events))).finally(() => clearInterval(beating))
        if (Exit.isFailure(handled)) return stop(pause, Exit.failCause(handled.cause))
        const next = (BigInt(last.offset) + 1n).toString()
        try {
          await payload.commitOffsetsIfNecessary({
            topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }]
          })
        } catch (cause) {
          return stop(pause, Exit.fail(failure("commit", cause)))
        }
        payload.resolveOffset(last.offset)
        // A failed heartbeat means a rebalance; the next fetch notices it.
        await payload.heartbeat().catch(() => undefined)
      }

      yield* attempt("connect", () => consumer.connect())
      yield* attempt("subscribe", () => consumer.subscribe({ topics: [topic], fromBeginning: true }))
      yield* attempt("run", () => consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch }))
      return yield* Deferred.await(ended)
    }))

  const lag = Effect.fn("KafkaEventConsumer.lag")(function*(topic: string, groupId: string) {
    const [ends, committed] = yield* Effect.all([
      withAdmin("fetchTopicOffsets", (a) => a.fetchTopicOffsets(topic)),
      withAdmin("fetchOffsets", (a) => a.fetchOffsets({ groupId, topics: [topic] }))
    ], { concurrency: 2 })
    const committedBy = new Map<number, number>()
    for (const entry of committed) {
      for (const p of entry.partitions) committedBy.set(p.partition, Number(p.offset))
    }
    return ends.map(({ high, low, partition }) => {
      const at = committedBy.get(partition) ?? -1
      // -1: the group never committed on this partition, so it is behind by all retained records.
      const from = at < 0 ? Number(low) : Math.max(at, Number(low))
      return { partition, lag: Math.max(0, Number(high) - from) }
    })
  })

  const ready = withAdmin("describeCluster", (a) => a.describeCluster()).pipe(Effect.asVoid)

  return EventConsumer.of({ run, lag, ready })
})

/** The consumer on the surrounding `KafkaClient`. */
export const layerWith = (options: KafkaEventConsumerOptions): Layer.Layer<EventConsumer, never, KafkaClient> =>
  Layer.effect(EventConsumer, make(options))

export const layer: Layer.Layer<EventConsumer, never, KafkaClient> = layerWith({})
