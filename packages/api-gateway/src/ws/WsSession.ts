/**
 * One WebSocket connection (API.md §6), from open to close: admits it under the connection caps,
 * reads client frames into the frame pipeline, and tears everything down when it ends. The jobs
 * live in their own modules, wired together here:
 *
 * - `ConnectionLifecycle.ts` — policy closes (1008/4008), keepalive, idle timeout, token expiry;
 * - `RoomSubscriptions.ts` — join/leave, replay with live messages buffered meanwhile, kicks;
 * - `FrameHandlers.ts` — what each frame does, budgets charged in arrival order (`SessionBudgets.ts`);
 * - `FramePipeline.ts` / `FrameReplies.ts` — several frames at once, replies in frame order (ADR 0004);
 * - `InboundFlow.ts` — the socket is not read while too many bytes wait;
 * - `SessionOutput.ts` / `OutboundBuffer.ts` — a bounded outbound queue (a reader that falls
 *   behind is closed with 4008 and memory stays flat).
 *
 * The socket is a `SessionSocket`, so a session runs in process without a real `ws` connection.
 * Bad input is answered with error frames and never closes the socket.
 */
import { randomUUID } from "node:crypto"
import { Effect, Fiber, Metric, Queue } from "effect"
import { ALL_ROOM_TYPES, websocketConnectionsActive } from "@pylon/platform/observability/OriginalMetrics"
import type { AccessTokenClaims } from "@pylon/contracts/Auth"
import { decodeClientFrame, errorFrame, WsCloseCode } from "@pylon/contracts/WsFrames"
import { RateLimitConfig } from "@pylon/platform/ratelimit/RateLimitConfig"
import { SessionRevocations } from "../auth/SessionRevocations.ts"
import { ChatClient, RoomsClient } from "../clients/ServiceClients.ts"
import { makeConnectionLifecycle } from "./ConnectionLifecycle.ts"
import { ConnectionLimits } from "./ConnectionLimits.ts"
import { makeFrameHandlers } from "./FrameHandlers.ts"
import { makeFramePipeline } from "./FramePipeline.ts"
import type { HandlerError } from "./FrameReplies.ts"
import { repliesOf } from "./FrameReplies.ts"
import { FRAME_OVERHEAD_BYTES, InboundFlow } from "./InboundFlow.ts"
import { OutboundBuffer } from "./OutboundBuffer.ts"
import { OutgoingFrame } from "./OutgoingFrame.ts"
import { PresenceLeases } from "./PresenceFanout.ts"
import { RoomFanout } from "./RoomFanout.ts"
import { makeRoomSubscriptions } from "./RoomSubscriptions.ts"
import { makeSessionBudgets } from "./SessionBudgets.ts"
import { makeSessionContext } from "./SessionContext.ts"
import { makeSessionOutput } from "./SessionOutput.ts"
import type { Incoming, SessionSocket } from "./SessionSocket.ts"
import { TypingThrottle } from "./TypingThrottle.ts"
import { UserSockets } from "./UserChannelFanout.ts"
import { WsSettings } from "./WsSettings.ts"

const openConnections = Metric.gauge("pylon_ws_connections", { description: "Open WebSocket connections" })
// The original's name for the same count (docs/adr/0007-metric-names.md).
const activeConnections = Metric.withAttributes(websocketConnectionsActive, { room_type: ALL_ROOM_TYPES })
const inboundPauses = Metric.counter("pylon_ws_inbound_pauses_total", {
  description: "Times a connection's socket stopped being read because its unanswered frames reached WS_INBOUND_BUFFER_BYTES"
})
/** The inbound-pause counter at 0, so dashboards see a series before the first pause. */
export const initialiseSessionCounters = Metric.update(inboundPauses, 0)
const framesReceived = Metric.counter("pylon_ws_frames_received_total", { description: "Client frames received" })

/**
 * Connection ids name a socket in this node's fan-out and in logs: a counter behind a random
 * per-process prefix (unique across nodes and restarts, and cheaper than a UUID per connection).
 */
const CONNECTION_PREFIX = `ws-${randomUUID().slice(0, 8)}-`
let connections = 0
const nextConnectionId = () => `${CONNECTION_PREFIX}${++connections}`

/**
 * Runs the session of `socket` until the connection ends. `clientAddress` is the client's
 * address for the per-address connection cap (`upgradeClientAddress`).
 */
export const runSession = (socket: SessionSocket, claims: AccessTokenClaims, clientAddress: string) =>
  Effect.scoped(session(socket, claims, clientAddress))

// Untraced: a connection can live for hours; each frame gets its own root span instead.
const session = Effect.fnUntraced(function*(socket: SessionSocket, claims: AccessTokenClaims, clientAddress: string) {
  const settings = yield* WsSettings
  const fanout = yield* RoomFanout
  const leases = yield* PresenceLeases
  const connectionId = nextConnectionId()
  const user = { id: claims.sub, username: claims.username }
  // Metrics updated from socket callbacks, outside any fiber, use the session's services.
  const services = yield* Effect.context<never>()

  const lifecycle = yield* makeConnectionLifecycle(socket, {
    userId: user.id,
    connectionId,
    expiresAt: claims.exp,
    pingIntervalMs: settings.pingIntervalMs,
    idleTimeoutMs: settings.idleTimeoutMs,
    isReadPaused: () => flow.isPaused
  })

  const admission = yield* (yield* ConnectionLimits).admit(user.id, clientAddress)
  if (admission !== "admitted") {
    lifecycle.close(admission)
    return yield* lifecycle.recordClose
  }

  const output = makeSessionOutput({
    socket,
    outbound: new OutboundBuffer(socket, settings.outboundQueue, settings.socketHighWaterBytes),
    idleTimeoutMs: settings.idleTimeoutMs,
    onSlowConsumer: () => lifecycle.close("slow_consumer")
  })
  const context = makeSessionContext({ connectionId, user, output, fanout, rpcTimeoutMs: settings.rpcTimeoutMs })
  const budgets = makeSessionBudgets(yield* RateLimitConfig)
  const chat = yield* ChatClient
  const rooms = makeRoomSubscriptions({
    context,
    fanout,
    rooms: yield* RoomsClient,
    chat,
    budgets,
    onOverflow: () => lifecycle.close("slow_consumer")
  })
  const replies = repliesOf(output.sendFrame)
  const handlers = makeFrameHandlers({
    context,
    rooms,
    chat,
    leases,
    typingThrottle: yield* TypingThrottle,
    budgets,
    replies
  })

  // Unbounded as a queue, bounded in bytes by `flow`: the socket is not read while it is full.
  const inbound = yield* Queue.unbounded<Incoming>()
  const pipeline = yield* makeFramePipeline(settings.maxFramesInFlight)
  const flow = new InboundFlow(settings.inboundBufferBytes, {
    pause: () => {
      socket.pause()
      inboundPauses.updateUnsafe(1, services)
    },
    resume: () => {
      socket.resume()
      lifecycle.touch()
    }
  })

  // --- socket events → queue (synchronous callbacks only) ---
  socket.onFrame((frame) => {
    lifecycle.touch()
    const item = { ...frame, bytes: frame.bytes + FRAME_OVERHEAD_BYTES }
    flow.received(item.bytes)
    Queue.offerUnsafe(inbound, item)
  })
  socket.onPong(lifecycle.touch)

  const reader = Effect.gen(function*() {
    while (true) {
      const item = yield* Queue.take(inbound)
      yield* Metric.update(framesReceived, 1)
      const decoded = item.kind === "binary" ? undefined : yield* decodeClientFrame(item.data).pipe(Effect.result)
      const { handle, lane } = decoded === undefined
        ? handlers.immediate(errorFrame("UNSUPPORTED_MESSAGE_TYPE", "binary frames are not supported; send JSON text"))
        : decoded._tag === "Failure"
        ? handlers.immediate(decoded.failure.frame)
        : yield* handlers.plan(decoded.success)
      const span = decoded?._tag === "Success" ? `ws.${decoded.success.type}` : "ws.invalid"
      yield* pipeline.submit(
        lane,
        (step) =>
          handle(step).pipe(
            Effect.catch((error: HandlerError) => replies(step).failure(error)),
            Effect.catchDefect((defect) =>
              Effect.logError("websocket frame handler defect", defect).pipe(
                Effect.andThen(replies(step).error("INTERNAL", "internal error"))
              )
            ),
            // No stack capture: it would always point here, and a `new Error()` per frame was ~1.4 % of
            // a gateway's CPU under load (docs/perf.md §10).
            Effect.withSpan(span, { root: true, attributes: { "pylon.user_id": user.id } }, { captureStackTrace: false })
          ),
        () => flow.answered(item.bytes)
      )
    }
  })

  yield* Metric.modify(openConnections, 1)
  yield* Metric.modify(activeConnections, 1)
  yield* leases.hold(user.id)
  // Frames for this user (notifications), from whichever service published them.
  yield* (yield* UserSockets).add(user.id, (json) => output.enqueue(new OutgoingFrame(json)))
  // Logout or refresh-token reuse on any node ends this connection too.
  yield* (yield* SessionRevocations).register(claims.sid, () => lifecycle.close("session_revoked"))
  const fibers = yield* Effect.all([reader, lifecycle.watcher].map((task) => Effect.forkChild(task)))
  yield* lifecycle.ended.pipe(
    Effect.ensuring(Effect.gen(function*() {
      yield* Effect.forEach(fibers, Fiber.interrupt, { discard: true })
      // No handler may subscribe to a room after the rooms below are left.
      yield* pipeline.shutdown
      output.dispose()
      yield* rooms.leaveAll
      yield* Metric.modify(openConnections, -1)
      yield* Metric.modify(activeConnections, -1)
      yield* lifecycle.recordClose
      // Read again, so the close handshake below can complete.
      if (flow.isPaused) socket.resume()
      if (socket.isOpen) socket.close(WsCloseCode.GoingAway, "server going away")
    }))
  )
})
