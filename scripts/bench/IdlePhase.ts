/**
 * Phase (a): idle connections per gateway process and memory per connection. Opens N
 * authenticated sockets to gateway-1 (spread over a few users), holds them idle, and reads the
 * gateway's resident memory (VmRSS) before and after and its CPU time while holding them
 * (server keepalive pings and presence lease renewals are the only work then).
 */
import { Effect } from "effect"
import type { WebSocket } from "ws"
import type { BenchConfig } from "./BenchConfig.ts"
import type { BenchStackInfo } from "./BenchStack.ts"
import { closeSockets, openSocket } from "./BenchSocket.ts"
import { coresBusy, openFileLimit, sampleProcess } from "./ProcessStats.ts"
import type { BenchUser } from "./PylonRest.ts"
import { gatewayConnections, waitForConnections } from "./PylonRest.ts"

export interface IdleResult {
  readonly attempted: number
  readonly opened: number
  readonly failed: number
  readonly firstFailure: string | null
  readonly users: number
  readonly connectSeconds: number
  readonly connectsPerSecond: number
  /** The gateway's own `pylon_ws_connections` gauge once all were open. */
  readonly gatewayGauge: number | null
  /** Sockets still open on the client at the end of the hold. */
  readonly heldAtEnd: number
  readonly gatewayRssBeforeKiB: number
  /** RSS with the first half of the sockets open. */
  readonly gatewayRssHalfKiB: number
  /** RSS with all sockets open (same settling time as the half-way figure). */
  readonly gatewayRssAfterKiB: number
  /** RSS at the end of the hold. */
  readonly gatewayRssEndOfHoldKiB: number
  /** (RSS after − RSS before) / sockets. */
  readonly perConnectionKiB: number
  /** (RSS after − RSS at half) / sockets opened in the second half. */
  readonly marginalPerConnectionKiB: number
  readonly holdSeconds: number
  /** Gateway CPU (cores) while holding the sockets idle. */
  readonly gatewayIdleCores: number
  readonly generatorRssKiB: number
  readonly fdLimitGenerator: number
  readonly fdLimitGateway: number
  readonly closeSeconds: number
}

/** Mean RSS over a few samples, so one GC moment does not decide the figure. */
const meanRss = (pid: number, samples: number) =>
  Effect.gen(function*() {
    let sum = 0
    for (let i = 0; i < samples; i++) {
      if (i > 0) yield* Effect.sleep("400 millis")
      sum += sampleProcess(pid).rssKiB
    }
    return sum / samples
  })

export const runIdlePhase = Effect.fn("IdlePhase.run")(function*(
  config: BenchConfig,
  stack: BenchStackInfo,
  users: ReadonlyArray<BenchUser>
) {
  const gateway = stack.gateways[0]
  if (gateway === undefined) return yield* Effect.die(new Error("idle phase needs a gateway"))
  const wsUrl = gateway.wsUrl
  const tokens = users.map((user) => user.token)
  const tokenAt = (i: number): string => tokens[i % tokens.length] ?? ""
  const sockets: Array<WebSocket> = []
  let unexpectedCloses = 0
  yield* Effect.addFinalizer(() => closeSockets(sockets))

  const openMany = (count: number, into: Array<WebSocket>) =>
    Effect.gen(function*() {
      let failed = 0
      let firstFailure: string | null = null
      yield* Effect.forEach(
        Array.from({ length: count }, (_, i) => i),
        (i) =>
          openSocket(wsUrl, tokenAt(i), { onFrame: () => {}, onClose: () => unexpectedCloses++ }).pipe(
            Effect.timeout("60 seconds"),
            Effect.match({
              onSuccess: (ws) => {
                into.push(ws)
              },
              onFailure: (error) => {
                failed++
                firstFailure ??= error._tag === "BenchError" ? error.message : "timed out"
              }
            })
          ),
        { concurrency: config.idleConnectConcurrency, discard: true }
      )
      return { failed, firstFailure }
    })

  // Warm the gateway's code paths (JIT, pools, lazily built state) so the baseline is not a cold process.
  const warm: Array<WebSocket> = []
  yield* openMany(Math.min(500, config.idleConnections), warm)
  yield* closeSockets(warm)
  yield* waitForConnections(gateway.metricsUrl, 0, 30_000)
  yield* Effect.sleep("3 seconds")
  const rssBefore = yield* meanRss(gateway.pid, 3)
  unexpectedCloses = 0

  yield* Effect.logInfo(`idle: opening ${config.idleConnections} sockets to ${gateway.name}`)
  // In two halves, so the memory figure can also be given as the slope between them (the
  // marginal cost of one more socket, free of any fixed growth the first sockets cause).
  const firstHalf = Math.floor(config.idleConnections / 2)
  let connectStart = performance.now()
  const first = yield* openMany(firstHalf, sockets)
  let connectSeconds = (performance.now() - connectStart) / 1000
  const openedAtHalf = sockets.length
  yield* Effect.sleep("3 seconds")
  const rssHalf = yield* meanRss(gateway.pid, 3)
  connectStart = performance.now()
  const second = yield* openMany(config.idleConnections - firstHalf, sockets)
  connectSeconds += (performance.now() - connectStart) / 1000
  const failed = first.failed + second.failed
  const firstFailure = first.firstFailure ?? second.firstFailure
  yield* Effect.sleep("1 second")
  const gauge = yield* gatewayConnections(gateway.metricsUrl)
  yield* Effect.logInfo(`idle: ${sockets.length} open (${failed} failed) in ${connectSeconds.toFixed(1)} s; holding ${config.idleHoldSeconds} s`)

  yield* Effect.sleep("2 seconds")
  const rssAfter = yield* meanRss(gateway.pid, 3)
  const holdStart = sampleProcess(gateway.pid)
  yield* Effect.sleep(`${config.idleHoldSeconds} seconds`)
  const holdEnd = sampleProcess(gateway.pid)
  const heldAtEnd = sockets.length - unexpectedCloses

  const closeStart = performance.now()
  yield* closeSockets(sockets, 30_000)
  yield* waitForConnections(gateway.metricsUrl, 0, 60_000)
  const closeSeconds = (performance.now() - closeStart) / 1000

  const result: IdleResult = {
    attempted: config.idleConnections,
    opened: sockets.length,
    failed,
    firstFailure,
    users: Math.min(users.length, config.idleConnections),
    connectSeconds,
    connectsPerSecond: sockets.length / connectSeconds,
    gatewayGauge: gauge ?? null,
    heldAtEnd,
    gatewayRssBeforeKiB: Math.round(rssBefore),
    gatewayRssHalfKiB: Math.round(rssHalf),
    gatewayRssAfterKiB: Math.round(rssAfter),
    gatewayRssEndOfHoldKiB: holdEnd.rssKiB,
    perConnectionKiB: sockets.length > 0 ? (rssAfter - rssBefore) / sockets.length : Number.NaN,
    marginalPerConnectionKiB: sockets.length > openedAtHalf ? (rssAfter - rssHalf) / (sockets.length - openedAtHalf) : Number.NaN,
    holdSeconds: config.idleHoldSeconds,
    gatewayIdleCores: coresBusy(holdStart, holdEnd),
    generatorRssKiB: Math.round(process.memoryUsage().rss / 1024),
    fdLimitGenerator: openFileLimit(),
    fdLimitGateway: openFileLimit(gateway.pid),
    closeSeconds
  }
  return result
})
