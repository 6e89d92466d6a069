/**
 * Runs the `EventConsumer` contract against the in-memory bus (embedded mode) and against the
 * real Kafka broker (KAFKA_BROKERS; topics created per test, 2 partitions, deleted afterwards).
 */
import { randomUUID } from "node:crypto"
import { Effect, Layer } from "effect"
import { EventPublisher } from "@pylon/platform/events/EventPublisher"
import { KafkaAdmin, KafkaClient, KafkaProducer } from "@pylon/platform/kafka/Kafka"
import * as KafkaEventPublisher from "@pylon/platform/events/KafkaEventPublisher"
import { MemoryEventBus } from "@pylon/platform/events/MemoryEventBus"
import * as KafkaEventConsumer from "../src/KafkaEventConsumer.ts"
import * as MemoryEventConsumer from "../src/MemoryEventConsumer.ts"
import { ConsumerHarness, eventConsumerContract } from "./EventConsumer.contract.ts"
import { kafkaBrokers } from "./support/KafkaTopics.ts"
import { createTestTopic } from "@pylon/testkit/KafkaTestTopics"

const run = randomUUID().slice(0, 8)

/** Publishes through the surrounding `EventPublisher`; topics are just fresh names. */
const memoryHarness = Layer.effect(
  ConsumerHarness,
  Effect.gen(function*() {
    const publisher = yield* EventPublisher
    return ConsumerHarness.of({
      freshTopic: (label) => Effect.sync(() => `pylon-test-consumer-${label}-${run}-${randomUUID().slice(0, 8)}`),
      publish: (records) => Effect.orDie(publisher.publish(records))
    })
  })
)

eventConsumerContract(
  "MemoryEventConsumer",
  Layer.merge(MemoryEventConsumer.layer, memoryHarness).pipe(Layer.provide(MemoryEventBus.layer))
)

/** Creates 2-partition topics with the admin client (deleted when the layer is released). */
const kafkaHarness = Layer.effect(
  ConsumerHarness,
  Effect.gen(function*() {
    const publisher = yield* EventPublisher
    const admin = yield* KafkaAdmin
    const created: Array<string> = []
    yield* Effect.addFinalizer(() =>
      created.length === 0 ? Effect.void : Effect.promise(() => admin.deleteTopics({ topics: created }).catch(() => undefined))
    )
    return ConsumerHarness.of({
      freshTopic: (label) =>
        Effect.promise(async () => {
          const topic = `pylon-test-consumer-${label}-${run}-${randomUUID().slice(0, 8)}`
          await createTestTopic(admin, topic, 2)
          created.push(topic)
          return topic
        }),
      publish: (records) => Effect.orDie(publisher.publish(records))
    })
  })
)

eventConsumerContract(
  "KafkaEventConsumer",
  Layer.merge(
    KafkaEventConsumer.layerWith({ sessionTimeout: "6 seconds", heartbeatInterval: "500 millis", maxWaitTime: "200 millis" }),
    kafkaHarness.pipe(Layer.provide([KafkaEventPublisher.layer.pipe(Layer.provide(KafkaProducer.layer)), KafkaAdmin.layer]))
  ).pipe(Layer.provide(KafkaClient.layerWith({ brokers: kafkaBrokers(), clientId: `pylon-test-consumer-${run}` })))
)
