/** The `message_created` Kafka event: API.md §8 shape, JSON codec, version pinning. */
import { describe, expect, it } from "@effect/vitest"
import { DateTime, Effect, Schema } from "effect"
import { decodeMessageCreatedEvent, encodeMessageCreatedEvent, MessageCreatedEvent, messageCreatedEventOf } from "../src/Events.ts"
import { EventId, MessageId, RoomId, UserId } from "../src/Ids.ts"
import { Message } from "../src/Messages.ts"

const message = new Message({
  id: MessageId.make("0190b3a2-3333-7333-8333-333333333333"),
  room_id: RoomId.make("0190b3a2-1111-7111-8111-111111111111"),
  seq: 121,
  sender: {
    id: UserId.make("0190b3a2-4444-7444-8444-444444444444"),
    username: "alice",
    display_name: "Alice",
    avatar_url: null
  },
  content: "hello",
  msg_type: "text",
  client_msg_id: null,
  created_at: DateTime.makeUnsafe("2026-06-23T00:00:00.000Z")
})

const event = messageCreatedEventOf(message, {
  event_id: EventId.make("0190b3a2-5555-7555-8555-555555555555"),
  timestamp: DateTime.makeUnsafe("2026-06-23T00:00:00.250Z")
})

describe("MessageCreatedEvent", () => {
  it("encodes to API.md's JSON", () => {
    expect(JSON.parse(encodeMessageCreatedEvent(event))).toEqual({
      event_id: "0190b3a2-5555-7555-8555-555555555555",
      event_type: "message_created",
      version: 1,
      timestamp: "2026-06-23T00:00:00.250Z",
      data: {
        message_id: "0190b3a2-3333-7333-8333-333333333333",
        room_id: "0190b3a2-1111-7111-8111-111111111111",
        seq: 121,
        sender_id: "0190b3a2-4444-7444-8444-444444444444",
        sender_username: "alice",
        content: "hello",
        type: "text",
        created_at: "2026-06-23T00:00:00.000Z"
      }
    })
  })

  it.effect("decodes what it encodes", () =>
    Effect.gen(function*() {
      const back = yield* decodeMessageCreatedEvent(encodeMessageCreatedEvent(event))
      expect(back).toBeInstanceOf(MessageCreatedEvent)
      expect(back).toEqual(event)
    }))

  it.effect("rejects other versions and malformed values", () =>
    Effect.gen(function*() {
      const json = Schema.encodeSync(MessageCreatedEvent)(event)
      for (const raw of [JSON.stringify({ ...json, version: 2 }), JSON.stringify({ ...json, event_type: "x" }), "{", "null"]) {
        const error = yield* Effect.flip(decodeMessageCreatedEvent(raw))
        expect(error._tag).toBe("SchemaError")
      }
    }))
})
