/**
 * Flags of `npm run chaos -- [--flag value …]` (scripts/chaos/README.md), parsed into a typed
 * config; a bad value is a ChaosConfigError naming the flag.
 */
import { Effect, Schema } from "effect"
import { FAULT_KINDS, isFaultKind } from "./Faults.ts"
import type { FaultKind } from "./Faults.ts"

export class ChaosConfigError extends Schema.TaggedError<ChaosConfigError>()("ChaosConfigError", {
  message: Schema.String
}) {}

export interface ChaosConfig {
  /** Length of the fault phase in ms (traffic runs during it; every requested fault runs at least once). */
  readonly durationMs: number
  readonly seed: number
  readonly users: number
  readonly faults: ReadonlyArray<FaultKind>
  /** Calm between two faults, ms. */
  readonly gapMs: readonly [number, number]
  readonly thinkMs: readonly [number, number]
  readonly sendTimeoutMs: number
  readonly outDir: string | undefined
  /** Show the services' output. */
  readonly logs: boolean
}

export const usage = () => `usage: npm run chaos -- [options]
  --duration <n>s|<n>m   fault phase length (default 120s); every fault kind requested runs at least once
  --faults <list>|all    comma-separated fault kinds (default all): ${FAULT_KINDS.join(", ")}
  --seed <n>             seed of the workload and the fault order (default: random, printed)
  --users <n>            users (default 12; 2–3 devices each)
  --gap <min>-<max>      calm between faults in seconds (default 4-8)
  --think <min>-<max>    pause between a device's sends in ms (default 600-2000)
  --send-timeout <ms>    wait for an ack before retrying the same client_msg_id (default 5000)
  --out <dir>            where report.json, summary.txt and log.jsonl go (default .pylon/chaos/<run id>)
  --logs                 show the services' output`

const parseDuration = (flag: string, value: string) => {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value)
  if (match === null) return Effect.fail(new ChaosConfigError({ message: `${flag}: expected e.g. 90s or 30m, got "${value}"` }))
  const n = Number(match[1])
  const unit = match[2] ?? "s"
  const factor = unit === "ms" ? 1 : unit === "s" ? 1_000 : unit === "m" ? 60_000 : 3_600_000
  return Effect.succeed(Math.round(n * factor))
}

const parseRange = (flag: string, value: string, scale: number) => {
  const match = /^(\d+)-(\d+)$/.exec(value)
  const min = Number(match?.[1])
  const max = Number(match?.[2])
  return match === null || min > max
    ? Effect.fail(new ChaosConfigError({ message: `${flag}: expected <min>-<max>, got "${value}"` }))
    : Effect.succeed([min * scale, max * scale] as const)
}

const parseInt = (flag: string, value: string, min: number) => {
  const n = Number(value)
  return Number.isInteger(n) && n >= min
    ? Effect.succeed(n)
    : Effect.fail(new ChaosConfigError({ message: `${flag}: expected an integer ≥ ${min}, got "${value}"` }))
}

export const readChaosConfig = (argv: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const values = new Map<string, string>()
    const flags = new Set<string>()
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i] ?? ""
      if (!arg.startsWith("--")) return yield* new ChaosConfigError({ message: `unexpected argument "${arg}"` })
      const [name, inline] = arg.slice(2).split("=", 2)
      if (name === "logs") {
        flags.add(name)
        continue
      }
      const value = inline ?? argv[++i]
      if (name === undefined || value === undefined) return yield* new ChaosConfigError({ message: `${arg} needs a value` })
      values.set(name, value)
    }
    const known = new Set(["duration", "faults", "seed", "users", "gap", "think", "send-timeout", "out"])
    for (const name of values.keys()) {
      if (!known.has(name)) return yield* new ChaosConfigError({ message: `unknown option --${name}` })
    }
    const faultList = values.get("faults") ?? "all"
    const faults: Array<FaultKind> = []
    for (const kind of faultList === "all" ? FAULT_KINDS : faultList.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
      if (!isFaultKind(kind)) return yield* new ChaosConfigError({ message: `--faults: unknown fault "${kind}"` })
      faults.push(kind)
    }
    const config: ChaosConfig = {
      durationMs: yield* parseDuration("--duration", values.get("duration") ?? "120s"),
      seed: yield* parseInt("--seed", values.get("seed") ?? String(Math.floor(Math.random() * 1_000_000)), 0),
      users: yield* parseInt("--users", values.get("users") ?? "12", 4),
      faults,
      gapMs: yield* parseRange("--gap", values.get("gap") ?? "4-8", 1_000),
      thinkMs: yield* parseRange("--think", values.get("think") ?? "600-2000", 1),
      sendTimeoutMs: yield* parseInt("--send-timeout", values.get("send-timeout") ?? "5000", 100),
      outDir: values.get("out"),
      logs: flags.has("logs")
    }
    return config
  })
