/**
 * The workload's own history, one record per observable step: every send attempt and its
 * outcome (ack, error frame, timeout), every message frame delivered per connection, every
 * join/leave/open/close, and every fault window. The checker judges the run from this log plus
 * what PostgreSQL and Kafka hold afterwards; the runner also writes it as JSON lines.
 */

/** Milliseconds since the epoch (Date.now()) on the workload's clock. */
export type Millis = number

/** Where a send-related record happened, and which logical send (room, sender, client_msg_id) it is about. */
export interface SendRef {
  readonly at: Millis
  readonly device: string
  readonly conn: string
  readonly room: string
  readonly sender: string
  readonly cmid: string
}

export type LogEvent =
  /** `valid: false` for a send the server must refuse (blank content): it may never be acked or stored. */
  | (SendRef & { readonly kind: "send"; readonly attempt: number; readonly valid: boolean })
  | (SendRef & { readonly kind: "ack"; readonly messageId: string; readonly seq: number })
  | (SendRef & { readonly kind: "send_error"; readonly code: string })
  /** No answer within the send timeout, or the connection dropped first: the outcome is unknown. */
  | (SendRef & { readonly kind: "send_timeout" })
  | { readonly kind: "open"; readonly at: Millis; readonly device: string; readonly conn: string; readonly gateway: string }
  | { readonly kind: "close"; readonly at: Millis; readonly device: string; readonly conn: string; readonly code: number }
  | {
    /** A `join` with `since_seq`: a subscription segment of (conn, room) starts after `since`. */
    readonly kind: "join"
    readonly at: Millis
    readonly device: string
    readonly conn: string
    readonly room: string
    readonly since: number
  }
  | {
    /** The server acknowledged a `leave` (a later pong): the segment of (conn, room) is over. */
    readonly kind: "left"
    readonly at: Millis
    readonly device: string
    readonly conn: string
    readonly room: string
  }
  | {
    /**
     * The server unsubscribed this connection from the room itself and said so (`user_left` for the
     * client's own user carrying `last_seq`, after a replay it could not finish): the segment is over.
     */
    readonly kind: "dropped"
    readonly at: Millis
    readonly device: string
    readonly conn: string
    readonly room: string
    readonly lastSeq: number
  }
  | {
    readonly kind: "deliver"
    readonly at: Millis
    readonly device: string
    readonly conn: string
    readonly room: string
    readonly seq: number
    readonly messageId: string
  }
  | {
    /**
     * End of the run, per device and room it belongs to: the connection it finally resumed on
     * (null: it never got one back) — that segment must reach the room's last seq.
     */
    readonly kind: "final"
    readonly at: Millis
    readonly device: string
    readonly room: string
    readonly conn: string | null
  }
  | { readonly kind: "fault"; readonly at: Millis; readonly fault: string; readonly phase: "start" | "end"; readonly detail: string }

/** Error codes that say "this send will never succeed as sent": the message must not be stored. */
export const DEFINITE_FAILURES: ReadonlySet<string> = new Set(["BAD_REQUEST", "FORBIDDEN", "NOT_FOUND"])

export class ChaosLog {
  readonly events: Array<LogEvent> = []
  record(event: LogEvent): void {
    this.events.push(event)
  }
  toJsonLines(): string {
    return this.events.map((event) => JSON.stringify(event)).join("\n") + "\n"
  }
}
