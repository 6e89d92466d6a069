/**
 * `npm run chaos` (`node scripts/chaos/run.ts [--flag value …]`): the fault-injection suite.
 * On the private PostgreSQL, Redis and Kafka that `scripts/pylon.sh chaos` started, creates a
 * fresh database, starts the microservice topology (four services, two gateways), registers
 * users and rooms, runs the device workload while the scheduler injects faults, lets the
 * system settle (every device resumed on every room), then checks the workload's log against
 * the database and the `message-events` topic. Writes report.json, summary.txt and log.jsonl
 * to the run's directory, prints the summary, and fails (exit 1) on any violation.
 * See scripts/chaos/README.md.
 */
import { randomBytes } from "node:crypto"
import { mkdirSync, writeFileSync } from "node:fs"
import * as NodePath from "node:path"
import { Config, ConfigProvider, Console, Effect, Fiber, Runtime, Schema } from "effect"
import { DatabaseLive } from "../../packages/platform/src/sql/Database.ts"
import { benchDatabase } from "../bench/BenchDatabase.ts"
import { readChaosConfig, usage } from "./ChaosConfig.ts"
import { assertPrivateInfra } from "./ChaosInfra.ts"
import { ChaosLog } from "./ChaosLog.ts"
import { setupWorkload } from "./ChaosSetup.ts"
import { startChaosStack } from "./ChaosStack.ts"
import { check } from "./Checker.ts"
import { readStores, readTopic, roomLastSeqs, waitForPipelines } from "./Collect.ts"
import { runSchedule } from "./Faults.ts"
import { seeded } from "./Random.ts"
import { makeReport, renderSummary } from "./Report.ts"
import type { Device, Phase, WorkloadRoom } from "./Workload.ts"

class ChaosViolations extends Schema.TaggedError<ChaosViolations>()("ChaosViolations", { message: Schema.String }) {}

const ROOT = NodePath.resolve(import.meta.dirname, "../..")

const waitUntil = (condition: () => boolean, timeoutMs: number) =>
  Effect.gen(function*() {
    const deadline = Date.now() + timeoutMs
    while (!condition() && Date.now() < deadline) yield* Effect.sleep("200 millis")
    return condition()
  })

/** Every device on every room has seen the room's last seq (queried from PostgreSQL). */
const converged = (devices: ReadonlyArray<Device>, timeoutMs: number) =>
  Effect.gen(function*() {
    const deadline = Date.now() + timeoutMs
    while (true) {
      const last = yield* roomLastSeqs
      const behind = devices.filter((d) => d.rooms.some((r) => (d.cursor.get(r) ?? 0) < (last.get(r) ?? 0)))
      if (behind.length === 0) return true
      if (Date.now() > deadline) {
        yield* Effect.logWarning(`not converged: ${behind.map((d) => d.name).join(", ")}`)
        return false
      }
      yield* Effect.sleep("500 millis")
    }
  })

/**
 * The end of the run: no new sends, pending ones finished, every device back on all of its
 * rooms; then wait for each to reach the rooms' last seq. If that does not happen on its own,
 * one more message per room (a sentinel) gives the gateways' gap repair a trigger, as the next
 * real message would. Finally the resume point of every device and room goes to the log.
 */
const settle = (devices: ReadonlyArray<Device>, rooms: ReadonlyArray<WorkloadRoom>, log: ChaosLog) =>
  Effect.gen(function*() {
    const allSettled = () => devices.every((d) => d.settled())
    if (!(yield* waitUntil(allSettled, 90_000))) {
      yield* Effect.logWarning(`devices not settled: ${devices.filter((d) => !d.settled()).map((d) => d.name).join(", ")}`)
    }
    let withoutSentinel = yield* converged(devices, 20_000)
    if (!withoutSentinel) {
      for (const room of rooms) devices.find((d) => d.rooms.includes(room.id) && d.settled())?.queueSend(room.id)
      yield* waitUntil(allSettled, 60_000)
      yield* converged(devices, 30_000)
      withoutSentinel = false
    }
    for (const device of devices) {
      for (const room of device.rooms) {
        const conn = device.conn
        const live = conn !== undefined && !conn.closed && device.joined.has(room)
        log.record({ kind: "final", at: Date.now(), device: device.name, room, conn: live ? conn.id : null })
      }
    }
    return withoutSentinel
  })

const program = Effect.gen(function*() {
  const argv = process.argv.slice(2)
  if (argv.includes("--help") || argv.includes("-h")) return yield* Console.log(usage())
  const config = yield* readChaosConfig(argv)
  yield* assertPrivateInfra(process.env)
  const runId = randomBytes(3).toString("hex")
  const startedAt = new Date()
  const outDir = config.outDir ?? NodePath.join(ROOT, ".pylon/chaos", `${startedAt.toISOString().replace(/[:.]/g, "-")}-${runId}`)
  mkdirSync(outDir, { recursive: true })
  const log = new ChaosLog()
  const random = seeded(config.seed)
  yield* Effect.logInfo(`chaos run ${runId}, seed ${config.seed}, faults ${config.faults.join(",")}; output in ${outDir}`)
  yield* Effect.addFinalizer(() => Effect.sync(() => writeFileSync(NodePath.join(outDir, "log.jsonl"), log.toJsonLines())))

  const database = yield* benchDatabase
  const withRunDatabase = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    effect.pipe(
      Effect.provide(DatabaseLive),
      Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromUnknown({ DATABASE_URL: database.url }))
    )
  const redisUrl = yield* Config.String("REDIS_URL")
  const kafkaBrokers = yield* Config.String("KAFKA_BROKERS")
  const stack = yield* startChaosStack({ databaseUrl: database.url, redisUrl, kafkaBrokers }, { quiet: !config.logs })
  yield* Effect.logInfo(`stack up (database ${database.name}); setting up users and rooms`)

  let phase: Phase = "run"
  const { rooms, devices } = yield* setupWorkload({
    gateways: stack.gateways.map((g) => g.baseUrl),
    users: config.users,
    runId,
    log,
    random,
    settings: { sendTimeoutMs: config.sendTimeoutMs, thinkMs: config.thinkMs, churn: 0.03, invalid: 0.02 },
    phase: () => phase
  })
  yield* Effect.logInfo(`${devices.length} devices on ${rooms.length} rooms; traffic starts`)
  const fibers = yield* Effect.forEach(devices, (device) => Effect.forkChild(device.run()))
  yield* Effect.addFinalizer(() => Effect.sync(() => { phase = "stop" }))
  yield* Effect.sleep("3 seconds")

  const faultStart = Date.now()
  const injected = yield* runSchedule(config.faults, faultStart + config.durationMs, config.gapMs, {
    stack,
    log,
    random,
    infraLog: NodePath.join(outDir, "infra.log")
  })
  const faultPhaseMs = Date.now() - faultStart
  yield* Effect.logInfo(`${injected} faults injected in ${Math.round(faultPhaseMs / 1000)} s; draining`)
  yield* Effect.sleep("3 seconds")
  phase = "drain"
  const convergedWithoutSentinel = yield* withRunDatabase(settle(devices, rooms, log))
  phase = "stop"
  yield* Effect.forEach(fibers, (fiber) => Fiber.join(fiber).pipe(Effect.timeoutOption("15 seconds")), { discard: true })

  yield* Effect.logInfo("traffic stopped; waiting for the outbox and notifications, then checking")
  const pipelinesDrained = yield* withRunDatabase(waitForPipelines(120_000))
  const stores = yield* withRunDatabase(readStores)
  // The broker outlives a run only within one `npm run chaos`, but keep to this run's rooms anyway.
  const runRooms = new Set(stores.rooms.map((r) => r.id))
  const topic = (yield* readTopic(kafkaBrokers, 120_000)).filter((e) => runRooms.has(e.roomId))
  const result = check({ events: log.events, ...stores, topic })
  const report = makeReport({
    runId,
    seed: config.seed,
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    faultPhaseMs,
    users: config.users,
    devices: devices.length,
    rooms: rooms.length,
    faultsRequested: config.faults,
    convergedWithoutSentinel,
    pipelinesDrained,
    crashes: [...stack.crashes],
    command: `npm run chaos -- ${argv.join(" ")}`.trim()
  }, result)
  const summary = renderSummary(report)
  writeFileSync(NodePath.join(outDir, "report.json"), JSON.stringify(report, null, 2) + "\n")
  writeFileSync(NodePath.join(outDir, "summary.txt"), summary + "\n")
  yield* Console.log(`\n${summary}\n\nreport: ${NodePath.join(outDir, "report.json")}`)
  if (!report.ok) {
    return yield* new ChaosViolations({ message: `${report.violationCount} violation(s), ${stack.crashes.length} crash(es); see ${outDir}` })
  }
}).pipe(Effect.scoped)

/** Ctrl-C / SIGTERM interrupt the run, so its finalizers stop every process and drop the database. */
Runtime.makeRunMain(({ fiber, teardown }) => {
  const interrupt = () => fiber.interruptUnsafe(fiber.id)
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, interrupt)
  fiber.addObserver((exit) => teardown(exit, (code) => process.exit(code)))
})(program)
