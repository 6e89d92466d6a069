/**
 * The system under test for a chaos run: the microservice topology (room, chat, presence and
 * notification services, two gateways) as child processes on the private infrastructure, each
 * behind a handle that can kill it (any signal) and start it again on the same port. Gateway 1
 * reaches the chat service and gateway 2 reaches Redis through fault proxies, so the scheduler
 * can delay or cut those links. Everything stops when the scope closes.
 */
import { randomBytes } from "node:crypto"
import { Effect, Exit, Scope } from "effect"
import { startService } from "../../packages/pylon/src/ServiceProcess.ts"
import type { RunningService, ServiceSpec } from "../../packages/pylon/src/ServiceProcess.ts"
import { startFaultProxy } from "./FaultProxy.ts"
import type { FaultProxy } from "./FaultProxy.ts"
import { stablePorts } from "./StablePorts.ts"

export interface ServiceHandle {
  readonly name: string
  readonly baseUrl: string
  /** Sends `signal` and waits until the process exited (SIGKILL after 20 s for a SIGTERM). */
  readonly kill: (signal: NodeJS.Signals) => Effect.Effect<void>
  /** Starts it again on the same port and waits until `/ready` answers. */
  readonly restart: Effect.Effect<void, unknown>
  readonly isRunning: () => boolean
}

export interface ChaosStackInfo {
  readonly gateways: readonly [ServiceHandle, ServiceHandle]
  readonly services: Readonly<Record<"chat" | "room" | "presence" | "notification", ServiceHandle>>
  /** Between gateway 1 and the chat service. */
  readonly chatProxy: FaultProxy
  /** Between gateway 2 and Redis. */
  readonly redisProxy: FaultProxy
  /** Processes that exited without being killed by a fault (a crash is a finding of its own). */
  readonly crashes: ReadonlyArray<Crash>
}

export interface Crash {
  readonly service: string
  readonly at: number
  readonly code: number | null
  readonly signal: string | null
}

const HIGH = "100000000"

/**
 * Rate limits out of the way, a notification consumer that rejoins its group quickly after a
 * kill, and access tokens that outlive a long run (the devices do not refresh theirs; with the
 * 15-minute default every connection ends with 1008 and every reconnect gets 401 after 15 min).
 */
const RUN_ENV: Record<string, string> = {
  APP_ENV: "development",
  APP_HOST: "127.0.0.1",
  JWT_EXPIRY: "24 hours",
  RATE_LIMIT_REGISTER: HIGH,
  RATE_LIMIT_LOGIN: HIGH,
  RATE_LIMIT_REFRESH: HIGH,
  RATE_LIMIT_CREATE_ROOM: HIGH,
  RATE_LIMIT_JOIN: HIGH,
  RATE_LIMIT_HISTORY: HIGH,
  RATE_LIMIT_WS_MESSAGES: HIGH,
  RATE_LIMIT_WS_TYPING: HIGH,
  NOTIFICATION_SESSION_TIMEOUT_MS: "6000",
  NOTIFICATION_HEARTBEAT_INTERVAL_MS: "1000",
  NOTIFICATION_RESTART_MAX_MS: "5000",
  OUTBOX_RETRY_MAX_MS: "2000"
}

const handle = (spec: ServiceSpec, quiet: boolean, crashes: Array<Crash>) =>
  Effect.gen(function*() {
    let running: { readonly service: RunningService; readonly scope: Scope.Closeable } | undefined
    const start = Effect.gen(function*() {
      const scope = yield* Scope.make()
      const service = yield* startService(spec, { quiet, readyTimeoutMs: 120_000 }).pipe(
        Scope.provide(scope),
        Effect.onError(() => Scope.close(scope, Exit.void))
      )
      running = { service, scope }
      service.child.once("exit", (code, signal) => {
        // `kill` clears `running` before it signals, so only an exit nobody asked for lands here.
        if (running?.service === service) crashes.push({ service: spec.name, at: Date.now(), code, signal })
      })
    })
    yield* start
    yield* Effect.addFinalizer(() => running === undefined ? Effect.void : Scope.close(running.scope, Exit.void))
    const self: ServiceHandle = {
      name: spec.name,
      baseUrl: `http://127.0.0.1:${spec.port}`,
      kill: (signal) =>
        Effect.gen(function*() {
          const current = running
          if (current === undefined) return
          running = undefined
          yield* current.service.stop(signal)
          yield* Scope.close(current.scope, Exit.void)
        }),
      restart: Effect.gen(function*() {
        if (running !== undefined) return
        yield* start
      }),
      isRunning: () => running !== undefined
    }
    return self
  })

export const startChaosStack = (
  infra: { readonly databaseUrl: string; readonly redisUrl: string; readonly kafkaBrokers: string },
  options: { readonly quiet: boolean }
) =>
  Effect.gen(function*() {
    const crashes: Array<Crash> = []
    const [room, chat, presence, notification, gatewayA, gatewayB] = yield* stablePorts(6)
    if (
      room === undefined || chat === undefined || presence === undefined || notification === undefined ||
      gatewayA === undefined || gatewayB === undefined
    ) return yield* Effect.die(new Error("no free ports"))
    const redisPort = Number(new URL(infra.redisUrl).port)
    const chatProxy = yield* startFaultProxy(chat)
    const redisProxy = yield* startFaultProxy(redisPort)
    const env: Record<string, string> = {
      ...RUN_ENV,
      DATABASE_URL: infra.databaseUrl,
      REDIS_URL: infra.redisUrl,
      KAFKA_BROKERS: infra.kafkaBrokers,
      JWT_SECRET: randomBytes(32).toString("base64url"),
      INTERNAL_RPC_SECRET: randomBytes(32).toString("base64url"),
      ROOM_SERVICE_URL: `http://127.0.0.1:${room}`,
      CHAT_SERVICE_URL: `http://127.0.0.1:${chat}`,
      PRESENCE_SERVICE_URL: `http://127.0.0.1:${presence}`,
      NOTIFICATION_SERVICE_URL: `http://127.0.0.1:${notification}`
    }
    const spec = (name: string, command: string, port: number, extra: Record<string, string> = {}): ServiceSpec => ({
      name,
      command,
      port,
      env: { ...env, ...extra }
    })
    const [roomH, chatH, presenceH, notificationH] = yield* Effect.forEach(
      [
        spec("room", "room", room),
        spec("chat", "chat", chat),
        spec("presence", "presence", presence),
        spec("notification", "notification", notification)
      ],
      (s) => handle(s, options.quiet, crashes),
      { concurrency: "unbounded" }
    )
    const [g1, g2] = yield* Effect.forEach(
      [
        spec("gateway-1", "gateway", gatewayA, { CHAT_SERVICE_URL: `http://127.0.0.1:${chatProxy.port}` }),
        spec("gateway-2", "gateway", gatewayB, { REDIS_URL: `redis://127.0.0.1:${redisProxy.port}` })
      ],
      (s) => handle(s, options.quiet, crashes),
      { concurrency: "unbounded" }
    )
    if (roomH === undefined || chatH === undefined || presenceH === undefined || notificationH === undefined || g1 === undefined || g2 === undefined) {
      return yield* Effect.die(new Error("stack incomplete"))
    }
    const info: ChaosStackInfo = {
      gateways: [g1, g2],
      services: { room: roomH, chat: chatH, presence: presenceH, notification: notificationH },
      chatProxy,
      redisProxy,
      crashes
    }
    return info
  })
