/** Every domain error maps to exactly one HTTP code and one WS code, and crosses the wire typed. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { ErrorCode, statusOf } from "../src/Envelope.ts"
import { httpErrorOf, wsErrorCodeOf, wsErrorFrameOf } from "../src/ErrorMapping.ts"
import { AlreadyExists, BadRequest, DomainError, Forbidden, InvalidCredentials, MessageNotFound, NotificationNotFound, NotRoomMember, RateLimited, RoomNotFound, Unauthorized, Unavailable } from "../src/Errors.ts"
import { ClientMsgId, MessageId, NotificationId, RoomId } from "../src/Ids.ts"
import type { WsErrorCode } from "../src/WsFrames.ts"

const room = RoomId.make("0190b3a2-1111-7111-8111-111111111111")

// A `Record` over every tag: adding an error without listing it here fails to compile.
const examples: { readonly [K in DomainError["_tag"]]: readonly [Extract<DomainError, { _tag: K }>, number, WsErrorCode] } = {
  BadRequest: [new BadRequest({ message: "member_ids: unknown user" }), 400, "BAD_REQUEST"],
  InvalidCredentials: [new InvalidCredentials(), 401, "FORBIDDEN"],
  Unauthorized: [new Unauthorized({ message: "token expired" }), 401, "FORBIDDEN"],
  Forbidden: [new Forbidden({ message: "only channels can be joined" }), 403, "FORBIDDEN"],
  AlreadyExists: [new AlreadyExists({ message: "username already taken" }), 409, "BAD_REQUEST"],
  RoomNotFound: [new RoomNotFound({ room_id: room }), 404, "NOT_FOUND"],
  NotRoomMember: [new NotRoomMember({ room_id: room }), 403, "FORBIDDEN"],
  MessageNotFound: [new MessageNotFound({ message_id: MessageId.make("0190b3a2-2222-7222-8222-222222222222") }), 400, "BAD_REQUEST"],
  NotificationNotFound: [
    new NotificationNotFound({ notification_id: NotificationId.make("0190b3a2-3333-7333-8333-333333333333") }),
    404,
    "NOT_FOUND"
  ],
  RateLimited: [new RateLimited({ retry_after_seconds: 12 }), 429, "RATE_LIMITED"],
  Unavailable: [new Unavailable({ message: "connection refused to 10.0.0.7:5432" }), 503, "UNAVAILABLE"]
}

describe("error mapping", () => {
  for (const [tag, [error, status, wsCode]] of Object.entries(examples)) {
    it(`${tag} → ${status} / ${wsCode}`, () => {
      const body = httpErrorOf(error)
      expect(statusOf(body.code)).toBe(status)
      expect(wsErrorCodeOf(error)).toBe(wsCode)
      expect(body.message.length).toBeGreaterThan(0)
    })
  }

  it("uses the documented texts and never leaks infrastructure detail", () => {
    expect(httpErrorOf(examples.InvalidCredentials[0])).toEqual({ code: "unauthorized", message: "invalid credentials" })
    expect(httpErrorOf(examples.Unavailable[0]).message).not.toContain("10.0.0.7")
    expect(httpErrorOf(examples.BadRequest[0]).message).toBe("member_ids: unknown user")
  })

  it("builds WS error frames with an optional ref", () => {
    expect(wsErrorFrameOf(examples.NotRoomMember[0])).toEqual({
      type: "error",
      code: "FORBIDDEN",
      message: "not a member of this room"
    })
    const ref = ClientMsgId.make("c-1")
    expect(wsErrorFrameOf(examples.RateLimited[0], ref).ref).toBe("c-1")
  })

  it("statusOf covers every HTTP error code", () => {
    expect(ErrorCode.literals.map(statusOf)).toEqual([400, 401, 403, 404, 405, 409, 413, 415, 429, 500, 503])
  })

  it.effect("errors survive JSON and come back as their classes, yieldable", () =>
    Effect.gen(function*() {
      const codec = Schema.fromJsonString(DomainError)
      for (const [error] of Object.values(examples)) {
        const back = yield* Schema.decodeUnknownEffect(codec)(yield* Schema.encodeEffect(codec)(error))
        expect(back).toBeInstanceOf(error.constructor)
        expect(back).toEqual(error)
      }
      const failed = yield* Effect.flip(Effect.gen(function*() {
        return yield* new RoomNotFound({ room_id: room })
      }))
      expect(failed._tag).toBe("RoomNotFound")
    }))
})
