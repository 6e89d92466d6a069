/**
 * The load generator's WebSocket client (the `ws` package). Frames are handed over as raw
 * buffers and classified by their first bytes rather than JSON-parsed: the gateway encodes
 * every server frame with `"type"` first, and at hundreds of thousands of frames per second
 * the generator, which shares the machine's cores with the stack, must stay cheap.
 */
import { Effect } from "effect"
import { WebSocket } from "ws"
import type { RawData } from "ws"
import { BenchError } from "./BenchError.ts"

export interface SocketHandlers {
  readonly onFrame: (frame: Buffer) => void
  readonly onClose?: (code: number) => void
}

const toBuffer = (data: RawData): Buffer =>
  Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)

/** Opens `ws://…/ws` authenticated with a bearer header; fails if the upgrade is refused or times out. */
export const openSocket = (wsUrl: string, token: string, handlers: SocketHandlers) =>
  Effect.callback<WebSocket, BenchError>((resume) => {
    const ws = new WebSocket(wsUrl, {
      headers: { authorization: `Bearer ${token}` },
      perMessageDeflate: false,
      handshakeTimeout: 30_000
    })
    let opened = false
    ws.on("message", (data, isBinary) => {
      if (!isBinary) handlers.onFrame(toBuffer(data))
    })
    ws.once("open", () => {
      opened = true
      resume(Effect.succeed(ws))
    })
    ws.once("unexpected-response", (_request, response) => {
      resume(Effect.fail(new BenchError({ step: "connect", message: `upgrade refused: HTTP ${response.statusCode}` })))
      ws.terminate()
    })
    ws.on("error", (error) => {
      if (!opened) resume(Effect.fail(new BenchError({ step: "connect", message: error.message })))
    })
    ws.once("close", (code) => {
      if (!opened) resume(Effect.fail(new BenchError({ step: "connect", message: `closed before open (${code})` })))
      else handlers.onClose?.(code)
    })
    return Effect.sync(() => ws.terminate())
  })

/** Closes every socket (1000) and waits until all are closed, terminating stragglers after `timeoutMs`. */
export const closeSockets = (sockets: Iterable<WebSocket>, timeoutMs = 10_000) =>
  Effect.promise(() => {
    const waits: Array<Promise<void>> = []
    for (const ws of sockets) {
      if (ws.readyState === WebSocket.CLOSED) continue
      waits.push(new Promise<void>((resolve) => {
        ws.once("close", () => resolve())
        if (ws.readyState === WebSocket.OPEN) ws.close(1000, "benchmark done")
      }))
    }
    const all = Promise.all(waits).then(() => undefined)
    return Promise.race([
      all,
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          for (const ws of sockets) ws.terminate()
          resolve()
        }, timeoutMs)
        void all.then(() => clearTimeout(timer))
      })
    ])
  })

const TYPE_PREFIX = Buffer.from(`{"type":"`)

/** The first bytes of every server frame of `type`, for `hasPrefix`. */
export const framePrefix = (type: string): Buffer => Buffer.from(`{"type":"${type}"`)

export const hasPrefix = (frame: Buffer, prefix: Buffer): boolean =>
  frame.length >= prefix.length && frame.compare(prefix, 0, prefix.length, 0, prefix.length) === 0

/** The `type` of a server frame, read from its first bytes (`{"type":"message",…`). */
export const frameType = (frame: Buffer): string => {
  if (hasPrefix(frame, TYPE_PREFIX)) {
    const end = frame.indexOf(0x22, TYPE_PREFIX.length)
    if (end > 0) return frame.toString("latin1", TYPE_PREFIX.length, end)
  }
  // Not in the expected shape: fall back to parsing (never on the hot path in practice).
  try {
    const parsed: unknown = JSON.parse(frame.toString("utf8"))
    return typeof parsed === "object" && parsed !== null && "type" in parsed && typeof parsed.type === "string" ? parsed.type : "?"
  } catch {
    return "?"
  }
}

/** The string value of `"field":"…"` in a frame (no escapes expected: ids and client_msg_ids). */
export const stringField = (frame: Buffer, field: string): string | undefined => {
  const key = `"${field}":"`
  const start = frame.indexOf(key)
  if (start < 0) return undefined
  const from = start + key.length
  const end = frame.indexOf(0x22, from)
  return end < 0 ? undefined : frame.toString("utf8", from, end)
}
