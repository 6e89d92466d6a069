/**
 * `EventPublisher` on Kafka: the shared idempotent kafkajs producer (`KafkaProducer`) sends each
 * batch as one `sendBatch` with `acks: -1`, so a success means every in-sync replica has the
 * records. The producer is idempotent with one request in flight, so kafkajs' own retries
 * neither duplicate nor reorder records within a partition; the key (room id) picks the
 * partition, which gives per-key order. Headers are passed through as given. Acknowledged records
 * count in `pylon_kafka_messages_published_total{topic}`, each send's duration in
 * `pylon_kafka_publish_duration_seconds{topic}`.
 */
import { Effect, Layer, Metric } from "effect"
import type { Producer, TopicMessages } from "kafkajs"
import { EventPublisher, EventPublishError } from "./EventPublisher.ts"
import type { EventRecord } from "./EventPublisher.ts"
import { kafkaMessagesPublished, kafkaPublishDuration } from "../observability/OriginalMetrics.ts"
import { connectProducer, isProducerConnected, kafkaErrorMessage, KafkaProducer } from "../kafka/Kafka.ts"

/** Groups the batch by topic, keeping the given order inside each topic. */
const topicMessagesOf = (records: ReadonlyArray<EventRecord>): Array<TopicMessages> => {
  const byTopic = new Map<string, TopicMessages>()
  for (const record of records) {
    let entry = byTopic.get(record.topic)
    if (entry === undefined) {
      entry = { topic: record.topic, messages: [] }
      byTopic.set(record.topic, entry)
    }
    entry.messages.push({ key: record.key, value: record.value, headers: { ...record.headers } })
  }
  return [...byTopic.values()]
}


/**
 * The publisher over `producer`. A producer that is not connected (the broker was down at start,
 * or the connection dropped) is connected on demand, so publishing resumes by itself once the
 * broker is back; until then each attempt fails with `EventPublishError`.
 */
export const make = (producer: Producer): EventPublisher["Service"] => {
  const ensureConnected = Effect.suspend(() =>
    isProducerConnected(producer)
      ? Effect.void
      : Effect.tryPromise({
        try: () => connectProducer(producer),
        catch: (cause) => new EventPublishError({ message: `Kafka connect failed: ${kafkaErrorMessage(cause)}`, cause })
      })
  )
  return EventPublisher.of({
    publish: Effect.fn("KafkaEventPublisher.publish")(function*(records: ReadonlyArray<EventRecord>) {
      if (records.length === 0) return
      yield* ensureConnected
      const topicMessages = topicMessagesOf(records)
      yield* Effect.annotateCurrentSpan({
        "messaging.system": "kafka",
        "messaging.batch.message_count": records.length,
        "messaging.destination.name": topicMessages.map((t) => t.topic).join(",")
      })
      const started = performance.now()
      yield* Effect.tryPromise({
        try: () => producer.sendBatch({ acks: -1, topicMessages }),
        catch: (cause) => new EventPublishError({ message: `Kafka send failed: ${kafkaErrorMessage(cause)}`, cause })
      })
      // Only acknowledged records count as published (the original's meaning); the duration is the batch's.
      const seconds = (performance.now() - started) / 1000
      for (const { topic, messages } of topicMessages) {
        yield* Metric.update(Metric.withAttributes(kafkaMessagesPublished, { topic }), messages.length)
        yield* Metric.update(Metric.withAttributes(kafkaPublishDuration, { topic }), seconds)
      }
    })
  })
}

/** `EventPublisher` on the connected `KafkaProducer` of the surrounding layer. */
export const layer: Layer.Layer<EventPublisher, never, KafkaProducer> = Layer.effect(
  EventPublisher,
  KafkaProducer.useSync(make)
)
