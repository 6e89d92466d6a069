/**
 * One WebSocket connection (API.md §6), from open to close: decodes every client frame with the
 * contract Schema, answers with error frames (never closing the socket for bad input), joins
 * rooms with replay, sends through the chat service, and writes through a bounded outbound queue
 * (a reader that falls behind is closed with 4008 and memory stays flat).
 */
import type { RawData, WebSocket } from "ws"
import { Clock, Deferred, Duration, Effect, Fiber, Metric, Queue } from "effect"
import type { AccessTokenClaims } from "@pylon/contracts/Auth"
import { wsErrorFrameOf } from "@pylon/contracts/ErrorMapping"
import type { DomainError } from "@pylon/contracts/Errors"
import type { ClientMsgId, RoomId } from "@pylon/contracts/Ids"
import type { ClientFrame, ServerFrame, WsErrorCode } from "@pylon/contracts/WsFrames"
import { ackFrame, decodeClientFrame, encodeServerFrame, errorFrame, messageFrame } from "@pylon/contracts/WsFrames"
import { newId } from "@pylon/platform/IdGenerator"
import { RateLimitConfig } from "@pylon/platform/RateLimiter"
import { SessionRevocations } from "../auth/SessionRevocations.ts"
import { ChatClient, RoomsClient } from "../clients/ServiceClients.ts"
import { FrameBudget } from "./FrameBudget.ts"
import { OutboundBuffer } from "./OutboundBuffer.ts"
import { PresenceLeases } from "./PresenceFanout.ts"
import { RoomFanout } from "./RoomFanout.ts"
import type { LocalSubscriber } from "./RoomFanout.ts"
import { UserSockets } from "./UserChannelFanout.ts"
import { WsSettings } from "./WsSettings.ts"

export const CLOSE_GOING_AWAY = 1001
export const CLOSE_POLICY = 1008
export const CLOSE_SLOW_CONSUMER = 4008

const INBOUND_QUEUE = 256
const REPLAY_PAGE = 100
const MAX_PENDING_DURING_REPLAY = 10_000
const TYPING_THROTTLE_MS = 1_000

const openConnections = Metric.gauge("pylon_ws_connections", { description: "Open WebSocket connections" })
const slowConsumerCloses = Metric.counter("pylon_ws_slow_consumer_closes_total", {
  description: "Connections closed with 4008 because their outbound queue filled"
})
const framesReceived = Metric.counter("pylon_ws_frames_received_total", { description: "Client frames received" })

const textOf = (data: RawData): string =>
  Buffer.isBuffer(data)
    ? data.toString("utf8")
    : Array.isArray(data)
    ? Buffer.concat(data).toString("utf8")
    : Buffer.from(data).toString("utf8")

type Incoming = { readonly kind: "text"; readonly data: string } | { readonly kind: "binary" }

interface JoinedRoom {
  cursor: number
  replaying: boolean
  pending: Array<{ readonly seq: number; readonly json: string }>
  lastTypingAt: number
}

/** Errors a frame handler can meet: typed domain errors from the services, or an RPC transport failure. */
type HandlerError = DomainError | { readonly _tag: "RpcClientError" }

const isDomainError = (error: HandlerError): error is DomainError => error._tag !== "RpcClientError"

export const runSession = (ws: WebSocket, claims: AccessTokenClaims) => Effect.scoped(session(ws, claims))

// Untraced: a connection can live for hours; each frame gets its own root span instead.
const session = Effect.fnUntraced(function*(ws: WebSocket, claims: AccessTokenClaims) {
  const settings = yield* WsSettings
  const fanout = yield* RoomFanout
  const roomsClient = yield* RoomsClient
  const chat = yield* ChatClient
  const limits = yield* RateLimitConfig
  const leases = yield* PresenceLeases
  const userSockets = yield* UserSockets
  const connectionId = yield* newId
  const userId = claims.sub
  const user = { id: claims.sub, username: claims.username }

  const outbound = new OutboundBuffer(ws, settings.outboundQueue, settings.socketHighWaterBytes)
  const inbound = yield* Queue.bounded<Incoming>(INBOUND_QUEUE)
  const done = yield* Deferred.make<void>()
  const joined = new Map<RoomId, JoinedRoom>()
  const budgetWindowMs = Math.max(1, Duration.toMillis(limits.window))
  const messageBudget = new FrameBudget(limits.limits.wsMessages, budgetWindowMs)
  const typingBudget = new FrameBudget(limits.limits.wsTyping, budgetWindowMs)
  let lastSeen = Date.now()
  let slowConsumer = false

  const close = (code: number, reason: string) => {
    if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) {
      ws.close(code, reason)
      // A reader that stopped reading never completes the close handshake; don't wait 30 s for it.
      if (code === CLOSE_SLOW_CONSUMER) setTimeout(() => ws.terminate(), 1_000).unref()
    }
    Deferred.doneUnsafe(done, Effect.void)
  }

  const enqueue = (json: string) => {
    if (outbound.offer(json)) return
    slowConsumer = true
    close(CLOSE_SLOW_CONSUMER, "slow consumer")
  }
  /** Replay waits for room in the queue instead of overflowing it; live traffic buffers meanwhile. */
  const enqueueWaiting = (json: string) =>
    Effect.gen(function*() {
      while (outbound.isFull && ws.readyState === ws.OPEN) yield* Effect.sleep("5 millis")
      enqueue(json)
    })
  const sendFrame = (frame: ServerFrame) => enqueue(encodeServerFrame(frame))
  const sendError = (code: WsErrorCode, message: string, ref?: ClientMsgId) => sendFrame(errorFrame(code, message, ref))
  const sendFailure = (error: HandlerError, ref?: ClientMsgId) =>
    isDomainError(error) ? sendFrame(wsErrorFrameOf(error, ref)) : sendError("UNAVAILABLE", "service temporarily unavailable", ref)

  const subscriber: LocalSubscriber = {
    connectionId,
    userId,
    onMessage: (roomId, seq, json) => {
      const room = joined.get(roomId)
      if (room === undefined) return
      if (room.replaying) {
        room.pending.push({ seq, json })
        if (room.pending.length > MAX_PENDING_DURING_REPLAY) {
          slowConsumer = true
          close(CLOSE_SLOW_CONSUMER, "slow consumer")
        }
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
    const item: Incoming = isBinary ? { kind: "binary" } : { kind: "text", data: textOf(data) }
    if (!Queue.offerUnsafe(inbound, item)) close(CLOSE_POLICY, "too many frames in flight")
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
    close(CLOSE_POLICY, "token expired")
  })

  const join = (roomId: RoomId, sinceSeq: number | undefined) =>
    Effect.gen(function*() {
      const membership = yield* roomsClient.CheckMembership({ user_id: userId, room_id: roomId })
      if (membership.role === null) return sendError("FORBIDDEN", "not a member of this room")
      const already = joined.get(roomId)
      const room: JoinedRoom = already ?? {
        cursor: sinceSeq ?? membership.last_seq,
        replaying: sinceSeq !== undefined,
        pending: [],
        lastTypingAt: 0
      }
      if (already !== undefined && sinceSeq !== undefined) {
        room.replaying = true
        room.cursor = Math.min(room.cursor, sinceSeq)
      }
      joined.set(roomId, room)
      yield* fanout.subscribe(subscriber, roomId, membership.last_seq)
      sendFrame({ type: "user_joined", room_id: roomId, user, last_seq: membership.last_seq })
      yield* fanout.publish(roomId, {
        kind: "event",
        excludeUserId: userId,
        json: encodeServerFrame({ type: "user_joined", room_id: roomId, user })
      })
      if (!room.replaying) return
      // Replay everything after since_seq in pages, then release what arrived live meanwhile.
      let more = true
      while (more) {
        const page = yield* chat.GetMessages({ user_id: userId, room_id: roomId, limit: REPLAY_PAGE, after_seq: room.cursor })
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

  const leave = (roomId: RoomId) =>
    Effect.gen(function*() {
      if (!joined.delete(roomId)) return sendError("NOT_JOINED", "not joined to this room")
      yield* fanout.unsubscribe(connectionId, roomId)
      yield* fanout.publish(roomId, {
        kind: "event",
        excludeUserId: undefined,
        json: encodeServerFrame({ type: "user_left", room_id: roomId, user_id: userId })
      })
    })

  const handleFrame = (frame: ClientFrame): Effect.Effect<void, HandlerError> => {
    switch (frame.type) {
      case "ping":
        return Effect.sync(() => sendFrame({ type: "pong" }))
      case "join":
        return join(frame.room_id, frame.since_seq)
      case "leave":
        return leave(frame.room_id)
      case "typing":
        return Effect.gen(function*() {
          const room = joined.get(frame.room_id)
          if (room === undefined) return sendError("NOT_JOINED", "join the room first")
          const now = Date.now()
          const wait = typingBudget.take(now)
          if (wait > 0) return sendError("RATE_LIMITED", `typing rate limit exceeded, retry in ${wait} s`)
          if (now - room.lastTypingAt < TYPING_THROTTLE_MS) return
          room.lastTypingAt = now
          yield* leases.typing(userId, frame.room_id)
          yield* fanout.publish(frame.room_id, {
            kind: "event",
            excludeUserId: userId,
            json: encodeServerFrame({ type: "typing", room_id: frame.room_id, user_id: userId, username: claims.username })
          })
        })
      case "message":
        return Effect.gen(function*() {
          const ref = frame.client_msg_id
          if (!joined.has(frame.room_id)) return sendError("NOT_JOINED", "join the room first", ref)
          const wait = messageBudget.take(Date.now())
          if (wait > 0) return sendError("RATE_LIMITED", `message rate limit exceeded, retry in ${wait} s`, ref)
          const result = yield* chat.SendMessage({
            user_id: userId,
            room_id: frame.room_id,
            content: frame.content,
            msg_type: frame.msg_type,
            client_msg_id: ref ?? null
          }).pipe(Effect.tapError((error) => Effect.sync(() => sendFailure(error, ref))))
          sendFrame(ackFrame(result.message))
          // A retry (`created: false`) is re-acked, never re-broadcast: its message was published
          // when it was created, and a lost publish is recovered by the seq gap fill.
          if (!result.created) return
          yield* fanout.publish(frame.room_id, {
            kind: "message",
            roomId: result.message.room_id,
            seq: result.message.seq,
            json: encodeServerFrame(messageFrame(result.message))
          })
        }).pipe(Effect.catch(() => Effect.void))
    }
  }

  const reader = Effect.gen(function*() {
    while (true) {
      const item = yield* Queue.take(inbound)
      yield* Metric.update(framesReceived, 1)
      if (item.kind === "binary") {
        sendError("UNSUPPORTED_MESSAGE_TYPE", "binary frames are not supported; send JSON text")
        continue
      }
      const decoded = yield* decodeClientFrame(item.data).pipe(Effect.result)
      if (decoded._tag === "Failure") {
        sendFrame(decoded.failure.frame)
        continue
      }
      yield* handleFrame(decoded.success).pipe(
        Effect.withSpan(`ws.${decoded.success.type}`, { root: true, attributes: { "pylon.user_id": userId } }),
        Effect.catch((error: HandlerError) => Effect.sync(() => sendFailure(error))),
        Effect.catchDefect((defect) =>
          Effect.logError("websocket frame handler defect", defect).pipe(
            Effect.andThen(Effect.sync(() => sendError("INTERNAL", "internal error")))
          ))
      )
    }
  })

  yield* Metric.modify(openConnections, 1)
  yield* leases.hold(userId)
  // Frames for this user (notifications), from whichever service published them.
  yield* userSockets.add(userId, enqueue)
  // Logout or refresh-token reuse on any node ends this connection too.
  yield* (yield* SessionRevocations).register(claims.sid, () => close(CLOSE_POLICY, "session revoked"))
  const fibers = yield* Effect.all([reader, keepalive, expiry].map((task) => Effect.forkChild(task)))
  yield* Deferred.await(done).pipe(
    Effect.ensuring(Effect.gen(function*() {
      yield* Effect.forEach(fibers, Fiber.interrupt, { discard: true })
      outbound.dispose()
      for (const roomId of [...joined.keys()]) {
        joined.delete(roomId)
        yield* fanout.unsubscribe(connectionId, roomId)
        yield* fanout.publish(roomId, {
          kind: "event",
          excludeUserId: userId,
          json: encodeServerFrame({ type: "user_left", room_id: roomId, user_id: userId })
        })
      }
      yield* Metric.modify(openConnections, -1)
      if (slowConsumer) yield* Metric.update(slowConsumerCloses, 1)
      if (ws.readyState === ws.OPEN) ws.close(CLOSE_GOING_AWAY, "server going away")
    }))
  )
})
