/**
 * The connection ramp: `--ramp-connections` authenticated sockets offered to one server at a
 * fixed `--ramp-rate` per second (socket i is started at i / rate, whether or not earlier ones
 * have opened: an open-loop schedule, like many independent clients), each with a 15 s
 * handshake timeout. Reports accepted per second, failures (with the first reason), connect
 * latency from the *scheduled* start, the server's CPU per accepted connection and its RSS
 * growth per connection, then the CPU it needs to hold them idle for `--ramp-hold-seconds`.
 * Run against gateway-1 and against the bare `ws` floor with the same client.
 */
import { Effect } from "effect"
import type { WebSocket } from "ws"
import type { BenchConfig } from "./BenchConfig.ts"
import { closeSockets, openSocket } from "./BenchSocket.ts"
import { LatencyHistogram } from "./LatencyHistogram.ts"
import type { LatencySummary } from "./LatencyHistogram.ts"
import type { BenchTarget } from "./LatencyPhase.ts"
import { coresBusy, sampleProcess } from "./ProcessStats.ts"
import type { BenchUser } from "./PylonRest.ts"

export interface RampResult {
  readonly target: string
  readonly offered: number
  readonly offeredRate: number
  readonly opened: number
  readonly failed: number
  readonly firstFailure: string | null
  /** Sockets opened per second, from the first scheduled start to the last open. */
  readonly acceptedPerSecond: number
  readonly connect: LatencySummary
  readonly cpuMsPerConnection: number
  readonly rssKiBPerConnection: number
  readonly holdSeconds: number
  /** The server's CPU while holding them idle, in cores. */
  readonly idleCores: number
}

export const runRamp = Effect.fn("RampPhase.run")(function*(
  config: BenchConfig,
  target: BenchTarget,
  users: ReadonlyArray<BenchUser>
) {
  const total = config.rampConnections
  const rate = config.rampRate
  const sockets: Array<WebSocket> = []
  yield* Effect.addFinalizer(() => closeSockets(sockets, 30_000))
  const connect = new LatencyHistogram()
  let failed = 0
  let firstFailure: string | null = null
  let lastOpenAt = 0
  yield* Effect.logInfo(`ramp: ${total} sockets offered to ${target.name} at ${rate}/s`)

  const before = sampleProcess(target.pid)
  const t0 = performance.now()
  const open = (i: number) =>
    Effect.gen(function*() {
      const due = t0 + (i * 1000) / rate
      const wait = due - performance.now()
      if (wait > 0) yield* Effect.sleep(wait)
      const user = users[i % users.length]
      if (user === undefined) return
      const exit = yield* Effect.exit(openSocket(target.wsUrl, user.token, { onFrame: () => undefined }).pipe(
        Effect.timeout("15 seconds")
      ))
      const now = performance.now()
      if (exit._tag === "Success") {
        sockets.push(exit.value)
        connect.record(now - due)
        lastOpenAt = Math.max(lastOpenAt, now)
      } else {
        failed++
        firstFailure ??= String(exit.cause).split("\n")[0] ?? "failed"
      }
    })
  yield* Effect.forEach(Array.from({ length: total }, (_, i) => i), open, { concurrency: "unbounded", discard: true })
  const after = sampleProcess(target.pid)
  const rampSeconds = Math.max(0.001, (lastOpenAt - t0) / 1000)

  yield* Effect.sleep("2 seconds")
  const holdStart = sampleProcess(target.pid)
  yield* Effect.sleep(`${config.rampHoldSeconds} seconds`)
  const holdEnd = sampleProcess(target.pid)

  const opened = sockets.length
  const cpuSeconds = coresBusy(before, after) * ((after.atMs - before.atMs) / 1000)
  const result: RampResult = {
    target: target.name,
    offered: total,
    offeredRate: rate,
    opened,
    failed,
    firstFailure,
    acceptedPerSecond: opened / rampSeconds,
    connect: connect.summary(),
    cpuMsPerConnection: opened > 0 ? (cpuSeconds * 1000) / opened : Number.NaN,
    rssKiBPerConnection: opened > 0 ? (holdEnd.rssKiB - before.rssKiB) / opened : Number.NaN,
    holdSeconds: config.rampHoldSeconds,
    idleCores: coresBusy(holdStart, holdEnd)
  }
  return result
})
