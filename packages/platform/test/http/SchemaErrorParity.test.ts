/**
 * One message format for a schema failure on every transport (issue #13 item 2): the same bad
 * input decoded as a REST body (HttpRequestDecoding) and as a WebSocket frame (WsFrames) gets
 * the same text — "<field> is required", "<field>: must be …", indices as `member_ids[0]`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Schema } from "effect"
import { HttpRouter, HttpServerRequest } from "effect/http"
import { RoomId } from "@pylon/contracts/Ids"
import { CreateRoomRequest } from "@pylon/contracts/Rooms"
import { GetMessagesQuery } from "@pylon/contracts/Messages"
import { ClientFrame, decodeClientFrame } from "@pylon/contracts/WsFrames"
import { decodeJsonBody, decodePathParam, decodeQuery } from "../../src/http/HttpRequestDecoding.ts"
import type { HttpFailure } from "../../src/http/HttpEnvelope.ts"

const ROOM = "0190a6a4-4b8e-7a8e-8d5e-2a7e6c1f0b11"

/** The 400 message `decodeJsonBody(schema)` gives for `body` sent as JSON. */
const restBodyMessage = <S extends Schema.Top>(schema: S, body: unknown) => {
  const text = JSON.stringify(body)
  const request = HttpServerRequest.fromWeb(
    new Request("http://edge.test/body", {
      method: "POST",
      headers: { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) },
      body: text
    })
  )
  return decodeJsonBody(schema).pipe(
    Effect.provideService(HttpServerRequest.HttpServerRequest, request),
    Effect.flip,
    Effect.map((failure: HttpFailure) => failure.message)
  )
}

const wsFrameMessage = (frame: unknown) =>
  decodeClientFrame(JSON.stringify(frame)).pipe(Effect.flip, Effect.map((error) => error.message))

const badFrames: ReadonlyArray<{ readonly frame: Record<string, unknown>; readonly expected: string }> = [
  { frame: { type: "join" }, expected: "room_id is required" },
  { frame: { type: "join", room_id: "not-a-uuid" }, expected: "room_id: must be a UUID" },
  { frame: { type: "join", room_id: 7 }, expected: "room_id: must be a string" },
  { frame: { type: "message", room_id: ROOM }, expected: "content is required" },
  { frame: { type: "message", room_id: ROOM, content: 5 }, expected: "content: must be a string" },
  { frame: { type: "message", room_id: ROOM, content: "hi", client_msg_id: "" }, expected: "client_msg_id" }
]

describe("schema error messages", () => {
  it.effect("the same bad input gets the same message as a REST body and as a WebSocket frame", () =>
    Effect.gen(function*() {
      for (const { expected, frame } of badFrames) {
        const overRest = yield* restBodyMessage(ClientFrame, frame)
        const overWs = yield* wsFrameMessage(frame)
        expect(overRest, JSON.stringify(frame)).toBe(overWs)
        expect(overRest, JSON.stringify(frame)).toMatch(new RegExp(`^${expected.replace(/[[\]]/g, "\\$&")}`))
      }
    }))

  it.effect("REST names array elements with brackets and missing keys as required", () =>
    Effect.gen(function*() {
      expect(yield* restBodyMessage(CreateRoomRequest, { type: "group", name: "x", member_ids: ["nope"] })).toBe(
        "member_ids[0]: must be a UUID"
      )
      expect(yield* restBodyMessage(CreateRoomRequest, { type: "group" })).toBe("name is required")
    }))

  it.effect("query strings and path ids use the same format", () =>
    Effect.gen(function*() {
      const query = yield* decodeQuery(GetMessagesQuery).pipe(
        Effect.provideService(HttpServerRequest.ParsedSearchParams, { limit: "abc" }),
        Effect.flip
      )
      expect(query.message).toMatch(/^limit: must be /)
      const path = yield* decodePathParam("id", RoomId).pipe(
        Effect.provideContext(
          Context.make(HttpRouter.RouteContext, {
            params: { id: "nope" },
            route: HttpRouter.route("GET", "/rooms/:id", Effect.die("never handled"))
          })
        ),
        Effect.flip
      )
      expect(path.message).toBe("id: must be a UUID")
    }))
})
