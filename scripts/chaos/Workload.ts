/**
 * The chaos workload: users with several devices each, every device one WebSocket connection
 * to its preferred gateway (the other one when that fails), joined to all of its user's rooms
 * with `since_seq` = the last seq it saw there. Devices send with a `client_msg_id` and retry
 * the same id after a timeout, a retryable error or a lost connection; reconnect and resume
 * after every close; and now and then leave a room and come back with `since_seq`. A few sends
 * are invalid on purpose (blank content) and must be refused. Everything observable goes to
 * the ChaosLog; nothing here judges it.
 */
import { Effect } from "effect"
import WebSocket from "ws"
import type { RawData } from "ws"
import type { ChaosLog } from "./ChaosLog.ts"
import { DEFINITE_FAILURES } from "./ChaosLog.ts"
import type { Random } from "./Random.ts"

export interface WorkloadUser {
  readonly id: string
  readonly username: string
  readonly token: string
}

export interface WorkloadRoom {
  readonly id: string
  readonly type: "direct" | "group" | "channel"
  readonly members: ReadonlyArray<WorkloadUser>
}

export interface WorkloadSettings {
  readonly sendTimeoutMs: number
  readonly thinkMs: readonly [number, number]
  /** Chance per device step to leave a room and rejoin it later with since_seq. */
  readonly churn: number
  /** Chance that a new send is invalid (blank content). */
  readonly invalid: number
}

/** `run`: normal traffic; `drain`: finish pending sends, rejoin everything, no new sends; `stop`: close. */
export type Phase = "run" | "drain" | "stop"

type Outcome =
  | { readonly tag: "ack" }
  | { readonly tag: "error"; readonly code: string }
  | { readonly tag: "timeout" }
  | { readonly tag: "closed" }

interface PendingSend {
  readonly room: string
  readonly cmid: string
  readonly valid: boolean
  readonly startedAt: number
  attempts: number
}

const textOf = (data: RawData): string =>
  Buffer.isBuffer(data) ? data.toString("utf8") : Array.isArray(data) ? Buffer.concat(data).toString("utf8") : Buffer.from(data).toString("utf8")

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null

const str = (frame: Record<string, unknown>, key: string): string | undefined => {
  const value = frame[key]
  return typeof value === "string" ? value : undefined
}
const num = (frame: Record<string, unknown>, key: string): number | undefined => {
  const value = frame[key]
  return typeof value === "number" ? value : undefined
}

/** One open connection of a device: routes answers to waiters and logs every frame that matters. */
class Connection {
  readonly outcomes = new Map<string, (outcome: Outcome) => void>()
  readonly joins = new Map<string, () => void>()
  readonly joinFailures = new Map<string, () => void>()
  readonly pongs: Array<() => void> = []
  closed = false

  readonly id: string
  readonly ws: WebSocket
  readonly device: Device

  constructor(id: string, ws: WebSocket, device: Device) {
    this.id = id
    this.ws = ws
    this.device = device
  }

  onFrame(text: string) {
    let frame: unknown
    try {
      frame = JSON.parse(text)
    } catch {
      return
    }
    if (!isRecord(frame)) return
    const type = str(frame, "type")
    const room = str(frame, "room_id") ?? ""
    const base = { at: Date.now(), device: this.device.name, conn: this.id }
    switch (type) {
      case "message": {
        const seq = num(frame, "seq") ?? -1
        this.device.log.record({ ...base, kind: "deliver", room, seq, messageId: str(frame, "message_id") ?? "" })
        this.device.seen(room, seq)
        return
      }
      case "ack": {
        const cmid = str(frame, "client_msg_id") ?? ""
        this.device.log.record({
          ...base,
          kind: "ack",
          room,
          sender: this.device.user.id,
          cmid,
          messageId: str(frame, "message_id") ?? "",
          seq: num(frame, "seq") ?? -1
        })
        this.outcomes.get(cmid)?.({ tag: "ack" })
        return
      }
      case "error": {
        const ref = str(frame, "ref")
        const code = str(frame, "code") ?? "?"
        // Frames are answered in order and a join's error carries no ref: it answers the pending join.
        if (ref === undefined) {
          for (const [joinRoom, failed] of this.joinFailures) {
            this.joinFailures.delete(joinRoom)
            failed()
          }
          return
        }
        const room = this.device.pendingRoom(ref)
        this.device.log.record({ ...base, kind: "send_error", room, sender: this.device.user.id, cmid: ref, code })
        this.outcomes.get(ref)?.({ tag: "error", code })
        return
      }
      case "user_joined": {
        const user = frame.user
        if (isRecord(user) && str(user, "id") === this.device.user.id && num(frame, "last_seq") !== undefined) {
          this.joins.get(room)?.()
        }
        return
      }
      case "user_left": {
        // Our own user with `last_seq`: the server unsubscribed this connection (a replay it could
        // not finish). Without `last_seq` it is another of our devices leaving.
        const lastSeq = num(frame, "last_seq")
        if (str(frame, "user_id") === this.device.user.id && lastSeq !== undefined) {
          this.device.log.record({ ...base, kind: "dropped", room, lastSeq })
          this.device.unsubscribedByServer(room)
        }
        return
      }
      case "pong":
        this.pongs.shift()?.()
        return
      default:
        return
    }
  }

  /** Ends the connection now; `closed` is true at once (the close event follows later). */
  terminate() {
    this.ws.terminate()
    this.onClose()
  }

  onClose() {
    if (this.closed) return
    this.closed = true
    for (const resolve of this.outcomes.values()) resolve({ tag: "closed" })
    this.outcomes.clear()
    this.joins.clear()
    this.joinFailures.clear()
    for (const resolve of this.pongs.splice(0)) resolve()
  }

  send(payload: unknown): boolean {
    if (this.closed) return false
    if (this.ws.readyState !== WebSocket.OPEN) {
      // Closing (a drain's 1001, say): this connection is done; the device reconnects.
      this.terminate()
      return false
    }
    this.ws.send(JSON.stringify(payload))
    return true
  }

  /** Waits for `register(resolve)`'s answer, `timeoutMs`, or the close of the connection. */
  wait<A>(register: (resolve: (a: A) => void) => () => void, onTimeout: A, onClosed: A, timeoutMs: number) {
    return Effect.callback<A>((resume) => {
      if (this.closed) return resume(Effect.succeed(onClosed))
      let unregister = () => {}
      const timer = setTimeout(() => {
        unregister()
        resume(Effect.succeed(onTimeout))
      }, timeoutMs)
      unregister = register((a) => {
        clearTimeout(timer)
        unregister()
        resume(Effect.succeed(this.closed ? onClosed : a))
      })
      return Effect.sync(() => {
        clearTimeout(timer)
        unregister()
      })
    })
  }
}

export interface DeviceOptions {
  readonly name: string
  readonly user: WorkloadUser
  readonly rooms: ReadonlyArray<string>
  /** Base URLs, preferred first. */
  readonly gateways: ReadonlyArray<string>
  readonly log: ChaosLog
  readonly random: Random
  readonly settings: WorkloadSettings
  readonly phase: () => Phase
}

export class Device {
  /** Highest seq seen per room: the next join's since_seq. */
  readonly cursor = new Map<string, number>()
  readonly joined = new Set<string>()
  /** Rooms left on purpose, and when to come back. */
  readonly away = new Map<string, number>()
  conn: Connection | undefined
  pending: PendingSend | undefined
  private connections = 0
  private sent = 0

  readonly options: DeviceOptions

  constructor(options: DeviceOptions) {
    this.options = options
    for (const room of options.rooms) this.cursor.set(room, 0)
  }

  get name() {
    return this.options.name
  }
  get user() {
    return this.options.user
  }
  get rooms() {
    return this.options.rooms
  }
  get log() {
    return this.options.log
  }
  private get random() {
    return this.options.random
  }
  private get phase() {
    return this.options.phase
  }

  seen(room: string, seq: number) {
    if (seq > (this.cursor.get(room) ?? 0)) this.cursor.set(room, seq)
  }

  /** The server ended this room's subscription on the current connection: rejoin it with since_seq. */
  unsubscribedByServer(room: string) {
    this.joined.delete(room)
    this.away.set(room, Date.now())
  }

  pendingRoom(cmid: string): string {
    return this.pending?.cmid === cmid ? this.pending.room : ""
  }

  /** Queues a send to `room` (used for the end-of-run sentinel); ignored while another is pending. */
  queueSend(room: string): boolean {
    if (this.pending !== undefined || !this.rooms.includes(room)) return false
    this.pending = { room, cmid: `${this.name}-s${this.sent++}`, valid: true, startedAt: Date.now(), attempts: 0 }
    return true
  }

  /** Is this device live on every room of its user (the state the end of the run waits for)? */
  settled(): boolean {
    return this.conn !== undefined && !this.conn.closed && this.rooms.every((r) => this.joined.has(r)) && this.pending === undefined
  }

  private open(baseUrl: string) {
    const id = `${this.name}#${++this.connections}`
    return Effect.callback<Connection | undefined>((resume) => {
      const ws = new WebSocket(`${baseUrl.replace(/^http/, "ws")}/ws`, {
        headers: { authorization: `Bearer ${this.user.token}` },
        handshakeTimeout: 5_000
      })
      const conn = new Connection(id, ws, this)
      let opened = false
      ws.on("message", (data, isBinary) => {
        if (!isBinary) conn.onFrame(textOf(data))
      })
      ws.once("open", () => {
        opened = true
        this.log.record({ kind: "open", at: Date.now(), device: this.name, conn: id, gateway: baseUrl })
        resume(Effect.succeed(conn))
      })
      ws.once("close", (code) => {
        conn.onClose()
        if (opened) this.log.record({ kind: "close", at: Date.now(), device: this.name, conn: id, code })
        else resume(Effect.succeed(undefined))
      })
      ws.on("error", () => {
        if (!opened) ws.terminate()
      })
      ws.once("unexpected-response", () => ws.terminate())
      return Effect.sync(() => {
        if (!opened) ws.terminate()
      })
    })
  }

  private joinOnce(conn: Connection, room: string) {
    const answered = conn.wait<"joined" | "refused" | "no answer">(
      (resolve) => {
        conn.joins.set(room, () => resolve("joined"))
        conn.joinFailures.set(room, () => resolve("refused"))
        return () => {
          conn.joins.delete(room)
          conn.joinFailures.delete(room)
        }
      },
      "no answer",
      "no answer",
      15_000
    )
    return Effect.gen({ self: this }, function*() {
      const since = this.cursor.get(room) ?? 0
      this.log.record({ kind: "join", at: Date.now(), device: this.name, conn: conn.id, room, since })
      if (!conn.send({ type: "join", room_id: room, since_seq: since })) return "no answer" as const
      return yield* answered
    })
  }

  /**
   * Joins with since_seq, retrying a refused join (a service restarting) a few times before giving
   * up the connection. A join that got no answer at all ends the connection: it may still be
   * replaying, and a second join on top would replay the same messages again.
   */
  private joinRoom(conn: Connection, room: string) {
    return Effect.gen({ self: this }, function*() {
      for (let attempt = 0; attempt < 8 && !conn.closed; attempt++) {
        const answer = yield* this.joinOnce(conn, room)
        if (answer === "joined") {
          this.joined.add(room)
          return true
        }
        if (answer === "no answer") return false
        yield* Effect.sleep(this.random.int(300, 1_500))
      }
      return false
    })
  }

  private roundTrip(conn: Connection) {
    const answered = conn.wait<boolean>(
      (resolve) => {
        const entry = () => resolve(true)
        conn.pongs.push(entry)
        return () => {
          const i = conn.pongs.indexOf(entry)
          if (i >= 0) conn.pongs.splice(i, 1)
        }
      },
      false,
      false,
      15_000
    )
    return Effect.suspend(() => (conn.send({ type: "ping" }) ? answered : Effect.succeed(false)))
  }

  private leaveRoom(conn: Connection, room: string) {
    return Effect.gen({ self: this }, function*() {
      this.joined.delete(room)
      this.away.set(room, Date.now() + this.random.int(500, 4_000))
      if (!conn.send({ type: "leave", room_id: room })) return
      // Everything the server sent before it handled the leave has arrived once the pong has.
      if (yield* this.roundTrip(conn)) this.log.record({ kind: "left", at: Date.now(), device: this.name, conn: conn.id, room })
    })
  }

  /** One attempt of the pending send; clears `pending` when it is settled for good. */
  private attempt(conn: Connection, pending: PendingSend) {
    return Effect.gen({ self: this }, function*() {
      pending.attempts++
      const base = { at: Date.now(), device: this.name, conn: conn.id, room: pending.room, sender: this.user.id, cmid: pending.cmid }
      const outcome = conn.wait<Outcome>(
        (resolve) => {
          conn.outcomes.set(pending.cmid, resolve)
          return () => conn.outcomes.delete(pending.cmid)
        },
        { tag: "timeout" },
        { tag: "closed" },
        this.options.settings.sendTimeoutMs
      )
      this.log.record({ ...base, kind: "send", attempt: pending.attempts, valid: pending.valid })
      const sent = conn.send({
        type: "message",
        room_id: pending.room,
        content: pending.valid ? `${pending.cmid} from ${this.user.username}` : "   ",
        client_msg_id: pending.cmid
      })
      const result: Outcome = sent ? yield* outcome : { tag: "closed" }
      if (result.tag === "timeout" || result.tag === "closed") {
        this.log.record({ ...base, at: Date.now(), kind: "send_timeout" })
      }
      if (result.tag === "error" && result.code === "NOT_JOINED") {
        // The server no longer has this room on this connection: rejoin it (since_seq), then retry.
        this.joined.delete(pending.room)
        this.away.set(pending.room, Date.now())
      }
      const settled = result.tag === "ack" || (result.tag === "error" && DEFINITE_FAILURES.has(result.code))
      const givenUp = Date.now() - pending.startedAt > 180_000
      if (settled || givenUp) this.pending = undefined
      else if (result.tag === "error") yield* Effect.sleep(this.random.int(200, 1_000))
      return result.tag !== "closed"
    })
  }

  private newSend() {
    const rooms = this.rooms.filter((r) => this.joined.has(r))
    if (rooms.length === 0) return
    const valid = this.random.next() >= this.options.settings.invalid
    this.pending = { room: this.random.pick(rooms), cmid: `${this.name}-${this.sent++}`, valid, startedAt: Date.now(), attempts: 0 }
  }

  /** Connects (alternating gateways on failure), joins every room, then works until the connection or the run ends. */
  private session(attemptNo: number) {
    return Effect.gen({ self: this }, function*() {
      const gateway = this.options.gateways[attemptNo % this.options.gateways.length] ?? ""
      const conn = yield* this.open(gateway)
      if (conn === undefined) return false
      this.conn = conn
      this.joined.clear()
      for (const room of this.rooms) {
        const away = this.away.get(room)
        if (this.phase() === "run" && away !== undefined && away > Date.now()) continue
        this.away.delete(room)
        if (!(yield* this.joinRoom(conn, room))) {
          conn.terminate()
          return true
        }
      }
      while (!conn.closed && this.phase() !== "stop") {
        const phase = this.phase()
        for (const [room, at] of this.away) {
          if (phase !== "run" || at <= Date.now()) {
            this.away.delete(room)
            if (!(yield* this.joinRoom(conn, room))) conn.terminate()
          }
        }
        if (conn.closed) break
        const pending = this.pending
        if (pending !== undefined) {
          if (this.joined.has(pending.room)) yield* this.attempt(conn, pending)
          else yield* Effect.sleep(100)
          continue
        }
        if (phase === "run") {
          const joinedRooms = this.rooms.filter((r) => this.joined.has(r))
          if (joinedRooms.length > 1 && this.random.next() < this.options.settings.churn) {
            yield* this.leaveRoom(conn, this.random.pick(joinedRooms))
          } else {
            this.newSend()
          }
          yield* Effect.sleep(this.random.int(this.options.settings.thinkMs[0], this.options.settings.thinkMs[1]))
        } else {
          yield* Effect.sleep(100)
        }
      }
      return true
    })
  }

  /** Runs until the phase is `stop`, reconnecting after every lost connection. */
  run() {
    return Effect.gen({ self: this }, function*() {
      let attemptNo = 0
      while (this.phase() !== "stop") {
        const connected = yield* this.session(attemptNo)
        if (this.phase() === "stop") break
        // Try the other gateway next when this one refused us; back off a little either way.
        if (!connected) attemptNo++
        yield* Effect.sleep(this.random.int(100, connected ? 500 : 1_500))
      }
      this.conn?.ws.close(1000, "chaos run done")
    })
  }
}
