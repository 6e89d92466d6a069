/**
 * The socket as a WebSocket session sees it: write a frame, close, ping, stop and resume reading,
 * and hooks for what arrives. The session depends only on this, so it can be driven in process
 * by a fake socket (tests) as well as by a `ws` connection (`wsSessionSocket`, the adapter).
 */
import type { RawData, WebSocket } from "ws"
import type { OutgoingFrame } from "./OutgoingFrame.ts"
import { CoalescingWriter } from "@pylon/platform/net/TickCoalescedWrites"
import type { CorkableStream } from "@pylon/platform/net/TickCoalescedWrites"

/** A client frame as received: its text (or that it was binary) and its size on the wire. */
export type Incoming =
  | { readonly kind: "text"; readonly data: string; readonly bytes: number }
  | { readonly kind: "binary"; readonly bytes: number }

export interface SessionSocket {
  /** Open for writing (not connecting, closing or closed). */
  readonly isOpen: boolean
  /** Bytes written and not yet handed to the network. */
  readonly bufferedAmount: number
  /** Writes a frame after every frame written before it. */
  readonly write: (frame: OutgoingFrame) => void
  /** Starts the close handshake unless one is already under way; false when it was. */
  readonly close: (code: number, reason: string) => boolean
  /** Drops the connection without a close handshake. */
  readonly terminate: () => void
  /** A protocol-level ping (answered by a pong). */
  readonly ping: () => void
  /** Stops reading the socket (TCP backpressure on the client) … */
  readonly pause: () => void
  /** … and reads it again. */
  readonly resume: () => void
  readonly onFrame: (listener: (frame: Incoming) => void) => void
  readonly onPong: (listener: () => void) => void
  /** The connection ended (closed or failed). */
  readonly onClosed: (listener: () => void) => void
}

const textOf = (data: RawData): string =>
  Buffer.isBuffer(data)
    ? data.toString("utf8")
    : Array.isArray(data)
    ? Buffer.concat(data).toString("utf8")
    : Buffer.from(data).toString("utf8")

const byteLengthOf = (data: RawData): number =>
  Array.isArray(data) ? data.reduce((sum, chunk) => sum + chunk.length, 0) : data.byteLength

/**
 * A `ws` connection as a `SessionSocket`. `stream` is the connection's own socket (the one the
 * upgrade handed to `ws`): frames are written to it already framed (`OutgoingFrame.wire`, the
 * same Buffer for every recipient of a fan-out) and coalesced per tick (`platform/net/TickCoalescedWrites.ts`).
 * Writing past `ws` is sound because the server never compresses (`perMessageDeflate: false`)
 * nor sends blobs, the only cases in which `ws` queues frames instead of writing them at once;
 * `isOpen` stops the writes once `ws` has started its close handshake.
 */
export const wsSessionSocket = (ws: WebSocket, stream: CorkableStream): SessionSocket => {
  const writer = new CoalescingWriter(stream)
  return {
    get isOpen() {
      return ws.readyState === ws.OPEN
    },
    get bufferedAmount() {
      return ws.bufferedAmount
    },
    write: (frame) => writer.write(frame.wire),
    close: (code, reason) => {
      if (ws.readyState !== ws.OPEN && ws.readyState !== ws.CONNECTING) return false
      ws.close(code, reason)
      return true
    },
    terminate: () => ws.terminate(),
    ping: () => ws.ping(),
    pause: () => ws.pause(),
    resume: () => ws.resume(),
    onFrame: (listener) =>
      ws.on("message", (data, isBinary) => {
        const bytes = byteLengthOf(data)
        listener(isBinary ? { kind: "binary", bytes } : { kind: "text", data: textOf(data), bytes })
      }),
    onPong: (listener) => ws.on("pong", listener),
    onClosed: (listener) => {
      ws.on("close", listener)
      ws.on("error", listener)
    }
  }
}
