/**
 * `npm run bench` (`node scripts/bench/run.ts [--flag=value …]`): Pylon's WebSocket benchmark.
 * Creates a fresh database, starts the microservice stack on the real infrastructure (three
 * services, two gateways), registers users and creates rooms over REST, then runs
 *   (a) idle connections held by one gateway and its memory per connection,
 *   (b) fan-out deliveries per second per gateway core,
 *   (c) send→ack / send→deliver latency across two gateways at a fixed send rate,
 * each bounded in time; writes `results/latest.json` (+ a timestamped copy) and prints a
 * markdown table. Every process it starts and the database are gone when it exits,
 * also on Ctrl-C. See scripts/bench/README.md.
 */
import { randomBytes } from "node:crypto"
import { Cause, Console, Effect } from "effect"
import type { Scope } from "effect"
import { readBenchConfig, usage } from "./BenchConfig.ts"
import type { Phase } from "./BenchConfig.ts"
import { benchDatabase } from "./BenchDatabase.ts"
import type { BenchDatabaseInfo } from "./BenchDatabase.ts"
import { renderMarkdown, writeResults } from "./BenchReport.ts"
import type { BenchResults, PhaseOutcome } from "./BenchReport.ts"
import { startBenchStack } from "./BenchStack.ts"
import { runFanoutPhase } from "./FanoutPhase.ts"
import { runHistoryPhase } from "./HistoryPhase.ts"
import { runIdlePhase } from "./IdlePhase.ts"
import { runLatencyPhase } from "./LatencyPhase.ts"
import { allowedCpus, machineInfo, sampleSystemCpu, systemBusyShare } from "./ProcessStats.ts"
import { registerUsers } from "./PylonRest.ts"
import { runMain } from "./RunMain.ts"
import { runHotRoom, runRamps, runShapes, runSteps } from "./Scenarios.ts"
import { settle } from "./Settle.ts"

/**
 * Runs one phase in its own scope (its sockets close at its end) within `budgetSeconds`, once the
 * machine has settled from the phase before (`Settle.ts`, not counted in the budget); a failure
 * is recorded, not fatal.
 */
const runPhase = <A, E>(
  database: BenchDatabaseInfo,
  phase: Phase,
  enabled: ReadonlyArray<Phase>,
  budgetSeconds: number,
  effect: Effect.Effect<A, E, Scope.Scope>
): Effect.Effect<PhaseOutcome<A>> => {
  if (!enabled.includes(phase)) return Effect.succeed(null)
  return settle(database, phase).pipe(
    Effect.catchCause((cause) =>
      Cause.hasInterruptsOnly(cause)
        ? Effect.interrupt
        : Effect.logWarning(`${phase}: could not wait for the machine to settle`, cause)
    ),
    Effect.andThen(effect.pipe(Effect.scoped, Effect.timeout(`${budgetSeconds} seconds`))),
    Effect.catchCause((cause) => {
      if (Cause.hasInterruptsOnly(cause)) return Effect.interrupt
      const phaseError = Cause.pretty(cause).split("\n")[0] ?? "failed"
      return Effect.logError(`${phase} phase failed`, cause).pipe(Effect.as({ phaseError }))
    })
  )
}

const program = Effect.gen(function*() {
  const argv = process.argv.slice(2)
  if (argv.includes("--help") || argv.includes("-h")) return yield* Console.log(usage())
  const config = yield* readBenchConfig(argv, process.env)
  const runId = randomBytes(3).toString("hex")
  const startedAt = new Date()
  const started = performance.now()
  const machine = machineInfo()
  const before = sampleSystemCpu()
  yield* Effect.sleep("2 seconds")
  const backgroundBusy = systemBusyShare(before, sampleSystemCpu())

  yield* Effect.logInfo(`bench ${runId}: phases ${config.phases.join(", ")}; creating a database and starting the stack`)
  const database = yield* benchDatabase
  const stack = yield* startBenchStack(database, runId, { notifications: config.notifications > 0 })
  const gateway = stack.gateways[0]
  if (gateway === undefined) return yield* Effect.die(new Error("the stack has no gateway"))
  yield* Effect.logInfo(`stack up: gateways ${stack.gateways.map((g) => g.baseUrl).join(", ")} (database ${database.name})`)

  const wanted = config.phases
  const userCount = Math.max(
    wanted.includes("idle") ? config.idleUsers : 0,
    wanted.includes("fanout") ? config.fanoutUsers : 0,
    wanted.includes("latency") ? config.latencyUsers : 0,
    wanted.includes("history") ? 10 : 0,
    wanted.includes("steps") || wanted.includes("shapes") ? config.latencyUsers : 0,
    wanted.includes("hotroom") ? config.roomSize : 0,
    wanted.includes("ramp") ? config.idleUsers : 0
  )
  const users = yield* registerUsers(gateway.baseUrl, stack.clientAddress, `b${runId}`, userCount)
  yield* Effect.logInfo(`registered ${users.length} users`)

  const idle = yield* runPhase(
    database,
    "idle",
    wanted,
    90 + Math.ceil(config.idleConnections / 100) + config.idleHoldSeconds,
    runIdlePhase(config, stack, users.slice(0, config.idleUsers))
  )
  const fanout = yield* runPhase(
    database,
    "fanout",
    wanted,
    120 + config.fanoutWarmupSeconds + config.fanoutSeconds,
    runFanoutPhase(config, stack, users.slice(0, config.fanoutUsers))
  )
  const latency = yield* runPhase(
    database,
    "latency",
    wanted,
    90 + config.latencyWarmupSeconds + config.latencySeconds,
    runLatencyPhase(config, stack, users.slice(0, config.latencyUsers))
  )

  const steps = yield* runPhase(
    database,
    "steps",
    wanted,
    config.stepRates.length * (120 + config.stepSeconds),
    runSteps(config, stack, users.slice(0, config.latencyUsers))
  )
  const hotroom = yield* runPhase(database, "hotroom", wanted, 150 + config.hotSeconds, runHotRoom(config, stack, users.slice(0, config.roomSize)))
  const shapes = yield* runPhase(database, "shapes", wanted, 4 * (180 + config.shapeSeconds), runShapes(config, stack, users.slice(0, config.latencyUsers)))
  const ramp = yield* runPhase(
    database,
    "ramp",
    wanted,
    2 * (120 + Math.ceil(config.rampConnections / config.rampRate) + config.rampHoldSeconds),
    runRamps(config, stack, users.slice(0, config.idleUsers))
  )
  const history = yield* runPhase(
    database,
    "history",
    wanted,
    180 + config.historySeconds,
    runHistoryPhase(config, stack, users.slice(0, 10), machine.cpus)
  )

  const results: BenchResults = {
    runId,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    durationSeconds: (performance.now() - started) / 1000,
    machine,
    backgroundBusy,
    config,
    idle,
    fanout,
    latency,
    steps,
    hotroom,
    shapes,
    ramp,
    history,
    placement: Object.fromEntries([
      ...[...stack.gateways, ...stack.services].map((p) => [p.name, allowedCpus(p.pid)] as const),
      ["load-generator", allowedCpus("self")]
    ])
  }
  const written = yield* writeResults(results, config.outDir)
  yield* Console.log(`\n${renderMarkdown(results)}`)
  yield* Console.log(`results: ${written.join(", ")}`)
}).pipe(Effect.scoped)

runMain(program)
