/**
 * The notification service killed mid-batch (SIGKILL: no drain, no commit, no leaving the group)
 * and started again: `pylon notification` runs as a real child process on the real Kafka broker,
 * a fresh PostgreSQL database and Redis, consuming a topic and group of this file's own (set
 * through NOTIFICATION_TOPIC / NOTIFICATION_CONSUMER_GROUP / NOTIFICATION_DLQ_TOPIC). A backlog
 * of events is waiting when it starts, so its first batch is large; it is killed once part of
 * that batch is stored. The restarted process gets the uncommitted batch again and must end
 * with every notification stored exactly once, the group's offset at the end of the topic and
 * an empty dead-letter topic. And SIGTERM instead: the process finishes the batch in flight,
 * commits it and exits, so what is stored is exactly what is committed.
 */
import { randomUUID } from "node:crypto"
import { createServer } from "node:net"
import { expect, layer } from "@effect/vitest"
import { Config, Effect, Layer, Redacted, References, Schema } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import { EventPublisher } from "@pylon/platform/events/EventPublisher"
import { KafkaAdmin, KafkaClient, KafkaProducer } from "@pylon/platform/kafka/Kafka"
import * as KafkaEventPublisher from "@pylon/platform/events/KafkaEventPublisher"
import { startService } from "@pylon/pylon/ServiceProcess"
import { TestDatabase, TestDatabaseInfo } from "@pylon/testkit/TestDatabase"
import { eventually } from "./support/Eventually.ts"
import { freshTopic, kafkaBrokers } from "./support/KafkaTopics.ts"
import { createRoom, createUser, eventRecord, messageEvent } from "./support/NotificationFixtures.ts"

const ROOMS = 3
const RECIPIENTS_PER_ROOM = 4
const EVENTS_PER_ROOM = 250
const EXPECTED = ROOMS * RECIPIENTS_PER_ROOM * EVENTS_PER_ROOM

const TestLive = Layer.mergeAll(KafkaEventPublisher.layer.pipe(Layer.provide(KafkaProducer.layer)), KafkaAdmin.layer).pipe(
  Layer.provideMerge(KafkaClient.layerWith({ brokers: kafkaBrokers(), clientId: `pylon-test-crash-${randomUUID().slice(0, 8)}` })),
  Layer.provideMerge(TestDatabase),
  Layer.provide(Layer.succeed(References.MinimumLogLevel, "Warn"))
)

const freePort = Effect.promise(() =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = address !== null && typeof address === "object" ? address.port : 0
      server.close(() => resolve(port))
    })
  })
)

const Counts = Schema.Array(Schema.Struct({ total: Schema.Number, pairs: Schema.Number, messages: Schema.Number }))

const counts = Effect.gen(function*() {
  const sql = yield* SqlClient
  const [row] = yield* sql`
    SELECT count(*)::int AS total,
           count(DISTINCT (user_id, message_id))::int AS pairs,
           count(DISTINCT message_id)::int AS messages
    FROM notifications`.pipe(Effect.flatMap(Schema.decodeUnknownEffect(Counts)), Effect.orDie)
  return row ?? { total: 0, pairs: 0, messages: 0 }
})

const PerMessage = Schema.Array(Schema.Struct({ n: Schema.Number }))

interface Backlog {
  readonly topic: string
  readonly dlq: string
  readonly groupId: string
  readonly events: number
  readonly env: Record<string, string>
}

/** Users, rooms and a published backlog of events on fresh topics, and the env of a process for them. */
const backlog = (label: string) =>
  Effect.gen(function*() {
    const admin = yield* KafkaAdmin
    const publisher = yield* EventPublisher
    const database = yield* TestDatabaseInfo
    const topic = yield* freshTopic(admin, label)
    const dlq = yield* freshTopic(admin, `${label}-dlq`)
    const groupId = `pylon-test-${label}-${randomUUID().slice(0, 8)}`
    const records = []
    for (let r = 0; r < ROOMS; r++) {
      const sender = yield* createUser("sender")
      const members = yield* Effect.forEach(Array.from({ length: RECIPIENTS_PER_ROOM }), () => createUser("member"))
      const room = yield* createRoom("group", sender, members)
      for (let seq = 1; seq <= EVENTS_PER_ROOM; seq++) {
        records.push(eventRecord(topic, yield* messageEvent(room, sender, `message ${seq}`, seq)))
      }
    }
    yield* Effect.orDie(publisher.publish(records))
    const env = {
      APP_ENV: "development",
      APP_HOST: "127.0.0.1",
      DATABASE_URL: Redacted.value(database.url),
      REDIS_URL: yield* Config.String("REDIS_URL").pipe(Effect.orDie),
      KAFKA_BROKERS: kafkaBrokers().join(","),
      NOTIFICATION_TOPIC: topic,
      NOTIFICATION_CONSUMER_GROUP: groupId,
      NOTIFICATION_DLQ_TOPIC: dlq,
      NOTIFICATION_SESSION_TIMEOUT_MS: "6000",
      NOTIFICATION_HEARTBEAT_INTERVAL_MS: "500",
      NOTIFICATION_RESTART_MAX_MS: "1000"
    }
    return { topic, dlq, groupId, events: records.length, env } satisfies Backlog
  })

const startProcess = (env: Record<string, string>) =>
  Effect.flatMap(freePort, (port) =>
    startService(
      { name: "notification", command: "notification", port, env },
      { quiet: process.env["PYLON_TEST_LOGS"] === undefined }
    ))

const committedOffset = Effect.fnUntraced(function*(groupId: string, topic: string) {
  const admin = yield* KafkaAdmin
  const [entry] = yield* Effect.promise(() => admin.fetchOffsets({ groupId, topics: [topic] }))
  return Number(entry?.partitions[0]?.offset ?? "-1")
})

/** Each test starts, kills and restarts real processes and waits up to ~3 minutes on a loaded box. */
const PROCESS_TEST_TIMEOUT_MS = 240_000

layer(TestLive, { excludeTestServices: true, timeout: "180 seconds" })("the notification service process", (it) => {
  it.effect("killed mid-batch, a restarted process stores every notification exactly once and commits to the end", () =>
    Effect.gen(function*() {
      const admin = yield* KafkaAdmin
      const sql = yield* SqlClient
      const { dlq, env, events, groupId, topic } = yield* backlog("crash")

      // First process: killed once part of its first batch is stored.
      const first = yield* startProcess(env)
      yield* eventually("some notifications", counts, (c) => c.total >= EXPECTED / 10, "60 seconds")
      yield* first.stop("SIGKILL")
      const atKill = yield* counts
      expect(atKill.total).toBeGreaterThan(0)
      expect(atKill.total).toBeLessThan(EXPECTED)
      // Killed mid-batch: the events stored so far are not all committed.
      expect(yield* committedOffset(groupId, topic)).toBeLessThan(atKill.messages)

      // Second process: the uncommitted batch comes again; idempotent storing fills the gap.
      const second = yield* startProcess(env)
      yield* eventually("every notification", counts, (c) => c.total >= EXPECTED, "90 seconds")
      yield* eventually("offset at the end of the topic", committedOffset(groupId, topic), (o) => o === events, "30 seconds")
      yield* Effect.sleep("1 second")
      expect(yield* counts).toEqual({ total: EXPECTED, pairs: EXPECTED, messages: ROOMS * EVENTS_PER_ROOM })
      const perMessage = yield* sql`SELECT count(*)::int AS n FROM notifications GROUP BY message_id`.pipe(
        Effect.flatMap(Schema.decodeUnknownEffect(PerMessage)),
        Effect.orDie
      )
      expect(new Set(perMessage.map((row) => row.n))).toEqual(new Set([RECIPIENTS_PER_ROOM]))
      const [dlqEnd] = yield* Effect.promise(() => admin.fetchTopicOffsets(dlq))
      expect(dlqEnd?.high).toBe("0")

      // Its metrics show the consumption of this group.
      const metrics = yield* Effect.promise(() => fetch(`${second.metricsUrl}/metrics`).then((response) => response.text()))
      const consumed = metrics.split("\n").find((line) =>
        line.startsWith("pylon_kafka_messages_consumed_total{") && line.includes(`consumer_group="${groupId}"`)
      )
      expect(Number(consumed?.split(" ").pop())).toBe(events)
      yield* second.stop()
    }), PROCESS_TEST_TIMEOUT_MS)

  it.effect("on SIGTERM it finishes the batch in flight, commits it and exits", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient
      yield* sql`DELETE FROM notifications`
      const { env, groupId, topic } = yield* backlog("drain")
      const running = yield* startProcess(env)
      yield* eventually("some notifications", counts, (c) => c.total >= EXPECTED / 10, "60 seconds")
      const started = Date.now()
      yield* running.stop("SIGTERM")
      expect(Date.now() - started).toBeLessThan(15_000)
      expect(running.child.exitCode !== null || running.child.signalCode === "SIGTERM").toBe(true)
      const atExit = yield* counts
      // Everything stored is committed, and nothing committed is missing.
      expect(yield* committedOffset(groupId, topic)).toBe(atExit.messages)
      expect(atExit.total).toBe(atExit.messages * RECIPIENTS_PER_ROOM)
      expect(atExit.total).toBeGreaterThan(EXPECTED / 10)
    }), PROCESS_TEST_TIMEOUT_MS)
})
