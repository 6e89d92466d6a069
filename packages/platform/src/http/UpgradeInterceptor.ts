/**
 * Lets one component take over HTTP upgrades on a path before Effect's HTTP server sees them.
 * The gateway's WebSocket endpoint needs what Effect's `Socket` does not expose (protocol-level
 * ping/pong, `bufferedAmount`, per-socket close codes), so it owns its `ws` server and claims
 * `/ws` upgrades here; every other upgrade continues to Effect as usual (docs/adr/0002).
 */
import { IncomingMessage, Server, ServerResponse } from "node:http"
import type { Duplex } from "node:stream"
import { Context } from "effect"
import { coalesceWritesPerTick } from "../net/TickCoalescedWrites.ts"
import { SECURITY_HEADERS } from "./SecurityHeaders.ts"

/**
 * Returns true when it took the upgrade (and is now responsible for the socket). `onServerClose`
 * runs when the server starts closing: upgraded sockets keep `close` waiting, so their owner
 * ends them then (a WebSocket endpoint sends 1001) instead of after the graceful-shutdown timeout.
 */
export type UpgradeHandler = ((request: IncomingMessage, socket: Duplex, head: Buffer) => boolean) & {
  readonly onServerClose?: () => void
}

export const UpgradeInterceptor = Context.Reference<UpgradeHandler | undefined>(
  "pylon/platform/UpgradeInterceptor",
  { defaultValue: () => undefined }
)

const isUpgradeArgs = (args: ReadonlyArray<unknown>): args is [IncomingMessage, Duplex, Buffer] =>
  args.length >= 3 && Buffer.isBuffer(args[2])

const isServerResponse = (value: unknown): value is ServerResponse => value instanceof ServerResponse
const isIncomingMessage = (value: unknown): value is IncomingMessage => value instanceof IncomingMessage

const NOT_YET_SERVING = JSON.stringify({
  success: false,
  error: { code: "service_unavailable", message: "the server is starting; retry shortly" }
})

/**
 * Effect's server listens as soon as it is built but attaches its request handler only later; a
 * request in between would never be answered (a readiness probe without a deadline hangs on it).
 * It gets a 503 envelope instead, and its connection is closed.
 */
const answerNotYetServing = (request: IncomingMessage, response: ServerResponse): void => {
  request.resume() // read and drop any body, so the client is not cut off while still sending it
  response.writeHead(503, {
    ...SECURITY_HEADERS,
    "content-type": "application/json",
    "content-length": Buffer.byteLength(NOT_YET_SERVING),
    "retry-after": "1",
    connection: "close"
  })
  response.end(NOT_YET_SERVING)
}

/**
 * An http.Server that offers each `upgrade` event to `intercept` before its own listeners, and
 * answers requests that arrive before any request handler is attached with a 503.
 */
export class UpgradeRoutingServer extends Server {
  intercept: UpgradeHandler | undefined = undefined

  override emit(event: string, ...args: Array<unknown>): boolean {
    if (event === "upgrade" && isUpgradeArgs(args)) {
      if (this.intercept !== undefined && this.intercept(args[0], args[1], args[2])) return true
      // Effect's own upgrades are internal RPC's `GET /rpc`: coalesce its replies per tick.
      coalesceWritesPerTick(args[1])
    }
    if (event === "request" && this.listenerCount("request") === 0 && isIncomingMessage(args[0]) && isServerResponse(args[1])) {
      answerNotYetServing(args[0], args[1])
      return true
    }
    return super.emit(event, ...args)
  }

  override close(callback?: (error?: Error) => void): this {
    this.intercept?.onServerClose?.()
    return super.close(callback)
  }
}
