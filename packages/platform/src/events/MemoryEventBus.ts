/**
 * The in-process twin of Kafka for embedded mode (`pylon dev`): an `EventPublisher` that appends
 * to one in-memory log per topic, plus the consumer side that the notification consumer runs on
 * in embedded mode.
 *
 * Semantics, chosen to match a one-partition Kafka topic:
 * - a published batch becomes visible at once and completely, in the given order;
 * - consumers belong to a group; the group's committed offset (the next record to read) is where
 *   every new session of the group starts, so records delivered but not committed before a
 *   session ends are delivered again (at least once);
 * - a group has one active session per topic at a time (a one-partition topic has one owner);
 *   further sessions of the same group wait until it ends, then take over from the committed
 *   offset; different groups read independently;
 * - a group that never committed starts at the oldest retained record (`earliest`), because in
 *   one process the relay may well publish before the consumer subscribes.
 * Records are kept in memory only: at most `retainRecords` per topic (oldest dropped first, the
 * offsets of the rest unchanged); a group behind the retained range skips ahead to its start.
 */
import { Clock, Context, Deferred, Effect, Exit, Layer, Semaphore, Stream } from "effect"
import type { Array as Arr } from "effect"
import { EventPublisher } from "./EventPublisher.ts"
import type { EventPublisherService, EventRecord } from "./EventPublisher.ts"

/** A record as stored in a topic's log. */
export interface BusRecord extends EventRecord {
  readonly partition: 0
  readonly offset: number
  /** When it was appended (epoch milliseconds, from the Effect `Clock`). */
  readonly timestamp: number
}

/** A record handed to a consumer session. */
export interface ConsumedRecord extends BusRecord {
  /** Commits this record and everything before it for the session's group. */
  readonly commit: Effect.Effect<void>
}

export interface MemoryEventBusService extends EventPublisherService {
  /**
   * Consumes `topic` as a member of `groupId`: from the group's committed offset, then live,
   * in log order. Commit with `record.commit` (or `commit`) once a record is handled; the
   * stream never ends by itself. The session ends when the stream's scope closes.
   */
  readonly subscribe: (topic: string, groupId: string) => Stream.Stream<ConsumedRecord>
  /** Sets the group's committed offset to `nextOffset` unless it is already further. */
  readonly commit: (topic: string, groupId: string, nextOffset: number) => Effect.Effect<void>
  /** The group's committed offset: the next record a new session would read. */
  readonly committedOffset: (topic: string, groupId: string) => Effect.Effect<number>
  /** The retained records of `topic`, oldest first. */
  readonly records: (topic: string) => Effect.Effect<ReadonlyArray<BusRecord>>
}

export interface MemoryEventBusOptions {
  /** Records kept per topic (default 10 000). */
  readonly retainRecords?: number | undefined
  /** Records handed to a session per pull (default 100). */
  readonly maxPollRecords?: number | undefined
}

interface TopicLog {
  /** Offset of `records[0]`. */
  start: number
  records: Array<BusRecord>
  /** Completed (and replaced) whenever records are appended. */
  appended: Deferred.Deferred<void>
}

interface Group {
  committed: number
  readonly membership: Semaphore.Semaphore
}

const make = Effect.fnUntraced(function*(options: MemoryEventBusOptions = {}) {
  const retain = Math.max(1, options.retainRecords ?? 10_000)
  const maxPoll = Math.max(1, options.maxPollRecords ?? 100)
  const topics = new Map<string, TopicLog>()
  const groups = new Map<string, Group>()

  const logOf = (topic: string): TopicLog => {
    let log = topics.get(topic)
    if (log === undefined) {
      log = { start: 0, records: [], appended: Deferred.makeUnsafe() }
      topics.set(topic, log)
    }
    return log
  }

  const groupOf = (topic: string, groupId: string): Group => {
    // NUL cannot occur in a Kafka topic name, so the composite key is unambiguous.
    const id = `${topic}\u0000${groupId}`
    let group = groups.get(id)
    if (group === undefined) {
      group = { committed: 0, membership: Semaphore.makeUnsafe(1) }
      groups.set(id, group)
    }
    return group
  }

  const publish = Effect.fn("MemoryEventBus.publish")(function*(records: ReadonlyArray<EventRecord>) {
    if (records.length === 0) return
    const timestamp = yield* Clock.currentTimeMillis
    // One synchronous step: no reader can observe half a batch.
    const touched = new Set<TopicLog>()
    for (const record of records) {
      const log = logOf(record.topic)
      log.records.push({
        topic: record.topic,
        key: record.key,
        value: record.value,
        headers: { ...record.headers },
        partition: 0,
        offset: log.start + log.records.length,
        timestamp
      })
      touched.add(log)
    }
    for (const log of touched) {
      const excess = log.records.length - retain
      if (excess > 0) {
        log.records.splice(0, excess)
        log.start += excess
      }
      const appended = log.appended
      log.appended = Deferred.makeUnsafe()
      Deferred.doneUnsafe(appended, Exit.void)
    }
  })

  const commitSync = (topic: string, groupId: string, nextOffset: number) => {
    const group = groupOf(topic, groupId)
    if (nextOffset > group.committed) group.committed = nextOffset
  }

  const commit = (topic: string, groupId: string, nextOffset: number) =>
    Effect.sync(() => commitSync(topic, groupId, nextOffset))

  const committedOffset = (topic: string, groupId: string) => Effect.sync(() => groupOf(topic, groupId).committed)

  const records = (topic: string) => Effect.sync((): ReadonlyArray<BusRecord> => [...logOf(topic).records])

  const subscribe = (topic: string, groupId: string): Stream.Stream<ConsumedRecord> =>
    Stream.unwrap(Effect.gen(function*() {
      const group = groupOf(topic, groupId)
      // Held until the stream's scope closes: one session per group and topic.
      yield* Semaphore.takeScoped(group.membership, 1)
      let position = group.committed
      const consumed = (record: BusRecord): ConsumedRecord => ({
        ...record,
        commit: commit(topic, groupId, record.offset + 1)
      })
      const pull: Effect.Effect<Arr.NonEmptyReadonlyArray<ConsumedRecord>> = Effect.suspend(() => {
        const log = logOf(topic)
        position = Math.max(position, log.start)
        const from = position - log.start
        const available = log.records.slice(from, from + maxPoll)
        const [first, ...rest] = available
        if (first === undefined) return Effect.andThen(Deferred.await(log.appended), pull)
        position += available.length
        return Effect.succeed([consumed(first), ...rest.map(consumed)])
      })
      return Stream.fromPull(Effect.succeed(pull))
    }))

  return {
    publish,
    subscribe,
    commit,
    committedOffset,
    records
  } satisfies MemoryEventBusService
})

export class MemoryEventBus extends Context.Service<MemoryEventBus, MemoryEventBusService>()(
  "pylon/platform/MemoryEventBus"
) {
  /** The bus, also provided as the `EventPublisher`. */
  static readonly layerWith = (
    options: MemoryEventBusOptions = {}
  ): Layer.Layer<MemoryEventBus | EventPublisher> =>
    Layer.effect(EventPublisher, MemoryEventBus.useSync((bus) => EventPublisher.of({ publish: bus.publish }))).pipe(
      Layer.provideMerge(Layer.effect(MemoryEventBus, Effect.map(make(options), MemoryEventBus.of)))
    )

  static readonly layer: Layer.Layer<MemoryEventBus | EventPublisher> = MemoryEventBus.layerWith()
}
