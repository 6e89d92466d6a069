/**
 * One WebSocket connection (API.md §6), from open to close: decodes every client frame with the
 * contract Schema, answers with error frames (never closing the socket for bad input), joins
 * rooms with replay, sends through the chat service, and writes through a bounded outbound queue
 * (a reader that falls behind is closed with 4008 and memory stays flat).
 *
 * Inbound, a busy client is slowed, not cut off: frames are handled by a pipeline (several at
 * once, one room's frames in order, replies in frame order — `FramePipeline.ts`, ADR 0004), the
 * socket stops being read while too many bytes wait (`InboundFlow.ts`), every internal call has
 * a deadline (`WS_RPC_TIMEOUT_MS` → `UNAVAILABLE`), and budgets answer with `RATE_LIMITED`.
 * Connections are capped per user and per client address (1008); every policy close is logged
 * and counted by reason.
 */
import type { IncomingMessage } from "node:http"
import type { RawData, WebSocket } from "ws"
import { Cause, Clock, Deferred, Duration, Effect, Fiber, Metric, Queue } from "effect"
import type { AccessTokenClaims } from "@pylon/contracts/Auth"
import { wsErrorFrameOf } from "@pylon/contracts/ErrorMapping"
import type { DomainError } from "@pylon/contracts/Errors"
import type { ClientMsgId, RoomId } from "@pylon/contracts/Ids"
import type { ClientFrame, SendFrame, ServerFrame, WsErrorCode } from "@pylon/contracts/WsFrames"
import { ackFrame, decodeClientFrame, encodeServerFrame, errorFrame, messageFrame } from "@pylon/contracts/WsFrames"
import { newId } from "@pylon/platform/IdGenerator"
import { RateLimitConfig } from "@pylon/platform/RateLimiter"
import { SessionRevocations } from "../auth/SessionRevocations.ts"
import { ChatClient, RoomsClient } from "../clients/ServiceClients.ts"
import { TrustedProxySettings } from "../http/RateLimitGuard.ts"
import type { BusEnvelope } from "./BusEnvelope.ts"
import { ConnectionLimits, upgradeClientAddress } from "./ConnectionLimits.ts"
import type { Admission } from "./ConnectionLimits.ts"
import { FrameBudget } from "./FrameBudget.ts"
import { makeFramePipeline } from "./FramePipeline.ts"
import type { FrameStep } from "./FramePipeline.ts"
import { FRAME_OVERHEAD_BYTES, InboundFlow } from "./InboundFlow.ts"
import { OutboundBuffer } from "./OutboundBuffer.ts"
import { PresenceLeases } from "./PresenceFanout.ts"
import { RoomFanout } from "./RoomFanout.ts"
import type { LocalSubscriber } from "./RoomFanout.ts"
import { TypingThrottle } from "./TypingThrottle.ts"
import { UserSockets } from "./UserChannelFanout.ts"
import { WsSettings } from "./WsSettings.ts"

export const CLOSE_GOING_AWAY = 1001
export const CLOSE_POLICY = 1008
export const CLOSE_SLOW_CONSUMER = 4008

const REPLAY_PAGE = 100
const MAX_PENDING_DURING_REPLAY = 10_000

/** Why the server ended a connection on its own (the `reason` label of `pylon_ws_policy_closes_total`). */
type PolicyClose = Exclude<Admission, "admitted"> | "token_expired" | "session_revoked" | "slow_consumer"

const POLICY_CLOSES: Record<PolicyClose, { readonly code: number; readonly text: string }> = {
  token_expired: { code: CLOSE_POLICY, text: "token expired" },
  session_revoked: { code: CLOSE_POLICY, text: "session revoked" },
  user_connection_limit: { code: CLOSE_POLICY, text: "too many connections for this user" },
  address_connection_limit: { code: CLOSE_POLICY, text: "too many connections from this address" },
  slow_consumer: { code: CLOSE_SLOW_CONSUMER, text: "slow consumer" }
}

const openConnections = Metric.gauge("pylon_ws_connections", { description: "Open WebSocket connections" })
const slowConsumerCloses = Metric.counter("pylon_ws_slow_consumer_closes_total", {
  description: "Connections closed with 4008 because their outbound queue filled"
})
const policyCloses = Metric.counter("pylon_ws_policy_closes_total", {
  description: "Connections the server closed on its own (1008, 4008), by reason"
})
const inboundPauses = Metric.counter("pylon_ws_inbound_pauses_total", {
  description: "Times a connection's socket stopped being read because its unanswered frames reached WS_INBOUND_BUFFER_BYTES"
})
const framesReceived = Metric.counter("pylon_ws_frames_received_total", { description: "Client frames received" })

const textOf = (data: RawData): string =>
  Buffer.isBuffer(data)
    ? data.toString("utf8")
    : Array.isArray(data)
    ? Buffer.concat(data).toString("utf8")
    : Buffer.from(data).toString("utf8")

const byteLengthOf = (data: RawData): number =>
  Array.isArray(data) ? data.reduce((sum, chunk) => sum + chunk.length, 0) : data.byteLength

type Incoming =
  | { readonly kind: "text"; readonly data: string; readonly bytes: number }
  | { readonly kind: "binary"; readonly bytes: number }

interface JoinedRoom {
  cursor: number
  replaying: boolean
  pending: Array<{ readonly seq: number; readonly json: string }>
}

/**
 * Errors a frame handler can meet: typed domain errors from the services, an RPC transport
 * failure, or a call that outlived its deadline.
 */
type HandlerError = DomainError | { readonly _tag: "RpcClientError" } | { readonly _tag: "TimeoutError" }

const isDomainError = (error: HandlerError): error is DomainError =>
  error._tag !== "RpcClientError" && error._tag !== "TimeoutError"

const failureFrame = (error: HandlerError, ref?: ClientMsgId): ServerFrame =>
  isDomainError(error) ? wsErrorFrameOf(error, ref) : errorFrame("UNAVAILABLE", "service temporarily unavailable", ref)

export const runSession = (ws: WebSocket, claims: AccessTokenClaims, request: IncomingMessage) =>
  Effect.scoped(session(ws, claims, request))

// Untraced: a connection can live for hours; each frame gets its own root span instead.
const session = Effect.fnUntraced(function*(ws: WebSocket, claims: AccessTokenClaims, request: IncomingMessage) {
  const settings = yield* WsSettings
  const fanout = yield* RoomFanout
  const roomsClient = yield* RoomsClient
  const chat = yield* ChatClient
  const limits = yield* RateLimitConfig
  const leases = yield* PresenceLeases
  const userSockets = yield* UserSockets
  const typingThrottle = yield* TypingThrottle
  const connectionId = yield* newId
  const userId = claims.sub
  const user = { id: claims.sub, username: claims.username }
  // Metrics updated from `ws` callbacks, outside any fiber, use the session's services.
  const services = yield* Effect.context<never>()

  let closedFor: PolicyClose | undefined
  const done = yield* Deferred.make<void>()
  const close = (reason: PolicyClose) => {
    closedFor ??= reason
    const { code, text } = POLICY_CLOSES[reason]
    if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) {
      ws.close(code, text)
      // A reader that stopped reading never completes the close handshake; don't wait 30 s for it.
      if (code === CLOSE_SLOW_CONSUMER) setTimeout(() => ws.terminate(), 1_000).unref()
    }
    Deferred.doneUnsafe(done, Effect.void)
  }
  const recordClose = Effect.suspend(() => {
    if (closedFor === undefined) return Effect.void
    const reason = closedFor
    return Effect.all([
      Metric.update(Metric.withAttributes(policyCloses, { reason }), 1),
      reason === "slow_consumer" ? Metric.update(slowConsumerCloses, 1) : Effect.void,
      (reason === "token_expired" ? Effect.logInfo : Effect.logWarning)("websocket closed by policy").pipe(
        Effect.annotateLogs({ reason, code: POLICY_CLOSES[reason].code, user_id: userId, connection_id: connectionId })
      )
    ], { discard: true })
  })

  const address = upgradeClientAddress(request, yield* TrustedProxySettings)
  const admission = yield* (yield* ConnectionLimits).admit(userId, address)
  if (admission !== "admitted") {
    close(admission)
    return yield* recordClose
  }

  const outbound = new OutboundBuffer(ws, settings.outboundQueue, settings.socketHighWaterBytes)
  // Unbounded as a queue, bounded in bytes by `flow`: the socket is not read while it is full.
  const inbound = yield* Queue.unbounded<Incoming>()
  const pipeline = yield* makeFramePipeline(settings.maxFramesInFlight)
  const joined = new Map<RoomId, JoinedRoom>()
  const budgetWindowMs = Math.max(1, Duration.toMillis(limits.window))
  const messageBudget = new FrameBudget(limits.limits.wsMessages, budgetWindowMs)
  const typingBudget = new FrameBudget(limits.limits.wsTyping, budgetWindowMs)
  const joinBudget = new FrameBudget(limits.limits.join, budgetWindowMs)
  const historyBudget = new FrameBudget(limits.limits.history, budgetWindowMs)
  const deadline = Duration.millis(settings.rpcTimeoutMs)
  let lastSeen = Date.now()

  const flow = new InboundFlow(settings.inboundBufferBytes, {
    pause: () => {
      ws.pause()
      inboundPauses.updateUnsafe(1, services)
    },
    resume: () => {
      ws.resume()
      lastSeen = Date.now()
    }
  })

  const enqueue = (json: string) => {
    if (!outbound.offer(json)) close("slow_consumer")
  }
  /**
   * Replay waits for room in the queue instead of overflowing it; live traffic buffers meanwhile.
   * A reader that takes no frame for the idle timeout is cut off like any slow consumer.
   */
  const enqueueWaiting = (json: string) =>
    Effect.gen(function*() {
      const giveUpAt = Date.now() + settings.idleTimeoutMs
      while (outbound.isFull && ws.readyState === ws.OPEN && Date.now() < giveUpAt) yield* Effect.sleep("5 millis")
      enqueue(json)
    })
  const sendFrame = (frame: ServerFrame) => enqueue(encodeServerFrame(frame))
  const sendError = (code: WsErrorCode, message: string, ref?: ClientMsgId) => sendFrame(errorFrame(code, message, ref))

  /** Replies of one frame: each waits for the frame's turn, so replies leave in frame order. */
  const replies = (step: FrameStep) => {
    const send = (frame: ServerFrame) => Effect.andThen(step.turn, Effect.sync(() => sendFrame(frame)))
    return {
      send,
      error: (code: WsErrorCode, message: string, ref?: ClientMsgId) => send(errorFrame(code, message, ref)),
      failure: (error: HandlerError, ref?: ClientMsgId) => send(failureFrame(error, ref))
    }
  }

  /** Every internal call of a frame has a deadline; running out of it is `UNAVAILABLE`. */
  const withDeadline = <A, E>(call: Effect.Effect<A, E>) => Effect.timeout(call, deadline)
  const publish = (roomId: RoomId, envelope: BusEnvelope) =>
    fanout.publish(roomId, envelope).pipe(
      Effect.timeoutOrElse({ duration: deadline, orElse: () => Effect.logWarning("room bus publish timed out") })
    )

  const subscriber: LocalSubscriber = {
    connectionId,
    userId,
    onMessage: (roomId, seq, json) => {
      const room = joined.get(roomId)
      if (room === undefined) return
      if (room.replaying) {
        room.pending.push({ seq, json })
        if (room.pending.length > MAX_PENDING_DURING_REPLAY) close("slow_consumer")
        return
      }
      if (seq <= room.cursor) return
      room.cursor = seq
      enqueue(json)
    },
    onEvent: (roomId, json) => {
      if (joined.has(roomId)) enqueue(json)
    },
    onKicked: (roomId) => {
      joined.delete(roomId)
    }
  }

  // --- ws events → queues (synchronous callbacks only) ---
  ws.on("message", (data, isBinary) => {
    lastSeen = Date.now()
    const bytes = byteLengthOf(data) + FRAME_OVERHEAD_BYTES
    flow.received(bytes)
    Queue.offerUnsafe(inbound, isBinary ? { kind: "binary", bytes } : { kind: "text", data: textOf(data), bytes })
  })
  ws.on("pong", () => {
    lastSeen = Date.now()
  })
  ws.on("close", () => Deferred.doneUnsafe(done, Effect.void))
  ws.on("error", () => Deferred.doneUnsafe(done, Effect.void))

  // --- keepalive: protocol ping; close a connection silent for too long ---
  const keepalive = Effect.gen(function*() {
    while (true) {
      yield* Effect.sleep(settings.pingIntervalMs)
      // While we are not reading the socket its pongs wait unread: that silence is ours.
      if (flow.isPaused) lastSeen = Date.now()
      if (Date.now() - lastSeen > settings.idleTimeoutMs) {
        ws.terminate()
        return yield* Deferred.succeed(done, undefined)
      }
      if (ws.readyState === ws.OPEN) ws.ping()
    }
  })

  // --- token lifetime: the connection ends when its access token expires ---
  const expiry = Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    yield* Effect.sleep(Math.max(0, claims.exp * 1000 - now))
    close("token_expired")
  })

  const userLeft = (roomId: RoomId, excludeUserId: string | undefined): BusEnvelope => ({
    kind: "event",
    excludeUserId,
    json: encodeServerFrame({ type: "user_left", room_id: roomId, user_id: userId })
  })

  const join = (roomId: RoomId, sinceSeq: number | undefined, step: FrameStep) =>
    Effect.gen(function*() {
      const reply = replies(step)
      const membership = yield* withDeadline(roomsClient.CheckMembership({ user_id: userId, room_id: roomId }))
      if (membership.role === null) return yield* reply.error("FORBIDDEN", "not a member of this room")
      if (sinceSeq !== undefined) {
        // Replay pages are charged to the history budget up front, so a refused join changes nothing.
        const pages = Math.ceil(Math.max(0, membership.last_seq - sinceSeq) / REPLAY_PAGE)
        const wait = historyBudget.takeMany(pages, Date.now())
        if (wait > 0) return yield* reply.error("RATE_LIMITED", `history rate limit exceeded, retry in ${wait} s`)
      }
      // From here on this frame writes straight to the socket: wait until the frames before it are answered.
      yield* step.turn
      const already = joined.get(roomId)
      const room: JoinedRoom = already ?? {
        cursor: sinceSeq ?? membership.last_seq,
        replaying: sinceSeq !== undefined,
        pending: []
      }
      if (already !== undefined && sinceSeq !== undefined) {
        room.replaying = true
        room.cursor = Math.min(room.cursor, sinceSeq)
      }
      joined.set(roomId, room)
      yield* fanout.subscribe(subscriber, roomId, membership.last_seq)
      sendFrame({ type: "user_joined", room_id: roomId, user, last_seq: membership.last_seq })
      yield* publish(roomId, {
        kind: "event",
        excludeUserId: userId,
        json: encodeServerFrame({ type: "user_joined", room_id: roomId, user })
      })
      if (!room.replaying) return
      yield* replay(roomId, room).pipe(
        // A replay cut short would leave a hole before the live messages: leave the room instead;
        // the client rejoins with the last seq it got. (Interrupted: the session is closing and
        // leaves every room itself.)
        Effect.onError((cause) => Cause.hasInterruptsOnly(cause) ? Effect.void : abandon(roomId, room))
      )
    })

  /** Everything after the room's cursor in pages, then what arrived live meanwhile. */
  const replay = (roomId: RoomId, room: JoinedRoom) =>
    Effect.gen(function*() {
      let more = true
      while (more) {
        const page = yield* withDeadline(
          chat.GetMessages({ user_id: userId, room_id: roomId, limit: REPLAY_PAGE, after_seq: room.cursor })
        )
        for (const message of page.messages) {
          if (message.seq > room.cursor) {
            room.cursor = message.seq
            yield* enqueueWaiting(encodeServerFrame(messageFrame(message)))
          }
        }
        more = page.has_more && page.messages.length > 0
      }
      for (const item of room.pending.sort((a, b) => a.seq - b.seq)) {
        if (item.seq > room.cursor) {
          room.cursor = item.seq
          yield* enqueueWaiting(item.json)
        }
      }
      room.pending = []
      room.replaying = false
    })

  const abandon = (roomId: RoomId, room: JoinedRoom) =>
    Effect.gen(function*() {
      if (joined.get(roomId) !== room) return
      joined.delete(roomId)
      yield* fanout.unsubscribe(connectionId, roomId)
      yield* publish(roomId, userLeft(roomId, undefined))
    })

  const leave = (roomId: RoomId, step: FrameStep) =>
    Effect.gen(function*() {
      yield* step.turn
      if (!joined.delete(roomId)) return sendError("NOT_JOINED", "not joined to this room")
      yield* fanout.unsubscribe(connectionId, roomId)
      yield* publish(roomId, userLeft(roomId, undefined))
    })

  const typing = (roomId: RoomId, step: FrameStep) =>
    Effect.gen(function*() {
      if (!joined.has(roomId)) return yield* replies(step).error("NOT_JOINED", "join the room first")
      if (!typingThrottle.admit(userId, roomId)) return
      // Best effort: a typing mark the presence service did not take in time is simply lost.
      yield* withDeadline(leases.typing(userId, roomId)).pipe(Effect.ignore)
      yield* publish(roomId, {
        kind: "event",
        excludeUserId: userId,
        json: encodeServerFrame({ type: "typing", room_id: roomId, user_id: userId, username: claims.username })
      })
    })

  const message = (frame: SendFrame, step: FrameStep) =>
    Effect.gen(function*() {
      const reply = replies(step)
      const ref = frame.client_msg_id
      if (!joined.has(frame.room_id)) return yield* reply.error("NOT_JOINED", "join the room first", ref)
      const sent = yield* withDeadline(chat.SendMessage({
        user_id: userId,
        room_id: frame.room_id,
        content: frame.content,
        msg_type: frame.msg_type,
        client_msg_id: ref ?? null
      })).pipe(Effect.result)
      // Committed (or given up on): the room's next send may start while this one replies.
      yield* step.releaseLane
      if (sent._tag === "Failure") return yield* reply.failure(sent.failure, ref)
      const result = sent.success
      yield* reply.send(ackFrame(result.message))
      // A retry (`created: false`) is re-acked, never re-broadcast: its message was published
      // when it was created, and a lost publish is recovered by the seq gap fill.
      if (!result.created) return
      // After the ack went out, so the sender sees its ack before its own message frame.
      yield* publish(frame.room_id, {
        kind: "message",
        roomId: result.message.room_id,
        seq: result.message.seq,
        json: encodeServerFrame(messageFrame(result.message))
      })
    })

  /** Over a budget: a `RATE_LIMITED` reply in the frame's turn, with no lane. */
  const refuse = (what: string, wait: number, ref?: ClientMsgId) => ({
    lane: undefined,
    handle: (step: FrameStep) => replies(step).error("RATE_LIMITED", `${what} rate limit exceeded, retry in ${wait} s`, ref)
  })

  /** Budgets are charged here, in arrival order; a room's frames share the room's lane. */
  const plan = (
    frame: ClientFrame
  ): { readonly lane: string | undefined; readonly handle: (step: FrameStep) => Effect.Effect<void, HandlerError> } => {
    const now = Date.now()
    switch (frame.type) {
      case "ping":
        return { lane: undefined, handle: (step) => replies(step).send({ type: "pong" }) }
      case "join":
      case "leave": {
        const wait = joinBudget.take(now)
        if (wait > 0) return refuse(frame.type, wait)
        return {
          lane: frame.room_id,
          handle: (step) => frame.type === "join" ? join(frame.room_id, frame.since_seq, step) : leave(frame.room_id, step)
        }
      }
      case "typing": {
        const wait = typingBudget.take(now)
        return wait > 0 ? refuse("typing", wait) : { lane: frame.room_id, handle: (step) => typing(frame.room_id, step) }
      }
      case "message": {
        const wait = messageBudget.take(now)
        return wait > 0
          ? refuse("message", wait, frame.client_msg_id)
          : { lane: frame.room_id, handle: (step) => message(frame, step) }
      }
    }
  }

  const immediate = (frame: ServerFrame) => ({ lane: undefined, handle: (step: FrameStep) => replies(step).send(frame) })

  const reader = Effect.gen(function*() {
    while (true) {
      const item = yield* Queue.take(inbound)
      yield* Metric.update(framesReceived, 1)
      const decoded = item.kind === "binary" ? undefined : yield* decodeClientFrame(item.data).pipe(Effect.result)
      const { handle, lane } = decoded === undefined
        ? immediate(errorFrame("UNSUPPORTED_MESSAGE_TYPE", "binary frames are not supported; send JSON text"))
        : decoded._tag === "Failure"
        ? immediate(decoded.failure.frame)
        : plan(decoded.success)
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
            Effect.withSpan(span, { root: true, attributes: { "pylon.user_id": userId } })
          ),
        () => flow.answered(item.bytes)
      )
    }
  })

  yield* Metric.modify(openConnections, 1)
  yield* leases.hold(userId)
  // Frames for this user (notifications), from whichever service published them.
  yield* userSockets.add(userId, enqueue)
  // Logout or refresh-token reuse on any node ends this connection too.
  yield* (yield* SessionRevocations).register(claims.sid, () => close("session_revoked"))
  const fibers = yield* Effect.all([reader, keepalive, expiry].map((task) => Effect.forkChild(task)))
  yield* Deferred.await(done).pipe(
    Effect.ensuring(Effect.gen(function*() {
      yield* Effect.forEach(fibers, Fiber.interrupt, { discard: true })
      // No handler may subscribe to a room after the rooms below are left.
      yield* pipeline.shutdown
      outbound.dispose()
      for (const roomId of [...joined.keys()]) {
        joined.delete(roomId)
        yield* fanout.unsubscribe(connectionId, roomId)
        yield* publish(roomId, userLeft(roomId, userId))
      }
      yield* Metric.modify(openConnections, -1)
      yield* recordClose
      // Read again, so the close handshake below can complete.
      if (flow.isPaused) ws.resume()
      if (ws.readyState === ws.OPEN) ws.close(CLOSE_GOING_AWAY, "server going away")
    }))
  )
})
