/**
 * The fuzzer's wire: raw HTTP requests over `node:http` (exact method, path, headers and bytes —
 * `fetch` would normalise paths and refuse odd headers), and a WebSocket connection that sends
 * one case at a time and knows when the server has answered it: each case is followed by a
 * `ping`, and the case is done when every `pong` owed so far has arrived (the server handles a
 * connection's frames in order). A `ping` inside the fuzzed frame itself is predicted with the
 * contract's own decoder, so the count is exact.
 */
import * as Http from "node:http"
import { Effect, Result } from "effect"
import WebSocket from "ws"
import type { RawData } from "ws"
import { decodeClientFrame } from "@pylon/contracts/WsFrames"
import type { HttpObservation } from "./Oracle.ts"

const MAX_RESPONSE_BYTES = 4 * 1024 * 1024

export interface HttpRequest {
  readonly method: string
  /** Path and query, sent verbatim. */
  readonly target: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: Uint8Array | undefined
}

export type SendOutcome =
  | { readonly sent: true; readonly observation: HttpObservation }
  /** Node's client refused to put it on the wire (e.g. a character not allowed in a header). */
  | { readonly sent: false; readonly reason: string }

/**
 * One request on a keep-alive agent; resolves with whatever happened, never rejects. A reset on
 * a reused keep-alive socket is retried once on a fresh connection: the server may close an idle
 * socket just as the agent hands it out (the race Node's docs describe for `reusedSocket`), which
 * says nothing about how the server treats this request.
 */
export const sendHttp = async (agent: Http.Agent, base: URL, request: HttpRequest, timeoutMs: number): Promise<SendOutcome> => {
  const first = await sendOnce(agent, base, request, timeoutMs)
  return first.staleSocket ? (await sendOnce(false, base, request, timeoutMs)).outcome : first.outcome
}

const sendOnce = (
  agent: Http.Agent | false,
  base: URL,
  request: HttpRequest,
  timeoutMs: number
): Promise<{ readonly outcome: SendOutcome; readonly staleSocket: boolean }> =>
  new Promise((resolveOnce) => {
    let staleSocket = false
    const resolve = (outcome: SendOutcome) => resolveOnce({ outcome, staleSocket })
    let settled = false
    const done = (outcome: SendOutcome) => {
      if (!settled) {
        settled = true
        resolve(outcome)
      }
    }
    let req: Http.ClientRequest
    try {
      req = Http.request({
        agent,
        host: base.hostname,
        port: base.port,
        method: request.method,
        path: request.target,
        headers: request.body === undefined ? request.headers : { ...request.headers, "content-length": String(request.body.length) },
        timeout: timeoutMs
      }, (res) => {
        const chunks: Array<Buffer> = []
        let size = 0
        res.on("data", (chunk: Buffer) => {
          size += chunk.length
          if (size <= MAX_RESPONSE_BYTES) chunks.push(chunk)
        })
        res.on("end", () =>
          done({
            sent: true,
            observation: {
              status: res.statusCode ?? 0,
              contentType: res.headers["content-type"],
              body: Buffer.concat(chunks).toString("utf8")
            }
          })
        )
        res.on("error", (error) => done({ sent: true, observation: { status: 0, contentType: undefined, body: "", error: String(error) } }))
      })
    } catch (error) {
      return done({ sent: false, reason: error instanceof Error ? error.message : String(error) })
    }
    req.on("timeout", () => req.destroy(new Error(`no response within ${timeoutMs} ms`)))
    req.on("error", (error: NodeJS.ErrnoException) => {
      staleSocket = req.reusedSocket && (error.code === "ECONNRESET" || error.code === "EPIPE")
      done({ sent: true, observation: { status: 0, contentType: undefined, body: "", error: error.code ?? error.message } })
    })
    req.end(request.body === undefined ? undefined : Buffer.from(request.body))
  })

/** A `ws` message as text, whatever buffer shape it arrived in. */
export const textOf = (data: RawData): string =>
  Buffer.isBuffer(data) ? data.toString("utf8") : Array.isArray(data) ? Buffer.concat(data).toString("utf8") : Buffer.from(data).toString("utf8")

/** Does the server read this text as a `ping` frame (and so owe one more `pong`)? */
const isPingFrame = (text: string): boolean => {
  const decoded = Effect.runSync(Effect.result(decodeClientFrame(text)))
  return Result.isSuccess(decoded) && decoded.success.type === "ping"
}

export interface CaseAnswer {
  /** Text frames received while the case was in flight. */
  readonly frames: ReadonlyArray<string>
  readonly binaryFrames: number
  /** Set when the connection closed during the case. */
  readonly closed: { readonly code: number; readonly reason: string } | undefined
  /** True when the owed `pong`s did not arrive in time (and the socket did not close). */
  readonly timedOut: boolean
}

const PING = JSON.stringify({ type: "ping" })

/** One authenticated connection; `exchange` sends a case and collects what it caused. */
export class FuzzSocket {
  private readonly inbox: Array<string> = []
  private binaryFrames = 0
  private pongsOwed = 0
  private pongsSeen = 0
  private closeInfo: { code: number; reason: string } | undefined
  private wake: (() => void) | undefined

  private readonly socket: WebSocket

  private constructor(socket: WebSocket) {
    this.socket = socket
    socket.on("message", (data, isBinary) => {
      if (isBinary) this.binaryFrames++
      else {
        const text = textOf(data)
        this.inbox.push(text)
        if (text === "{\"type\":\"pong\"}") this.pongsSeen++
      }
      this.wake?.()
    })
    socket.on("close", (code, reason) => {
      this.closeInfo = { code, reason: reason.toString() }
      this.wake?.()
    })
    socket.on("error", () => this.wake?.())
  }

  /** Opens `ws://…/ws` with a bearer header; rejects if the upgrade fails. */
  static open(wsUrl: string, token: string, timeoutMs: number): Promise<FuzzSocket> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false, handshakeTimeout: timeoutMs })
      socket.once("open", () => resolve(new FuzzSocket(socket)))
      socket.once("error", reject)
      socket.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused with HTTP ${res.statusCode}`)))
    })
  }

  get isOpen(): boolean {
    return this.closeInfo === undefined && this.socket.readyState === WebSocket.OPEN
  }

  /** Frames that arrived between cases (fan-out, presence, notifications). */
  drain(): ReadonlyArray<string> {
    return this.inbox.splice(0)
  }

  /** Sends `data` (as text or binary), then a `ping`; waits for every owed `pong`, the close, or the deadline. */
  exchange(data: string | Uint8Array, binary: boolean, timeoutMs: number): Promise<CaseAnswer> {
    const binaryBefore = this.binaryFrames
    if (!binary) {
      const text = typeof data === "string" ? Buffer.from(data, "utf8").toString("utf8") : Buffer.from(data).toString("utf8")
      if (isPingFrame(text)) this.pongsOwed++
    }
    this.socket.send(typeof data === "string" ? data : Buffer.from(data), { binary })
    this.socket.send(PING)
    this.pongsOwed++
    return new Promise((resolve) => {
      const finish = (timedOut: boolean) => {
        clearTimeout(timer)
        this.wake = undefined
        resolve({ frames: this.inbox.splice(0), binaryFrames: this.binaryFrames - binaryBefore, closed: this.closeInfo, timedOut })
      }
      const check = () => {
        if (this.closeInfo !== undefined) finish(false)
        else if (this.pongsSeen >= this.pongsOwed) finish(false)
      }
      const timer = setTimeout(() => finish(true), timeoutMs)
      this.wake = check
      check()
    })
  }

  close(): void {
    this.socket.terminate()
  }
}

export interface UpgradeObservation {
  /** 101 when the upgrade succeeded; 0 when there was no HTTP answer. */
  readonly status: number
  readonly body: string
  readonly error?: string
}

/** Tries one handshake; an accepted socket is closed at once. */
export const tryUpgrade = (url: string, headers: Readonly<Record<string, string>>, timeoutMs: number): Promise<UpgradeObservation> =>
  new Promise((resolve) => {
    let settled = false
    const done = (observation: UpgradeObservation) => {
      if (!settled) {
        settled = true
        resolve(observation)
      }
    }
    let socket: WebSocket
    try {
      socket = new WebSocket(url, { headers, perMessageDeflate: false, handshakeTimeout: timeoutMs })
    } catch (error) {
      return done({ status: 0, body: "", error: `not sent: ${error instanceof Error ? error.message : String(error)}` })
    }
    socket.once("open", () => {
      socket.terminate()
      done({ status: 101, body: "" })
    })
    socket.once("unexpected-response", (_req, res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (chunk: Buffer) => chunks.push(chunk))
      res.on("end", () => done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }))
      res.on("error", () => done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }))
    })
    socket.once("error", (error) => done({ status: 0, body: "", error: error.message }))
  })
