/**
 * A WebSocket test client over the `ws` package. Every text frame the server sends is decoded
 * with the contract's `ServerFrame` Schema (a frame that does not decode fails the next wait),
 * kept in arrival order, and handed out by `next`/`take`, which consume matching frames and
 * fail with the frames seen so far on timeout. The socket is terminated when the scope closes.
 */
import type { IncomingMessage } from "node:http"
import type { Socket } from "node:net"
import { Data, Effect, Result, Schema } from "effect"
import type { Scope } from "effect"
import WebSocket from "ws"
import { ServerFrame } from "@pylon/contracts/WsFrames"

export class WsTestError extends Data.TaggedError("WsTestError")<{ readonly message: string }> {}

export interface CloseInfo {
  readonly code: number
  readonly reason: string
}

export type FrameOf<T extends ServerFrame["type"]> = Extract<ServerFrame, { readonly type: T }>

/** A guard for frames of `type` (and, when given, of `roomId`). */
export const frame = <T extends ServerFrame["type"]>(type: T, roomId?: string) =>
(candidate: ServerFrame): candidate is FrameOf<T> =>
  candidate.type === type &&
  (roomId === undefined || ("room_id" in candidate && candidate.room_id === roomId))

export const isError = (code: string) => (candidate: ServerFrame): candidate is FrameOf<"error"> =>
  candidate.type === "error" && candidate.code === code

export type TokenVia = "header" | "token" | "access_token"

export interface WsClient {
  readonly name: string
  readonly socket: WebSocket
  /** Every frame received so far, in arrival order (consumed or not). */
  readonly received: ReadonlyArray<ServerFrame>
  readonly send: (payload: unknown) => Effect.Effect<void>
  /** Sends text or binary data as is. */
  readonly sendRaw: (data: string | Buffer, binary?: boolean) => Effect.Effect<void>
  /** The first not yet consumed frame matching `match` (waits up to `timeoutMs`), consumed. */
  readonly next: <F extends ServerFrame>(
    match: (frame: ServerFrame) => frame is F,
    timeoutMs?: number
  ) => Effect.Effect<F, WsTestError>
  /** The first `count` not yet consumed frames matching `match`, consumed, in arrival order. */
  readonly take: <F extends ServerFrame>(
    match: (frame: ServerFrame) => frame is F,
    count: number,
    timeoutMs?: number
  ) => Effect.Effect<ReadonlyArray<F>, WsTestError>
  /** Frames matching `match` that were not consumed yet (not consumed by this call). */
  readonly pending: <F extends ServerFrame>(match: (frame: ServerFrame) => frame is F) => ReadonlyArray<F>
  /** Sends `ping` and waits for a `pong`: every frame the server queued before it has arrived. */
  readonly roundTrip: Effect.Effect<void, WsTestError>
  /** Waits for the close event. */
  readonly closed: (timeoutMs?: number) => Effect.Effect<CloseInfo, WsTestError>
  readonly closeInfo: () => CloseInfo | undefined
  /** Starts a normal close handshake and waits for it. */
  readonly close: Effect.Effect<void>
  /** Stops reading from the TCP socket (the server's writes back up), or resumes it. */
  readonly pauseReading: () => void
  readonly resumeReading: () => void
}

const decodeFrame = Schema.decodeUnknownResult(Schema.fromJsonString(ServerFrame))

const textOf = (data: WebSocket.RawData): string =>
  Buffer.isBuffer(data)
    ? data.toString("utf8")
    : Array.isArray(data)
    ? Buffer.concat(data).toString("utf8")
    : Buffer.from(data).toString("utf8")

/** `http://host:port` → `ws://host:port/ws`. */
export const wsUrl = (baseUrl: string) => `${baseUrl.replace(/^http/, "ws")}/ws`

const describeFrames = (frames: ReadonlyArray<ServerFrame>) =>
  frames.slice(-20).map((f) => JSON.stringify(f)).join("\n  ")

/** Opens a connection authenticated with `token`; fails if the upgrade is refused. */
export const connect = (
  baseUrl: string,
  token: string,
  options: { readonly name?: string; readonly via?: TokenVia; readonly headers?: Record<string, string> } = {}
): Effect.Effect<WsClient, WsTestError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<WsClient, WsTestError>((resume) => {
      const name = options.name ?? "client"
      const via = options.via ?? "header"
      const url = via === "header" ? wsUrl(baseUrl) : `${wsUrl(baseUrl)}?${via}=${encodeURIComponent(token)}`
      const headers = via === "header" ? { ...options.headers, authorization: `Bearer ${token}` } : { ...options.headers }
      const socket = new WebSocket(url, { headers })
      const received: Array<ServerFrame> = []
      const unconsumed: Array<ServerFrame> = []
      const invalid: Array<string> = []
      const listeners = new Set<() => void>()
      let tcp: Socket | undefined
      let closeInfo: CloseInfo | undefined
      const notify = () => {
        for (const listener of [...listeners]) listener()
      }

      socket.on("upgrade", (response: IncomingMessage) => {
        tcp = response.socket
      })
      socket.on("message", (data, isBinary) => {
        if (isBinary) {
          invalid.push("<binary frame>")
          return notify()
        }
        const text = textOf(data)
        const decoded = decodeFrame(text)
        if (Result.isFailure(decoded)) invalid.push(`${text.slice(0, 300)} (${decoded.failure.message})`)
        else {
          received.push(decoded.success)
          unconsumed.push(decoded.success)
        }
        notify()
      })
      socket.on("close", (code, reason) => {
        closeInfo = { code, reason: reason.toString() }
        notify()
      })
      socket.on("error", () => notify())

      /** Polls `check` on every event until it yields a value or `timeoutMs` passes. */
      const waitFor = <A>(what: string, timeoutMs: number, check: () => A | undefined) =>
        Effect.callback<A, WsTestError>((resumeWait) => {
          const fail = (message: string) =>
            resumeWait(Effect.fail(new WsTestError({ message: `[${name}] ${message}` })))
          const attempt = () => {
            if (invalid.length > 0) {
              cleanup()
              fail(`received frames that violate the contract:\n  ${invalid.join("\n  ")}`)
              return
            }
            const value = check()
            if (value !== undefined) {
              cleanup()
              resumeWait(Effect.succeed(value))
            }
          }
          const timer = setTimeout(() => {
            cleanup()
            fail(
              `timed out after ${timeoutMs} ms waiting for ${what}; close=${JSON.stringify(closeInfo)}; last frames:\n  ${
                describeFrames(received)
              }`
            )
          }, timeoutMs)
          const cleanup = () => {
            listeners.delete(attempt)
            clearTimeout(timer)
          }
          listeners.add(attempt)
          attempt()
          return Effect.sync(cleanup)
        })

      const take = <F extends ServerFrame>(match: (frame: ServerFrame) => frame is F, count: number, timeoutMs = 10_000) =>
        waitFor(`${count} matching frame(s)`, timeoutMs, () => {
          const matching = unconsumed.filter(match)
          if (matching.length < count) return undefined
          const taken = matching.slice(0, count)
          const takenSet = new Set<ServerFrame>(taken)
          const keep = unconsumed.filter((f) => !takenSet.has(f))
          unconsumed.length = 0
          unconsumed.push(...keep)
          return taken
        })

      const client: WsClient = {
        name,
        socket,
        received,
        send: (payload) => Effect.sync(() => socket.send(JSON.stringify(payload))),
        sendRaw: (data, binary = false) => Effect.sync(() => socket.send(data, { binary })),
        next: (match, timeoutMs) =>
          Effect.flatMap(take(match, 1, timeoutMs), (frames) =>
            frames[0] === undefined ? Effect.fail(new WsTestError({ message: "no frame" })) : Effect.succeed(frames[0])),
        take,
        pending: (match) => unconsumed.filter(match),
        roundTrip: Effect.suspend(() => {
          socket.send(JSON.stringify({ type: "ping" }))
          return take(frame("pong"), 1)
        }).pipe(Effect.asVoid),
        closed: (timeoutMs = 10_000) => waitFor("the connection to close", timeoutMs, () => closeInfo),
        closeInfo: () => closeInfo,
        close: Effect.suspend(() => {
          if (closeInfo !== undefined) return Effect.void
          socket.close(1000, "bye")
          return waitFor("close handshake", 5_000, () => closeInfo).pipe(
            Effect.catch(() => Effect.sync(() => socket.terminate()))
          )
        }).pipe(Effect.asVoid),
        pauseReading: () => tcp?.pause(),
        resumeReading: () => tcp?.resume()
      }

      socket.once("open", () => resume(Effect.succeed(client)))
      socket.once("unexpected-response", (_request, response: IncomingMessage) => {
        response.resume()
        resume(Effect.fail(new WsTestError({ message: `[${name}] upgrade refused with HTTP ${response.statusCode}` })))
      })
      socket.once("error", (error) => {
        resume(Effect.fail(new WsTestError({ message: `[${name}] connection failed: ${error.message}` })))
      })
      return Effect.sync(() => socket.terminate())
    }),
    (client) => Effect.sync(() => client.socket.terminate())
  )

/** Tries to open `/ws` with `headers`/`query` and reports how the upgrade was refused (or that it was not). */
export const attemptUpgrade = (
  baseUrl: string,
  options: { readonly headers?: Record<string, string>; readonly query?: string } = {}
) =>
  Effect.callback<{ readonly status: number; readonly body: string }>((resume) => {
    const url = options.query === undefined ? wsUrl(baseUrl) : `${wsUrl(baseUrl)}?${options.query}`
    const socket = new WebSocket(url, { headers: options.headers ?? {} })
    socket.once("open", () => {
      socket.terminate()
      resume(Effect.succeed({ status: 101, body: "" }))
    })
    socket.once("unexpected-response", (_request, response: IncomingMessage) => {
      let body = ""
      response.setEncoding("utf8")
      response.on("data", (chunk: string) => {
        body += chunk
      })
      const done = () => {
        resume(Effect.succeed({ status: response.statusCode ?? 0, body }))
        socket.terminate()
      }
      response.on("end", done)
      response.on("error", done)
    })
    socket.on("error", () => resume(Effect.succeed({ status: 0, body: "" })))
    return Effect.sync(() => socket.terminate())
  })
