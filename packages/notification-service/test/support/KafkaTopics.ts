/**
 * The real Kafka broker for integration tests: `KAFKA_BROKERS` (required: the tests fail loudly
 * without it), fresh topics per test file, and reading a topic back from the beginning with a
 * throwaway consumer group (used for the dead-letter topic).
 */
import { randomUUID } from "node:crypto"
import { Duration, Effect } from "effect"
import type { Admin, Kafka } from "kafkajs"
import { readKafkaTopic } from "@pylon/testkit/KafkaTopicReader"
import type { KafkaTopicRecord } from "@pylon/testkit/KafkaTopicReader"
import { createTestTopic } from "@pylon/testkit/KafkaTestTopics"

export const kafkaBrokers = (): Array<string> => {
  const value = process.env["KAFKA_BROKERS"]
  if (value === undefined || value.trim() === "") {
    throw new Error(
      "KAFKA_BROKERS is not set: these tests need the real broker (bash scripts/infra.sh up kafka; " +
        "set -a; source .pylon/infra/env.sh; set +a)"
    )
  }
  return value.split(",").map((broker) => broker.trim()).filter((broker) => broker.length > 0)
}

/** Creates a topic only this test file uses; deleted when the scope closes. */
export const freshTopic = (admin: Admin, label: string, partitions = 1) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const topic = `pylon-test-notif-${label}-${randomUUID().slice(0, 12)}`
      await createTestTopic(admin, topic, partitions)
      return topic
    }),
    (topic) => Effect.promise(() => admin.deleteTopics({ topics: [topic] }).catch(() => undefined))
  )

export type TopicRecord = KafkaTopicRecord

/**
 * Reads `topic` from the beginning in a new group until `count` records arrived (or 20 s
 * passed), then `linger` longer so extras show up.
 */
export const readTopic = (
  kafka: Kafka,
  topic: string,
  count: number,
  linger: Duration.Input = "500 millis"
): Effect.Effect<ReadonlyArray<TopicRecord>> =>
  readKafkaTopic(kafka, topic, count, { deadline: "20 seconds", linger })
