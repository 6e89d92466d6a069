/**
 * The microservice topology for a test file: a fresh migrated PostgreSQL database (dropped
 * afterwards), free random ports, and `startStack` running the room, chat, presence and
 * notification services and two gateways as separate `node packages/pylon/src/main.ts` processes
 * on the real Redis and Kafka, with random JWT and internal-RPC secrets — the `npm run dev:stack`
 * topology. Everything stops when the layer is released. Set `PYLON_TEST_LOGS=1` to see the
 * processes' output.
 *
 * The notification service consumes the shared `message-events` topic in a consumer group of its
 * own (no other stack's consumer takes this one's events), started at the topic's current end (it
 * does not wade through every earlier run's events first).
 */
import { randomBytes } from "node:crypto"
import { Config, Context, Effect, Layer, Redacted } from "effect"
import type { RunningService } from "../../src/ServiceProcess.ts"
import { startStack } from "../../src/Stack.ts"
import { TestDatabase, TestDatabaseInfo } from "@pylon/testkit/TestDatabase"
import { freePorts } from "../../src/FreePorts.ts"
import { MESSAGE_EVENTS_TOPIC } from "@pylon/contracts/Events"
import { startGroupAtEnd } from "@pylon/testkit/KafkaGroupAtEnd"
import { GENEROUS_LIMITS } from "./GenerousLimits.ts"

export interface TopologyShape {
  /** Gateway A and gateway B, in that order. */
  readonly gateways: readonly [RunningService, RunningService]
  /** room, chat, presence, notification. */
  readonly services: ReadonlyArray<RunningService>
  readonly databaseName: string
  readonly env: Readonly<Record<string, string>>
}

export class Topology extends Context.Service<Topology, TopologyShape>()("pylon/pylon/test/Topology") {}

/**
 * How long each process gets to answer `/ready`: six Node processes start here at once, next to
 * other test files, and on the small shared box the tests run on a gateway has needed more than
 * the 60 s `startService` gives by default.
 */
const READY_TIMEOUT_MS = 180_000

const required = (name: string) =>
  Config.String(name).pipe(
    Effect.mapError(() => new Error(`${name} is not set: source .pylon/infra/env.sh (real PostgreSQL, Redis, Kafka)`)),
    Effect.orDie
  )

/** The stack, with `env` added to (and overriding) the defaults above. */
export const TopologyStack = (env: Readonly<Record<string, string>> = {}) =>
  Layer.effect(
    Topology,
    Effect.gen(function*() {
      const database = yield* TestDatabaseInfo
      const ports = yield* freePorts(6)
      const [room, chat, presence, notification, gatewayA, gatewayB] = ports
      if (
        room === undefined || chat === undefined || presence === undefined || notification === undefined ||
        gatewayA === undefined || gatewayB === undefined
      ) {
        return yield* Effect.die(new Error("could not find free ports"))
      }
      const kafkaBrokers = yield* required("KAFKA_BROKERS")
      const notificationGroup = env["NOTIFICATION_CONSUMER_GROUP"] ?? `pylon-test-topology-${randomBytes(6).toString("hex")}`
      const stackEnv: Record<string, string> = {
        APP_ENV: "development",
        APP_HOST: "127.0.0.1",
        DATABASE_URL: Redacted.value(database.url),
        REDIS_URL: yield* required("REDIS_URL"),
        KAFKA_BROKERS: kafkaBrokers,
        JWT_SECRET: randomBytes(32).toString("base64url"),
        INTERNAL_RPC_SECRET: randomBytes(32).toString("base64url"),
        NOTIFICATION_CONSUMER_GROUP: notificationGroup,
        ...GENEROUS_LIMITS,
        ...env
      }
      yield* startGroupAtEnd(
        kafkaBrokers.split(",").map((broker) => broker.trim()),
        notificationGroup,
        env["NOTIFICATION_TOPIC"] ?? MESSAGE_EVENTS_TOPIC
      )
      const started = yield* startStack(
        { room, chat, presence, notification, gateways: [gatewayA, gatewayB] },
        stackEnv,
        { quiet: process.env.PYLON_TEST_LOGS === undefined, readyTimeoutMs: READY_TIMEOUT_MS }
      )
      // If this test process ends without releasing the layer, take the children down with it.
      const children = [...started.services, ...started.gateways].map((service) => service.child)
      const killChildren = () => {
        for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
      }
      yield* Effect.acquireRelease(
        Effect.sync(() => process.once("exit", killChildren)),
        () => Effect.sync(() => process.off("exit", killChildren))
      )
      const [a, b] = started.gateways
      if (a === undefined || b === undefined) return yield* Effect.die(new Error("expected two gateways"))
      return Topology.of({ gateways: [a, b], services: started.services, databaseName: database.name, env: stackEnv })
    })
  ).pipe(Layer.provide(TestDatabase))
