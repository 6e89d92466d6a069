/**
 * `acceptCleartextHttp2` on a plain Node HTTP/1.1 server: the first bytes of each connection
 * decide, even when they arrive one at a time; HTTP/1.1 (keep-alive, bodies) and HTTP/2 with
 * prior knowledge reach the same `request` listener; a connection that sends nothing is closed.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { createServer } from "node:http"
import type { IncomingMessage, ServerResponse } from "node:http"
import { connect as http2Connect } from "node:http2"
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2"
import { connect as netConnect } from "node:net"
import type { AddressInfo, Socket } from "node:net"
import { acceptCleartextHttp2 } from "../../src/http/CleartextHttp2.ts"

const SNIFF_TIMEOUT_MS = 300

/** A server answering `<http version> <method> <body>`, on a free port, closed afterwards. */
const withServer = <A, E>(use: (port: number) => Effect.Effect<A, E>) => {
  const sockets = new Set<Socket>()
  return Effect.acquireUseRelease(
    Effect.promise(() =>
      new Promise<ReturnType<typeof createServer>>((resolve) => {
        const server = createServer()
        acceptCleartextHttp2(server, { sniffTimeoutMs: SNIFF_TIMEOUT_MS })
        // Closed with the server, whichever protocol took them.
        server.on("connection", (socket: Socket) => sockets.add(socket))
        server.on("request", (request: IncomingMessage | Http2ServerRequest, response: ServerResponse | Http2ServerResponse) => {
          let body = ""
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
})
