/**
 * The correctness checker (Jepsen-style): judges a run from the workload's log and what the
 * stores hold afterwards, and lists every violation of
 *   durability     every acked (and every stored) message is in history with gap-free seqs, in
 *                  the `message-events` topic, and produced its notifications exactly once;
 *   delivery       every subscription segment of a connection delivers its room's messages from
 *                  its resume point exactly once, in seq order, without gaps, and the segment a
 *                  device finally resumed on reaches the room's last seq;
 *   idempotency    no (room, sender, client_msg_id) stored twice, however often it was retried;
 *   no_false_acks  acks agree with what is stored and with each other; nothing is stored that
 *                  the sender was told failed for good; an invalid send is never acked.
 * Each violation is attributed to the faults whose window (plus a settling margin) covers it.
 * Pure: no I/O, so it is unit-tested with synthetic logs.
 */
import type { LogEvent, Millis } from "./ChaosLog.ts"
import { DEFINITE_FAILURES } from "./ChaosLog.ts"

export type Property = "durability" | "delivery" | "idempotency" | "no_false_acks"
export const PROPERTIES: ReadonlyArray<Property> = ["durability", "delivery", "idempotency", "no_false_acks"]

export interface StoredMessage {
  readonly id: string
  readonly roomId: string
  readonly seq: number
  readonly senderId: string
  readonly clientMsgId: string | null
  readonly createdAt: Millis
}

export interface StoredRoom {
  readonly id: string
  readonly type: "direct" | "group" | "channel"
  readonly lastSeq: number
  readonly members: ReadonlyArray<string>
}

export interface StoredNotification {
  readonly userId: string
  readonly messageId: string
}

export interface TopicEvent {
  readonly eventId: string
  readonly messageId: string
  readonly roomId: string
  readonly seq: number
}

export interface CheckInput {
  readonly events: ReadonlyArray<LogEvent>
  readonly messages: ReadonlyArray<StoredMessage>
  readonly rooms: ReadonlyArray<StoredRoom>
  readonly notifications: ReadonlyArray<StoredNotification>
  /** The `message-events` records of this run's rooms (channel messages mention nobody, so only direct/group rooms notify). */
  readonly topic: ReadonlyArray<TopicEvent>
  /** How long after a fault's end a violation still counts as in its window (default 15 s). */
  readonly settleMs?: number
}

export interface Violation {
  readonly property: Property
  readonly kind: string
  readonly at: Millis
  readonly detail: string
  /** Faults whose window (+ settle margin) covers `at`; `none` when no fault was active. */
  readonly faults: ReadonlyArray<string>
}

export interface PropertyCount {
  readonly checked: number
  readonly violations: number
}

export interface FaultCount {
  readonly injected: number
  readonly violations: number
}

export interface CheckResult {
  readonly ok: boolean
  readonly properties: Record<Property, PropertyCount>
  readonly faults: Record<string, FaultCount>
  readonly violationsByKind: Record<string, number>
  readonly violations: ReadonlyArray<Violation>
  readonly stats: {
    readonly sends: number
    readonly logicalSends: number
    readonly acked: number
    readonly definiteFailures: number
    readonly ambiguous: number
    readonly retries: number
    readonly deliveries: number
    readonly segments: number
    readonly connections: number
    readonly storedMessages: number
    readonly topicEvents: number
    readonly topicDuplicates: number
    readonly notifications: number
    /** WebSocket close codes the devices saw (1001 drain, 1006 abnormal, …), by code. */
    readonly closeCodes: Record<string, number>
  }
}

type Draft = Omit<Violation, "faults">

interface FaultWindow {
  readonly fault: string
  readonly start: Millis
  readonly end: Millis
}

const keyOf = (room: string, sender: string, cmid: string) => `${room}|${sender}|${cmid}`

const faultWindows = (events: ReadonlyArray<LogEvent>, lastAt: Millis): Array<FaultWindow> => {
  const open = new Map<string, Millis>()
  const windows: Array<FaultWindow> = []
  for (const event of events) {
    if (event.kind !== "fault") continue
    const id = `${event.fault}#${event.detail}`
    if (event.phase === "start") open.set(id, event.at)
    else {
      windows.push({ fault: event.fault, start: open.get(id) ?? event.at, end: event.at })
      open.delete(id)
    }
  }
  for (const [id, start] of open) windows.push({ fault: id.split("#")[0] ?? id, start, end: lastAt })
  return windows
}

interface SendState {
  readonly room: string
  readonly sender: string
  readonly cmid: string
  readonly device: string
  attempts: number
  valid: boolean
  firstAt: Millis
  acks: Array<{ readonly messageId: string; readonly seq: number; readonly at: Millis }>
  definiteErrors: number
  /** Attempts that ended without a definite answer (timeout, connection lost, retryable error). */
  ambiguous: number
}

const checkSends = (input: CheckInput, sends: Map<string, SendState>, out: Array<Draft>) => {
  const byId = new Map(input.messages.map((m) => [m.id, m]))
  const byKey = new Map<string, Array<StoredMessage>>()
  for (const message of input.messages) {
    if (message.clientMsgId === null) continue
    const key = keyOf(message.roomId, message.senderId, message.clientMsgId)
    const list = byKey.get(key) ?? []
    list.push(message)
    byKey.set(key, list)
  }
  const inTopic = new Set(input.topic.map((e) => e.messageId))
  for (const [key, send] of sends) {
    const distinct = new Map(send.acks.map((a) => [`${a.messageId}@${a.seq}`, a]))
    if (distinct.size > 1) {
      out.push({
        property: "no_false_acks",
        kind: "conflicting_acks",
        at: send.acks[1]?.at ?? send.firstAt,
        detail: `${key} acked as ${[...distinct.keys()].join(", ")}`
      })
    }
    if (!send.valid && send.acks.length > 0) {
      out.push({ property: "no_false_acks", kind: "invalid_send_acked", at: send.acks[0]?.at ?? send.firstAt, detail: key })
    }
    for (const ack of distinct.values()) {
      const stored = byId.get(ack.messageId)
      if (stored === undefined) {
        out.push({
          property: "durability",
          kind: "acked_not_in_history",
          at: ack.at,
          detail: `${key} acked as ${ack.messageId} seq ${ack.seq}, not stored`
        })
        continue
      }
      if (stored.roomId !== send.room || stored.seq !== ack.seq || stored.senderId !== send.sender || stored.clientMsgId !== send.cmid) {
        out.push({
          property: "no_false_acks",
          kind: "ack_disagrees_with_history",
          at: ack.at,
          detail: `${key} acked as seq ${ack.seq}; stored as room ${stored.roomId} seq ${stored.seq} sender ${stored.senderId} cmid ${stored.clientMsgId}`
        })
      }
      if (!inTopic.has(ack.messageId)) {
        out.push({ property: "durability", kind: "acked_not_in_topic", at: ack.at, detail: `${key} → ${ack.messageId}` })
      }
    }
    const stored = byKey.get(key) ?? []
    const toldFailed = send.acks.length === 0 && send.ambiguous === 0 && send.definiteErrors > 0
    if (stored.length > 0 && toldFailed) {
      out.push({
        property: "no_false_acks",
        kind: "stored_after_definite_failure",
        at: send.firstAt,
        detail: `${key} was refused on every attempt but is stored as ${stored.map((m) => m.id).join(", ")}`
      })
    }
    if (!send.valid && stored.length > 0) {
      out.push({ property: "no_false_acks", kind: "invalid_send_stored", at: send.firstAt, detail: key })
    }
  }
  for (const [key, list] of byKey) {
    if (list.length > 1) {
      out.push({
        property: "idempotency",
        kind: "stored_twice",
        at: list[1]?.createdAt ?? 0,
        detail: `${key} stored ${list.length} times: ${list.map((m) => `${m.id}@${m.seq}`).join(", ")}`
      })
    }
  }
}

const checkHistory = (input: CheckInput, out: Array<Draft>) => {
  const byRoom = new Map<string, Array<StoredMessage>>()
  for (const message of input.messages) {
    const list = byRoom.get(message.roomId) ?? []
    list.push(message)
    byRoom.set(message.roomId, list)
  }
  for (const room of input.rooms) {
    const list = (byRoom.get(room.id) ?? []).toSorted((a, b) => a.seq - b.seq)
    const gapAt = list.findIndex((m, i) => m.seq !== i + 1)
    if (gapAt >= 0 || list.length !== room.lastSeq) {
      out.push({
        property: "durability",
        kind: "history_not_contiguous",
        at: list[Math.max(0, gapAt)]?.createdAt ?? 0,
        detail: `room ${room.id}: ${list.length} messages, last_seq ${room.lastSeq}, first bad index ${gapAt}`
      })
    }
  }
  const inTopic = new Set(input.topic.map((e) => e.messageId))
  for (const message of input.messages) {
    if (!inTopic.has(message.id)) {
      out.push({
        property: "durability",
        kind: "stored_not_in_topic",
        at: message.createdAt,
        detail: `message ${message.id} (room ${message.roomId} seq ${message.seq})`
      })
    }
  }
  const byId = new Map(input.messages.map((m) => [m.id, m]))
  for (const event of input.topic) {
    const stored = byId.get(event.messageId)
    if (stored === undefined) {
      // The outbox row is written in the message's transaction: an event without its message was never committed.
      out.push({
        property: "no_false_acks",
        kind: "event_without_message",
        at: 0,
        detail: `event ${event.eventId} for message ${event.messageId} (room ${event.roomId} seq ${event.seq}) not in history`
      })
    } else if (stored.seq !== event.seq || stored.roomId !== event.roomId) {
      out.push({
        property: "durability",
        kind: "topic_disagrees_with_history",
        at: stored.createdAt,
        detail: `event ${event.eventId}: room ${event.roomId} seq ${event.seq}; stored room ${stored.roomId} seq ${stored.seq}`
      })
    }
  }
}

const checkNotifications = (input: CheckInput, out: Array<Draft>) => {
  const rooms = new Map(input.rooms.map((r) => [r.id, r]))
  const received = new Map<string, Map<string, number>>()
  for (const n of input.notifications) {
    const perUser = received.get(n.messageId) ?? new Map<string, number>()
    perUser.set(n.userId, (perUser.get(n.userId) ?? 0) + 1)
    received.set(n.messageId, perUser)
  }
  let checked = 0
  for (const message of input.messages) {
    const room = rooms.get(message.roomId)
    if (room === undefined) continue
    const expected = room.type === "channel" ? [] : room.members.filter((u) => u !== message.senderId)
    const got = received.get(message.id) ?? new Map<string, number>()
    checked += expected.length
    for (const user of expected) {
      const count = got.get(user) ?? 0
      if (count !== 1) {
        out.push({
          property: "durability",
          kind: count === 0 ? "notification_missing" : "notification_duplicated",
          at: message.createdAt,
          detail: `message ${message.id} (room ${room.id} seq ${message.seq}) → user ${user}: ${count}`
        })
      }
    }
    for (const [user, count] of got) {
      if (!expected.includes(user)) {
        out.push({
          property: "durability",
          kind: "notification_unexpected",
          at: message.createdAt,
          detail: `message ${message.id} → user ${user} (${count})`
        })
      }
    }
  }
  return checked
}

interface Segment {
  readonly device: string
  readonly conn: string
  readonly room: string
  readonly since: number
  readonly at: Millis
  last: number
  /** When the segment last made progress (its join, or its latest delivery). */
  lastAt: Millis
  seen: Set<number>
  deliveries: number
}

const checkDelivery = (input: CheckInput, out: Array<Draft>) => {
  const messageAt = new Map<string, StoredMessage>()
  for (const m of input.messages) messageAt.set(`${m.roomId}@${m.seq}`, m)
  const lastSeq = new Map(input.rooms.map((r) => [r.id, r.lastSeq]))
  const current = new Map<string, Segment>()
  const closedConns = new Set<string>()
  let segments = 0
  let checked = 0
  const segmentKey = (conn: string, room: string) => `${conn}|${room}`
  for (const event of input.events) {
    switch (event.kind) {
      case "join": {
        segments++
        current.set(segmentKey(event.conn, event.room), {
          device: event.device,
          conn: event.conn,
          room: event.room,
          since: event.since,
          at: event.at,
          last: event.since,
          lastAt: event.at,
          seen: new Set(),
          deliveries: 0
        })
        break
      }
      case "left":
        current.delete(segmentKey(event.conn, event.room))
        break
      case "dropped": {
        // The server ended the segment and says it sent up to `lastSeq`: all of that must have arrived.
        const segment = current.get(segmentKey(event.conn, event.room))
        if (segment !== undefined && event.lastSeq > segment.last) {
          out.push({
            property: "delivery",
            kind: "gap",
            at: event.at,
            detail: `device ${event.device} conn ${event.conn} room ${event.room}: unsubscribed by the server after seq ${event.lastSeq}, got up to ${segment.last}`
          })
        }
        current.delete(segmentKey(event.conn, event.room))
        break
      }
      case "close":
        closedConns.add(event.conn)
        for (const [key, segment] of current) if (segment.conn === event.conn) current.delete(key)
        break
      case "deliver": {
        checked++
        const segment = current.get(segmentKey(event.conn, event.room))
        const where = `device ${event.device} conn ${event.conn} room ${event.room}`
        if (segment === undefined) {
          out.push({ property: "delivery", kind: "delivered_outside_subscription", at: event.at, detail: `${where} seq ${event.seq}` })
          break
        }
        segment.deliveries++
        const stored = messageAt.get(`${event.room}@${event.seq}`)
        if (stored === undefined || stored.id !== event.messageId) {
          out.push({
            property: "delivery",
            kind: "delivered_not_in_history",
            at: event.at,
            detail: `${where} seq ${event.seq} message ${event.messageId}; history has ${stored?.id ?? "nothing"}`
          })
        }
        if (segment.seen.has(event.seq) || event.seq <= segment.since) {
          out.push({ property: "delivery", kind: "duplicate", at: event.at, detail: `${where} seq ${event.seq} again (since ${segment.since})` })
        } else if (event.seq < segment.last) {
          out.push({ property: "delivery", kind: "out_of_order", at: event.at, detail: `${where} seq ${event.seq} after ${segment.last}` })
        } else if (event.seq > segment.last + 1) {
          out.push({
            property: "delivery",
            kind: "gap",
            at: event.at,
            detail: `${where} seq ${event.seq} after ${segment.last} (missing ${segment.last + 1}..${event.seq - 1})`
          })
        }
        segment.seen.add(event.seq)
        segment.last = Math.max(segment.last, event.seq)
        segment.lastAt = event.at
        break
      }
      case "send_error": {
        // The server confirmed this subscription (user_joined) and never ended it (no `left`, no
        // `dropped`), yet has forgotten it.
        const segment = current.get(segmentKey(event.conn, event.room))
        if (event.code === "NOT_JOINED" && segment !== undefined) {
          out.push({
            property: "delivery",
            kind: "subscription_lost",
            at: segment.lastAt,
            detail: `device ${event.device} conn ${event.conn} room ${event.room}: joined after ${segment.since}, got up to ${segment.last}, then NOT_JOINED`
          })
          current.delete(segmentKey(event.conn, event.room))
        }
        break
      }
      case "final": {
        const where = `device ${event.device} room ${event.room}`
        if (event.conn === null) {
          out.push({ property: "delivery", kind: "never_resumed", at: event.at, detail: where })
          break
        }
        const segment = current.get(segmentKey(event.conn, event.room))
        const want = lastSeq.get(event.room) ?? 0
        if (segment === undefined || closedConns.has(event.conn)) {
          out.push({ property: "delivery", kind: "never_resumed", at: event.at, detail: `${where}: conn ${event.conn} not subscribed` })
        } else if (segment.last < want) {
          out.push({
            property: "delivery",
            kind: "incomplete_at_end",
            // Attributed to when the segment stopped making progress, not to the end of the run.
            at: segment.lastAt,
            detail: `${where} conn ${event.conn}: reached seq ${segment.last} of ${want} (resumed after ${segment.since})`
          })
        }
        break
      }
      default:
        break
    }
  }
  return { segments, checked }
}

const collectSends = (events: ReadonlyArray<LogEvent>) => {
  const sends = new Map<string, SendState>()
  let attempts = 0
  for (const event of events) {
    if (event.kind !== "send" && event.kind !== "ack" && event.kind !== "send_error" && event.kind !== "send_timeout") continue
    const key = keyOf(event.room, event.sender, event.cmid)
    let state = sends.get(key)
    if (state === undefined) {
      state = {
        room: event.room,
        sender: event.sender,
        cmid: event.cmid,
        device: event.device,
        attempts: 0,
        valid: true,
        firstAt: event.at,
        acks: [],
        definiteErrors: 0,
        ambiguous: 0
      }
      sends.set(key, state)
    }
    switch (event.kind) {
      case "send":
        attempts++
        state.attempts++
        if (!event.valid) state.valid = false
        break
      case "ack":
        state.acks.push({ messageId: event.messageId, seq: event.seq, at: event.at })
        break
      case "send_error":
        if (DEFINITE_FAILURES.has(event.code)) state.definiteErrors++
        else state.ambiguous++
        break
      case "send_timeout":
        state.ambiguous++
        break
    }
  }
  return { sends, attempts }
}

export const check = (input: CheckInput): CheckResult => {
  const settle = input.settleMs ?? 15_000
  const lastAt = input.events.reduce((max, e) => Math.max(max, e.at), 0)
  const windows = faultWindows(input.events, lastAt)
  const drafts: Array<Draft> = []
  const { sends, attempts } = collectSends(input.events)
  checkSends(input, sends, drafts)
  checkHistory(input, drafts)
  const notificationsChecked = checkNotifications(input, drafts)
  const delivery = checkDelivery(input, drafts)

  const violations: Array<Violation> = drafts.map((draft) => {
    const active = windows.filter((w) => draft.at >= w.start && draft.at <= w.end + settle).map((w) => w.fault)
    return { ...draft, faults: active.length === 0 ? ["none"] : [...new Set(active)] }
  })
  const faults: Record<string, { injected: number; violations: number }> = {}
  for (const w of windows) {
    const entry = faults[w.fault] ?? { injected: 0, violations: 0 }
    entry.injected++
    faults[w.fault] = entry
  }
  for (const v of violations) {
    for (const f of v.faults) {
      const entry = faults[f] ?? { injected: 0, violations: 0 }
      entry.violations++
      faults[f] = entry
    }
  }
  const violationsByKind: Record<string, number> = {}
  for (const v of violations) violationsByKind[`${v.property}.${v.kind}`] = (violationsByKind[`${v.property}.${v.kind}`] ?? 0) + 1
  const count = (p: Property) => violations.filter((v) => v.property === p).length
  const all = [...sends.values()]
  const acked = all.filter((s) => s.acks.length > 0).length
  const definite = all.filter((s) => s.acks.length === 0 && s.ambiguous === 0 && s.definiteErrors > 0).length
  const topicIds = input.topic.map((e) => e.messageId)
  const closeCodes: Record<string, number> = {}
  for (const e of input.events) if (e.kind === "close") closeCodes[String(e.code)] = (closeCodes[String(e.code)] ?? 0) + 1
  return {
    ok: violations.length === 0,
    properties: {
      durability: { checked: acked + input.messages.length + notificationsChecked, violations: count("durability") },
      delivery: { checked: delivery.checked, violations: count("delivery") },
      idempotency: { checked: input.messages.length, violations: count("idempotency") },
      no_false_acks: { checked: all.length, violations: count("no_false_acks") }
    },
    faults,
    violationsByKind,
    violations,
    stats: {
      sends: attempts,
      logicalSends: all.length,
      acked,
      definiteFailures: definite,
      ambiguous: all.length - acked - definite,
      retries: attempts - all.length,
      deliveries: delivery.checked,
      segments: delivery.segments,
      connections: input.events.filter((e) => e.kind === "open").length,
      storedMessages: input.messages.length,
      topicEvents: input.topic.length,
      topicDuplicates: topicIds.length - new Set(topicIds).size,
      notifications: input.notifications.length,
      closeCodes
    }
  }
}
