/**
 * The chaos suite's checker (scripts/chaos/Checker.ts) on synthetic histories: a clean history
 * passes, and each kind of violation — lost or unpublished acked messages, missing/duplicate/
 * unexpected notifications, gaps, duplicates, reordering, a device that never resumed or
 * stopped short, a client_msg_id stored twice, conflicting or false acks, a refused send that
 * was stored anyway — is reported under its property and attributed to the fault window it
 * happened in. A checker that cannot fail proves nothing.
 */
import { describe, expect, it } from "vitest"
import type { LogEvent } from "../../../scripts/chaos/ChaosLog.ts"
import { check } from "../../../scripts/chaos/Checker.ts"
import type { CheckInput, StoredMessage } from "../../../scripts/chaos/Checker.ts"

const A = "user-a"
const B = "user-b"
const R = "room-r"
const T0 = 1_000_000

const m1: StoredMessage = { id: "m1", roomId: R, seq: 1, senderId: A, clientMsgId: "a-0", createdAt: T0 + 10 }
const m2: StoredMessage = { id: "m2", roomId: R, seq: 2, senderId: A, clientMsgId: "a-2", createdAt: T0 + 40 }

const send = (cmid: string, at: number, attempt: number, valid = true): LogEvent => ({
  kind: "send", at, device: "dA", conn: "cA", room: R, sender: A, cmid, attempt, valid
})
const ack = (cmid: string, at: number, messageId: string, seq: number): LogEvent => ({
  kind: "ack", at, device: "dA", conn: "cA", room: R, sender: A, cmid, messageId, seq
})
const deliver = (device: string, conn: string, seq: number, messageId: string, at: number): LogEvent => ({
  kind: "deliver", at, device, conn, room: R, seq, messageId
})

/** Two devices on a two-member group room; one plain send, one refused, one retried after a timeout. */
const cleanInput = (): CheckInput => ({
  events: [
    { kind: "open", at: T0, device: "dA", conn: "cA", gateway: "g1" },
    { kind: "open", at: T0, device: "dB", conn: "cB", gateway: "g2" },
    { kind: "join", at: T0 + 1, device: "dA", conn: "cA", room: R, since: 0 },
    { kind: "join", at: T0 + 1, device: "dB", conn: "cB", room: R, since: 0 },
    send("a-0", T0 + 5, 1),
    ack("a-0", T0 + 11, "m1", 1),
    deliver("dA", "cA", 1, "m1", T0 + 12),
    deliver("dB", "cB", 1, "m1", T0 + 12),
    send("a-1", T0 + 20, 1, false),
    { kind: "send_error", at: T0 + 21, device: "dA", conn: "cA", room: R, sender: A, cmid: "a-1", code: "BAD_REQUEST" },
    send("a-2", T0 + 30, 1),
    { kind: "send_timeout", at: T0 + 35, device: "dA", conn: "cA", room: R, sender: A, cmid: "a-2" },
    send("a-2", T0 + 36, 2),
    ack("a-2", T0 + 41, "m2", 2),
    deliver("dA", "cA", 2, "m2", T0 + 42),
    deliver("dB", "cB", 2, "m2", T0 + 42),
    { kind: "final", at: T0 + 100, device: "dA", room: R, conn: "cA" },
    { kind: "final", at: T0 + 100, device: "dB", room: R, conn: "cB" }
  ],
  messages: [m1, m2],
  rooms: [{ id: R, type: "group", lastSeq: 2, members: [A, B] }],
  notifications: [{ userId: B, messageId: "m1" }, { userId: B, messageId: "m2" }],
  topic: [
    { eventId: "e1", messageId: "m1", roomId: R, seq: 1 },
    { eventId: "e2", messageId: "m2", roomId: R, seq: 2 }
  ]
})

const kinds = (input: CheckInput) => Object.keys(check(input).violationsByKind).toSorted()

const withEvents = (input: CheckInput, edit: (events: Array<LogEvent>) => Array<LogEvent>): CheckInput => ({
  ...input,
  events: edit([...input.events])
})

const isDelivery = (seq: number, device: string) => (e: LogEvent) => e.kind === "deliver" && e.seq === seq && e.device === device

describe("chaos checker", () => {
  it("passes a clean history and counts what it checked", () => {
    const result = check(cleanInput())
    expect(result.violations).toEqual([])
    expect(result.ok).toBe(true)
    expect(result.stats).toMatchObject({ logicalSends: 3, sends: 4, retries: 1, acked: 2, definiteFailures: 1, ambiguous: 0, deliveries: 4 })
    expect(result.properties.delivery).toEqual({ checked: 4, violations: 0 })
  })

  describe("durability", () => {
    it("an acked message missing from history", () => {
      const input = cleanInput()
      expect(kinds({ ...input, messages: [m1], rooms: [{ id: R, type: "group", lastSeq: 1, members: [A, B] }] })).toEqual([
        "delivery.delivered_not_in_history",
        "durability.acked_not_in_history",
        "no_false_acks.event_without_message"
      ])
    })

    it("a stored (acked) message missing from the topic", () => {
      const input = cleanInput()
      expect(kinds({ ...input, topic: input.topic.slice(0, 1) })).toEqual([
        "durability.acked_not_in_topic",
        "durability.stored_not_in_topic"
      ])
    })

    it("a gap in a room's history", () => {
      const input = cleanInput()
      const result = check({ ...input, messages: [m1, { ...m2, seq: 3 }], topic: [input.topic[0]!, { ...input.topic[1]!, seq: 3 }] })
      expect(Object.keys(result.violationsByKind)).toContain("durability.history_not_contiguous")
      expect(result.properties.durability.violations).toBeGreaterThan(0)
    })

    it("an event in the topic for a message that was never stored", () => {
      const input = cleanInput()
      expect(kinds({ ...input, topic: [...input.topic, { eventId: "e9", messageId: "m-phantom", roomId: R, seq: 3 }] })).toEqual([
        "no_false_acks.event_without_message"
      ])
    })

    it("notifications missing, duplicated, or sent to the sender", () => {
      const input = cleanInput()
      expect(kinds({ ...input, notifications: [{ userId: B, messageId: "m1" }] })).toEqual(["durability.notification_missing"])
      expect(kinds({ ...input, notifications: [...input.notifications, { userId: B, messageId: "m2" }] })).toEqual([
        "durability.notification_duplicated"
      ])
      expect(kinds({ ...input, notifications: [...input.notifications, { userId: A, messageId: "m2" }] })).toEqual([
        "durability.notification_unexpected"
      ])
    })
  })

  describe("delivery", () => {
    it("a missing message in the middle is a gap", () => {
      const input = withEvents(cleanInput(), (events) => events.filter((e) => !isDelivery(1, "dB")(e)))
      expect(kinds(input)).toEqual(["delivery.gap"])
    })

    it("a message delivered twice on one subscription", () => {
      const input = withEvents(cleanInput(), (events) => [...events.slice(0, -2), deliver("dB", "cB", 2, "m2", T0 + 50), ...events.slice(-2)])
      expect(kinds(input)).toEqual(["delivery.duplicate"])
    })

    it("a replay that starts at or before its resume point repeats messages", () => {
      const input = withEvents(cleanInput(), (events) => [
        ...events.slice(0, -2),
        { kind: "close", at: T0 + 60, device: "dB", conn: "cB", code: 1006 },
        { kind: "open", at: T0 + 61, device: "dB", conn: "cB2", gateway: "g1" },
        { kind: "join", at: T0 + 62, device: "dB", conn: "cB2", room: R, since: 2 },
        deliver("dB", "cB2", 2, "m2", T0 + 63),
        events.at(-2)!,
        { kind: "final", at: T0 + 100, device: "dB", room: R, conn: "cB2" }
      ])
      expect(kinds(input)).toEqual(["delivery.duplicate"])
    })

    it("messages out of seq order", () => {
      const input = withEvents(cleanInput(), (events) => {
        const first = events.findIndex(isDelivery(1, "dB"))
        const second = events.findIndex(isDelivery(2, "dB"))
        const copy = [...events]
        copy[first] = events[second]!
        copy[second] = events[first]!
        return copy
      })
      expect(kinds(input)).toEqual(["delivery.gap", "delivery.out_of_order"])
    })

    it("a device whose last subscription stops short of the room's last seq", () => {
      const input = withEvents(cleanInput(), (events) => events.filter((e) => !isDelivery(2, "dB")(e)))
      expect(kinds(input)).toEqual(["delivery.incomplete_at_end"])
    })

    it("a device that never resumed, or whose final connection was closed", () => {
      const never = withEvents(cleanInput(), (events) => [...events.slice(0, -1), { kind: "final", at: T0 + 100, device: "dB", room: R, conn: null }])
      expect(kinds(never)).toEqual(["delivery.never_resumed"])
      const closed = withEvents(cleanInput(), (events) => [
        ...events.slice(0, -2),
        { kind: "close", at: T0 + 90, device: "dB", conn: "cB", code: 1006 },
        ...events.slice(-2)
      ])
      expect(kinds(closed)).toEqual(["delivery.never_resumed"])
    })

    it("a subscription the server confirmed but forgot (NOT_JOINED without a leave)", () => {
      const input = withEvents(cleanInput(), (events) => [
        ...events.slice(0, -2),
        { kind: "send_error", at: T0 + 60, device: "dB", conn: "cB", room: R, sender: B, cmid: "b-0", code: "NOT_JOINED" },
        { kind: "join", at: T0 + 61, device: "dB", conn: "cB", room: R, since: 2 },
        ...events.slice(-2)
      ])
      const result = check(input)
      expect(Object.keys(result.violationsByKind)).toEqual(["delivery.subscription_lost"])
      expect(result.violations[0]?.at).toBe(T0 + 42)
    })

    it("a subscription the server ended and said so (user_left with last_seq) is not lost; claiming more than arrived is a gap", () => {
      const dropped = (lastSeq: number) =>
        withEvents(cleanInput(), (events) => [
          ...events.slice(0, -2),
          { kind: "dropped", at: T0 + 59, device: "dB", conn: "cB", room: R, lastSeq },
          { kind: "send_error", at: T0 + 60, device: "dB", conn: "cB", room: R, sender: B, cmid: "b-0", code: "NOT_JOINED" },
          { kind: "join", at: T0 + 61, device: "dB", conn: "cB", room: R, since: 2 },
          ...events.slice(-2)
        ])
      expect(kinds(dropped(2))).toEqual([])
      expect(kinds(dropped(3))).toEqual(["delivery.gap"])
    })

    it("a message delivered after the connection left the room", () => {
      const input = withEvents(cleanInput(), (events) => {
        const at = events.findIndex(isDelivery(2, "dB"))
        return [...events.slice(0, at), { kind: "left", at: T0 + 41, device: "dB", conn: "cB", room: R }, ...events.slice(at, -1)]
      })
      expect(kinds(input)).toEqual(["delivery.delivered_outside_subscription"])
    })

    it("a delivered message that is not the one history has at that seq", () => {
      const input = withEvents(cleanInput(), (events) => events.map((e) => isDelivery(2, "dB")(e) ? deliver("dB", "cB", 2, "m-other", T0 + 42) : e))
      expect(kinds(input)).toEqual(["delivery.delivered_not_in_history"])
    })
  })

  describe("idempotency", () => {
    it("one client_msg_id stored twice", () => {
      const input = cleanInput()
      const again: StoredMessage = { ...m2, id: "m2-again", seq: 3, createdAt: T0 + 45 }
      const result = check({
        ...input,
        messages: [m1, m2, again],
        rooms: [{ id: R, type: "group", lastSeq: 3, members: [A, B] }],
        notifications: [...input.notifications, { userId: B, messageId: "m2-again" }],
        topic: [...input.topic, { eventId: "e3", messageId: "m2-again", roomId: R, seq: 3 }]
      })
      expect(result.violationsByKind).toMatchObject({ "idempotency.stored_twice": 1 })
      expect(result.properties.idempotency.violations).toBe(1)
    })
  })

  describe("no false acks", () => {
    it("two different acks for one client_msg_id", () => {
      const input = withEvents(cleanInput(), (events) => [...events.slice(0, -2), ack("a-2", T0 + 60, "m1", 1), ...events.slice(-2)])
      expect(kinds(input)).toEqual(["no_false_acks.ack_disagrees_with_history", "no_false_acks.conflicting_acks"])
    })

    it("an ack whose seq is not the stored one", () => {
      const input = withEvents(cleanInput(), (events) => events.map((e) => e.kind === "ack" && e.cmid === "a-0" ? ack("a-0", T0 + 11, "m1", 7) : e))
      expect(kinds(input)).toEqual(["no_false_acks.ack_disagrees_with_history"])
    })

    it("a send refused for good that is stored anyway, and an invalid send that is acked", () => {
      const input = cleanInput()
      const refused: StoredMessage = { id: "m3", roomId: R, seq: 3, senderId: A, clientMsgId: "a-1", createdAt: T0 + 22 }
      const stored = check({
        ...input,
        messages: [m1, m2, refused],
        rooms: [{ id: R, type: "group", lastSeq: 3, members: [A, B] }],
        notifications: [...input.notifications, { userId: B, messageId: "m3" }],
        topic: [...input.topic, { eventId: "e3", messageId: "m3", roomId: R, seq: 3 }]
      })
      expect(Object.keys(stored.violationsByKind).toSorted()).toEqual([
        "delivery.incomplete_at_end",
        "no_false_acks.invalid_send_stored",
        "no_false_acks.stored_after_definite_failure"
      ])
      const acked = withEvents(input, (events) => [...events.slice(0, -2), ack("a-1", T0 + 22, "m1", 1), ...events.slice(-2)])
      expect(kinds(acked)).toContain("no_false_acks.invalid_send_acked")
    })

    it("a send whose first attempt timed out is ambiguous: storing it is no violation", () => {
      const input = withEvents(cleanInput(), (events) =>
        events.map((e) => e.kind === "ack" && e.cmid === "a-2" ? { kind: "send_error", at: T0 + 41, device: "dA", conn: "cA", room: R, sender: A, cmid: "a-2", code: "FORBIDDEN" } : e))
      expect(kinds(input)).toEqual([])
    })
  })

  it("attributes a violation to the fault window it falls in, and counts injections", () => {
    const input = withEvents(cleanInput(), (events) => [
      { kind: "fault", at: T0 + 2, fault: "redis-restart", phase: "start", detail: "redis" },
      ...events.filter((e) => !isDelivery(1, "dB")(e)),
      { kind: "fault", at: T0 + 200, fault: "redis-restart", phase: "end", detail: "redis" },
      { kind: "fault", at: T0 + 100_000, fault: "gateway-kill", phase: "start", detail: "gateway-1" },
      { kind: "fault", at: T0 + 101_000, fault: "gateway-kill", phase: "end", detail: "gateway-1" }
    ])
    const result = check(input)
    expect(result.ok).toBe(false)
    expect(result.faults).toEqual({ "redis-restart": { injected: 1, violations: 1 }, "gateway-kill": { injected: 1, violations: 0 } })
    expect(result.violations[0]?.faults).toEqual(["redis-restart"])
  })
})
