/**
 * After the traffic: waits until the outbox is published and the notifications have caught up,
 * then reads what the checker needs — messages, rooms with their members and last_seq,
 * notifications (from the run's PostgreSQL database) and every `message-events` record (from
 * the run's Kafka, read from the beginning by a fresh consumer group up to the high watermark).
 */
import { randomUUID } from "node:crypto"
import { Effect, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { Kafka, logLevel } from "kafkajs"
import type { StoredMessage, StoredNotification, StoredRoom, TopicEvent } from "./Checker.ts"

export class CollectError extends Schema.TaggedError<CollectError>()("CollectError", { message: Schema.String }) {}

const TOPIC = "message-events"

/** Current `last_seq` per room (the end-of-run convergence target). */
export const roomLastSeqs = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ id: string; last_seq: string | number }>`SELECT id, last_seq FROM rooms`
  return new Map(rows.map((r) => [r.id, Number(r.last_seq)]))
})

const expectedNotifications = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ n: string | number }>`
    SELECT count(*) AS n FROM messages m JOIN rooms r ON r.id = m.room_id
    JOIN room_members rm ON rm.room_id = m.room_id AND rm.user_id <> m.sender_id
    WHERE r.type <> 'channel'`
  return Number(rows[0]?.n ?? 0)
})

/** Polls until the outbox is empty and notifications reached their expected count (or `timeoutMs`). */
export const waitForPipelines = (timeoutMs: number) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      const unpublished = Number((yield* sql<{ n: string | number }>`SELECT count(*) AS n FROM outbox WHERE published_at IS NULL`)[0]?.n ?? 0)
      const notified = Number((yield* sql<{ n: string | number }>`SELECT count(*) AS n FROM notifications`)[0]?.n ?? 0)
      const expected = yield* expectedNotifications
      if (unpublished === 0 && notified >= expected) return true
      yield* Effect.sleep("1 second")
    }
    return false
  })

export const readStores = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const messageRows = yield* sql<{
    id: string
    room_id: string
    seq: string | number
    sender_id: string
    client_msg_id: string | null
    created_at: Date
  }>`SELECT id, room_id, seq, sender_id, client_msg_id, created_at FROM messages`
  const messages: Array<StoredMessage> = messageRows.map((r) => ({
    id: r.id,
    roomId: r.room_id,
    seq: Number(r.seq),
    senderId: r.sender_id,
    clientMsgId: r.client_msg_id,
    createdAt: new Date(r.created_at).getTime()
  }))
  const roomRows = yield* sql<{ id: string; type: string; last_seq: string | number }>`SELECT id, type, last_seq FROM rooms`
  const memberRows = yield* sql<{ room_id: string; user_id: string }>`SELECT room_id, user_id FROM room_members`
  const rooms: Array<StoredRoom> = roomRows.map((r) => ({
    id: r.id,
    type: r.type === "direct" || r.type === "channel" ? r.type : "group",
    lastSeq: Number(r.last_seq),
    members: memberRows.filter((m) => m.room_id === r.id).map((m) => m.user_id)
  }))
  const notificationRows = yield* sql<{ user_id: string; message_id: string | null }>`SELECT user_id, message_id FROM notifications`
  const notifications: Array<StoredNotification> = notificationRows.flatMap((r) =>
    r.message_id === null ? [] : [{ userId: r.user_id, messageId: r.message_id }]
  )
  return { messages, rooms, notifications }
})

const EventValue = Schema.fromJsonString(Schema.Struct({
  event_id: Schema.String,
  data: Schema.Struct({ message_id: Schema.String, room_id: Schema.String, seq: Schema.Number })
}))
const decodeEvent = Schema.decodeUnknownOption(EventValue)

/** Every record of `message-events` up to the current high watermark. */
export const readTopic = (brokers: string, timeoutMs: number) =>
  Effect.tryPromise({
    try: async () => {
      const kafka = new Kafka({ clientId: "pylon-chaos-checker", brokers: brokers.split(","), logLevel: logLevel.NOTHING })
      const admin = kafka.admin()
      await admin.connect()
      const offsets = await admin.fetchTopicOffsets(TOPIC).catch(() => [])
      await admin.disconnect()
      const remaining = new Map(offsets.filter((o) => Number(o.high) > 0).map((o) => [o.partition, Number(o.high)]))
      const events: Array<TopicEvent> = []
      if (remaining.size === 0) return events
      const consumer = kafka.consumer({ groupId: `pylon-chaos-checker-${randomUUID()}`, maxWaitTimeInMs: 200 })
      await consumer.connect()
      await consumer.subscribe({ topics: [TOPIC], fromBeginning: true })
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`topic not read to its end within ${timeoutMs} ms`)), timeoutMs)
        consumer.run({
          eachMessage: ({ partition, message }) => {
            const decoded = decodeEvent(message.value?.toString() ?? "")
            if (decoded._tag === "Some") {
              const { event_id, data } = decoded.value
              events.push({ eventId: event_id, messageId: data.message_id, roomId: data.room_id, seq: data.seq })
            }
            const high = remaining.get(partition)
            if (high !== undefined && Number(message.offset) + 1 >= high) remaining.delete(partition)
            if (remaining.size === 0) {
              clearTimeout(timer)
              resolve()
            }
            return Promise.resolve()
          }
        }).catch(reject)
      })
      await consumer.disconnect()
      return events
    },
    catch: (cause) => new CollectError({ message: `reading ${TOPIC}: ${String(cause)}` })
  })
