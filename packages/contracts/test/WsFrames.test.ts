/** The WebSocket edge: decoding client text frames into frames or ready-made error frames. */
import { describe, expect, it } from "@effect/vitest"
import { DateTime, Effect, Schema } from "effect"
import { ClientMsgId, MessageId, RoomId, UserId } from "../src/Ids.ts"
import { Message } from "../src/Messages.ts"
import { ackFrame, ClientFrame, decodeClientFrame, encodeServerFrame, messageFrame, ServerFrame } from "../src/WsFrames.ts"

const R = "0190b3a2-1111-7111-8111-111111111111"

const rejection = (raw: string) => decodeClientFrame(raw).pipe(Effect.flip, Effect.map((e) => e.frame))

describe("decodeClientFrame", () => {
  it.effect("decodes every client frame, applying defaults and trimming", () =>
    Effect.gen(function*() {
      expect(yield* decodeClientFrame(`{"type":"join","room_id":"${R}","since_seq":120}`)).toEqual({
        type: "join",
        room_id: R,
        since_seq: 120
      })
      expect(yield* decodeClientFrame(`{"type":"leave","room_id":"${R}"}`)).toEqual({ type: "leave", room_id: R })
      expect(
        yield* decodeClientFrame(`{"type":"message","room_id":"${R}","content":"  hello ","client_msg_id":"c-17"}`)
      ).toEqual({ type: "message", room_id: R, content: "hello", msg_type: "text", client_msg_id: "c-17" })
      expect(yield* decodeClientFrame(`{"type":"typing","room_id":"${R}","extra":1}`)).toEqual({
        type: "typing",
        room_id: R
      })
      expect(yield* decodeClientFrame(`{"type":"ping"}`)).toEqual({ type: "ping" })
    }))

  it.effect("non-JSON → INVALID_JSON", () =>
    Effect.gen(function*() {
      for (const raw of ["", "nope", "{\"type\":", "{'type':'ping'}"]) {
        expect((yield* rejection(raw)).code).toBe("INVALID_JSON")
      }
    }))

  it.effect("JSON without a known type → UNKNOWN_TYPE", () =>
    Effect.gen(function*() {
      for (const raw of [`{"type":"nope"}`, `{}`, `[]`, `5`, `null`, `"ping"`, `{"type":5}`, `{"type":"Ping"}`]) {
        expect((yield* rejection(raw)).code).toBe("UNKNOWN_TYPE")
      }
    }))

  it.effect("known type with a bad field → BAD_REQUEST naming the field", () =>
    Effect.gen(function*() {
      expect(yield* rejection(`{"type":"join"}`)).toEqual({
        type: "error",
        code: "BAD_REQUEST",
        message: "room_id is required"
      })
      expect(yield* rejection(`{"type":"join","room_id":"R"}`)).toEqual({
        type: "error",
        code: "BAD_REQUEST",
        message: "room_id: must be a UUID"
      })
      expect((yield* rejection(`{"type":"join","room_id":"${R}","since_seq":-1}`)).message).toBe(
        "since_seq: must be a non-negative integer"
      )
      expect((yield* rejection(`{"type":"message","room_id":"${R}","content":"hi","msg_type":"video"}`)).message)
        .toBe("msg_type: must be one of text, image, file")
      // Clients cannot forge system messages.
      expect((yield* rejection(`{"type":"message","room_id":"${R}","content":"hi","msg_type":"system"}`)).code)
        .toBe("BAD_REQUEST")
    }))

  it.effect("echoes a valid client_msg_id as ref", () =>
    Effect.gen(function*() {
      expect(yield* rejection(`{"type":"message","room_id":"${R}","content":"   ","client_msg_id":"c-17"}`)).toEqual({
        type: "error",
        code: "BAD_REQUEST",
        message: "content: must not be empty",
        ref: "c-17"
      })
      expect(yield* rejection(`{"type":"message","content":"hi","client_msg_id":"c-18"}`)).toEqual({
        type: "error",
        code: "BAD_REQUEST",
        message: "room_id is required",
        ref: "c-18"
      })
      const tooLong = "c".repeat(65)
      const frame = yield* rejection(`{"type":"message","room_id":"${R}","content":"hi","client_msg_id":"${tooLong}"}`)
      expect(frame).toEqual({ type: "error", code: "BAD_REQUEST", message: "client_msg_id: must be 1–64 characters" })
    }))

  it.effect("content is 1–10,000 characters after trimming", () =>
    Effect.gen(function*() {
      const ok = yield* decodeClientFrame(
        JSON.stringify({ type: "message", room_id: R, content: ` ${"x".repeat(10_000)} ` })
      )
      expect(ok.type === "message" && ok.content.length).toBe(10_000)
      const tooLong = yield* rejection(JSON.stringify({ type: "message", room_id: R, content: "x".repeat(10_001) }))
      expect(tooLong.message).toBe("content: must be at most 10000 characters")
      // Characters are code points: 10,000 emoji are fine.
      const emoji = yield* decodeClientFrame(JSON.stringify({ type: "message", room_id: R, content: "😀".repeat(10_000) }))
      expect(emoji.type).toBe("message")
    }))

  it("exposes the frame types for dispatch", () => {
    expect(ClientFrame.discriminants).toEqual(["join", "leave", "message", "typing", "ping"])
    expect(ServerFrame.discriminants).toEqual([
      "message",
      "ack",
      "user_joined",
      "user_left",
      "typing",
      "presence",
      "notification",
      "pong",
      "error"
    ])
  })
})

describe("encodeServerFrame", () => {
  const message = new Message({
    id: MessageId.make("0190b3a2-3333-7333-8333-333333333333"),
    room_id: RoomId.make(R),
    seq: 121,
    sender: {
      id: UserId.make("0190b3a2-4444-7444-8444-444444444444"),
      username: "alice",
      display_name: null,
      avatar_url: null
    },
    content: "hello",
    msg_type: "text",
    client_msg_id: ClientMsgId.make("c-17"),
    created_at: DateTime.makeUnsafe("2026-06-23T00:00:00.000Z")
  })

  it("writes API.md's message and ack frames", () => {
    expect(JSON.parse(encodeServerFrame(messageFrame(message)))).toEqual({
      type: "message",
      message_id: "0190b3a2-3333-7333-8333-333333333333",
      room_id: R,
      seq: 121,
      sender: { id: "0190b3a2-4444-7444-8444-444444444444", username: "alice", display_name: null, avatar_url: null },
      content: "hello",
      msg_type: "text",
      client_msg_id: "c-17",
      created_at: "2026-06-23T00:00:00.000Z"
    })
    expect(JSON.parse(encodeServerFrame(ackFrame(message)))).toEqual({
      type: "ack",
      client_msg_id: "c-17",
      message_id: "0190b3a2-3333-7333-8333-333333333333",
      room_id: R,
      seq: 121,
      created_at: "2026-06-23T00:00:00.000Z"
    })
  })

  it("writes small frames verbatim", () => {
    expect(encodeServerFrame({ type: "pong" })).toBe(`{"type":"pong"}`)
    expect(JSON.parse(encodeServerFrame({ type: "user_joined", room_id: message.room_id, user: { id: message.sender.id, username: "alice" }, last_seq: 121 })))
      .toEqual({ type: "user_joined", room_id: R, user: { id: message.sender.id, username: "alice" }, last_seq: 121 })
  })

  it("round-trips through the ServerFrame schema", () => {
    const decode = Schema.decodeUnknownSync(Schema.fromJsonString(ServerFrame))
    const frame = messageFrame(message)
    expect(decode(encodeServerFrame(frame))).toEqual(frame)
  })
})
