/**
 * Caps on open WebSocket connections per user and per client address on this gateway node
 * (`WS_MAX_CONNECTIONS_PER_USER`, `WS_MAX_CONNECTIONS_PER_ADDRESS`); a connection over a cap is
 * closed with 1008 by its session. The client address is the socket peer, or `X-Forwarded-For`
 * when the peer is a trusted proxy (`TRUSTED_PROXIES`, as for the HTTP rate limits). Counts are
 * per node: behind a load balancer spreading N nodes, a user can hold up to N × the cap.
 */
import type { IncomingMessage } from "node:http"
import { Context, Effect, Layer } from "effect"
import type { Scope } from "effect"
import type { UserId } from "@pylon/contracts/Ids"
import { clientAddress } from "@pylon/platform/http/ClientAddress"
import type { TrustedProxies } from "@pylon/platform/http/ClientAddress"
import { WsSettings } from "./WsSettings.ts"

/** Which cap refused a connection, if one did. */
export type Admission = "admitted" | "user_connection_limit" | "address_connection_limit"

/** The client address of an upgrade request (see the module comment). */
export const upgradeClientAddress = (request: IncomingMessage, trusted: TrustedProxies): string => {
  const forwarded = request.headers["x-forwarded-for"]
  return clientAddress(
    request.socket.remoteAddress ?? "unknown",
    Array.isArray(forwarded) ? forwarded.join(",") : forwarded,
    trusted
  )
}

/** Open connections counted by key, refusing past `max`. */
class Counts {
  private readonly counts = new Map<string, number>()
  private readonly max: number

  constructor(max: number) {
    this.max = max
  }

  hasRoom(key: string): boolean {
    return (this.counts.get(key) ?? 0) < this.max
  }

  add(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1)
  }

  remove(key: string): void {
    const left = (this.counts.get(key) ?? 0) - 1
    if (left > 0) this.counts.set(key, left)
    else this.counts.delete(key)
  }
}

export class ConnectionLimits extends Context.Service<ConnectionLimits, {
  /**
   * Counts a connection of `userId` from `address` until the scope closes, unless a cap is
   * already reached: then nothing is counted and the answer names the cap.
   */
  readonly admit: (userId: UserId, address: string) => Effect.Effect<Admission, never, Scope.Scope>
}>()("pylon/gateway/ConnectionLimits") {
  static readonly layer = Layer.effect(
    ConnectionLimits,
    Effect.gen(function*() {
      const settings = yield* WsSettings
      const perUser = new Counts(settings.maxConnectionsPerUser)
      const perAddress = new Counts(settings.maxConnectionsPerAddress)

      const admit = (userId: UserId, address: string) =>
        Effect.acquireRelease(
          Effect.sync((): Admission => {
            if (!perUser.hasRoom(userId)) return "user_connection_limit"
            if (!perAddress.hasRoom(address)) return "address_connection_limit"
            perUser.add(userId)
            perAddress.add(address)
            return "admitted"
          }),
          (admission) =>
            Effect.sync(() => {
              if (admission !== "admitted") return
              perUser.remove(userId)
              perAddress.remove(address)
            })
        )

      return ConnectionLimits.of({ admit })
    })
  )
}
