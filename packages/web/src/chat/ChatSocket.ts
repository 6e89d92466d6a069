/**
 * The live connection (`GET /ws`, API.md §6): one WebSocket at a time, reconnected with capped,
 * jittered backoff after any loss (at once when the browser comes back online), a ping when the
 * line is quiet and a forced reconnect when nothing at all arrives for too long (a half-open
 * connection). Every frame received is decoded with the contract's `ServerFrame` schema.
 */
import { Option, Schema } from "effect"
import { ServerFrame, WsCloseCode } from "@pylon/contracts/WsFrames"
import type { ClientFrame } from "@pylon/contracts/WsFrames"
import type { ConnectionState } from "./State.ts"

export type OutgoingFrame = typeof ClientFrame.Encoded

const decodeFrame = Schema.decodeUnknownOption(Schema.fromJsonString(ServerFrame))

const PING_EVERY_MS = 15_000
const SILENCE_LIMIT_MS = 40_000
const BACKOFF_MAX_MS = 10_000

export interface SocketHandlers {
  /** The URL to connect to (with a current access token). */
  readonly url: () => Promise<string>
  readonly onOpen: () => void
  readonly onFrame: (frame: ServerFrame) => void
  readonly onState: (state: ConnectionState) => void
  /** Closed by policy (1008, e.g. expired token): renew it; false ends the connection for good. */
  readonly onPolicyClose: () => Promise<boolean>
}

export class ChatSocket {
  private socket: WebSocket | undefined
  private attempt = 0
  private retryTimer: ReturnType<typeof setTimeout> | undefined
  private pingTimer: ReturnType<typeof setInterval> | undefined
  private lastFrameAt = 0
  private stopped = false

  constructor(private readonly handlers: SocketHandlers) {}

  start(): void {
    this.stopped = false
    window.addEventListener("online", this.onOnline)
    window.addEventListener("offline", this.onOffline)
    this.pingTimer = setInterval(this.keepalive, PING_EVERY_MS / 3)
    void this.connect()
  }

  stop(): void {
    this.stopped = true
    window.removeEventListener("online", this.onOnline)
    window.removeEventListener("offline", this.onOffline)
    clearInterval(this.pingTimer)
    clearTimeout(this.retryTimer)
    this.socket?.close(1000, "bye")
    this.socket = undefined
  }

  get isOpen(): boolean {
    return this.socket?.readyState === WebSocket.OPEN
  }

  /** Sends when connected; false when not (the caller keeps the frame for the next open). */
  send(frame: OutgoingFrame): boolean {
    if (this.socket === undefined || this.socket.readyState !== WebSocket.OPEN) return false
    this.socket.send(JSON.stringify(frame))
    return true
  }

  private async connect(): Promise<void> {
    if (this.stopped) return
    clearTimeout(this.retryTimer)
    this.retryTimer = undefined
    if (!navigator.onLine) {
      this.scheduleRetry()
      return
    }
    this.handlers.onState({ status: "connecting" })
    let url: string
    try {
      url = await this.handlers.url()
    } catch {
      this.scheduleRetry()
      return
    }
    if (this.stopped) return
    const socket = new WebSocket(url)
    this.socket = socket
    socket.onopen = () => {
      if (socket !== this.socket) return
      this.attempt = 0
      this.lastFrameAt = Date.now()
      this.handlers.onState({ status: "online" })
      this.handlers.onOpen()
    }
    socket.onmessage = (event: MessageEvent) => {
      if (socket !== this.socket || typeof event.data !== "string") return
      this.lastFrameAt = Date.now()
      const frame = decodeFrame(event.data)
      if (Option.isSome(frame)) this.handlers.onFrame(frame.value)
    }
    socket.onclose = (event: CloseEvent) => {
      if (socket !== this.socket) return
      this.socket = undefined
      if (this.stopped) return
      if (event.code === WsCloseCode.PolicyViolation) {
        void this.handlers.onPolicyClose().then((renewed) => (renewed ? this.scheduleRetry() : this.stop()))
        return
      }
      this.scheduleRetry()
    }
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retryTimer !== undefined) return
    const base = Math.min(BACKOFF_MAX_MS, 500 * 2 ** this.attempt)
    const delay = Math.round(base / 2 + Math.random() * (base / 2))
    this.attempt++
    this.handlers.onState({ status: "offline", retryAt: Date.now() + delay })
    this.retryTimer = setTimeout(() => void this.connect(), delay)
  }

  /** Drops the current socket (if any) and reconnects now. */
  reconnectNow(): void {
    const socket = this.socket
    this.socket = undefined
    socket?.close(4000, "reconnect")
    this.attempt = 0
    clearTimeout(this.retryTimer)
    this.retryTimer = undefined
    void this.connect()
  }

  private readonly keepalive = (): void => {
    if (!this.isOpen) return
    const silent = Date.now() - this.lastFrameAt
    if (silent > SILENCE_LIMIT_MS) this.reconnectNow()
    else if (silent > PING_EVERY_MS) this.send({ type: "ping" })
  }

  private readonly onOnline = (): void => {
    if (!this.isOpen) this.reconnectNow()
  }

  private readonly onOffline = (): void => {
    const socket = this.socket
    this.socket = undefined
    socket?.close(4000, "offline")
    clearTimeout(this.retryTimer)
    this.retryTimer = undefined
    this.scheduleRetry()
  }
}
