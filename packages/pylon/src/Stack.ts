/**
 * `npm run dev:stack`: the microservice topology on the real infrastructure — migrations, then
 * room, chat, presence and notification services and two API gateways (8080 and 8081), each its
 * own process with a log prefix and its own metrics port (README). Interrupting (Ctrl-C / SIGTERM)
 * stops every process it started.
 */
import { Config, Effect } from "effect"
import { DatabaseLive } from "@pylon/platform/sql/Database"
import { runMigrations } from "@pylon/platform/sql/Migrations"
import { startService } from "./ServiceProcess.ts"
import type { ServiceSpec } from "./ServiceProcess.ts"

export interface StackPorts {
  readonly chat: number
  readonly presence: number
  readonly room: number
  /** The notification service; not started when absent. */
  readonly notification?: number
  readonly gateways: ReadonlyArray<number>
  /** `METRICS_PORT` of each process; free ports are picked for those not given. */
  readonly metrics?: {
    readonly chat?: number
    readonly presence?: number
    readonly room?: number
    readonly notification?: number
    readonly gateways?: ReadonlyArray<number>
  }
}

export const DEFAULT_PORTS: StackPorts = {
  chat: 9001,
  presence: 9002,
  room: 9003,
  notification: 9004,
  gateways: [8080, 8081],
  metrics: { gateways: [9464, 9469], chat: 9465, presence: 9466, room: 9467, notification: 9468 }
}

export const serviceUrls = (ports: StackPorts): Record<string, string> => ({
  CHAT_SERVICE_URL: `http://127.0.0.1:${ports.chat}`,
  PRESENCE_SERVICE_URL: `http://127.0.0.1:${ports.presence}`,
  ROOM_SERVICE_URL: `http://127.0.0.1:${ports.room}`,
  ...(ports.notification === undefined ? {} : { NOTIFICATION_SERVICE_URL: `http://127.0.0.1:${ports.notification}` })
})

/** The processes of the stack: the backend services first, then the gateways (in start order). */
export const stackSpecs = (ports: StackPorts, env: Readonly<Record<string, string>>) => {
  const shared = { ...env, ...serviceUrls(ports) }
  const metrics = ports.metrics ?? {}
  const backends: ReadonlyArray<ServiceSpec> = [
    { name: "room", command: "room", port: ports.room, metricsPort: metrics.room, env: shared },
    { name: "chat", command: "chat", port: ports.chat, metricsPort: metrics.chat, env: shared },
    { name: "presence", command: "presence", port: ports.presence, metricsPort: metrics.presence, env: shared },
    ...(ports.notification === undefined
      ? []
      : [{
        name: "notification",
        command: "notification",
        port: ports.notification,
        metricsPort: metrics.notification,
        env: shared
      }])
  ]
  const gateways: ReadonlyArray<ServiceSpec> = ports.gateways.map((port, i) => ({
    name: `gateway-${i + 1}`,
    command: "gateway",
    port,
    metricsPort: metrics.gateways?.[i],
    env: shared
  }))
  return { backends, gateways }
}

/** Starts the services, then the gateways; everything stops when the surrounding scope closes. */
export const startStack = (
  ports: StackPorts,
  env: Readonly<Record<string, string>>,
  options?: { readonly quiet?: boolean; readonly readyTimeoutMs?: number }
) =>
  Effect.gen(function*() {
    const specs = stackSpecs(ports, env)
    const services = yield* Effect.forEach(specs.backends, (spec) => startService(spec, options), { concurrency: "unbounded" })
    const gateways = yield* Effect.forEach(specs.gateways, (spec) => startService(spec, options), { concurrency: "unbounded" })
    return { services, gateways }
  })

/** Applies pending migrations to `DATABASE_URL`, then reads the settings every process of the stack needs. */
export const prepareStack = Effect.gen(function*() {
  const applied = yield* runMigrations().pipe(Effect.provide(DatabaseLive))
  yield* Effect.logInfo(`migrations applied: ${applied.length}`)
  const env: Record<string, string> = {}
  for (const key of ["DATABASE_URL", "REDIS_URL", "KAFKA_BROKERS"] as const) {
    env[key] = yield* Config.String(key)
  }
  return env
})

export const devStack = Effect.gen(function*() {
  const env = yield* prepareStack
  const { gateways } = yield* startStack(DEFAULT_PORTS, env)
  yield* Effect.logInfo(`Pylon stack is up: gateways on ${gateways.map((g) => g.baseUrl).join(" and ")} (Ctrl-C stops it)`)
  return yield* Effect.never
}).pipe(Effect.scoped)
