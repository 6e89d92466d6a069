/**
 * A bare WebSocket client on a plain TCP socket, for what the `ws` package does for us and a
 * test must not: it completes the upgrade handshake and then only watches the server's frames —
 * it never answers a ping — so the server's idle timeout can be observed.
 */
import { randomBytes } from "node:crypto"
import { connect as tcpConnect } from "node:net"
import type { Socket } from "node:net"
import { Effect } from "effect"
import type { Scope } from "effect"

export interface RawWsClient {
  readonly socket: Socket
  /** Upgrade status line, e.g. `HTTP/1.1 101 Switching Protocols`. */
  readonly statusLine: () => string | undefined
  /** Opcodes of the frames received so far (9 = ping, 8 = close, 1 = text). */
  readonly opcodes: () => ReadonlyArray<number>
  /** `Date.now()` when the TCP connection closed, if it did. */
  readonly closedAt: () => number | undefined
}

/** Opens `/ws?token=…` on `baseUrl` without answering anything afterwards. */
export const rawConnect = (baseUrl: string, token: string): Effect.Effect<RawWsClient, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<RawWsClient>((resume) => {
      const url = new URL(baseUrl)
      const socket = tcpConnect(Number(url.port), url.hostname)
      let buffer = Buffer.alloc(0)
      let status: string | undefined
      let closedAt: number | undefined
      const opcodes: Array<number> = []
      const client: RawWsClient = {
        socket,
        statusLine: () => status,
        opcodes: () => opcodes,
        closedAt: () => closedAt
      }
      const parseFrames = () => {
        // Server frames are unmasked; only lengths < 2^16 occur in these tests.
        while (buffer.length >= 2) {
          const first = buffer[0] ?? 0
          const second = buffer[1] ?? 0
          let length = second & 0x7f
          let offset = 2
          if (length === 126) {
            if (buffer.length < 4) return
            length = buffer.readUInt16BE(2)
            offset = 4
          }
          if (buffer.length < offset + length) return
          opcodes.push(first & 0x0f)
          buffer = buffer.subarray(offset + length)
        }
      }
      socket.on("data", (chunk) => {
        buffer = Buffer.concat([buffer, chunk])
        if (status === undefined) {
          const end = buffer.indexOf("\r\n\r\n")
          if (end < 0) return
          status = buffer.subarray(0, buffer.indexOf("\r\n")).toString()
          buffer = buffer.subarray(end + 4)
          resume(Effect.succeed(client))
        }
        parseFrames()
      })
      socket.on("close", () => {
        closedAt = Date.now()
        resume(Effect.succeed(client))
      })
      socket.on("error", () => undefined)
      socket.on("connect", () => {
        socket.write(
          `GET /ws?token=${encodeURIComponent(token)} HTTP/1.1\r\n` +
            `Host: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`
        )
      })
      return Effect.sync(() => socket.destroy())
    }),
    (client) => Effect.sync(() => client.socket.destroy())
  )
