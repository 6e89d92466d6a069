/**
 * `EventConsumer` on the in-memory `MemoryEventBus` (embedded mode, `pylon dev`): a session is one
 * bus subscription in the group, batches are the bus's pulls (up to its `maxPollRecords`), and a
 * batch's last record is committed once `handle` succeeded for the whole batch. An interrupted
 * session lets the batch in flight finish (for at most `drainTimeout`) and commit it first.
 */
import { Array as Arr, Duration, Effect, Layer, Stream } from "effect"
import { MemoryEventBus } from "@pylon/platform/events/MemoryEventBus"
import type { ConsumedRecord } from "@pylon/platform/events/MemoryEventBus"
import { EventConsumer } from "./EventConsumer.ts"
import type { ConsumedEvent, ConsumeOptions, PartitionLag } from "./EventConsumer.ts"
import { finishOnInterrupt } from "./FinishOnInterrupt.ts"

export interface MemoryEventConsumerOptions {
  /** How long an interrupted session waits for its batch in flight (default 30 s). */
  readonly drainTimeout?: Duration.Input
}

const eventOf = (record: ConsumedRecord): ConsumedEvent => ({
  topic: record.topic,
  partition: record.partition,
  offset: String(record.offset),
  key: record.key,
  value: record.value,
  headers: record.headers,
  timestamp: record.timestamp
})

export const make = (bus: MemoryEventBus["Service"], options: MemoryEventConsumerOptions = {}): EventConsumer["Service"] => {
  const drainTimeout = Duration.fromInputUnsafe(options.drainTimeout ?? Duration.seconds(30))

  const run = <E, R>({ groupId, handle, topic }: ConsumeOptions<E, R>): Effect.Effect<never, E, R> =>
    bus.subscribe(topic, groupId).pipe(
      Stream.runForEachArray((records) => {
        return handle(records.map(eventOf)).pipe(
          Effect.andThen(Arr.lastNonEmpty(records).commit),
          finishOnInterrupt(drainTimeout)
        )
      }),
      // The bus's stream never ends by itself; if it ever did, the session would end with it.
      Effect.andThen(Effect.die(new Error(`the in-memory subscription to ${topic} ended`)))
    )

  const lag = (topic: string, groupId: string) =>
    Effect.gen(function*() {
      const records = yield* bus.records(topic)
      const committed = yield* bus.committedOffset(topic, groupId)
      const first = records[0]
      const last = records[records.length - 1]
      if (first === undefined || last === undefined) return [{ partition: 0, lag: 0 }]
      const end = last.offset + 1
      return [{ partition: 0, lag: end - Math.max(committed, first.offset) }] satisfies ReadonlyArray<PartitionLag>
    })

  return EventConsumer.of({ run, lag, ready: Effect.void })
}

/** The consumer on the surrounding `MemoryEventBus` (share one bus with the outbox relay). */
export const layerWith = (options: MemoryEventConsumerOptions): Layer.Layer<EventConsumer, never, MemoryEventBus> =>
  Layer.effect(EventConsumer, MemoryEventBus.useSync((bus) => make(bus, options)))

export const layer: Layer.Layer<EventConsumer, never, MemoryEventBus> = layerWith({})
