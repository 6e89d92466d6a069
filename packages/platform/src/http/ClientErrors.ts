/**
 * What the public HTTP server answers when Node's parser rejects a request before any route runs
 * (a request head over Node's 16 KiB limit, a malformed request line or header, a client too slow
 * to send its request). Without a handler Node writes a bare `431`/`400` with an empty body; the
 * contract (API.md §1) promises the JSON envelope on every error, so parse errors get
 * `400 bad_request` with the envelope. A request timeout keeps Node's bare `408`: the client never
 * finished sending, so it is not reading an answer either.
 */
import type { Duplex } from "node:stream"
import { SECURITY_HEADERS } from "./SecurityHeaders.ts"

const envelope = (message: string) => JSON.stringify({ success: false, error: { code: "bad_request", message } })

const messageOf = (code: string | undefined): string =>
  code === "HPE_HEADER_OVERFLOW"
    ? "request head too large (URL and headers together at most 16 KiB)"
    : "malformed HTTP request"

/** The server's `clientError` listener. */
export const answerClientError = (error: Error & { readonly code?: string }, socket: Duplex): void => {
  if (error.code === "ECONNRESET" || !socket.writable) {
    socket.destroy()
    return
  }
  if (error.code === "ERR_HTTP_REQUEST_TIMEOUT") {
    socket.end("HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n")
    return
  }
  const body = envelope(messageOf(error.code))
  const headers = Object.entries(SECURITY_HEADERS).map(([name, value]) => `${name}: ${value}\r\n`).join("")
  socket.end(
    `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `${headers}Connection: close\r\n\r\n${body}`
  )
}
