/**
 * Plain `node:http` / `node:net` requests for edge tests: unlike `fetch`, they may send any header
 * (`Origin`), any content type, and half a request, and they show every response header.
 */
import { request as httpRequest } from "node:http"
import type { IncomingHttpHeaders } from "node:http"
import { connect } from "node:net"
import { Effect } from "effect"

export interface RawResponse {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly text: string
}

/** One request; a network error is a defect. */
export const rawRequest = (
  url: string,
  options: { readonly method?: string; readonly headers?: Record<string, string>; readonly body?: string } = {}
): Effect.Effect<RawResponse> =>
  Effect.callback<RawResponse>((resume) => {
    const req = httpRequest(url, { method: options.method ?? "GET", headers: options.headers ?? {} }, (res) => {
      let text = ""
      res.setEncoding("utf8")
      res.on("data", (chunk: string) => {
        text += chunk
      })
      res.on("end", () => resume(Effect.succeed({ status: res.statusCode ?? 0, headers: res.headers, text })))
    })
    req.on("error", (error) => resume(Effect.die(error)))
    req.end(options.body)
    return Effect.sync(() => req.destroy())
  })

/**
 * Writes `data` on a fresh TCP connection to `port` and never completes the request; succeeds
 * with whatever the server sent once it closes the connection.
 */
export const sendAndAwaitClose = (port: number, data: string): Effect.Effect<string> =>
  Effect.callback<string>((resume) => {
    const socket = connect(port, "127.0.0.1")
    let received = ""
    socket.setEncoding("utf8")
    socket.on("data", (chunk: string) => {
      received += chunk
    })
    socket.on("error", () => undefined)
    socket.on("close", () => resume(Effect.succeed(received)))
    socket.write(data)
    return Effect.sync(() => socket.destroy())
  })
