/**
 * `acceptCleartextHttp2` on a plain Node HTTP/1.1 server: the first bytes of each connection
 * decide, even when they arrive one at a time; HTTP/1.1 (keep-alive, bodies) and HTTP/2 with
 * prior knowledge reach the same `request` listener; a connection that sends nothing is closed;
 * an HTTP/2 session with no open stream is closed (GOAWAY) after the idle timeout, one with an
 * open stream is not, and its clock starts again once that stream ends.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { createServer, ServerResponse } from "node:http"
import type { IncomingMessage } from "node:http"
import { connect as http2Connect, constants as http2Constants } from "node:http2"
import type { ClientHttp2Session, ClientHttp2Stream, Http2ServerRequest, Http2ServerResponse } from "node:http2"
import { connect as netConnect } from "node:net"
import type { AddressInfo, Socket } from "node:net"
import { acceptCleartextHttp2 } from "../../src/http/CleartextHttp2.ts"

const SNIFF_TIMEOUT_MS = 300
/** Long enough that an HTTP/2 stream is open before its session's first idle deadline. */
const IDLE_TIMEOUT_MS = 1_000

/**
 * A server answering `<http version> <method> <body>`, on a free port, closed afterwards. On
 * `/hold` it sends its headers and `held` at once, and the rest when the request body ends.
 */
const withServer = <A, E>(use: (port: number) => Effect.Effect<A, E>, idleTimeoutMs = 60_000) => {
  const sockets = new Set<Socket>()
  return Effect.acquireUseRelease(
    Effect.promise(() =>
      new Promise<ReturnType<typeof createServer>>((resolve) => {
        const server = createServer()
        acceptCleartextHttp2(server, { sniffTimeoutMs: SNIFF_TIMEOUT_MS, idleTimeoutMs })
        // Closed with the server, whichever protocol took them.
        server.on("connection", (socket: Socket) => sockets.add(socket))
        server.on("request", (request: IncomingMessage | Http2ServerRequest, response: ServerResponse | Http2ServerResponse) => {
          let body = ""
          // Only HTTP/2 asks for it (the HTTP/1.1 response type differs).
          if (request.url === "/hold" && !(response instanceof ServerResponse)) response.write("held\n")
          request.on("data", (chunk: Buffer) => {
            body += chunk.toString()
          })
          request.on("end", () => response.end(`${request.httpVersion} ${request.method} ${body}`))
        })
        server.listen(0, "127.0.0.1", () => resolve(server))
      })
    ),
    (server) => use((server.address() as AddressInfo).port),
    (server) =>
      Effect.promise(() =>
        new Promise<void>((resolve) => {
          for (const socket of sockets) socket.destroy()
          server.close(() => resolve())
        })
      )
  )
}

/**
 * Writes `chunks` one by one (a pause between); returns what the server sent until it closed the
 * connection or, with `until`, until that much has arrived.
 */
const rawExchange = (port: number, chunks: ReadonlyArray<string>, until?: (received: Buffer) => boolean) =>
  Effect.promise(() =>
    new Promise<Buffer>((resolve, reject) => {
      const socket = netConnect(port, "127.0.0.1")
      let received = Buffer.alloc(0)
      socket.on("data", (chunk: Buffer) => {
        received = Buffer.concat([received, chunk])
        if (until?.(received) === true) {
          socket.destroy()
          resolve(received)
        }
      })
      socket.on("close", () => resolve(received))
      socket.on("error", reject)
      socket.on("connect", () => {
        void (async () => {
          for (const chunk of chunks) {
            socket.write(chunk)
            await new Promise((r) => setTimeout(r, 20))
          }
        })()
      })
    })
  )

const http2Post = (port: number, body: string) =>
  Effect.promise(() =>
    new Promise<string>((resolve, reject) => {
      const session = http2Connect(`http://127.0.0.1:${port}`)
      session.on("error", reject)
      const stream = session.request({ ":method": "POST", ":path": "/" })
      let received = ""
      stream.on("data", (chunk: Buffer) => {
        received += chunk.toString()
      })
      stream.on("end", () => {
        session.close()
        resolve(received)
      })
      stream.end(body)
    })
  )

describe("acceptCleartextHttp2", () => {
  it.effect("HTTP/1.1 sent a byte at a time, with keep-alive and bodies, is served as HTTP/1.1", () =>
    withServer((port) =>
      Effect.gen(function*() {
        const post = (body: string, close: boolean) =>
          `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n${close ? "Connection: close\r\n" : ""}\r\n${body}`
        const first = post("one", false)
        const answer = (yield* rawExchange(port, [...first.slice(0, 4).split(""), first.slice(4), post("two", true)])).toString()
        expect(answer).toContain("1.1 POST one")
        expect(answer).toContain("1.1 POST two")
      })
    ))

  it.effect("HTTP/2 with prior knowledge is served as HTTP/2 on the same port, also with the preface split", () =>
    withServer((port) =>
      Effect.gen(function*() {
        expect(yield* http2Post(port, "over h2c")).toBe("2.0 POST over h2c")
        // Only the preface, split: the server answers with its SETTINGS frame (9-byte header, type 4).
        const answer = yield* rawExchange(port, ["PRI * HTTP/2.0\r\n", "\r\nSM\r\n\r\n"], (received) => received.length >= 9)
        expect(answer[3]).toBe(4)
      })
    ))

  it.effect("a connection that sends nothing is closed after the sniff timeout", () =>
    withServer((port) =>
      Effect.gen(function*() {
        expect((yield* rawExchange(port, [])).length).toBe(0)
      })
    ), 10_000)

  it.effect("an HTTP/2 session with no open stream is closed after the idle timeout; one with an open stream is not", () =>
    withServer((port) =>
      Effect.gen(function*() {
        // Busy: a stream the server has answered the headers of, whose request body is still open.
        const busy = yield* heldSession(port)
        // Idle: connected after the busy session's stream opened, and never asked anything.
        const idle = yield* watched(http2Connect(`http://127.0.0.1:${port}`))
        const goaway = yield* Effect.promise(() => idle.goawayPromise)
        expect(goaway).toBe(http2Constants.NGHTTP2_NO_ERROR)
        yield* Effect.promise(() => idle.closed)
        // The busy session opened first: a clock that ignored its open stream would have run out
        // before the idle one's did.
        expect(busy.session.goaway).toBeUndefined()
        expect(busy.session.session.closed).toBe(false)

        // Once its stream ends, the busy session is idle and its clock starts.
        busy.stream.end("done")
        expect(yield* Effect.promise(() => busy.answer)).toBe("held\n2.0 POST done")
        expect(yield* Effect.promise(() => busy.session.goawayPromise)).toBe(http2Constants.NGHTTP2_NO_ERROR)
        yield* Effect.promise(() => busy.session.closed)
      }), IDLE_TIMEOUT_MS), 60_000)
})

interface Watched {
  readonly session: ClientHttp2Session
  /** The GOAWAY error code, once one came. */
  readonly goaway: number | undefined
  readonly goawayPromise: Promise<number>
  readonly closed: Promise<void>
}

/** A client session whose GOAWAY and close the test can wait for. */
const watched = (session: ClientHttp2Session) =>
  Effect.sync(() => {
    const state: { goaway: number | undefined } = { goaway: undefined }
    const goawayPromise = new Promise<number>((resolve) =>
      session.on("goaway", (code: number) => {
        state.goaway = code
        resolve(code)
      })
    )
    const closed = new Promise<void>((resolve) => session.on("close", () => resolve()))
    session.on("error", () => {})
    return {
      session,
      get goaway() {
        return state.goaway
      },
      goawayPromise,
      closed
    } satisfies Watched
  })

const readAll = (stream: ClientHttp2Stream) =>
  new Promise<string>((resolve, reject) => {
    let received = ""
    stream.on("data", (chunk: Buffer) => {
      received += chunk.toString()
    })
    stream.on("end", () => resolve(received))
    stream.on("error", reject)
  })

/**
 * A session with a `/hold` stream open, once the server has answered its headers. On a loaded
 * machine the session's first idle deadline may pass before the stream arrives (then the server
 * rightly sends GOAWAY): a new session is tried.
 */
const heldSession = (port: number) =>
  Effect.gen(function*() {
    for (let attempt = 1; ; attempt++) {
      const session = yield* watched(http2Connect(`http://127.0.0.1:${port}`))
      const stream = session.session.request({ ":method": "POST", ":path": "/hold" })
      const answer = readAll(stream)
      answer.catch(() => {})
      const started = yield* Effect.promise(() =>
        Promise.race([
          new Promise<boolean>((resolve) => stream.once("response", () => resolve(true))),
          session.goawayPromise.then(() => false)
        ])
      )
      if (started && session.goaway === undefined) return { session, stream, answer }
      session.session.destroy()
      if (attempt >= 5) return yield* Effect.die(new Error("no HTTP/2 stream opened within the idle timeout in 5 tries"))
    }
  })
