/**
 * Local tracing (issue #9 item 1): the spans of ONE WebSocket send arrive in a real Jaeger — the one
 * scripts/jaeger.sh builds from source and starts (in `npm test`, in the background while the static
 * checks run) — as one trace across api-gateway, chat-service and notification-service, each its
 * own process of the microservice topology exporting to Jaeger's OTLP endpoint. The trace id is the
 * send's own (the outbox row keeps its traceparent), and Jaeger is asked for it over its HTTP API.
 *
 * Needs PYLON_JAEGER_URL and PYLON_JAEGER_OTLP_ENDPOINT (`eval "$(bash scripts/jaeger.sh env)"` after
 * `bash scripts/jaeger.sh up`); while Jaeger is not answering yet it waits — up to 30 minutes, for
 * a first build on a loaded machine — unless the background job (PYLON_JAEGER_ENSURE_PID) has died.
 */
import { randomBytes } from "node:crypto"
import { expect, layer } from "@effect/vitest"
import { Config, Context, Effect, Layer, Option, Redacted, Schema } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import { MESSAGE_EVENTS_TOPIC } from "@pylon/contracts/Events"
import { startGroupAtEnd } from "@pylon/testkit/KafkaGroupAtEnd"
import { createRoom, registerUser } from "@pylon/testkit/Rest"
import { TestDatabase, TestDatabaseInfo } from "@pylon/testkit/TestDatabase"
import { connect, frame } from "@pylon/testkit/WsClient"
import { freePorts } from "../src/FreePorts.ts"
import { startStack } from "../src/Stack.ts"
import { awaitJaeger, JAEGER_DEADLINE_MS } from "./support/Jaeger.ts"

const TRACE_DEADLINE_MS = 300_000

class Traced extends Context.Service<Traced, { readonly gateway: string; readonly jaeger: string }>()("pylon/pylon/test/Traced") {}

/** Jaeger, then the topology with the notification service, every process exporting to Jaeger. */
const TracedStack = Layer.effect(
  Traced,
  Effect.gen(function*() {
    const jaeger = yield* awaitJaeger
    const database = yield* TestDatabaseInfo
    const [room, chat, presence, notification, gateway] = yield* freePorts(5)
    if (room === undefined || chat === undefined || presence === undefined || notification === undefined || gateway === undefined) {
      return yield* Effect.die(new Error("could not find free ports"))
    }
    const kafkaBrokers = yield* Config.String("KAFKA_BROKERS").pipe(Effect.orDie)
    // A group of its own (no other test's consumer takes this run's events), started at the topic's
    // end: the shared topic may hold every earlier test's and benchmark's events, which a new group
    // would otherwise read from the oldest record, one skipped room at a time, before ours.
    const notificationGroup = `jaeger-trace-${randomBytes(4).toString("hex")}`
    yield* startGroupAtEnd(kafkaBrokers.split(",").map((broker) => broker.trim()), notificationGroup, MESSAGE_EVENTS_TOPIC)
    const started = yield* startStack({ room, chat, presence, notification, gateways: [gateway] }, {
      APP_ENV: "development",
      APP_HOST: "127.0.0.1",
      DATABASE_URL: Redacted.value(database.url),
      REDIS_URL: yield* Config.String("REDIS_URL").pipe(Effect.orDie),
      KAFKA_BROKERS: kafkaBrokers,
      JWT_SECRET: randomBytes(32).toString("base64url"),
      INTERNAL_RPC_SECRET: randomBytes(32).toString("base64url"),
      // budgets are per client address in the shared Redis, which every test's 127.0.0.1 shares
      RATE_LIMIT_REGISTER: "100000",
      RATE_LIMIT_CREATE_ROOM: "100000",
      NOTIFICATION_CONSUMER_GROUP: notificationGroup,
      OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlp
    }, { quiet: process.env.PYLON_TEST_LOGS === undefined })
    const [first] = started.gateways
    if (first === undefined) return yield* Effect.die(new Error("no gateway"))
    return Traced.of({ gateway: first.baseUrl, jaeger: jaeger.url })
  })
).pipe(Layer.provideMerge(TestDatabase))

const JaegerTrace = Schema.Struct({
  data: Schema.Array(Schema.Struct({
    traceID: Schema.String,
    spans: Schema.Array(Schema.Struct({
      traceID: Schema.String,
      spanID: Schema.String,
      operationName: Schema.String,
      processID: Schema.String,
      references: Schema.Array(Schema.Struct({ spanID: Schema.String }))
    })),
    processes: Schema.Record(Schema.String, Schema.Struct({ serviceName: Schema.String }))
  }))
})
type JaegerTrace = typeof JaegerTrace.Type["data"][number]

const servicesOf = (trace: JaegerTrace) => new Set(trace.spans.map((span) => trace.processes[span.processID]?.serviceName ?? "?"))

const WANTED = ["api-gateway", "chat-service", "notification-service"]

/** Spans whose parent is not in the trace (a connected trace has exactly one: its root). */
const rootsOf = (trace: JaegerTrace) => {
  const ids = new Set(trace.spans.map((span) => span.spanID))
  return trace.spans.filter((span) => !span.references.some((reference) => ids.has(reference.spanID)))
}

const complete = (trace: JaegerTrace) => WANTED.every((service) => servicesOf(trace).has(service)) && rootsOf(trace).length === 1

/**
 * GET /api/traces/{id} until the trace holds spans of every wanted service, all connected to one
 * root (export is batched per process, so parents may arrive after their children).
 */
const traceInJaeger = (jaeger: string, traceId: string) =>
  Effect.gen(function*() {
    const deadline = Date.now() + TRACE_DEADLINE_MS
    let last: JaegerTrace | undefined
    while (Date.now() < deadline) {
      const body = yield* Effect.promise(() =>
        fetch(`${jaeger}/api/traces/${traceId}`).then((r): Promise<unknown> => (r.ok ? r.json() : Promise.resolve(undefined)), () => undefined)
      )
      const decoded = Schema.decodeUnknownOption(JaegerTrace)(body)
      if (Option.isSome(decoded)) {
        const trace = decoded.value.data[0]
        last = trace
        if (trace !== undefined && complete(trace)) return trace
      }
      yield* Effect.sleep("1 second")
    }
    return yield* Effect.die(new Error(
      `trace ${traceId} did not reach Jaeger as one connected trace with spans of ${WANTED.join(", ")} within ` +
        `${TRACE_DEADLINE_MS / 1000}s; last seen: ${
          last === undefined ? "nothing" : `${[...servicesOf(last)].join(", ")}, ${rootsOf(last).length} root spans`
        }`
    ))
  })

layer(TracedStack, { excludeTestServices: true, timeout: `${JAEGER_DEADLINE_MS / 1000 + 180} seconds` })("traces in a real Jaeger", (it) => {
  it.effect("one send is one trace across api-gateway, chat-service and notification-service", () =>
    Effect.gen(function*() {
      const { gateway, jaeger } = yield* Traced
      const alice = yield* registerUser(gateway, "alice")
      const bob = yield* registerUser(gateway, "bob")
      const room = yield* createRoom(gateway, alice, [bob])
      const socket = yield* connect(gateway, alice.token, { name: "alice" })
      yield* socket.send({ type: "join", room_id: room })
      yield* socket.next(frame("user_joined", room))
      yield* socket.send({ type: "message", room_id: room, content: "traced hello", client_msg_id: "trace-1" })
      const ack = yield* socket.next(frame("ack"))

      // the send's trace id, as the chat service stored it with the outbox row
      const sql = yield* SqlClient
      const [row] = yield* sql<{ readonly traceparent: string | null }>`
        SELECT headers->>'traceparent' AS traceparent FROM outbox WHERE payload->'data'->>'message_id' = ${ack.message_id}`
      const traceId = /^00-([0-9a-f]{32})-/.exec(row?.traceparent ?? "")?.[1]
      expect(traceId).toBeDefined()

      const trace = yield* traceInJaeger(jaeger, traceId ?? "")
      expect(trace.traceID).toBe(traceId)
      expect(trace.spans.every((span) => span.traceID === traceId)).toBe(true)
      for (const service of WANTED) expect(servicesOf(trace)).toContain(service)
      // one tree: the gateway's span for the WebSocket frame is the root of everything else
      const [root] = rootsOf(trace)
      expect(trace.processes[root?.processID ?? ""]?.serviceName).toBe("api-gateway")
      const operations = trace.spans.map((span) => `${trace.processes[span.processID]?.serviceName}: ${span.operationName}`)
      expect(operations).toContain("chat-service: outbox.publish message-events")
      expect(operations).toContain("notification-service: kafka.consume message-events")
    }).pipe(Effect.scoped), { timeout: TRACE_DEADLINE_MS + 120_000 })
})
