/**
 * HTTP/2 over cleartext (h2c with prior knowledge, what gRPC clients speak) on the same port as
 * HTTP/1.1. Node's `http2.createServer({ allowHTTP1: true })` falls back to HTTP/1.1 only on TLS
 * (by ALPN), so instead each new connection's first bytes are read: the HTTP/2 connection
 * preface hands the socket to an internal `http2` server whose requests and sessions are emitted
 * on the HTTP/1.1 server — Effect's NodeHttpServer serves both kinds with the same handler (it
 * takes Node's HTTP/2 compatibility objects) and closes the sessions on shutdown — and anything
 * else goes to the HTTP/1.1 server as before (upgrades included). The `Upgrade: h2c` dance is not
 * supported. Off unless the process provides `CleartextHttp2` (the API gateway does).
 *
 * Each HTTP/2 connection carries at most `MAX_CONCURRENT_STREAMS` streams at once, and one with
 * no open stream for `idleTimeoutMs` (`HTTP2_IDLE_TIMEOUT_MS`) is closed gracefully (GOAWAY, then
 * the socket closes): HTTP/1.1's keep-alive timeout does not reach these sessions, and a client
 * that keeps its connection but stops calling would otherwise hold it forever. A long-lived
 * stream (StreamMessages) keeps its connection open however quiet it is.
 */
import type { Server } from "node:http"
import { createServer as createHttp2Server } from "node:http2"
import type { ServerHttp2Session, ServerHttp2Stream } from "node:http2"
import type { Socket } from "node:net"
import { Context } from "effect"

/** Whether the server accepts h2c on its port (default: no). */
export const CleartextHttp2 = Context.Reference<boolean>("pylon/platform/CleartextHttp2", { defaultValue: () => false })

/** Concurrent streams (requests) per HTTP/2 connection. */
export const MAX_CONCURRENT_STREAMS = 100

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1")

/**
 * Reads the socket until its first bytes tell the HTTP/2 preface from anything else, then puts
 * them back and calls `onHttp2` or `onHttp1`. A client that sends nothing for `timeoutMs` is
 * disconnected (HTTP/1.1's header deadline only starts once the socket is handed over).
 */
const sniff = (socket: Socket, timeoutMs: number, onHttp2: () => void, onHttp1: () => void) => {
  let received = Buffer.alloc(0)
  const timer = setTimeout(() => socket.destroy(), timeoutMs)
  const onError = () => socket.destroy()
  const onClose = () => clearTimeout(timer)
  const onData = (chunk: Buffer) => {
    received = Buffer.concat([received, chunk])
    const length = Math.min(received.length, PREFACE.length)
    const isPreface = received.subarray(0, length).equals(PREFACE.subarray(0, length))
    if (isPreface && length < PREFACE.length) return
    clearTimeout(timer)
    socket.off("data", onData)
    socket.off("error", onError)
    socket.off("close", onClose)
    socket.pause()
    socket.unshift(received)
    if (isPreface) onHttp2()
    else onHttp1()
  }
  socket.on("data", onData)
  socket.on("error", onError)
  socket.on("close", onClose)
}

/**
 * Closes `session` (GOAWAY, existing streams may finish) once it has had no open stream for
 * `idleMs`: the clock starts when the session opens and whenever its last open stream closes,
 * and stops while any stream is open.
 */
const closeWhenIdle = (session: ServerHttp2Session, idleMs: number): void => {
  let open = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  const stop = () => {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
  }
  const start = () => {
    stop()
    timer = setTimeout(() => {
      if (!session.closed && !session.destroyed) session.close()
    }, idleMs)
    // An idle session's timer must not keep the process alive on its own.
    timer.unref()
  }
  session.on("stream", (stream: ServerHttp2Stream) => {
    open += 1
    stop()
    stream.once("close", () => {
      open -= 1
      if (open === 0 && !session.closed && !session.destroyed) start()
    })
  })
  session.once("close", stop)
  start()
}

export interface CleartextHttp2Options {
  /** A new connection that sends nothing for this long is disconnected. */
  readonly sniffTimeoutMs: number
  /** An HTTP/2 session with no open stream for this long is closed (GOAWAY). */
  readonly idleTimeoutMs: number
}

/**
 * Makes `server` (an HTTP/1.1 server, before it listens) accept h2c connections too; requests
 * on them reach `server`'s `request` listeners as `Http2ServerRequest`/`Http2ServerResponse`.
 */
export const acceptCleartextHttp2 = (server: Server, options: CleartextHttp2Options): void => {
  const http2 = createHttp2Server({ settings: { maxConcurrentStreams: MAX_CONCURRENT_STREAMS } })
  http2.on("request", (request, response) => server.emit("request", request, response))
  http2.on("session", (session) => {
    closeWhenIdle(session, options.idleTimeoutMs)
    server.emit("session", session)
  })
  // Node's own HTTP/1.1 connection handling, now reached through the sniffer.
  const http1 = server.listeners("connection")
  server.removeAllListeners("connection")
  server.on("connection", (socket: Socket) =>
    sniff(socket, options.sniffTimeoutMs, () => http2.emit("connection", socket), () => {
      for (const listener of http1) listener.call(server, socket)
      // The HTTP/1.1 parser reads from the socket's handle; the bytes put back come as `data`.
      socket.resume()
    }))
}
