/**
 * The issue #10 scenarios on top of the fixed-rate runner (`LatencyPhase.ts`):
 * - steps: the cross-node scenario (rooms of `--room-size`, users alternating between the two
 *   gateways) at each `--step-rates` rate, and the highest rate it kept up with;
 * - hot room: one room of `--room-size` sockets over both gateways, every member a possible
 *   sender, at `--hot-rate`;
 * - shapes: fan-out 10 rooms × 100 sockets at 100 msgs/s and 2 × 500 at 60 msgs/s, all sockets
 *   on gateway-1, then the same against the bare `ws` floor server, and Pylon's ratio of CPU per
 *   delivery to the floor's;
 * - ramps: the connection ramp against gateway-1 and against the floor.
 */
import { randomUUID } from "node:crypto"
import { Cause, Effect, Exit } from "effect"
import type { Scope } from "effect"
import type { BenchConfig } from "./BenchConfig.ts"
import { startFloor } from "./BenchFloor.ts"
import type { BenchStackInfo } from "./BenchStack.ts"
import { crossNodeScenario, runLatencyScenario } from "./LatencyPhase.ts"
import type { BenchTarget, LatencyResult, LatencyScenario } from "./LatencyPhase.ts"
import type { BenchUser } from "./PylonRest.ts"
import { createGroupRoom } from "./PylonRest.ts"
import { runRamp } from "./RampPhase.ts"
import type { RampResult } from "./RampPhase.ts"

/** Kept up: every ack and delivery arrived and the stack was not behind its schedule. */
export const keptUp = (result: LatencyResult): boolean => !result.saturated && result.deliveriesMissing === 0

export interface StepsResult {
  readonly steps: ReadonlyArray<LatencyResult>
  /** Steps that could not be measured at all (e.g. joins timed out), with the reason. */
  readonly failedSteps?: ReadonlyArray<{ readonly rate: number; readonly error: string }>
  /** The highest step rate kept up with (0 if none). */
  readonly highestKeptUp: number
}

/**
 * Runs the rate steps in ascending order; a step that fails is recorded and counts as not kept
 * up; stops after the second step in a row that did not keep up.
 */
export const runSteps = Effect.fn("Scenarios.steps")(function*(
  config: BenchConfig,
  stack: BenchStackInfo,
  users: ReadonlyArray<BenchUser>
) {
  const steps: Array<LatencyResult> = []
  const failedSteps: Array<{ readonly rate: number; readonly error: string }> = []
  let misses = 0
  for (const rate of config.stepRates) {
    const scenario = { ...crossNodeScenario(config, stack, rate), warmupSeconds: 2, seconds: config.stepSeconds }
    const exit = yield* Effect.exit(Effect.scoped(runLatencyScenario(config, scenario, users)))
    if (Exit.isSuccess(exit)) steps.push(exit.value)
    else failedSteps.push({ rate, error: Cause.pretty(exit.cause).split("\n")[0] ?? "failed" })
    misses = Exit.isSuccess(exit) && keptUp(exit.value) ? 0 : misses + 1
    if (misses >= 2) break
  }
  const kept = steps.filter(keptUp).map((step) => step.rate)
  const result: StepsResult = { steps, failedSteps, highestKeptUp: kept.length === 0 ? 0 : Math.max(...kept) }
  return result
})

export const runHotRoom = (config: BenchConfig, stack: BenchStackInfo, users: ReadonlyArray<BenchUser>) =>
  Effect.suspend(() => {
    const base = crossNodeScenario(config, stack, config.hotRate)
    const scenario: LatencyScenario = {
      ...base,
      name: `hot room ${config.hotRate}/s`,
      rooms: 1,
      connections: config.roomSize,
      warmupSeconds: 2,
      seconds: config.hotSeconds
    }
    return runLatencyScenario(config, scenario, users)
  })

interface Shape {
  readonly rooms: number
  readonly roomSize: number
  readonly rate: number
}
export const SHAPES: ReadonlyArray<Shape> = [{ rooms: 10, roomSize: 100, rate: 100 }, { rooms: 2, roomSize: 500, rate: 60 }]

export interface ShapeResult {
  readonly shape: string
  readonly pylon: LatencyResult
  readonly floor: LatencyResult
  /** Pylon gateway CPU per delivery ÷ the floor's. */
  readonly cpuRatio: number
}

const shapeScenario = (
  config: BenchConfig,
  shape: Shape,
  target: BenchTarget,
  createRoom: LatencyScenario["createRoom"],
  measured: ReadonlyArray<BenchTarget>,
  database: string
): LatencyScenario => ({
  name: `fan-out ${shape.rooms}×${shape.roomSize} ${shape.rate}/s on ${target.name}`,
  rate: shape.rate,
  rooms: shape.rooms,
  roomSize: shape.roomSize,
  connections: shape.rooms * shape.roomSize,
  warmupSeconds: 2,
  seconds: config.shapeSeconds,
  targets: [target, target],
  createRoom,
  measured,
  database
})

export const runShapes = Effect.fn("Scenarios.shapes")(function*(
  config: BenchConfig,
  stack: BenchStackInfo,
  users: ReadonlyArray<BenchUser>
): Effect.fn.Return<ReadonlyArray<ShapeResult>, unknown, Scope.Scope> {
  const gateway = stack.gateways[0]
  if (gateway === undefined) return yield* Effect.die(new Error("no gateway"))
  const floor = yield* startFloor
  const results: Array<ShapeResult> = []
  for (const shape of SHAPES) {
    const pylon = yield* Effect.scoped(runLatencyScenario(
      config,
      shapeScenario(
        config,
        shape,
        gateway,
        (r, [owner, ...rest]) =>
          owner === undefined ? Effect.die(new Error("empty room")) : createGroupRoom(gateway.baseUrl, owner, `bench-shape-${r}`, rest),
        [...stack.gateways, ...stack.services],
        stack.database
      ),
      users
    ))
    const onFloor = yield* Effect.scoped(runLatencyScenario(
      config,
      shapeScenario(config, shape, floor, () => Effect.sync(() => randomUUID()), [floor], stack.database),
      users
    ))
    results.push({
      shape: `${shape.rooms} × ${shape.roomSize} at ${shape.rate}/s`,
      pylon,
      floor: onFloor,
      cpuRatio: pylon.targetCpuUsPerDelivery / onFloor.targetCpuUsPerDelivery
    })
  }
  return results
})

export interface RampPair {
  readonly pylon: RampResult
  readonly floor: RampResult
}

/** The connection ramp against gateway-1, then against the floor with the same client. */
export const runRamps = Effect.fn("Scenarios.ramps")(function*(
  config: BenchConfig,
  stack: BenchStackInfo,
  users: ReadonlyArray<BenchUser>
) {
  const gateway = stack.gateways[0]
  if (gateway === undefined) return yield* Effect.die(new Error("no gateway"))
  const pylon = yield* Effect.scoped(runRamp(config, gateway, users))
  const floor = yield* Effect.scoped(Effect.flatMap(startFloor, (process) => runRamp(config, process, users)))
  const result: RampPair = { pylon, floor }
  return result
})
