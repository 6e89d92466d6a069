/**
 * Phase (b): fan-out deliveries per second per gateway core. One group room, many sockets of
 * its members subscribed on gateway-1, a few of them sending as fast as the pipeline takes.
 * The blast is closed-loop on deliveries (at most `window` messages not yet delivered to every
 * subscriber), so no socket's outbound queue overflows into a 4008 close, and the figure is
 * deliveries counted by the subscribers divided by the gateway's CPU time (utime + stime)
 * over the same interval — independent of how much CPU the co-located generator takes.
 */
import { Effect } from "effect"
import type { WebSocket } from "ws"
import type { BenchConfig } from "./BenchConfig.ts"
import type { BenchStackInfo } from "./BenchStack.ts"
import { closeSockets, framePrefix, frameType, hasPrefix, openSocket, stringField } from "./BenchSocket.ts"
import { coresBetween, snapshotCpu, systemBusyShare } from "./ProcessStats.ts"
import type { BenchUser } from "./PylonRest.ts"
import { createGroupRoom } from "./PylonRest.ts"

export interface FanoutResult {
  readonly subscribers: number
  readonly users: number
  readonly senders: number
  readonly window: number
  readonly contentBytes: number
  readonly measuredSeconds: number
  readonly messagesSent: number
  readonly sendsPerSecond: number
  readonly deliveries: number
  readonly deliveriesPerSecond: number
  /** Gateway CPU during the measured interval, in cores (1.0 = one core busy). */
  readonly gatewayCores: number
  readonly deliveriesPerGatewayCpuSecond: number
  /** CPU in cores during the measured interval, per process (gateways, services, database backends, generator). */
  readonly cores: Readonly<Record<string, number>>
  /** Share of the whole machine busy (all processes, all cores), 0..1. */
  readonly machineBusy: number
  readonly totalSent: number
  readonly totalDelivered: number
  readonly undelivered: number
  readonly errorFrames: number
  readonly firstError: string | null
  readonly unexpectedCloses: number
}

/** Unacknowledged sends per sender socket; the gateway handles one frame of a socket at a time. */
const MAX_UNACKED_PER_SENDER = 32

const MESSAGE = framePrefix("message")
const ACK = framePrefix("ack")

interface Subscriber {
  readonly user: BenchUser
  ws: WebSocket | undefined
  unacked: number
  onJoined: (() => void) | undefined
}

export const runFanoutPhase = Effect.fn("FanoutPhase.run")(function*(
  config: BenchConfig,
  stack: BenchStackInfo,
  users: ReadonlyArray<BenchUser>
) {
  const gateway = stack.gateways[0]
  const owner = users[0]
  if (gateway === undefined || owner === undefined) {
    return yield* Effect.die(new Error("fan-out phase needs a gateway and users"))
  }
  const roomId = yield* createGroupRoom(gateway.baseUrl, owner, `bench-fanout-${Date.now()}`, users)
  const subscriberCount = config.fanoutSubscribers
  const subscribers: Array<Subscriber> = Array.from({ length: subscriberCount }, (_, i) => ({
    user: users[i % users.length] ?? owner,
    ws: undefined,
    unacked: 0,
    onJoined: undefined
  }))
  const senders = subscribers.slice(0, config.fanoutSenders)
  const sockets: Array<WebSocket> = []
  yield* Effect.addFinalizer(() => closeSockets(sockets))

  let delivered = 0
  let sent = 0
  let errorFrames = 0
  let firstError: string | null = null
  let unexpectedCloses = 0
  let lastFrameAt = performance.now()
  let blasting = false
  let nextSender = 0
  const content = "x".repeat(config.contentBytes)

  // Closed loop: keep `window` messages in flight, counted by deliveries to every subscriber.
  const pump = () => {
    if (!blasting) return
    while (sent - delivered / subscriberCount < config.fanoutWindow) {
      let sender: Subscriber | undefined
      for (let tries = 0; tries < senders.length; tries++) {
        const candidate = senders[nextSender]
        nextSender = (nextSender + 1) % senders.length
        if (candidate?.ws !== undefined && candidate.unacked < MAX_UNACKED_PER_SENDER) {
          sender = candidate
          break
        }
      }
      if (sender?.ws === undefined) return
      sender.unacked++
      sent++
      sender.ws.send(`{"type":"message","room_id":"${roomId}","content":"${content}","client_msg_id":"f${sent}"}`)
    }
  }

  const onFrame = (subscriber: Subscriber) => (frame: Buffer) => {
    lastFrameAt = performance.now()
    if (hasPrefix(frame, MESSAGE)) {
      delivered++
      pump()
      return
    }
    if (hasPrefix(frame, ACK)) {
      subscriber.unacked--
      pump()
      return
    }
    const type = frameType(frame)
    if (type === "user_joined" && subscriber.onJoined !== undefined && frame.includes(`"last_seq"`)) {
      subscriber.onJoined()
    } else if (type === "error") {
      errorFrames++
      firstError ??= frame.toString("utf8")
      if (stringField(frame, "ref") !== undefined) subscriber.unacked--
    }
  }

  yield* Effect.logInfo(`fanout: ${subscriberCount} subscribers of one room on ${gateway.name}, ${senders.length} senders`)
  yield* Effect.forEach(subscribers, (subscriber) =>
    openSocket(gateway.wsUrl, subscriber.user.token, {
      onFrame: onFrame(subscriber),
      onClose: () => unexpectedCloses++
    }).pipe(Effect.map((ws) => {
      subscriber.ws = ws
      sockets.push(ws)
    })), { concurrency: 100, discard: true })

  // Join one by one-ish: every join is announced (user_joined) to the subscribers already there.
  yield* Effect.forEach(subscribers, (subscriber) =>
    Effect.callback<void>((resume) => {
      subscriber.onJoined = () => {
        subscriber.onJoined = undefined
        resume(Effect.void)
      }
      subscriber.ws?.send(JSON.stringify({ type: "join", room_id: roomId }))
    }).pipe(Effect.timeout("30 seconds")), { concurrency: 50, discard: true })

  // Let the join announcements and presence frames drain before measuring.
  const quietDeadline = performance.now() + 30_000
  while (performance.now() - lastFrameAt < 1_000 && performance.now() < quietDeadline) yield* Effect.sleep("200 millis")

  const ticker = setInterval(pump, 5)
  yield* Effect.addFinalizer(() => Effect.sync(() => clearInterval(ticker)))
  blasting = true
  pump()
  yield* Effect.sleep(`${config.fanoutWarmupSeconds} seconds`)

  const processes = [...stack.gateways, ...stack.services]
  const start = { delivered, sent, cpu: snapshotCpu(processes, stack.database) }
  yield* Effect.sleep(`${config.fanoutSeconds} seconds`)
  const end = { delivered, sent, cpu: snapshotCpu(processes, stack.database) }
  blasting = false
  clearInterval(ticker)

  // Drain what is still in flight, so undelivered messages can be told from slow ones.
  const drainDeadline = performance.now() + 15_000
  while (delivered < sent * subscriberCount && performance.now() < drainDeadline) yield* Effect.sleep("100 millis")

  const seconds = (end.cpu.atMs - start.cpu.atMs) / 1000
  const deliveries = end.delivered - start.delivered
  const cores = coresBetween(start.cpu, end.cpu)
  const gatewayCores = cores[gateway.name] ?? Number.NaN
  const result: FanoutResult = {
    subscribers: subscriberCount,
    users: Math.min(users.length, subscriberCount),
    senders: senders.length,
    window: config.fanoutWindow,
    contentBytes: config.contentBytes,
    measuredSeconds: seconds,
    messagesSent: end.sent - start.sent,
    sendsPerSecond: (end.sent - start.sent) / seconds,
    deliveries,
    deliveriesPerSecond: deliveries / seconds,
    gatewayCores,
    deliveriesPerGatewayCpuSecond: gatewayCores > 0 ? deliveries / (gatewayCores * seconds) : Number.NaN,
    cores,
    machineBusy: systemBusyShare(start.cpu.system, end.cpu.system),
    totalSent: sent,
    totalDelivered: delivered,
    undelivered: sent * subscriberCount - delivered,
    errorFrames,
    firstError,
    unexpectedCloses
  }
  return result
})
