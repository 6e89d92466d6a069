/**
 * The outbox relay in embedded mode (`pylon dev`): PGlite behind its socket server (one pooled
 * connection) and the in-memory `MemoryEventBus`, read back the way the notification consumer
 * will read it (a bus subscription in a consumer group). Checks that the relay's SQL
 * (`pg_try_advisory_xact_lock`, `FOR UPDATE SKIP LOCKED`) runs on PGlite, that its short
 * transactions leave the single connection to the send path between batches, and that two
 * relays on one PGlite still publish every row once.
 */
import { randomUUID } from "node:crypto"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { expect, layer } from "@effect/vitest"
import { Context, DateTime, Duration, Effect, Layer, Schema, Stream } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import { decodeMessageCreatedEvent, encodeMessageCreatedEvent, MessageCreatedEvent } from "@pylon/contracts/Events"
import { EventId, MessageId, RoomId, UserId } from "@pylon/contracts/Ids"
import { embeddedDatabaseLayer } from "@pylon/platform/sql/EmbeddedPostgres"
import { MemoryEventBus } from "@pylon/platform/events/MemoryEventBus"
import type { BusRecord } from "@pylon/platform/events/MemoryEventBus"
import { migrationsLayer } from "@pylon/platform/sql/Migrations"
import { OutboxRelay } from "../src/outbox/OutboxRelay.ts"

const fast = { pollInterval: Duration.millis(20), batchSize: 7 }

/** A migrated PGlite in a temporary directory (removed afterwards) and an in-memory bus. */
const Embedded = Layer.unwrap(Effect.gen(function*() {
  const dataDir = yield* Effect.acquireRelease(
    Effect.promise(() => mkdtemp(join(tmpdir(), "pylon-outbox-pglite-"))),
    (directory) => Effect.promise(() => rm(directory, { recursive: true, force: true }))
  )
  return migrationsLayer().pipe(Layer.provideMerge(embeddedDatabaseLayer({ dataDir })))
})).pipe(Layer.merge(MemoryEventBus.layer))

interface Inserted {
  readonly eventId: string
  readonly roomId: string
  readonly seq: number
}

/** Inserts one message_created row as the send transaction writes it. */
const insertEvent = Effect.fnUntraced(function*(topic: string, room: string, seq: number) {
  const sql = yield* SqlClient
  const now = yield* DateTime.now
  const event = new MessageCreatedEvent({
    event_id: EventId.make(randomUUID()),
    event_type: "message_created",
    version: 1,
    timestamp: now,
    data: {
      message_id: MessageId.make(randomUUID()),
      room_id: RoomId.make(room),
      seq,
      sender_id: UserId.make(randomUUID()),
      sender_username: "alice",
      content: `hello ${seq}`,
      type: "text",
      created_at: now
    }
  })
  yield* sql`
    INSERT INTO outbox (topic, aggregate_key, event_type, payload)
    VALUES (${topic}, ${room}, 'message_created', ${encodeMessageCreatedEvent(event)}::jsonb)`
  return { eventId: event.event_id, roomId: room, seq } satisfies Inserted
})

const PublishedCount = Schema.Struct({ published: Schema.Number })
const publishedCount = (topic: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient
    const rows = yield* sql`SELECT count(published_at)::int AS published FROM outbox WHERE topic = ${topic}`.pipe(
      Effect.flatMap(Schema.decodeUnknownEffect(Schema.Array(PublishedCount))),
      Effect.orDie
    )
    return rows[0]?.published ?? 0
  })

/** Reads `count` records of `topic` as a new consumer group (fails the test after 20 s). */
const consume = (topic: string, count: number) =>
  Effect.gen(function*() {
    const bus = yield* MemoryEventBus
    return yield* bus.subscribe(topic, `notifications-${randomUUID()}`).pipe(
      Stream.take(count),
      Stream.runCollect,
      Effect.timeoutOrElse({
        duration: Duration.seconds(20),
        orElse: () => Effect.die(new Error(`fewer than ${count} records on ${topic}`))
      })
    )
  })

const expectExactlyOnceInOrder = Effect.fnUntraced(function*(
  topic: string,
  read: ReadonlyArray<BusRecord>,
  inserted: ReadonlyArray<Inserted>
) {
  const bus = yield* MemoryEventBus
  // Nothing beyond what was consumed: no duplicates hiding after the first `count`.
  expect(yield* bus.records(topic)).toHaveLength(inserted.length)
  const events = yield* Effect.forEach(read, (record) => Effect.orDie(decodeMessageCreatedEvent(record.value)))
  expect(new Set(events.map((e) => e.event_id)).size).toBe(inserted.length)
  for (const room of new Set(inserted.map((i) => i.roomId))) {
    expect(events.filter((e) => e.data.room_id === room).map((e) => e.data.seq)).toEqual(
      inserted.filter((i) => i.roomId === room).map((i) => i.seq)
    )
  }
  for (const record of read) expect(record.headers["event_type"]).toBe("message_created")
})

layer(Embedded, { excludeTestServices: true, timeout: "120 seconds" })("OutboxRelay on PGlite + MemoryEventBus", (it) => {
  it.effect("publishes every row once, in order per room, to a bus consumer group", () =>
    Effect.gen(function*() {
      const topic = `message-events-${randomUUID()}`
      const rooms = [randomUUID(), randomUUID(), randomUUID()]
      const inserted: Array<Inserted> = []
      for (let seq = 1; seq <= 20; seq++) {
        for (const room of rooms) inserted.push(yield* insertEvent(topic, room, seq))
      }
      yield* OutboxRelay.layerWith(fast).pipe(Layer.build)
      const read = yield* consume(topic, inserted.length)
      yield* Effect.sleep("100 millis")
      expect(yield* publishedCount(topic)).toBe(inserted.length)
      yield* expectExactlyOnceInOrder(topic, read, inserted)
    }))

  it.effect("leaves the one connection to sends between its short transactions", () =>
    Effect.gen(function*() {
      const topic = `message-events-${randomUUID()}`
      const room = randomUUID()
      const { wake } = Context.get(yield* Layer.build(OutboxRelay.layerWith(fast)), OutboxRelay)
      const inserted: Array<Inserted> = []
      let slowest = 0
      for (let seq = 1; seq <= 60; seq++) {
        const started = Date.now()
        inserted.push(yield* insertEvent(topic, room, seq))
        slowest = Math.max(slowest, Date.now() - started)
        yield* wake
      }
      expect(slowest).toBeLessThan(1_000)
      const read = yield* consume(topic, inserted.length)
      yield* Effect.sleep("100 millis")
      yield* expectExactlyOnceInOrder(topic, read, inserted)
    }))

  it.effect("two relays on one PGlite publish every row once", () =>
    Effect.gen(function*() {
      const topic = `message-events-${randomUUID()}`
      const rooms = [randomUUID(), randomUUID()]
      yield* OutboxRelay.layerWith(fast).pipe(Layer.build)
      yield* OutboxRelay.layerWith(fast).pipe(Layer.build)
      const inserted: Array<Inserted> = []
      for (let seq = 1; seq <= 30; seq++) {
        for (const room of rooms) inserted.push(yield* insertEvent(topic, room, seq))
      }
      const read = yield* consume(topic, inserted.length)
      yield* Effect.sleep("200 millis")
      expect(yield* publishedCount(topic)).toBe(inserted.length)
      yield* expectExactlyOnceInOrder(topic, read, inserted)
    }))
})
