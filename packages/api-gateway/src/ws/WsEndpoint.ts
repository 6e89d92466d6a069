/**
 * `GET /ws`: authenticates before the upgrade (401 otherwise), then hands the socket to a
 * session fiber. Owns the `ws` server (64 KiB max frame → close 1009) and, on shutdown, closes
 * every socket with 1001 so clients reconnect elsewhere and resume with `since_seq`.
 */
import type { IncomingMessage } from "node:http"
import type { Duplex } from "node:stream"
import { Effect, Exit, FiberSet, Layer } from "effect"
import { WebSocketServer } from "ws"
import type { WebSocket } from "ws"
import { MAX_FRAME_BYTES, WsCloseCode } from "@pylon/contracts/WsFrames"
import { corsPolicy, isUpgradeOriginAllowed } from "@pylon/platform/http/Cors"
import { ServerConfig } from "@pylon/platform/http/ServerConfig"
import { UpgradeInterceptor } from "@pylon/platform/http/UpgradeInterceptor"
import { AuthService } from "../auth/AuthService.ts"
import { TrustedProxySettings } from "../http/RateLimitGuard.ts"
import { initialiseCloseCounters } from "./ConnectionLifecycle.ts"
import { upgradeClientAddress } from "./ConnectionLimits.ts"
import { wsSessionSocket } from "./SessionSocket.ts"
import { initialiseSessionCounters, runSession } from "./WsSession.ts"

export const WS_PATH = "/ws"

/** Bearer header, or `?token=` / `?access_token=` (browsers cannot set headers on WebSocket). */
export const tokenOf = (request: IncomingMessage, url: URL): string | undefined => {
  const header = request.headers.authorization
  const bearer = header === undefined ? undefined : /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1]
  return bearer ?? url.searchParams.get("token") ?? url.searchParams.get("access_token") ?? undefined
}

const rejectUpgrade = (socket: Duplex, status: number, code: string, message: string) => {
  const body = JSON.stringify({ success: false, error: { code, message } })
  const reason = status === 401 ? "Unauthorized" : status === 403 ? "Forbidden" : status === 503 ? "Service Unavailable" : "Bad Request"
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Connection: close\r\n\r\n${body}`
  )
}

export const WsEndpointLive = Layer.effect(
  UpgradeInterceptor,
  Effect.gen(function*() {
    const auth = yield* AuthService
    yield* initialiseCloseCounters
    yield* initialiseSessionCounters
    const origins = corsPolicy((yield* ServerConfig).corsOrigins)
    const trustedProxies = yield* TrustedProxySettings
    const run = yield* FiberSet.makeRuntime<Effect.Services<ReturnType<typeof runSession>>>()
    const runAuth = yield* FiberSet.makeRuntimePromise<never>()
    const sockets = new Set<WebSocket>()
    const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false })
    let accepting = true

    // Runs when the HTTP server starts closing (its `close` waits for these sockets) and again,
    // as a no-op, when this layer is released.
    const drain = () => {
      accepting = false
      for (const socket of sockets) socket.close(WsCloseCode.GoingAway, "server draining")
      wss.close()
    }
    yield* Effect.addFinalizer(() => Effect.sync(drain))

    const handler = (request: IncomingMessage, socket: Duplex, head: Buffer): boolean => {
      const url = new URL(request.url ?? "/", "http://localhost")
      if (url.pathname !== WS_PATH) return false
      if (!isUpgradeOriginAllowed(origins, request.headers.origin, request.headers.host)) {
        rejectUpgrade(socket, 403, "forbidden", "origin not allowed")
        return true
      }
      if (!accepting) {
        rejectUpgrade(socket, 503, "service_unavailable", "server draining")
        return true
      }
      const token = tokenOf(request, url)
      if (token === undefined) {
        rejectUpgrade(socket, 401, "unauthorized", "missing token")
        return true
      }
      runAuth(Effect.exit(auth.authenticate(token))).then((exit) => {
        if (Exit.isFailure(exit)) {
          const unavailable = exit.cause.reasons.some((reason) => reason._tag === "Fail" && reason.error._tag === "Unavailable")
          return unavailable
            ? rejectUpgrade(socket, 503, "service_unavailable", "service temporarily unavailable")
            : rejectUpgrade(socket, 401, "unauthorized", "invalid or expired token")
        }
        wss.handleUpgrade(request, socket, head, (ws) => {
          sockets.add(ws)
          ws.once("close", () => sockets.delete(ws))
          run(runSession(wsSessionSocket(ws, socket), exit.value, upgradeClientAddress(request, trustedProxies)).pipe(
            Effect.catchCause((cause) => Effect.logError("websocket session failed", cause))
          ))
        })
      }, () => rejectUpgrade(socket, 503, "service_unavailable", "service temporarily unavailable"))
      return true
    }
    return Object.assign(handler, { onServerClose: drain })
  })
)
