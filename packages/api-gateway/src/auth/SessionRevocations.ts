/**
 * Ends live connections of a revoked session on every gateway node (issue #7 item 2). Logout and
 * refresh-token reuse revoke a session (its refresh-token family) in PostgreSQL; REST sees that
 * at once through `AuthService.authenticate`, but an open WebSocket authenticated only at its
 * upgrade. So the revoking node announces the session id on the bus, and every node calls the
 * `onRevoked` of each local connection registered for it (the WebSocket session closes with
 * 1008 "session revoked").
 *
 * A connection may register just after its session's announcement went by (it authenticated a
 * moment before the revocation). So each node remembers the sessions announced to it for as long
 * as their access tokens can live (`JWT_EXPIRY`), and `register` ends such a connection at once.
 *
 * The bus is at-most-once, so announcements are backed by reconciliation: after the node's
 * subscription reports a gap (lagged, reconnected, resubscribed) and every `recheckInterval`
 * anyway, the node asks PostgreSQL which of its local sessions are still active — one query for
 * all of them — and ends the rest.
 */
import { Context, Duration, Effect, Layer, Stream } from "effect"
import type { Scope } from "effect"
import { SESSION_REVOKED_CHANNEL } from "@pylon/platform/bus/Channels"
import { RealtimeBus } from "@pylon/platform/bus/RealtimeBus"
import { AuthConfig } from "./AuthConfig.ts"
import { RefreshTokenRepository } from "./RefreshTokenRepository.ts"

/** Lost announcements are caught by a database check this often at the latest. */
export const DEFAULT_RECHECK_INTERVAL = Duration.seconds(30)

export class SessionRevocations extends Context.Service<SessionRevocations, {
  /** Tells every gateway node that `sessionId` ended. Never fails (a lost publish is reconciled). */
  readonly announce: (sessionId: string) => Effect.Effect<void>
  /** Calls `onRevoked` once when `sessionId` is revoked, for as long as the scope is open. */
  readonly register: (sessionId: string, onRevoked: () => void) => Effect.Effect<void, never, Scope.Scope>
}>()("pylon/gateway/SessionRevocations") {
  static readonly layerWith = (recheckInterval: Duration.Input) =>
    Layer.effect(
      SessionRevocations,
      Effect.gen(function*() {
        const bus = yield* RealtimeBus
        const tokens = yield* RefreshTokenRepository
        const rememberMs = Duration.toMillis((yield* AuthConfig).accessTokenTtl)
        const local = new Map<string, Set<() => void>>()
        /** Revoked session id → until when a new registration of it is refused (epoch ms). */
        const revoked = new Map<string, number>()

        const forgetExpired = (now: number) => {
          for (const [sessionId, until] of revoked) if (until <= now) revoked.delete(sessionId)
        }

        const end = (sessionId: string) => {
          revoked.set(sessionId, Date.now() + rememberMs)
          const callbacks = local.get(sessionId)
          if (callbacks === undefined) return
          local.delete(sessionId)
          for (const onRevoked of callbacks) onRevoked()
        }

        /** Ends every local session the database no longer holds active. */
        const reconcile = Effect.gen(function*() {
          forgetExpired(Date.now())
          const ids = [...local.keys()]
          if (ids.length === 0) return
          const active = yield* tokens.activeFamilies(ids)
          const revoked = ids.filter((id) => !active.has(id))
          if (revoked.length > 0) yield* Effect.logInfo("closing connections of revoked sessions", { count: revoked.length })
          for (const id of revoked) end(id)
        }).pipe(Effect.catchCause((cause) => Effect.logWarning("session revocation check failed; will retry", cause)))

        const follow = Effect.gen(function*() {
          const stream = yield* bus.subscribe(SESSION_REVOKED_CHANNEL)
          // Anything revoked while this node was not subscribed.
          yield* reconcile
          yield* Stream.runForEach(stream, (event) =>
            event._tag === "Message" ? Effect.sync(() => end(event.payload)) : reconcile)
        }).pipe(
          Effect.scoped,
          Effect.catchCause((cause) => Effect.logWarning("session revocation subscription lost; resubscribing", cause)),
          Effect.andThen(Effect.sleep("1 second")),
          Effect.forever
        )
        yield* Effect.forkScoped(follow)
        yield* Effect.forkScoped(Effect.forever(Effect.andThen(Effect.sleep(recheckInterval), reconcile)))

        const announce = (sessionId: string) =>
          bus.publish(SESSION_REVOKED_CHANNEL, sessionId).pipe(
            Effect.catchCause((cause) =>
              Effect.logWarning("session revocation publish failed; other nodes reconcile within the recheck interval", cause)
            ),
            // This node does not wait for its own subscription's echo.
            Effect.andThen(Effect.sync(() => end(sessionId)))
          )

        const register = (sessionId: string, onRevoked: () => void) =>
          Effect.acquireRelease(
            Effect.sync(() => {
              if ((revoked.get(sessionId) ?? 0) > Date.now()) return onRevoked()
              const callbacks = local.get(sessionId) ?? new Set()
              callbacks.add(onRevoked)
              local.set(sessionId, callbacks)
            }),
            () =>
              Effect.sync(() => {
                const callbacks = local.get(sessionId)
                if (callbacks === undefined) return
                callbacks.delete(onRevoked)
                if (callbacks.size === 0) local.delete(sessionId)
              })
          )

        return SessionRevocations.of({ announce, register })
      })
    )

  static readonly layer = SessionRevocations.layerWith(DEFAULT_RECHECK_INTERVAL)
}
