/**
 * The life of one WebSocket connection apart from its frames: how it ends — a policy close
 * (1008/4008 from the contract's `WsCloseCode`, logged and counted by reason) or the socket going
 * away — and what can end it on its own, watched by one fiber per connection (one timer at a
 * time, not one per concern: it sleeps until the earliest of the three): keepalive pings, the idle
 * timeout (a connection not heard from for `WS_IDLE_TIMEOUT_MS` is dropped) and the access token's
 * expiry (1008 at `exp`). Time comes from Effect's `Clock`, so `TestClock` drives all of it.
 */
import { Clock, Deferred, Effect, Metric, Record } from "effect"
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

/** Both close counters at 0 (every reason), so dashboards and alerts see a series before the first close. */
export const initialiseCloseCounters = Effect.forEach(
  Record.keys(POLICY_CLOSES),
  (reason) => Metric.update(Metric.withAttributes(policyCloses, { reason }), 0),
  { discard: true }
).pipe(Effect.andThen(Metric.update(slowConsumerCloses, 0)))

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
  /** Keepalive, idle timeout and token expiry; run it for as long as the connection lives. */
  readonly watcher: Effect.Effect<void>
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

  /**
   * Sends a protocol ping every `pingIntervalMs` (so a live client answers with pongs even when it
   * has nothing to say), drops the connection once it has not been heard from for exactly
   * `idleTimeoutMs`, and closes it when the access token expires — sleeping until the next of these.
   */
  const watcher = Effect.gen(function*() {
    const expiresAtMs = options.expiresAt * 1000
    let nextPing = (yield* Clock.currentTimeMillis) + options.pingIntervalMs
    while (true) {
      const now = yield* Clock.currentTimeMillis
      if (now >= expiresAtMs) return close("token_expired")
      if (now >= nextPing) {
        if (socket.isOpen) socket.ping()
        nextPing = now + options.pingIntervalMs
      }
      if (options.isReadPaused()) lastSeen = now
      if (now - lastSeen >= options.idleTimeoutMs) {
        socket.terminate()
        return yield* Deferred.succeed(done, undefined)
      }
      yield* Effect.sleep(Math.min(nextPing, lastSeen + options.idleTimeoutMs, expiresAtMs) - now)
    }
  })

  const lifecycle: ConnectionLifecycle = {
    close,
    touch: () => {
      lastSeen = clock.currentTimeMillisUnsafe()
    },
    ended: Deferred.await(done),
    watcher,
    recordClose
  }
  return lifecycle
})
