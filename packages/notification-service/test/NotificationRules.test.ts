/** Who is notified of a message and with what (API.md §5a), as pure functions. */
import { describe, expect, it } from "@effect/vitest"
import { DateTime } from "effect"
import type { MessageCreatedData } from "@pylon/contracts/Events"
import { MessageId, RoomId, UserId } from "@pylon/contracts/Ids"
import type { RoomType } from "@pylon/contracts/Rooms"
import { bodyOf, mentionedUsernames, notificationsFor } from "../src/NotificationRules.ts"
import type { RoomSnapshot } from "../src/NotificationRules.ts"

const id = (n: number) => `00000000-0000-7000-8000-${String(n).padStart(12, "0")}`
const alice = { user_id: UserId.make(id(1)), username: "alice" }
const bob = { user_id: UserId.make(id(2)), username: "Bob.Smith" }
const carol = { user_id: UserId.make(id(3)), username: "carol_3" }

const room = (type: RoomType): RoomSnapshot => ({
  id: RoomId.make(id(100)),
  name: "Team",
  type,
  members: [alice, bob, carol]
})

const event = (content: string, sender = alice): MessageCreatedData => ({
  message_id: MessageId.make(id(200)),
  room_id: RoomId.make(id(100)),
  seq: 7,
  sender_id: sender.user_id,
  sender_username: sender.username,
  content,
  type: "text",
  created_at: DateTime.makeUnsafe("2026-06-23T00:00:00.000Z")
})

const summary = (type: RoomType, content: string, sender = alice) =>
  notificationsFor(event(content, sender), room(type)).map((n) => [n.user_id, n.type])

describe("NotificationRules", () => {
  it("group and direct rooms: every member but the sender, type message", () => {
    expect(summary("group", "hello")).toEqual([[bob.user_id, "message"], [carol.user_id, "message"]])
    const direct: RoomSnapshot = { ...room("direct"), members: [alice, bob] }
    expect(notificationsFor(event("hi"), direct).map((n) => [n.user_id, n.type, n.title])).toEqual([
      [bob.user_id, "message", "New message from alice"]
    ])
  })

  it("a member mentioned in a group gets type mention instead", () => {
    expect(summary("group", "ping @carol_3")).toEqual([[bob.user_id, "message"], [carol.user_id, "mention"]])
  })

  it("channels: only the members mentioned, type mention", () => {
    expect(summary("channel", "hello everyone")).toEqual([])
    expect(summary("channel", "@bob.smith and @CAROL_3, look")).toEqual([
      [bob.user_id, "mention"],
      [carol.user_id, "mention"]
    ])
  })

  it("never notifies the sender, not even of a self-mention", () => {
    expect(summary("channel", "note to self @alice")).toEqual([])
    expect(summary("group", "hi @bob.smith", bob)).toEqual([[alice.user_id, "message"], [carol.user_id, "message"]])
  })

  it("mentions: case-insensitive, trailing dots ignored, not inside an email address", () => {
    expect([...mentionedUsernames("thanks @Bob.Smith.")]).toContain("bob.smith")
    expect(summary("channel", "thanks @Bob.Smith.")).toEqual([[bob.user_id, "mention"]])
    expect(summary("channel", "mail carol_3@example.com or bob@x")).toEqual([])
    expect(summary("channel", "@carol")).toEqual([])
    expect(summary("channel", "(@carol_3)")).toEqual([[carol.user_id, "mention"]])
  })

  it("title and body come from the event; the body is the first 100 characters", () => {
    const long = "é🎉".repeat(80)
    const [first] = notificationsFor(event(`@carol_3 ${long}`), room("channel"))
    expect(first?.title).toBe("alice mentioned you in Team")
    expect(Array.from(first?.body ?? "")).toHaveLength(100)
    expect(first?.body).toBe(Array.from(`@carol_3 ${long}`).slice(0, 100).join(""))
    expect(first?.room_id).toBe(id(100))
    expect(first?.message_id).toBe(id(200))
    const [group] = notificationsFor(event("short"), room("group"))
    expect(group?.title).toBe("New message from alice in Team")
    expect(group?.body).toBe("short")
    expect(bodyOf("x".repeat(100))).toHaveLength(100)
  })
})
