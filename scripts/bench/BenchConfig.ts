/**
 * The benchmark's sizes and durations: each one a `--flag=value` on the command line
 * (`npm run bench -- --latency-rate=1000`) or a `BENCH_*` environment variable, else its default.
 * Defaults keep the whole run under about five minutes on a 2-core machine.
 */
import * as NodePath from "node:path"
import { parseArgs } from "node:util"
import { Effect } from "effect"
import { BenchError } from "./BenchError.ts"
import { openFileLimit } from "./ProcessStats.ts"

export const PHASES = ["idle", "fanout", "latency", "steps", "hotroom", "shapes", "ramp", "history"] as const
export type Phase = (typeof PHASES)[number]

export interface BenchConfig {
  readonly phases: ReadonlyArray<Phase>
  /** (a) sockets opened to one gateway and held idle. */
  readonly idleConnections: number
  /** Users the idle sockets are spread over (a user may hold many connections). */
  readonly idleUsers: number
  readonly idleConnectConcurrency: number
  readonly idleHoldSeconds: number
  /** (b) sockets on one gateway subscribed to the one fan-out room. */
  readonly fanoutSubscribers: number
  readonly fanoutUsers: number
  readonly fanoutSenders: number
  /** Messages in flight (sent, not yet delivered to every subscriber) during the blast. */
  readonly fanoutWindow: number
  readonly fanoutWarmupSeconds: number
  readonly fanoutSeconds: number
  /** (c) fixed send rate across all rooms, sends per second. */
  readonly latencyRate: number
  readonly latencyWarmupSeconds: number
  readonly latencySeconds: number
  readonly latencyRooms: number
  readonly latencyUsers: number
  readonly roomSize: number
  readonly contentBytes: number
  readonly seed: number
  /** 1: also run the notification service (it consumes message-events off the send path); 0: not. */
  readonly notifications: number
  /** (d) keep-alive connections of the HTTP load tool asking for the latest history page. */
  readonly historyConnections: number
  readonly historySeconds: number
  /** Messages in the history room before the load starts. */
  readonly historyMessages: number
  /** (steps) the cross-node scenario at each of these rates, sends/s, ascending. */
  readonly stepRates: ReadonlyArray<number>
  readonly stepSeconds: number
  /** (hotroom) one room of `--room-size` sockets over both gateways, many senders, at this rate. */
  readonly hotRate: number
  readonly hotSeconds: number
  /** (shapes) seconds measured per fan-out shape (10 × 100 at 100/s, 2 × 500 at 60/s; Pylon and the floor). */
  readonly shapeSeconds: number
  /** (ramp) sockets offered to one server, and at what rate per second. */
  readonly rampConnections: number
  readonly rampRate: number
  readonly rampHoldSeconds: number
  readonly outDir: string
}

interface IntOption {
  readonly key: Exclude<keyof BenchConfig, "phases" | "outDir">
  readonly flag: string
  readonly fallback: number
  readonly min: number
  readonly help: string
}

/** Sockets beyond this need more file descriptors than `ulimit -n` gives (client and gateway each hold one per socket). */
const fdHeadroom = 1_000
const defaultIdleConnections = () => {
  const limit = openFileLimit()
  return Math.max(100, Math.min(10_000, Number.isFinite(limit) ? limit - fdHeadroom : 10_000))
}

const INT_OPTIONS: ReadonlyArray<IntOption> = [
  { key: "idleConnections", flag: "idle-connections", fallback: defaultIdleConnections(), min: 1, help: "idle sockets held by one gateway (the default is capped at `ulimit -n` − 1000)" },
  { key: "idleUsers", flag: "idle-users", fallback: 20, min: 1, help: "users the idle sockets belong to" },
  { key: "idleConnectConcurrency", flag: "idle-connect-concurrency", fallback: 200, min: 1, help: "sockets being opened at once" },
  { key: "idleHoldSeconds", flag: "idle-hold-seconds", fallback: 10, min: 1, help: "how long the idle sockets are held while the gateway's CPU is measured" },
  { key: "fanoutSubscribers", flag: "fanout-subscribers", fallback: 1_000, min: 2, help: "sockets subscribed to the fan-out room (one gateway)" },
  { key: "fanoutUsers", flag: "fanout-users", fallback: 50, min: 2, help: "members of the fan-out room" },
  { key: "fanoutSenders", flag: "fanout-senders", fallback: 4, min: 1, help: "subscribers that also send" },
  { key: "fanoutWindow", flag: "fanout-window", fallback: 32, min: 1, help: "messages in flight during the fan-out blast" },
  { key: "fanoutWarmupSeconds", flag: "fanout-warmup-seconds", fallback: 2, min: 0, help: "blast before measuring" },
  { key: "fanoutSeconds", flag: "fanout-seconds", fallback: 10, min: 1, help: "measured blast" },
  { key: "latencyRate", flag: "latency-rate", fallback: 200, min: 1, help: "fixed send rate, sends/s across all rooms" },
  { key: "latencyWarmupSeconds", flag: "latency-warmup-seconds", fallback: 3, min: 0, help: "sends on schedule before recording" },
  { key: "latencySeconds", flag: "latency-seconds", fallback: 20, min: 1, help: "recorded part of the schedule" },
  { key: "latencyRooms", flag: "latency-rooms", fallback: 20, min: 1, help: "rooms the sends are spread over" },
  { key: "latencyUsers", flag: "latency-users", fallback: 100, min: 2, help: "users (one socket each, alternating between the two gateways)" },
  { key: "roomSize", flag: "room-size", fallback: 50, min: 2, help: "members per latency room, half on each gateway" },
  { key: "contentBytes", flag: "content-bytes", fallback: 64, min: 1, help: "message content length" },
  { key: "seed", flag: "seed", fallback: 1, min: 0, help: "seed of the latency schedule's sender choice" },
  { key: "notifications", flag: "notifications", fallback: 0, min: 0, help: "1 = also start the notification service (Kafka consumer, off the send path)" },
  { key: "historyConnections", flag: "history-connections", fallback: 64, min: 1, help: "autocannon connections asking for the latest history page" },
  { key: "historySeconds", flag: "history-seconds", fallback: 10, min: 1, help: "history load duration" },
  { key: "historyMessages", flag: "history-messages", fallback: 200, min: 50, help: "messages in the history room" },
  { key: "stepSeconds", flag: "step-seconds", fallback: 10, min: 1, help: "recorded seconds per cross-node rate step" },
  { key: "hotRate", flag: "hot-rate", fallback: 500, min: 1, help: "sends/s into the one hot room" },
  { key: "hotSeconds", flag: "hot-seconds", fallback: 10, min: 1, help: "recorded seconds of the hot room" },
  { key: "shapeSeconds", flag: "shape-seconds", fallback: 10, min: 1, help: "recorded seconds per fan-out shape" },
  { key: "rampConnections", flag: "ramp-connections", fallback: 5_000, min: 1, help: "sockets offered in the connection ramp" },
  { key: "rampRate", flag: "ramp-rate", fallback: 1_000, min: 1, help: "sockets offered per second in the ramp" },
  { key: "rampHoldSeconds", flag: "ramp-hold-seconds", fallback: 10, min: 1, help: "seconds the ramp's sockets are held idle while CPU is read" }
]

const envName = (flag: string) => `BENCH_${flag.toUpperCase().replaceAll("-", "_")}`

export const usage = (): string =>
  [
    "usage: npm run bench -- [--flag=value ...]   (or the BENCH_* environment variable of each flag)",
    "",
    `  --phases=${PHASES.join(",")}   which phases to run (${envName("phases")})`,
    `  --step-rates=200,400,600,800,1000   cross-node rate steps, sends/s (${envName("step-rates")})`,
    ...INT_OPTIONS.map((option) => `  --${option.flag}=N   ${option.help}; default ${option.fallback} (${envName(option.flag)})`),
    `  --out-dir=DIR   where results go; default scripts/bench/results (${envName("out-dir")})`
  ].join("\n")

const invalid = (message: string) => new BenchError({ step: "config", message: `${message}\n\n${usage()}` })

/** Reads flags, then `BENCH_*` variables, then defaults; anything malformed fails with the usage text. */
export const readBenchConfig = Effect.fnUntraced(function*(argv: ReadonlyArray<string>, env: NodeJS.ProcessEnv) {
  const options: Record<string, { type: "string" }> = {
    "phases": { type: "string" },
    "out-dir": { type: "string" },
    "step-rates": { type: "string" }
  }
  for (const option of INT_OPTIONS) options[option.flag] = { type: "string" }
  const parsed = yield* Effect.try({
    try: () => parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values,
    catch: (cause) => invalid(cause instanceof Error ? cause.message : String(cause))
  })
  const raw = (flag: string): string | undefined => {
    const value = parsed[flag]
    return typeof value === "string" ? value : env[envName(flag)]
  }

  const ints: Partial<Record<IntOption["key"], number>> = {}
  for (const option of INT_OPTIONS) {
    const text = raw(option.flag)
    const value = text === undefined ? option.fallback : Number(text)
    if (!Number.isInteger(value) || value < option.min) {
      return yield* invalid(`--${option.flag} must be an integer ≥ ${option.min}, got "${text}"`)
    }
    ints[option.key] = value
  }
  const int = (key: IntOption["key"]): number => ints[key] ?? 0

  const phaseNames = (raw("phases") ?? PHASES.join(",")).split(",").map((name) => name.trim()).filter((name) => name !== "")
  const phases: Array<Phase> = []
  for (const name of phaseNames) {
    const phase = PHASES.find((candidate) => candidate === name)
    if (phase === undefined) return yield* invalid(`unknown phase "${name}"`)
    phases.push(phase)
  }
  if (int("roomSize") % 2 !== 0) return yield* invalid("--room-size must be even (half the members on each gateway)")
  if (int("latencyUsers") % 2 !== 0 || int("latencyUsers") < int("roomSize")) {
    return yield* invalid("--latency-users must be even and at least --room-size")
  }
  if (int("fanoutSenders") > int("fanoutSubscribers")) return yield* invalid("--fanout-senders must not exceed --fanout-subscribers")
  const stepRates = (raw("step-rates") ?? "200,400,600,800,1000").split(",").map((rate) => Number(rate.trim()))
  if (stepRates.length === 0 || stepRates.some((rate) => !Number.isInteger(rate) || rate < 1)) {
    return yield* invalid("--step-rates must be a comma-separated list of positive integers")
  }

  return {
    phases,
    idleConnections: int("idleConnections"),
    idleUsers: int("idleUsers"),
    idleConnectConcurrency: int("idleConnectConcurrency"),
    idleHoldSeconds: int("idleHoldSeconds"),
    fanoutSubscribers: int("fanoutSubscribers"),
    fanoutUsers: int("fanoutUsers"),
    fanoutSenders: int("fanoutSenders"),
    fanoutWindow: int("fanoutWindow"),
    fanoutWarmupSeconds: int("fanoutWarmupSeconds"),
    fanoutSeconds: int("fanoutSeconds"),
    latencyRate: int("latencyRate"),
    latencyWarmupSeconds: int("latencyWarmupSeconds"),
    latencySeconds: int("latencySeconds"),
    latencyRooms: int("latencyRooms"),
    latencyUsers: int("latencyUsers"),
    roomSize: int("roomSize"),
    contentBytes: int("contentBytes"),
    seed: int("seed"),
    notifications: int("notifications"),
    historyConnections: int("historyConnections"),
    historySeconds: int("historySeconds"),
    historyMessages: int("historyMessages"),
    stepRates: [...stepRates].sort((a, b) => a - b),
    stepSeconds: int("stepSeconds"),
    hotRate: int("hotRate"),
    hotSeconds: int("hotSeconds"),
    shapeSeconds: int("shapeSeconds"),
    rampConnections: int("rampConnections"),
    rampRate: int("rampRate"),
    rampHoldSeconds: int("rampHoldSeconds"),
    outDir: NodePath.resolve(raw("out-dir") ?? NodePath.join(import.meta.dirname, "results"))
  } satisfies BenchConfig
})
