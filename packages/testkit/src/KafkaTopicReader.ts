/**
 * Test helper: reads a Kafka topic from the beginning in a fresh consumer group until `count`
 * records arrived (or `deadline` passed), then lingers so extra (duplicate) records show up too.
 */
import { randomUUID } from "node:crypto"
import { Effect } from "effect"
import type { Duration } from "effect"
import type { Kafka } from "kafkajs"
import { headersAsText } from "@pylon/platform/kafka/Kafka"

export interface KafkaTopicRecord {
  readonly topic: string
  readonly partition: number
  readonly offset: string
  readonly key: string
  readonly value: string
  readonly headers: Readonly<Record<string, string>>
}

export const readKafkaTopic = (
  kafka: Kafka,
  topic: string,
  count: number,
  options: { readonly deadline: Duration.Input; readonly linger: Duration.Input }
) =>
  Effect.scoped(Effect.gen(function*() {
    const received: Array<KafkaTopicRecord> = []
    const consumer = yield* Effect.acquireRelease(
      Effect.promise(async () => {
        const consumer = kafka.consumer({
          groupId: `pylon-test-reader-${randomUUID()}`,
          sessionTimeout: 6_000,
          heartbeatInterval: 500,
          maxWaitTimeInMs: 100
        })
        await consumer.connect()
        return consumer
      }),
      (consumer) => Effect.promise(() => consumer.disconnect())
    )
    yield* Effect.promise(async () => {
      await consumer.subscribe({ topics: [topic], fromBeginning: true })
      await consumer.run({
        eachMessage: ({ topic, partition, message }) => {
          received.push({
            topic,
            partition,
            offset: message.offset,
            key: message.key?.toString() ?? "",
            value: message.value?.toString() ?? "",
            headers: headersAsText(message.headers)
          })
          return Promise.resolve()
        }
      })
    })
    yield* Effect.sleep("50 millis").pipe(
      Effect.repeat({ until: () => received.length >= count }),
      Effect.timeoutOption(options.deadline)
    )
    yield* Effect.sleep(options.linger)
    return [...received]
  }))
