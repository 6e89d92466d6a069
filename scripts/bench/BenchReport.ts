/**
 * The benchmark's output: every figure as JSON (`results/latest.json` plus a timestamped copy)
 * and a markdown table of the headline numbers next to the design goals (`results/latest.md`,
 * also printed), with the notes a reader needs to judge them.
 */
import { mkdirSync, writeFileSync } from "node:fs"
import * as NodePath from "node:path"
import { Effect } from "effect"
import type { BenchConfig } from "./BenchConfig.ts"
import type { FanoutResult } from "./FanoutPhase.ts"
import type { HistoryResult } from "./HistoryPhase.ts"
import type { IdleResult } from "./IdlePhase.ts"
import type { LatencySummary } from "./LatencyHistogram.ts"
import type { LatencyResult } from "./LatencyPhase.ts"
import type { MachineInfo } from "./ProcessStats.ts"
import type { RampResult } from "./RampPhase.ts"
import type { RampPair, ShapeResult, StepsResult } from "./Scenarios.ts"

export interface PhaseFailure {
  readonly phaseError: string
}

export type PhaseOutcome<A> = A | PhaseFailure | null

export interface BenchResults {
  readonly runId: string
  readonly startedAt: string
  readonly finishedAt: string
  readonly durationSeconds: number
  readonly machine: MachineInfo
  /** Share of all cores busy during the 2 s before the stack started (work that is not ours). */
  readonly backgroundBusy: number
  readonly config: BenchConfig
  readonly idle: PhaseOutcome<IdleResult>
  readonly fanout: PhaseOutcome<FanoutResult>
  readonly latency: PhaseOutcome<LatencyResult>
  readonly history: PhaseOutcome<HistoryResult>
  readonly steps: PhaseOutcome<StepsResult>
  readonly hotroom: PhaseOutcome<LatencyResult>
  readonly shapes: PhaseOutcome<ReadonlyArray<ShapeResult>>
  readonly ramp: PhaseOutcome<RampPair>
  /** Where each process ran: its allowed CPU list. */
  readonly placement: Readonly<Record<string, string>>
}

const isFailure = <A extends object>(outcome: PhaseOutcome<A>): outcome is PhaseFailure =>
  outcome !== null && "phaseError" in outcome

const num = (value: number, digits = 0) =>
  Number.isFinite(value) ? value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : "n/a"

const ms = (value: number) => `${num(value, value < 10 ? 1 : 0)} ms`

const percentiles = (summary: LatencySummary) =>
  summary.count === 0 ? "no samples" : `p50 ${ms(summary.p50Ms)} · p99 ${ms(summary.p99Ms)} · p99.9 ${ms(summary.p999Ms)} (max ${ms(summary.maxMs)})`

const idleRows = (idle: PhaseOutcome<IdleResult>): Array<ReadonlyArray<string>> => {
  if (idle === null) return []
  if (isFailure(idle)) return [["Idle connections per gateway process", `phase failed: ${idle.phaseError}`, "≥ 100,000"]]
  const limit = Math.min(idle.fdLimitGenerator, idle.fdLimitGateway)
  return [
    [
      "Idle connections held by one gateway process",
      `${num(idle.heldAtEnd)} of ${num(idle.attempted)} attempted held for ${idle.holdSeconds} s` +
      `${idle.failed > 0 ? `, ${num(idle.failed)} failed` : ""} (bounded by this run's size and \`ulimit -n\` ${num(limit)}, not by the gateway)`,
      "≥ 100,000"
    ],
    [
      "Gateway memory per idle connection",
      `${num(idle.perConnectionKiB, 1)} KiB average (RSS ${num(idle.gatewayRssBeforeKiB / 1024)} → ${num(idle.gatewayRssAfterKiB / 1024)} MiB), ` +
      `${num(idle.marginalPerConnectionKiB, 1)} KiB marginal (second half of the sockets)`,
      "≤ 30 KiB"
    ],
    [
      "Gateway CPU while holding them idle",
      `${num(idle.gatewayIdleCores * 100, 1)} % of one core (keepalive pings, presence lease renewals)`,
      "—"
    ]
  ]
}

const fanoutRows = (fanout: PhaseOutcome<FanoutResult>): Array<ReadonlyArray<string>> => {
  if (fanout === null) return []
  if (isFailure(fanout)) return [["Fan-out deliveries per gateway core", `phase failed: ${fanout.phaseError}`, "≥ 200,000 /s"]]
  return [
    [
      "Fan-out deliveries per second per gateway core",
      `**${num(fanout.deliveriesPerGatewayCpuSecond)}** per gateway CPU-second ` +
      `(${num(fanout.deliveriesPerSecond)} deliveries/s wall with the gateway at ${num(fanout.gatewayCores, 2)} cores; ` +
      `${num(fanout.subscribers)} subscribers in one room, ${num(fanout.sendsPerSecond)} sends/s)`,
      "≥ 200,000 /s"
    ]
  ]
}

const latencyRows = (latency: PhaseOutcome<LatencyResult>): Array<ReadonlyArray<string>> => {
  if (latency === null) return []
  if (isFailure(latency)) return [["Send → ack / deliver latency", `phase failed: ${latency.phaseError}`, "p99 ≤ 15 / 25 ms"]]
  const setting = `${num(latency.rate)} sends/s, rooms of ${latency.roomSize} over 2 gateways` +
    (latency.saturated ? `; SATURATED: ${num(latency.ackedPerSecond)} acks/s` : "")
  return [
    [`Send → ack (${setting})`, percentiles(latency.ack), "p99 ≤ 15 ms at 1,000 sends/s"],
    [`Send → deliver, every subscriber (${num(latency.deliveriesPerSecond)} deliveries/s)`, percentiles(latency.deliver), "p99 ≤ 25 ms at 1,000 sends/s"],
    ["Send → deliver, subscribers on the other gateway", percentiles(latency.deliverRemote), "—"]
  ]
}

const historyRows = (history: PhaseOutcome<HistoryResult>): Array<ReadonlyArray<string>> => {
  if (history === null) return []
  if (isFailure(history)) return [["History, latest page of 50", `phase failed: ${history.phaseError}`, "≥ 3,000 req/s, p99 ≤ 30 ms"]]
  return [[
    `History, latest page of 50 (autocannon, ${history.connections} connections)`,
    `**${num(history.requestsPerSecond)} req/s**, p50 ${ms(history.latencyP50Ms)} · p99 ${ms(history.latencyP99Ms)} (max ${ms(history.latencyMaxMs)}); ` +
    `CPU per request: gateway ${num(history.gatewayCpuUsPerRequest)} µs, chat ${num(history.chatCpuUsPerRequest)} µs` +
    (history.non2xx + history.errors + history.timeouts > 0 ? `; ${history.non2xx} non-2xx, ${history.errors} errors, ${history.timeouts} timeouts` : ""),
    "≥ 3,000 req/s, p99 ≤ 30 ms"
  ]]
}

const stepsRows = (steps: PhaseOutcome<StepsResult>): Array<ReadonlyArray<string>> => {
  if (steps === null) return []
  const goal = "1,000/s kept up: ack p99 ≤ 15 ms, deliver p99 ≤ 25 ms"
  if (isFailure(steps)) return [["Cross-node rate steps", `phase failed: ${steps.phaseError}`, goal]]
  const failed = (steps.failedSteps ?? []).map((step) => `${num(step.rate)}/s: **failed** (${step.error})`)
  const each = steps.steps.map((step) =>
    `${num(step.rate)}/s: ${step.saturated || step.deliveriesMissing > 0 ? `**behind** (${num(step.ackedPerSecond)} acks/s)` : "kept up"}, ` +
    `ack p99 ${ms(step.ack.p99Ms)}, deliver p99 ${ms(step.deliver.p99Ms)}, machine ${num(step.machineBusy * 100)} % busy`
  )
  return [[
    `Cross-node (2 gateways, ${steps.steps[0]?.rooms ?? 0} rooms of ${steps.steps[0]?.roomSize ?? 0}): highest rate kept up`,
    `**${num(steps.highestKeptUp)} msgs/s** — ${[...each, ...failed].join("; ")}`,
    goal
  ]]
}

const hotRoomRows = (hot: PhaseOutcome<LatencyResult>): Array<ReadonlyArray<string>> => {
  if (hot === null) return []
  if (isFailure(hot)) return [["Hot room", `phase failed: ${hot.phaseError}`, "≥ 500 msgs/s, ack p99 ≤ 50 ms"]]
  return [[
    `Hot room (1 room of ${hot.roomSize}, every member a sender, ${num(hot.rate)} msgs/s offered)`,
    `${num(hot.ackedPerSecond)} acks/s${hot.saturated ? " (**behind**)" : ""}, ack p50 ${ms(hot.ack.p50Ms)} · p99 ${ms(hot.ack.p99Ms)}; deliver p99 ${ms(hot.deliver.p99Ms)}; ` +
      `machine ${num(hot.machineBusy * 100)} % busy`,
    "≥ 500 msgs/s, ack p99 ≤ 50 ms"
  ]]
}

const shapeRows = (shapes: PhaseOutcome<ReadonlyArray<ShapeResult>>): Array<ReadonlyArray<string>> => {
  if (shapes === null) return []
  const goal = "CPU/delivery ≤ 1.2× floor; deliver p99 ≤ 25 ms at 30,000/s"
  if (isFailure(shapes)) return [["Fan-out shapes", `phase failed: ${shapes.phaseError}`, goal]]
  return shapes.map((shape) => [
    `Fan-out ${shape.shape}, one gateway (${num(shape.pylon.deliveriesPerSecond)} deliveries/s)`,
    `gateway **${num(shape.pylon.targetCpuUsPerDelivery, 1)} µs** CPU/delivery vs floor ${num(shape.floor.targetCpuUsPerDelivery, 1)} µs ` +
    `(**${num(shape.cpuRatio, 2)}×**); deliver p50 ${ms(shape.pylon.deliver.p50Ms)} · p99 ${ms(shape.pylon.deliver.p99Ms)} ` +
    `(floor p99 ${ms(shape.floor.deliver.p99Ms)})${shape.pylon.saturated ? "; **behind**" : ""}`,
    goal
  ])
}

const rampCell = (ramp: RampResult) =>
  `${num(ramp.opened)} of ${num(ramp.offered)} at ${num(ramp.acceptedPerSecond)}/s, ${num(ramp.failed)} failed, ` +
  `connect p99 ${ms(ramp.connect.p99Ms)}, ${num(ramp.cpuMsPerConnection, 2)} ms CPU and ${num(ramp.rssKiBPerConnection, 1)} KiB per connection, ` +
  `holding them ${num(ramp.idleCores, 3)} cores`

const rampRows = (ramp: PhaseOutcome<RampPair>): Array<ReadonlyArray<string>> => {
  if (ramp === null) return []
  const goal = "10,000 at 1,000/s, 0 failed, p99 ≤ 200 ms, ≤ 30 KiB, idle ≤ 0.05 core"
  if (isFailure(ramp)) return [["Connection ramp", `phase failed: ${ramp.phaseError}`, goal]]
  return [
    [`Connection ramp, gateway-1 (${num(ramp.pylon.offeredRate)}/s offered)`, rampCell(ramp.pylon), goal],
    ["Connection ramp, bare ws floor", rampCell(ramp.floor), "—"]
  ]
}

const coreList = (cores: Readonly<Record<string, number>>) =>
  Object.entries(cores).map(([name, value]) => `${name} ${num(value, 2)}`).join(", ")

const notes = (results: BenchResults): Array<string> => {
  const lines = [
    `Machine: ${results.machine.cpus} cores (${results.machine.cpuModel}), ${num(results.machine.memoryMiB / 1024, 1)} GiB, ` +
    `Node ${results.machine.node}, Linux ${results.machine.kernel}. Before the run (other work on the machine): load average ` +
    `${num(results.machine.loadAverage1m, 2)}, ${num(results.backgroundBusy * 100)} % of all cores busy.`,
    "The load generator, PostgreSQL, Redis, Kafka and all five Pylon processes share these cores; " +
    "per-core figures divide by the measured process's own CPU time (utime + stime from /proc), and every latency includes the generator's own scheduling delay."
  ]
  const { idle, fanout, latency, history } = results
  lines.push(`Where each process ran (allowed CPUs): ${Object.entries(results.placement).map(([name, cpus]) => `${name} ${cpus}`).join(", ")}.`)
  if (idle !== null && !isFailure(idle)) {
    lines.push(
      `Idle: ${num(idle.users)} users, ${num(idle.opened)} sockets opened at ${num(idle.connectsPerSecond)}/s; ` +
      `gateway gauge ${idle.gatewayGauge === null ? "n/a" : num(idle.gatewayGauge)}; memory is RSS growth without a forced GC ` +
      `(RSS ${num(idle.gatewayRssEndOfHoldKiB / 1024)} MiB at the end of the hold); closing them all took ${num(idle.closeSeconds, 1)} s.` +
      (idle.firstFailure === null ? "" : ` First connect failure: ${idle.firstFailure}.`)
    )
  }
  if (fanout !== null && !isFailure(fanout)) {
    lines.push(
      `Fan-out: ${fanout.senders} senders, ${fanout.window} messages in flight, ${fanout.contentBytes}-byte content, ` +
      `${num(fanout.measuredSeconds, 1)} s measured; sends in one room are serialised by its seq row lock. ` +
      `CPU (cores): ${coreList(fanout.cores)}; machine ${num(fanout.machineBusy * 100)} % busy; ` +
      `${num(fanout.undelivered)} undelivered, ${fanout.errorFrames} error frames, ${fanout.unexpectedCloses} unexpected closes.`
    )
  }
  if (latency !== null && !isFailure(latency)) {
    lines.push(
      `Latency: schedule fixed in advance, latency = receive time − scheduled send time; ${latency.warmupSeconds} s warm-up + ` +
      `${latency.seconds} s recorded (${num(latency.recordedSends)} sends written at ${num(latency.achievedRate)}/s, ` +
      `acks received at ${num(latency.ackedPerSecond)}/s${latency.saturated ? ": the stack did not keep up, so latency is mostly queueing" : ""}), ` +
      `${latency.rooms} rooms, ${latency.users} users; generator lag ${percentiles(latency.generatorLag)}; ` +
      `${latency.acksMissing} acks and ${latency.deliveriesMissing} deliveries missing, ${latency.duplicateDeliveries} duplicates, ` +
      `${latency.errorFrames} error frames. CPU (cores): ${coreList(latency.cores)}; machine ${num(latency.machineBusy * 100)} % busy.`
    )
  }
  if (history !== null && !isFailure(history)) {
    lines.push(
      `History: ${num(history.messagesInRoom)} messages in the room, ${num(history.seconds)} s of load, autocannon on cpu ${history.generatorCpus}; ` +
      `CPU (cores): ${coreList(history.cores)}; machine ${num(history.machineBusy * 100)} % busy.`
    )
  }
  return lines
}

export const renderMarkdown = (results: BenchResults): string => {
  const rows = [...idleRows(results.idle), ...fanoutRows(results.fanout), ...latencyRows(results.latency),
    ...stepsRows(results.steps),
    ...hotRoomRows(results.hotroom),
    ...shapeRows(results.shapes),
    ...rampRows(results.ramp),
    ...historyRows(results.history)
  ]
  return [
    `Pylon benchmark, ${results.startedAt} (\`npm run bench\`, ${num(results.durationSeconds)} s)`,
    "",
    "| Measure | This machine | Goal |",
    "|---|---|---|",
    ...rows.map((row) => `| ${row.join(" | ")} |`),
    "",
    ...notes(results).map((line) => `- ${line}`),
    ""
  ].join("\n")
}

/** Writes `latest.json`, `latest.md` and `<timestamp>.json` under `dir`; returns the paths written. */
export const writeResults = (results: BenchResults, dir: string) =>
  Effect.sync(() => {
    mkdirSync(dir, { recursive: true })
    const json = `${JSON.stringify(results, null, 2)}\n`
    const stamped = NodePath.join(dir, `${results.startedAt.replace(/[:.]/g, "-")}.json`)
    const latest = NodePath.join(dir, "latest.json")
    const markdown = NodePath.join(dir, "latest.md")
    writeFileSync(latest, json)
    writeFileSync(stamped, json)
    writeFileSync(markdown, renderMarkdown(results))
    return [latest, stamped, markdown]
  })
