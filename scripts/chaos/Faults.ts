/**
 * The faults a chaos run injects, each bounded in time and undone before the next one starts,
 * and the scheduler that runs them one after another (every requested kind once first, in a
 * seeded order, then random picks) until the run's fault phase ends. Each fault is a window
 * in the log (`fault` start/end), so the checker can attribute violations to it.
 */
import { Effect } from "effect"
import type { ChaosLog } from "./ChaosLog.ts"
import { infraCommand } from "./ChaosInfra.ts"
import type { ChaosStackInfo, ServiceHandle } from "./ChaosStack.ts"
import type { Random } from "./Random.ts"

export const FAULT_KINDS = [
  "gateway-kill",
  "gateway-term",
  "chat-kill",
  "room-kill",
  "presence-kill",
  "notification-kill",
  "redis-restart",
  "kafka-restart",
  "postgres-restart",
  "chat-link-delay",
  "chat-link-drop",
  "redis-link-delay",
  "redis-link-blackhole"
] as const
export type FaultKind = typeof FAULT_KINDS[number]

export const isFaultKind = (value: string): value is FaultKind => (FAULT_KINDS as ReadonlyArray<string>).includes(value)

export interface FaultContext {
  readonly stack: ChaosStackInfo
  readonly log: ChaosLog
  readonly random: Random
  /** infra.sh output goes here. */
  readonly infraLog: string
}

const killAndRestart = (service: ServiceHandle, signal: NodeJS.Signals, downMs: number) =>
  Effect.gen(function*() {
    yield* service.kill(signal)
    yield* Effect.sleep(downMs)
    yield* service.restart
  })

const linkFault = (apply: Effect.Effect<void>, heal: Effect.Effect<void>, ms: number) =>
  Effect.gen(function*() {
    yield* apply
    yield* Effect.sleep(ms)
  }).pipe(Effect.ensuring(heal))

/** What one fault does; `detail` names its target for the log. */
const plan = (kind: FaultKind, ctx: FaultContext): { readonly detail: string; readonly run: Effect.Effect<void, unknown> } => {
  const { stack, random } = ctx
  const restartInfra = (service: "postgres" | "redis" | "kafka", downMs: number) =>
    Effect.gen(function*() {
      yield* infraCommand("down", service, ctx.infraLog)
      yield* Effect.sleep(downMs)
      yield* infraCommand("up", service, ctx.infraLog)
    })
  switch (kind) {
    case "gateway-kill": {
      const gateway = random.pick(stack.gateways)
      return { detail: gateway.name, run: killAndRestart(gateway, "SIGKILL", random.int(1_000, 4_000)) }
    }
    case "gateway-term": {
      const gateway = random.pick(stack.gateways)
      return { detail: gateway.name, run: killAndRestart(gateway, "SIGTERM", random.int(1_000, 3_000)) }
    }
    case "chat-kill":
      return { detail: "chat", run: killAndRestart(stack.services.chat, "SIGKILL", random.int(500, 3_000)) }
    case "room-kill":
      return { detail: "room", run: killAndRestart(stack.services.room, "SIGKILL", random.int(500, 3_000)) }
    case "presence-kill":
      return { detail: "presence", run: killAndRestart(stack.services.presence, "SIGKILL", random.int(500, 3_000)) }
    case "notification-kill":
      return { detail: "notification", run: killAndRestart(stack.services.notification, "SIGKILL", random.int(500, 3_000)) }
    case "redis-restart":
      return { detail: "redis", run: restartInfra("redis", random.int(1_000, 4_000)) }
    case "kafka-restart":
      return { detail: "kafka", run: restartInfra("kafka", random.int(2_000, 6_000)) }
    case "postgres-restart":
      return { detail: "postgres", run: restartInfra("postgres", random.int(1_000, 4_000)) }
    case "chat-link-delay": {
      const ms = random.int(200, 1_500)
      return { detail: `gateway-1→chat +${ms}ms`, run: linkFault(stack.chatProxy.delay(ms), stack.chatProxy.heal, random.int(4_000, 10_000)) }
    }
    case "chat-link-drop":
      return { detail: "gateway-1→chat", run: linkFault(stack.chatProxy.drop, stack.chatProxy.heal, random.int(2_000, 6_000)) }
    case "redis-link-delay": {
      const ms = random.int(200, 1_500)
      return { detail: `gateway-2→redis +${ms}ms`, run: linkFault(stack.redisProxy.delay(ms), stack.redisProxy.heal, random.int(4_000, 10_000)) }
    }
    case "redis-link-blackhole":
      return { detail: "gateway-2→redis", run: linkFault(stack.redisProxy.blackhole, stack.redisProxy.heal, random.int(2_000, 6_000)) }
  }
}

/** Runs one fault between its start and end records; a fault that cannot be undone fails the run. */
export const injectFault = (kind: FaultKind, ctx: FaultContext) =>
  Effect.gen(function*() {
    const { detail, run } = plan(kind, ctx)
    ctx.log.record({ kind: "fault", at: Date.now(), fault: kind, phase: "start", detail })
    yield* Effect.logInfo(`fault ${kind} (${detail})`)
    yield* run.pipe(
      Effect.timeout("180 seconds"),
      Effect.ensuring(Effect.sync(() => ctx.log.record({ kind: "fault", at: Date.now(), fault: kind, phase: "end", detail })))
    )
  })

/** Each requested kind once, then random ones until `until` (ms since epoch), `gapMs` of calm between. */
export const runSchedule = (kinds: ReadonlyArray<FaultKind>, until: number, gapMs: readonly [number, number], ctx: FaultContext) =>
  Effect.gen(function*() {
    const queue = ctx.random.shuffle(kinds)
    let injected = 0
    yield* Effect.sleep(ctx.random.int(gapMs[0], gapMs[1]))
    // Every requested kind runs at least once, even when that outlasts `until` a little.
    while (queue.length > 0 || (Date.now() < until && kinds.length > 0)) {
      const kind = queue.shift() ?? ctx.random.pick(kinds)
      yield* injectFault(kind, ctx)
      injected++
      yield* Effect.sleep(ctx.random.int(gapMs[0], gapMs[1]))
    }
    return injected
  })
