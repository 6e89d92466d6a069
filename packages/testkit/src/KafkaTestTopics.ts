/**
 * Test helper: create a topic on the shared test broker and wait until every partition has a
 * leader and answers an offsets request. kafkajs' `createTopics({ waitForLeaders: true })` polls
 * the metadata a bounded number of times and then throws `UNKNOWN_TOPIC_OR_PARTITION` ("This
 * server does not host this topic-partition") when the KRaft broker is slow to publish the new
 * topic, which a loaded 2-core CI machine does; this waits up to `deadlineMs` instead.
 */
import type { Admin } from "kafkajs"

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const alreadyExists = (error: unknown): boolean =>
  typeof error === "object" && error !== null && "type" in error && error.type === "TOPIC_ALREADY_EXISTS"

export const createTestTopic = async (
  admin: Admin,
  topic: string,
  partitions: number,
  deadlineMs = 60_000
): Promise<void> => {
  const deadline = Date.now() + deadlineMs
  for (;;) {
    try {
      await admin.createTopics({ waitForLeaders: false, topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }] })
      break
    } catch (error) {
      if (alreadyExists(error)) break
      if (Date.now() > deadline) throw error
      await sleep(200)
    }
  }
  for (;;) {
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] })
      const found = metadata.topics.find((t) => t.name === topic)
      if (found !== undefined && found.partitions.length === partitions && found.partitions.every((p) => p.leader >= 0)) {
        await admin.fetchTopicOffsets(topic)
        return
      }
    } catch (error) {
      if (Date.now() > deadline) throw error
    }
    if (Date.now() > deadline) throw new Error(`topic ${topic} has no leader for every partition after ${deadlineMs} ms`)
    await sleep(100)
  }
}
