/**
 * Test helper: a new consumer group on a shared topic that starts at the topic's current end.
 * The test infrastructure's Kafka is shared with every other test and with benchmark runs, so a
 * consumer that reads `message-events` from the oldest record in a fresh group would first wade
 * through everyone else's events. Committing the group's offsets at the end of each partition
 * before its consumer starts makes it read only what is produced from then on. A topic that does
 * not exist yet has nothing to skip: the group is left as it is.
 */
import { Effect } from "effect"
import { Kafka, logLevel } from "kafkajs"

export const startGroupAtEnd = (brokers: ReadonlyArray<string>, groupId: string, topic: string) =>
  Effect.promise(async () => {
    const admin = new Kafka({ clientId: `pylon-test-group-at-end-${groupId}`, brokers: [...brokers], logLevel: logLevel.NOTHING })
      .admin()
    await admin.connect()
    try {
      const topics = await admin.listTopics()
      if (!topics.includes(topic)) return
      // The partitions' high watermarks as real offsets: kafkajs' resetOffsets commits the special
      // offset -1, which a consumer subscribed with `fromBeginning` resolves to the oldest record.
      const ends = await admin.fetchTopicOffsets(topic)
      await admin.setOffsets({ groupId, topic, partitions: ends.map(({ partition, offset }) => ({ partition, offset })) })
    } finally {
      await admin.disconnect()
    }
  })
