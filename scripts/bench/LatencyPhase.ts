/**
 * Phase (c): send→ack and send→deliver latency across two gateways at a fixed send rate.
 * Users alternate between gateway-1 and gateway-2 (one socket each); every room has
 * `roomSize` members, half on each gateway. The whole schedule — when each send happens, in
 * which room, by which member — is fixed before the first send, and every latency is
 * measured from the send's *scheduled* time, so a stalled generator or server shows up as
 * latency instead of silently thinning the load (no coordinated omission).
 */
import { Effect } from "effect"
import type { WebSocket } from "ws"
import type { BenchConfig } from "./BenchConfig.ts"
import type { BenchProcess, BenchStackInfo } from "./BenchStack.ts"
import { closeSockets, framePrefix, frameType, hasPrefix, openSocket, stringField } from "./BenchSocket.ts"
import { LatencyHistogram } from "./LatencyHistogram.ts"
import type { LatencySummary } from "./LatencyHistogram.ts"
import { coresBetween, snapshotCpu, systemBusyShare } from "./ProcessStats.ts"
import type { CpuSnapshot } from "./ProcessStats.ts"
import type { BenchUser } from "./PylonRest.ts"
import { createGroupRoom } from "./PylonRest.ts"

/** A server the benchmark's sockets connect to (a gateway, or the bare ws floor). */
export type BenchTarget = Pick<BenchProcess, "name" | "pid" | "baseUrl" | "wsUrl">

/** One fixed-rate run: where the sockets go, how many rooms of how many sockets, which processes are measured. */
export interface LatencyScenario {
  readonly name: string
  readonly rate: number
  readonly rooms: number
  /** Sockets per room (half on each target). */
  readonly roomSize: number
  /** Sockets in all; socket i belongs to user `i % users`, and goes to `targets[i % 2]`. */
  readonly connections: number
  readonly warmupSeconds: number
  readonly seconds: number
  readonly targets: readonly [BenchTarget, BenchTarget]
  /** Creates room `r` with these distinct member users (the first is the owner); returns its id. */
  readonly createRoom: (r: number, members: ReadonlyArray<BenchUser>) => Effect.Effect<string, unknown>
  /** Processes whose CPU is recorded (the targets first). */
  readonly measured: ReadonlyArray<BenchTarget>
  readonly database: string
}

export interface LatencyResult {
  readonly scenario: string
  /** Server processes the sockets were spread over (one name twice: all on one). */
  readonly targets: ReadonlyArray<string>
  readonly rate: number
  readonly warmupSeconds: number
  readonly seconds: number
  readonly rooms: number
  readonly roomSize: number
  readonly users: number
  readonly contentBytes: number
  /** Sends in the recorded part of the schedule. */
  readonly recordedSends: number
  readonly totalSends: number
  /** Sends actually written per second over the recorded part (equals `rate` when the generator kept up). */
  readonly achievedRate: number
  /** Acks received per second over the same interval: below `rate` when the stack did not keep up. */
  readonly ackedPerSecond: number
  /** The stack fell behind the schedule (acks lagging the send rate, or latencies growing without bound). */
  readonly saturated: boolean
  readonly deliveriesPerSecond: number
  readonly acksMissing: number
  readonly deliveriesMissing: number
  readonly duplicateDeliveries: number
  readonly errorFrames: number
  readonly firstError: string | null
  readonly unexpectedCloses: number
  readonly ack: LatencySummary
  /** Every subscriber of the room, the sender's own sockets included. */
  readonly deliver: LatencySummary
  /** Only subscribers on the other gateway than the sender (through Redis pub/sub). */
  readonly deliverRemote: LatencySummary
  /** How late the generator wrote each send after its scheduled time. */
  readonly generatorLag: LatencySummary
  /** CPU in cores during the recorded part, per process. */
  readonly cores: Readonly<Record<string, number>>
  /** CPU of the target processes per delivered message frame, microseconds. */
  readonly targetCpuUsPerDelivery: number
  readonly machineBusy: number
}

const MESSAGE = framePrefix("message")
const ACK = framePrefix("ack")

/** mulberry32: a tiny seeded PRNG, so the schedule is the same on every run with the same seed. */
const seededRandom = (seed: number) => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Members of room r: `roomSize / 2` users from the gateway-1 half (even indexes) and as many
 * from the gateway-2 half (odd indexes), windows shifted per room so rooms overlap evenly.
 */
export const roomMembers = (users: number, rooms: number, roomSize: number): Array<Array<number>> => {
  const half = users / 2
  const perSide = roomSize / 2
  const stride = Math.max(1, Math.floor(half / rooms))
  return Array.from({ length: rooms }, (_, r) => {
    const members: Array<number> = []
    for (let j = 0; j < perSide; j++) {
      const x = (r * stride + j) % half
      members.push(2 * x, 2 * x + 1)
    }
    return members
  })
}

interface Connection {
  readonly user: BenchUser
  readonly gateway: number
  ws: WebSocket | undefined
  readonly pendingJoins: Map<string, () => void>
}

/** Phase (c): the cross-node scenario at `rate` (rooms of `--room-size`, users alternating between the two gateways). */
export const crossNodeScenario = (config: BenchConfig, stack: BenchStackInfo, rate: number): LatencyScenario => {
  const [g1, g2] = stack.gateways
  if (g1 === undefined || g2 === undefined) throw new Error("the stack has fewer than two gateways")
  return {
    name: `cross-node ${rate}/s`,
    rate,
    rooms: config.latencyRooms,
    roomSize: config.roomSize,
    connections: config.latencyUsers,
    warmupSeconds: config.latencyWarmupSeconds,
    seconds: config.latencySeconds,
    targets: [g1, g2],
    createRoom: (r, [owner, ...rest]) =>
      owner === undefined ? Effect.die(new Error("empty room")) : createGroupRoom(g1.baseUrl, owner, `bench-latency-${r}`, rest),
    measured: [...stack.gateways, ...stack.services],
    database: stack.database
  }
}

export const runLatencyPhase = (config: BenchConfig, stack: BenchStackInfo, users: ReadonlyArray<BenchUser>) =>
  runLatencyScenario(config, crossNodeScenario(config, stack, config.latencyRate), users)

export const runLatencyScenario = Effect.fn("LatencyPhase.run")(function*(
  config: BenchConfig,
  s: LatencyScenario,
  users: ReadonlyArray<BenchUser>
) {
  const gateways = s.targets
  if (users.length === 0 || s.connections % 2 !== 0 || s.connections < s.roomSize) {
    return yield* Effect.die(new Error(`${s.name}: needs users, an even number of sockets and at least a room's worth`))
  }
  const userCount = s.connections
  const connections: Array<Connection> = Array.from({ length: userCount }, (_, i) => ({
    user: users[i % users.length] ?? users[0]!,
    gateway: i % 2,
    ws: undefined,
    pendingJoins: new Map()
  }))
  const connectionAt = (i: number): Connection => {
    const connection = connections[i]
    if (connection === undefined) throw new Error(`no connection ${i}`)
    return connection
  }
  const members = roomMembers(userCount, s.rooms, s.roomSize)
  const roomIds = yield* Effect.forEach(members, (indexes, r) =>
    s.createRoom(r, [...new Set(indexes.map((i) => connectionAt(i).user))]), { concurrency: 4 })

  // The schedule, fixed in advance.
  const total = (s.warmupSeconds + s.seconds) * s.rate
  const warmupSends = s.warmupSeconds * s.rate
  const intervalMs = 1000 / s.rate
  /** Send i is due `i / rate` seconds after the start. */
  const scheduledAt = (i: number) => i * intervalMs
  const roomOf = new Int32Array(total)
  const senderOf = new Int32Array(total)
  const senderAt = (i: number) => connectionAt(senderOf[i] ?? 0)
  const random = seededRandom(config.seed)
  for (let i = 0; i < total; i++) {
    const room = i % members.length
    const roomMembersOfI = members[room] ?? []
    roomOf[i] = room
    senderOf[i] = roomMembersOfI[Math.floor(random() * roomMembersOfI.length)] ?? 0
  }
  const acked = new Uint8Array(total)
  const deliveries = new Uint16Array(total)

  const ack = new LatencyHistogram()
  const deliver = new LatencyHistogram()
  const deliverRemote = new LatencyHistogram()
  const lag = new LatencyHistogram()
  let t0 = Number.NaN
  let errorFrames = 0
  let firstError: string | null = null
  let unexpectedCloses = 0
  let duplicateDeliveries = 0
  let acksInWindow = 0
  let recordStart: CpuSnapshot | undefined
  let recordEnd: CpuSnapshot | undefined

  const sendIndexOf = (frame: Buffer): number => {
    const id = stringField(frame, "client_msg_id")
    if (id === undefined || !id.startsWith("l")) return -1
    const index = Number(id.slice(1))
    return Number.isInteger(index) && index >= 0 && index < total ? index : -1
  }

  const onFrame = (connection: Connection) => (frame: Buffer) => {
    const now = performance.now()
    if (hasPrefix(frame, MESSAGE)) {
      const i = sendIndexOf(frame)
      if (i < 0) return
      const count = (deliveries[i] ?? 0) + 1
      deliveries[i] = count
      if (count > s.roomSize) duplicateDeliveries++
      if (i < warmupSends) return
      const latency = now - (t0 + scheduledAt(i))
      deliver.record(latency)
      if (senderAt(i).gateway !== connection.gateway) deliverRemote.record(latency)
      return
    }
    if (hasPrefix(frame, ACK)) {
      const i = sendIndexOf(frame)
      if (i < 0) return
      acked[i] = 1
      if (recordStart !== undefined && recordEnd === undefined) acksInWindow++
      if (i >= warmupSends) ack.record(now - (t0 + scheduledAt(i)))
      return
    }
    const type = frameType(frame)
    if (type === "user_joined" && frame.includes(`"last_seq"`)) {
      const room = stringField(frame, "room_id")
      const resolve = room === undefined ? undefined : connection.pendingJoins.get(room)
      if (room !== undefined && resolve !== undefined) {
        connection.pendingJoins.delete(room)
        resolve()
      }
    } else if (type === "error") {
      errorFrames++
      firstError ??= frame.toString("utf8")
    }
  }

  const sockets: Array<WebSocket> = []
  yield* Effect.addFinalizer(() => closeSockets(sockets))
  yield* Effect.logInfo(`${s.name}: ${userCount} sockets over ${[...new Set(gateways.map((g) => g.name))].join(" + ")}, ${members.length} rooms of ${s.roomSize}`)
  yield* Effect.forEach(connections, (connection) =>
    openSocket(gateways[connection.gateway === 0 ? 0 : 1].wsUrl, connection.user.token, {
      onFrame: onFrame(connection),
      onClose: () => unexpectedCloses++
    }).pipe(Effect.map((ws) => {
      connection.ws = ws
      sockets.push(ws)
    })), { concurrency: 50, discard: true })

  const joins = members.flatMap((indexes, r) => indexes.map((i) => ({ connection: connectionAt(i), roomId: roomIds[r] ?? "" })))
  yield* Effect.forEach(joins, ({ connection, roomId }) =>
    Effect.callback<void>((resume) => {
      connection.pendingJoins.set(roomId, () => resume(Effect.void))
      connection.ws?.send(JSON.stringify({ type: "join", room_id: roomId }))
    }).pipe(Effect.timeout("90 seconds")), { concurrency: 50, discard: true })
  yield* Effect.sleep("2 seconds")

  const content = "x".repeat(config.contentBytes)
  const frames = Array.from({ length: total }, (_, i) =>
    `{"type":"message","room_id":"${roomIds[roomOf[i] ?? 0] ?? ""}","content":"${content}","client_msg_id":"l${i}"}`)

  yield* Effect.logInfo(`${s.name}: ${s.rate} sends/s for ${s.warmupSeconds} s warm-up + ${s.seconds} s recorded`)
  const sampleAll = () => snapshotCpu(s.measured, s.database)

  // The sender loop: every tick writes every send whose scheduled time has come.
  yield* Effect.callback<void>((resume) => {
    let next = 0
    t0 = performance.now()
    const tick = () => {
      const now = performance.now()
      const elapsed = now - t0
      while (next < total && scheduledAt(next) <= elapsed) {
        if (next === warmupSends) recordStart = sampleAll()
        const ws = senderAt(next).ws
        ws?.send(frames[next] ?? "")
        if (next >= warmupSends) lag.record(now - (t0 + scheduledAt(next)))
        next++
      }
      if (next < total) {
        timer = setTimeout(tick, Math.max(0, Math.min(1, scheduledAt(next) - (performance.now() - t0))))
      } else {
        recordEnd = sampleAll()
        resume(Effect.void)
      }
    }
    let timer = setTimeout(tick, 0)
    return Effect.sync(() => clearTimeout(timer))
  })

  // Drain: wait for the acks and deliveries still in flight (missing ones are reported, not hidden).
  const complete = () => {
    for (let i = 0; i < total; i++) if (acked[i] === 0 || (deliveries[i] ?? 0) < s.roomSize) return false
    return true
  }
  const drainDeadline = performance.now() + 10_000
  while (!complete() && performance.now() < drainDeadline) yield* Effect.sleep("100 millis")

  let acksMissing = 0
  let deliveriesMissing = 0
  let deliveredRecorded = 0
  for (let i = warmupSends; i < total; i++) {
    if (acked[i] === 0) acksMissing++
    deliveriesMissing += Math.max(0, s.roomSize - (deliveries[i] ?? 0))
    deliveredRecorded += Math.min(s.roomSize, deliveries[i] ?? 0)
  }
  const start = recordStart ?? sampleAll()
  const end = recordEnd ?? sampleAll()
  const seconds = (end.atMs - start.atMs) / 1000
  const recordedSends = total - warmupSends
  const ackedPerSecond = acksInWindow / seconds
  const ackSummary = ack.summary()
  const cores = coresBetween(start, end)
  const targetNames = [...new Set(gateways.map((g) => g.name))]
  const targetCores = targetNames.reduce((sum, name) => sum + (cores[name] ?? 0), 0)
  const result: LatencyResult = {
    scenario: s.name,
    targets: gateways.map((g) => g.name),
    rate: s.rate,
    warmupSeconds: s.warmupSeconds,
    seconds: s.seconds,
    rooms: members.length,
    roomSize: s.roomSize,
    users: userCount,
    contentBytes: config.contentBytes,
    recordedSends,
    totalSends: total,
    achievedRate: recordedSends / seconds,
    ackedPerSecond,
    saturated: ackedPerSecond < 0.95 * s.rate || acksMissing > 0 || ackSummary.p50Ms > 1_000,
    deliveriesPerSecond: deliveredRecorded / seconds,
    acksMissing,
    deliveriesMissing,
    duplicateDeliveries,
    errorFrames,
    firstError,
    unexpectedCloses,
    ack: ackSummary,
    deliver: deliver.summary(),
    deliverRemote: deliverRemote.summary(),
    generatorLag: lag.summary(),
    cores,
    targetCpuUsPerDelivery: deliveredRecorded > 0 ? (targetCores * seconds * 1e6) / deliveredRecorded : Number.NaN,
    machineBusy: systemBusyShare(start.system, end.system)
  }
  return result
})
