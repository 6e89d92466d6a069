/**
 * The system under test: the microservice topology (room, chat and presence services, two
 * gateways, each its own process) started with `startStack` on the real PostgreSQL, Redis and
 * Kafka, on free ports and a fresh database. Rate limits are raised so the limiter never shapes
 * the load, and the benchmark's own keys in the shared Redis are kept apart (presence prefix,
 * a benchmark-only client address for the per-address auth limits). Stops with the scope.
 */
import { randomBytes } from "node:crypto"
import { createServer } from "node:net"
import { Config, Effect } from "effect"
import { RedisClient } from "../../packages/platform/src/redis/Redis.ts"
import { startStack } from "../../packages/pylon/src/Stack.ts"
import type { RunningService } from "../../packages/pylon/src/ServiceProcess.ts"
import type { BenchDatabaseInfo } from "./BenchDatabase.ts"
import { BenchError } from "./BenchError.ts"

export interface BenchProcess {
  readonly name: string
  readonly pid: number
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string
  /** `ws://127.0.0.1:<port>/ws` (gateways only answer it). */
  readonly wsUrl: string
  /** `http://127.0.0.1:<metrics port>`: its internal `/metrics` listener. */
  readonly metricsUrl: string
}

export interface BenchStackInfo {
  readonly gateways: ReadonlyArray<BenchProcess>
  readonly services: ReadonlyArray<BenchProcess>
  /** Name of the fresh database the stack runs on. */
  readonly database: string
  /** Sent as `X-Forwarded-For` (the stack trusts 127.0.0.1 as a proxy) so per-address auth limits use a key of our own. */
  readonly clientAddress: string
  /** The stack's `INTERNAL_RPC_SECRET` (a micro-benchmark calls a service's `/rpc` directly). */
  readonly internalSecret: string
}

const HIGH_LIMIT = "100000000"

/** Ports the OS reports free right now (all listened on at once, so they are distinct). */
const freePorts = (count: number) =>
  Effect.tryPromise({
    try: async () => {
      const servers = Array.from({ length: count }, () => createServer())
      const ports = await Promise.all(servers.map((server) =>
        new Promise<number>((resolve, reject) => {
          server.once("error", reject)
          server.listen(0, "127.0.0.1", () => {
            const address = server.address()
            if (address !== null && typeof address === "object") resolve(address.port)
            else reject(new Error("listening socket has no port"))
          })
        })
      ))
      await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))))
      return ports
    },
    catch: (cause) => new BenchError({ step: "stack", message: `no free ports: ${String(cause)}` })
  })

/** Deletes every key under `prefix` in the shared Redis (presence leases and last-seen marks of the run). */
const dropRedisKeys = (prefix: string) =>
  Effect.gen(function*() {
    const redis = yield* RedisClient
    let cursor = "0"
    do {
      const [next, keys] = yield* redis.use("scan", (client) => client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000))
      if (keys.length > 0) yield* redis.use("del", (client) => client.del(...keys))
      cursor = next
    } while (cursor !== "0")
  }).pipe(
    Effect.provide(RedisClient.layer),
    Effect.catchCause((cause) => Effect.logWarning(`could not delete the benchmark's Redis keys ${prefix}*`, cause))
  )

const describe = (service: RunningService): Effect.Effect<BenchProcess, BenchError> => {
  const pid = service.child.pid
  return pid === undefined
    ? Effect.fail(new BenchError({ step: "stack", message: `${service.spec.name} has no pid` }))
    : Effect.succeed({
      name: service.spec.name,
      pid,
      baseUrl: service.baseUrl,
      wsUrl: `${service.baseUrl.replace(/^http/, "ws")}/ws`,
      metricsUrl: service.metricsUrl
    })
}

export const startBenchStack = Effect.fn("BenchStack.start")(function*(
  database: BenchDatabaseInfo,
  runId: string,
  options: { readonly notifications: boolean }
) {
  const [chat, presence, room, gateway1, gateway2, notification] = yield* freePorts(6)
  if (chat === undefined || presence === undefined || room === undefined || gateway1 === undefined || gateway2 === undefined) {
    return yield* new BenchError({ step: "stack", message: "no free ports" })
  }
  const keyPrefix = `pylon-bench:${runId}:`
  const internalSecret = randomBytes(32).toString("hex")
  const env: Record<string, string> = {
    DATABASE_URL: database.url,
    REDIS_URL: yield* Config.String("REDIS_URL"),
    KAFKA_BROKERS: yield* Config.String("KAFKA_BROKERS"),
    INTERNAL_RPC_SECRET: internalSecret,
    JWT_SECRET: randomBytes(32).toString("hex"),
    TRUSTED_PROXIES: "127.0.0.1,::1",
    PRESENCE_REDIS_KEY_PREFIX: `${keyPrefix}presence:`,
    RATE_LIMIT_REGISTER: HIGH_LIMIT,
    RATE_LIMIT_LOGIN: HIGH_LIMIT,
    RATE_LIMIT_REFRESH: HIGH_LIMIT,
    RATE_LIMIT_CREATE_ROOM: HIGH_LIMIT,
    RATE_LIMIT_JOIN: HIGH_LIMIT,
    RATE_LIMIT_HISTORY: HIGH_LIMIT,
    RATE_LIMIT_WS_MESSAGES: HIGH_LIMIT,
    RATE_LIMIT_WS_TYPING: HIGH_LIMIT,
    // The idle phase holds thousands of sockets of a few users, all from this machine.
    WS_MAX_CONNECTIONS_PER_USER: HIGH_LIMIT,
    WS_MAX_CONNECTIONS_PER_ADDRESS: HIGH_LIMIT
  }
  // Registered before the stack starts, so it runs after the stack has stopped (and written its last marks).
  yield* Effect.addFinalizer(() => dropRedisKeys(keyPrefix))
  const ports = { chat, presence, room, gateways: [gateway1, gateway2] }
  const stack = yield* startStack(
    options.notifications && notification !== undefined ? { ...ports, notification } : ports,
    env,
    { quiet: true }
  )
  const info: BenchStackInfo = {
    gateways: yield* Effect.forEach(stack.gateways, describe),
    services: yield* Effect.forEach(stack.services, describe),
    database: database.name,
    // 198.18.0.0/15 is reserved for benchmarking (RFC 2544), so this key is nobody else's.
    clientAddress: `198.18.${randomBytes(1)[0] ?? 0}.${randomBytes(1)[0] ?? 1}`,
    internalSecret
  }
  return info
})
