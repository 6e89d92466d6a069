/**
 * Phase (d): history under an HTTP load tool. One group room is filled with
 * `--history-messages` messages over a WebSocket, then `autocannon` (pinned in the workspace,
 * run as its own process, pinned to the last core with `taskset` when available) requests the
 * latest page of 50 (`GET /api/v1/rooms/{id}/messages`) over `--history-connections` keep-alive
 * connections for `--history-seconds` against gateway-1. Reports requests/s, latency
 * percentiles, non-2xx answers, and the CPU of every process over the same interval (so CPU per
 * request of the gateway and the chat service can be read off).
 */
import { execFile } from "node:child_process"
import { existsSync } from "node:fs"
import * as NodePath from "node:path"
import { Effect, Schema } from "effect"
import type { WebSocket } from "ws"
import type { BenchConfig } from "./BenchConfig.ts"
import { BenchError } from "./BenchError.ts"
import type { BenchStackInfo } from "./BenchStack.ts"
import { closeSockets, framePrefix, hasPrefix, openSocket } from "./BenchSocket.ts"
import { coresBetween, snapshotCpu, systemBusyShare } from "./ProcessStats.ts"
import type { BenchUser } from "./PylonRest.ts"
import { createGroupRoom } from "./PylonRest.ts"

export interface HistoryResult {
  readonly connections: number
  readonly seconds: number
  readonly messagesInRoom: number
  readonly requests: number
  readonly requestsPerSecond: number
  readonly latencyP50Ms: number
  readonly latencyP90Ms: number
  readonly latencyP99Ms: number
  readonly latencyMaxMs: number
  readonly non2xx: number
  readonly errors: number
  readonly timeouts: number
  /** CPU per request, microseconds, of gateway-1 and of the chat service. */
  readonly gatewayCpuUsPerRequest: number
  readonly chatCpuUsPerRequest: number
  /** Where the load tool ran: the `taskset` CPU list, or "any". */
  readonly generatorCpus: string
  readonly cores: Readonly<Record<string, number>>
  readonly machineBusy: number
}

/** The part of autocannon's `--json` output we read. */
const AutocannonOutput = Schema.Struct({
  requests: Schema.Struct({ total: Schema.Number, average: Schema.Number }),
  latency: Schema.Struct({ p50: Schema.Number, p90: Schema.Number, p99: Schema.Number, max: Schema.Number }),
  non2xx: Schema.Number,
  errors: Schema.Number,
  timeouts: Schema.Number,
  duration: Schema.Number
})
const decodeAutocannon = Schema.decodeUnknownEffect(Schema.fromJsonString(AutocannonOutput))

const ACK = framePrefix("ack")
const JOINED = framePrefix("user_joined")

const AUTOCANNON = NodePath.resolve(import.meta.dirname, "../../node_modules/.bin/autocannon")

/** Sends `count` messages from one socket, `window` at a time, and waits for every ack. */
const fillRoom = (wsUrl: string, user: BenchUser, roomId: string, count: number) =>
  Effect.gen(function*() {
    let acked = 0
    let sent = 0
    let joined: (() => void) | undefined
    let done: (() => void) | undefined
    const window = 32
    const socketRef: { ws?: WebSocket } = {}
    const pump = () => {
      while (socketRef.ws !== undefined && sent < count && sent - acked < window) {
        sent++
        socketRef.ws.send(JSON.stringify({ type: "message", room_id: roomId, content: `history message ${sent}`, client_msg_id: `h${sent}` }))
      }
    }
    const ws = yield* openSocket(wsUrl, user.token, {
      onFrame: (frame) => {
        if (hasPrefix(frame, ACK)) {
          acked++
          if (acked >= count) done?.()
          else pump()
        } else if (hasPrefix(frame, JOINED)) joined?.()
      }
    })
    yield* Effect.addFinalizer(() => closeSockets([ws]))
    yield* Effect.callback<void>((resume) => {
      joined = () => resume(Effect.void)
      ws.send(JSON.stringify({ type: "join", room_id: roomId }))
    }).pipe(Effect.timeout("30 seconds"))
    yield* Effect.callback<void>((resume) => {
      done = () => resume(Effect.void)
      socketRef.ws = ws
      pump()
    }).pipe(Effect.timeout("120 seconds"))
  })

/** `taskset -c <last cpu>` when the machine has more than one core and taskset exists. */
const pinning = (cpus: number): ReadonlyArray<string> =>
  cpus > 1 && existsSync("/usr/bin/taskset") ? ["/usr/bin/taskset", "-c", String(cpus - 1)] : []

const runAutocannon = (args: ReadonlyArray<string>, timeoutMs: number) =>
  Effect.callback<string, BenchError>((resume) => {
    const [command, ...rest] = args
    if (command === undefined) return resume(Effect.fail(new BenchError({ step: "history", message: "no command" })))
    const child = execFile(command, rest, { maxBuffer: 16 * 1024 * 1024, timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error !== null) resume(Effect.fail(new BenchError({ step: "history", message: `autocannon failed: ${error.message} ${stderr}` })))
      else resume(Effect.succeed(stdout))
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

export const runHistoryPhase = Effect.fn("HistoryPhase.run")(function*(
  config: BenchConfig,
  stack: BenchStackInfo,
  users: ReadonlyArray<BenchUser>,
  cpus: number
) {
  const gateway = stack.gateways[0]
  const owner = users[0]
  if (gateway === undefined || owner === undefined) return yield* Effect.die(new Error("history phase needs a gateway and a user"))
  const roomId = yield* createGroupRoom(gateway.baseUrl, owner, `bench-history-${Date.now()}`, users.slice(0, 10))
  yield* Effect.logInfo(`history: filling a room with ${config.historyMessages} messages`)
  yield* Effect.scoped(fillRoom(gateway.wsUrl, owner, roomId, config.historyMessages))

  const pin = pinning(cpus)
  const url = `${gateway.baseUrl}/api/v1/rooms/${roomId}/messages?limit=50`
  const command = [
    ...pin,
    AUTOCANNON,
    "--json",
    "--connections", String(config.historyConnections),
    "--duration", String(config.historySeconds),
    "--headers", `authorization=Bearer ${owner.token}`,
    "--headers", `x-forwarded-for=${stack.clientAddress}`,
    url
  ]
  yield* Effect.logInfo(`history: autocannon, ${config.historyConnections} connections, ${config.historySeconds} s${pin.length > 0 ? ` (pinned to cpu ${cpus - 1})` : ""}`)
  const processes = [...stack.gateways, ...stack.services]
  const before = snapshotCpu(processes, stack.database)
  const stdout = yield* runAutocannon(command, (config.historySeconds + 60) * 1000)
  const after = snapshotCpu(processes, stack.database)
  const out = yield* decodeAutocannon(stdout).pipe(
    Effect.mapError((error) => new BenchError({ step: "history", message: `unreadable autocannon output: ${error.message}` }))
  )
  const cores = coresBetween(before, after)
  const wall = (after.atMs - before.atMs) / 1000
  const requests = out.requests.total
  const perRequestUs = (name: string) => requests > 0 ? ((cores[name] ?? Number.NaN) * wall * 1e6) / requests : Number.NaN
  const result: HistoryResult = {
    connections: config.historyConnections,
    seconds: out.duration,
    messagesInRoom: config.historyMessages,
    requests,
    requestsPerSecond: requests / out.duration,
    latencyP50Ms: out.latency.p50,
    latencyP90Ms: out.latency.p90,
    latencyP99Ms: out.latency.p99,
    latencyMaxMs: out.latency.max,
    non2xx: out.non2xx,
    errors: out.errors,
    timeouts: out.timeouts,
    gatewayCpuUsPerRequest: perRequestUs(gateway.name),
    chatCpuUsPerRequest: perRequestUs("chat"),
    generatorCpus: pin.length > 0 ? String(cpus - 1) : "any",
    cores,
    machineBusy: systemBusyShare(before.system, after.system)
  }
  return result
})
