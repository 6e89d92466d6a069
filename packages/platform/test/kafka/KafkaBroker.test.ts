// Smoke test of the real Apache Kafka broker (scripts/infra.sh, KRaft single node) with kafkajs 2.2.4:
// topic admin, idempotent producer with headers, consumer group with manual commits, committed offsets
// seen by the admin API, a rebalance when a second member joins, and one transactional send.
// Needs KAFKA_BROKERS (scripts/pylon.sh test sources .pylon/infra/env.sh); fails loudly without it.
import { randomBytes, randomUUID } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  Kafka,
  Partitioners,
  logLevel,
  type Admin,
  type Consumer,
  type ConsumerGroupJoinEvent,
  type IHeaders,
  type Producer
} from "kafkajs"

const brokersEnv = process.env["KAFKA_BROKERS"]
if (brokersEnv === undefined || brokersEnv.trim() === "") {
  throw new Error(
    "KAFKA_BROKERS is not set: start the broker with `bash scripts/infra.sh up kafka` and export " +
      "KAFKA_BROKERS=127.0.0.1:9092 (or run the suite through scripts/pylon.sh test)"
  )
}
const brokers = brokersEnv.split(",").map((b) => b.trim())

const run = randomUUID().slice(0, 8)
const topic = `pylon-smoke-${run}`
const groupId = `pylon-smoke-group-${run}`
const PARTITIONS = 3
const FIRST_BATCH = 12
const SECOND_BATCH = 9

// Fast group protocol: the broker allows it (group.min.session.timeout.ms=1000 in scripts/kafka/server.properties);
// a short fetch wait lets kafkajs heartbeat (and notice rebalances) often.
const consumerConfig = { sessionTimeout: 6000, heartbeatInterval: 500, rebalanceTimeout: 10_000, maxWaitTimeInMs: 250 }

const kafka = new Kafka({
  clientId: `pylon-smoke-${run}`,
  brokers,
  logLevel: logLevel.NOTHING,
  retry: { retries: 8, initialRetryTime: 100 }
})

interface Received {
  readonly consumer: string
  readonly partition: number
  readonly offset: string
  readonly key: string
  readonly value: string
  readonly headers: Record<string, string>
}

const headerText = (headers: IHeaders | undefined): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue
    const first = Array.isArray(value) ? value[0] : value
    if (first !== undefined) out[name] = first.toString()
  }
  return out
}

const traceparent = (): string => `00-${randomBytes(16).toString("hex")}-${randomBytes(8).toString("hex")}-01`

const waitUntil = async (what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

const eventually = async <A>(
  attempt: () => Promise<A>,
  ok: (a: A) => boolean,
  timeoutMs = 10_000
): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const a = await attempt()
    if (ok(a) || Date.now() > deadline) return a
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

const byNumber = (a: number, b: number): number => a - b

const received: Array<Received> = []
const joins: Array<{ readonly consumer: string; readonly partitions: ReadonlyArray<number> }> = []
const sentTraceparents = new Map<string, string>()

let admin: Admin | undefined
let producer: Producer | undefined
let txProducer: Producer | undefined
const consumers: Array<Consumer> = []

const startConsumer = async (name: string): Promise<Consumer> => {
  const consumer = kafka.consumer({ groupId, ...consumerConfig })
  consumers.push(consumer)
  consumer.on(consumer.events.GROUP_JOIN, (event: ConsumerGroupJoinEvent) => {
    joins.push({ consumer: name, partitions: [...(event.payload.memberAssignment[topic] ?? [])].sort(byNumber) })
  })
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      received.push({
        consumer: name,
        partition,
        offset: message.offset,
        key: message.key?.toString() ?? "",
        value: message.value?.toString() ?? "",
        headers: headerText(message.headers)
      })
      await consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }])
    }
  })
  return consumer
}

const sendBatch = async (p: Producer, prefix: string, count: number): Promise<void> => {
  const messages = Array.from({ length: count }, (_, i) => {
    const key = `${prefix}-${i}`
    const tp = traceparent()
    sentTraceparents.set(key, tp)
    return { key, value: JSON.stringify({ seq: i, prefix }), headers: { traceparent: tp, "x-pylon-seq": String(i) } }
  })
  // idempotent producers must use acks=-1 (all)
  await p.send({ topic, acks: -1, messages })
}

const committedOffsets = async (a: Admin, group: string, t: string): Promise<Map<number, number>> => {
  const offsets = await a.fetchOffsets({ groupId: group, topics: [t] })
  const byPartition = new Map<number, number>()
  for (const entry of offsets) {
    for (const p of entry.partitions) byPartition.set(p.partition, Number(p.offset))
  }
  return byPartition
}

const countByPartition = (rows: ReadonlyArray<Received>): Map<number, number> => {
  const counts = new Map<number, number>()
  for (const r of rows) counts.set(r.partition, (counts.get(r.partition) ?? 0) + 1)
  return counts
}

describe("Kafka broker (real, via kafkajs)", () => {
  beforeAll(async () => {
    admin = kafka.admin()
    await admin.connect()
    const created = await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }]
    })
    expect(created).toBe(true)
    producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner
    })
    await producer.connect()
  })

  afterAll(async () => {
    const results = await Promise.allSettled([
      ...consumers.map((c) => c.disconnect()),
      ...(producer ? [producer.disconnect()] : []),
      ...(txProducer ? [txProducer.disconnect()] : [])
    ])
    if (admin) {
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined)
      await admin.disconnect()
    }
    for (const r of results) if (r.status === "rejected") throw r.reason
  })

  it("creates the topic with 3 partitions and a leader for each", async () => {
    const a = admin!
    const cluster = await a.describeCluster()
    expect(cluster.brokers.length).toBeGreaterThanOrEqual(1)
    const meta = await a.fetchTopicMetadata({ topics: [topic] })
    const partitions = meta.topics[0]?.partitions ?? []
    expect(partitions).toHaveLength(PARTITIONS)
    for (const p of partitions) expect(p.leader).toBeGreaterThanOrEqual(0)
  })

  it("delivers idempotently produced messages with headers to a manually committing group", async () => {
    await sendBatch(producer!, "a", FIRST_BATCH)
    await startConsumer("c1")
    await waitUntil(`${FIRST_BATCH} messages`, () => received.length >= FIRST_BATCH)

    expect(received).toHaveLength(FIRST_BATCH)
    expect(new Set(received.map((r) => r.key)).size).toBe(FIRST_BATCH)
    for (const r of received) {
      expect(r.headers["traceparent"]).toBe(sentTraceparents.get(r.key))
      expect(r.headers["traceparent"]).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
      expect(r.headers["x-pylon-seq"]).toBe(String((JSON.parse(r.value) as { seq: number }).seq))
    }
    // the default partitioner hashes keys: with 12 distinct keys, several partitions get messages
    expect(countByPartition(received).size).toBeGreaterThan(1)

    // committed offsets (= next offset to read) match what was consumed, per partition; the last
    // commit may still be in flight when the last message has been seen, hence `eventually`
    const expected = countByPartition(received)
    const committed = await eventually(
      () => committedOffsets(admin!, groupId, topic),
      (c) => [...expected].every(([p, n]) => c.get(p) === n)
    )
    for (const [partition, count] of expected) expect(committed.get(partition)).toBe(count)
  })

  it("rebalances when a second consumer joins the group and keeps consuming", async () => {
    const joinsBefore = joins.filter((j) => j.consumer === "c1").length
    expect(joinsBefore).toBeGreaterThanOrEqual(1)
    expect(joins.at(-1)?.partitions).toEqual([0, 1, 2])

    await startConsumer("c2")
    // c1 learns about the rebalance on its next heartbeat and re-joins; c2 joins for the first time
    await waitUntil(
      "both members re-joined",
      () =>
        joins.filter((j) => j.consumer === "c1").length > joinsBefore && joins.some((j) => j.consumer === "c2"),
      20_000
    )
    const lastC1 = joins.filter((j) => j.consumer === "c1").at(-1)!
    const lastC2 = joins.filter((j) => j.consumer === "c2").at(-1)!
    // the partitions are split between the two members, none lost, none shared
    expect(lastC1.partitions.length).toBeGreaterThan(0)
    expect(lastC2.partitions.length).toBeGreaterThan(0)
    expect([...lastC1.partitions, ...lastC2.partitions].sort(byNumber)).toEqual([0, 1, 2])

    const group = await admin!.describeGroups([groupId])
    expect(group.groups[0]?.members).toHaveLength(2)
    expect(group.groups[0]?.state).toBe("Stable")

    const before = received.length
    await sendBatch(producer!, "b", SECOND_BATCH)
    await waitUntil(`${SECOND_BATCH} more messages`, () => received.length >= before + SECOND_BATCH)
    const second = received.slice(before)
    expect(second).toHaveLength(SECOND_BATCH)
    for (const r of second) expect(r.headers["traceparent"]).toBe(sentTraceparents.get(r.key))
    // nothing from the first batch was redelivered: its offsets had been committed
    expect(second.every((r) => r.key.startsWith("b-"))).toBe(true)
    // after the rebalance each partition is read by the member it is assigned to
    for (const r of second) {
      const owner = r.consumer === "c1" ? lastC1 : lastC2
      expect(owner.partitions).toContain(r.partition)
    }
  })

  it("commits a transactional send", async () => {
    txProducer = kafka.producer({
      transactionalId: `pylon-smoke-tx-${run}`,
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner
    })
    await txProducer.connect()
    const before = received.length
    const tx = await txProducer.transaction()
    await tx.send({
      topic,
      messages: [
        { key: "tx-0", value: "committed", headers: { traceparent: traceparent() } },
        { key: "tx-1", value: "committed", headers: { traceparent: traceparent() } }
      ]
    })
    await tx.commit()
    await waitUntil("2 transactional messages", () => received.length >= before + 2)
    expect(
      received
        .slice(before)
        .map((r) => r.key)
        .sort()
    ).toEqual(["tx-0", "tx-1"])
  })
})
