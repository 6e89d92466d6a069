/**
 * The life of one WebSocket connection apart from its frames: how it ends — a policy close
 * (1008/4008 from the contract's `WsCloseCode`, logged and counted by reason) or the socket going
 * away — and the three watchers that can end it on their own: keepalive pings, the idle timeout
 * (a connection not heard from for `WS_IDLE_TIMEOUT_MS` is dropped) and the access token's expiry
 * (1008 at `exp`). Time comes from Effect's `Clock`, so `TestClock` drives all of it.
 */
import { Clock, Deferred, Effect, Metric } from "effect"
import type { UserId } from "@pylon/contracts/Ids"
import { WsCloseCode } from "@pylon/contracts/WsFrames"
import type { Admission } from "./ConnectionLimits.ts"
import type { SessionSocket } from "./SessionSocket.ts"

/** Why the server ended a connection on its own (the `reason` label of `pylon_ws_policy_closes_total`). */
export type PolicyClose = Exclude<Admission, "admitted"> | "token_expired" | "session_revoked" | "slow_consumer"

const POLICY_CLOSES: Record<PolicyClose, { readonly code: number; readonly text: string }> = {
  token_expired: { code: WsCloseCode.PolicyViolation, text: "token expired" },
  session_revoked: { code: WsCloseCode.PolicyViolation, text: "session revoked" },
  user_connection_limit: { code: WsCloseCode.PolicyViolation, text: "too many connections for this user" },
  address_connection_limit: { code: WsCloseCode.PolicyViolation, text: "too many connections from this address" },
  slow_consumer: { code: WsCloseCode.SlowConsumer, text: "slow consumer" }
}

/** A reader that stopped reading never completes the close handshake; don't wait 30 s for it. */
const SLOW_CONSUMER_TERMINATE_MS = 1_000

const slowConsumerCloses = Metric.counter("pylon_ws_slow_consumer_closes_total", {
  description: "Connections closed with 4008 because their outbound queue filled"
})
const policyCloses = Metric.counter("pylon_ws_policy_closes_total", {
  description: "Connections the server closed on its own (1008, 4008), by reason"
})

export interface LifecycleOptions {
  readonly userId: UserId
  readonly connectionId: string
  /** The access token's expiry (seconds since the epoch). */
  readonly expiresAt: number
  readonly pingIntervalMs: number
  readonly idleTimeoutMs: number
  /** Whether the session has stopped reading the socket: the client's silence meanwhile is ours. */
  readonly isReadPaused: () => boolean
}

export interface ConnectionLifecycle {
  /** Ends the connection for `reason` (the first reason given is the one recorded). */
  readonly close: (reason: PolicyClose) => void
  /** The client was heard from (a frame or a pong): the idle timeout starts again. */
  readonly touch: () => void
  /** Completes when the connection ends, whoever ended it. */
  readonly ended: Effect.Effect<void>
  /** Keepalive, idle timeout and token expiry; run them for as long as the connection lives. */
  readonly watchers: ReadonlyArray<Effect.Effect<void>>
  /** Logs and counts the policy close, if there was one (once the connection has ended). */
  readonly recordClose: Effect.Effect<void>
}

export const makeConnectionLifecycle = Effect.fnUntraced(function*(socket: SessionSocket, options: LifecycleOptions) {
  const clock = yield* Clock.Clock
  const done = yield* Deferred.make<void>()
  let closedFor: PolicyClose | undefined
  let lastSeen = clock.currentTimeMillisUnsafe()

  const close = (reason: PolicyClose) => {
    closedFor ??= reason
    const { code, text } = POLICY_CLOSES[reason]
    if (socket.close(code, text) && code === WsCloseCode.SlowConsumer) {
      setTimeout(() => socket.terminate(), SLOW_CONSUMER_TERMINATE_MS).unref()
    }
    Deferred.doneUnsafe(done, Effect.void)
  }
  socket.onClosed(() => Deferred.doneUnsafe(done, Effect.void))

  const recordClose = Effect.suspend(() => {
    if (closedFor === undefined) return Effect.void
    const reason = closedFor
    return Effect.all([
      Metric.update(Metric.withAttributes(policyCloses, { reason }), 1),
      reason === "slow_consumer" ? Metric.update(slowConsumerCloses, 1) : Effect.void,
      (reason === "token_expired" ? Effect.logInfo : Effect.logWarning)("websocket closed by policy").pipe(
        Effect.annotateLogs({
          reason,
          code: POLICY_CLOSES[reason].code,
          user_id: options.userId,
          connection_id: options.connectionId
        })
      )
    ], { discard: true })
  })

  /** Protocol pings, so a live client answers with pongs even when it has nothing to say. */
  const keepalive = Effect.gen(function*() {
    while (true) {
      yield* Effect.sleep(options.pingIntervalMs)
      if (socket.isOpen) socket.ping()
    }
  })

  /** Drops the connection once it has not been heard from for exactly `idleTimeoutMs`. */
  const idle = Effect.gen(function*() {
    while (true) {
      const now = yield* Clock.currentTimeMillis
      if (options.isReadPaused()) lastSeen = now
      const silentFor = now - lastSeen
      if (silentFor >= options.idleTimeoutMs) {
        socket.terminate()
        return yield* Deferred.succeed(done, undefined)
      }
      yield* Effect.sleep(options.idleTimeoutMs - silentFor)
    }
  })

  /** The connection ends when its access token expires. */
  const expiry = Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    yield* Effect.sleep(Math.max(0, options.expiresAt * 1000 - now))
    close("token_expired")
  })

  const lifecycle: ConnectionLifecycle = {
    close,
    touch: () => {
      lastSeen = clock.currentTimeMillisUnsafe()
    },
    ended: Deferred.await(done),
    watchers: [keepalive, idle, expiry],
    recordClose
  }
  return lifecycle
})
