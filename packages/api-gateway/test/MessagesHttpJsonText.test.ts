/**
 * `GET /api/v1/rooms/{id}/messages` writes the chat service's page (`GetMessagesJson`, JSON text
 * built by PostgreSQL) into the envelope as it came: not parsed and serialised again
 * (docs/perf.md §11). Against the real chat service: the body is the decoded page's encoding;
 * against a stub answering text no serialiser of ours produces: the body holds that text byte
 * for byte. Typed errors map as before. The full route suite is MessagesHttp.test.ts.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { ChatRpcs, MessagesPageJson } from "@pylon/contracts/ChatRpcs"
import { NotRoomMember } from "@pylon/contracts/Errors"
import { RoomId, UserId } from "@pylon/contracts/Ids"
import { MessagesResponse } from "@pylon/contracts/Messages"
import { inProcessClientLayer } from "@pylon/platform/rpc/InternalRpc"
import { ChatService } from "@pylon/chat-service/ChatService"
import { ChatServiceLive } from "@pylon/chat-service/ChatServiceApp"
import { ChatClient } from "../src/clients/ServiceClients.ts"
import { gatewayLayer } from "./support/GatewayHarness.ts"
import { expectError, expectOk, get, newUser, post } from "./support/Http.ts"

const user = (tag: string) =>
  Effect.map(newUser(tag), ({ session }) => ({ id: UserId.make(session.user.id), token: session.token }))

const createRoom = (token: string) =>
  Effect.map(
    post("/api/v1/rooms", { bearer: token, json: { name: "history", type: "group", member_ids: [] } }),
    (result) => RoomId.make(expectOk<{ readonly room: { readonly id: string } }>(result, 201).room.id)
  )

const history = (token: string, room: string, query = "") => get(`/api/v1/rooms/${room}/messages${query}`, { bearer: token })

layer(Layer.provideMerge(ChatServiceLive, gatewayLayer()), { excludeTestServices: true, timeout: "60 seconds" })(
  "history from the chat service",
  (it) => {
    describe("pages", () => {
      it.effect("the body is the decoded page's encoding, for every cursor", () =>
        Effect.gen(function*() {
          const alice = yield* user("alice")
          const room = yield* createRoom(alice.token)
          yield* ChatService.use((chat) =>
            Effect.forEach(["one", "two \"quoted\"", "three"], (content) =>
              chat.send({ user_id: alice.id, room_id: room, content, msg_type: "text", client_msg_id: null }))
          )
          for (const [query, payload] of [["", { limit: 50 }], ["?limit=2", { limit: 2 }], ["?after_seq=1", { limit: 50, after_seq: 1 }]] as const) {
            const result = yield* history(alice.token, room, query)
            const decoded = yield* ChatService.use((chat) => chat.getMessages({ user_id: alice.id, room_id: room, ...payload }))
            expect(result.status).toBe(200)
            expect(result.headers.get("content-type")).toMatch(/^application\/json/)
            expect(JSON.parse(result.text)).toEqual({ success: true, data: yield* Schema.encodeEffect(MessagesResponse)(decoded) })
          }
        }))

      it.effect("errors map as before; bad input is still refused at the edge", () =>
        Effect.gen(function*() {
          const alice = yield* user("alice")
          const mallory = yield* user("mallory")
          const room = yield* createRoom(alice.token)
          expectError(yield* history(mallory.token, room), 403, "forbidden")
          expectError(yield* history(alice.token, "not-a-uuid"), 400, "bad_request")
          expectError(yield* history(alice.token, room, "?limit=abc"), 400, "bad_request")
        }))
    })
  }
)

/** Whitespace and an offset no encoder of ours writes: proof the text is not parsed and re-serialised. */
const verbatim = MessagesPageJson.make(`{"messages" : [{"id" : "0190b3a2-1111-7111-8111-111111111111", ` +
  `"room_id" : "0190b3a2-3333-7333-8333-333333333333", "seq" : 7, "sender" : {"id" : ` +
  `"0190b3a2-2222-7222-8222-222222222222", "username" : "x", "display_name" : null, "avatar_url" : null}, ` +
  `"content" : "as sent", "msg_type" : "text", "client_msg_id" : null, ` +
  `"created_at" : "2026-01-01T01:00:00.000+01:00"}], \n "has_more" : true}`)

const unused = () => Effect.die(new Error("not called by the history route"))

const StubChat = inProcessClientLayer(ChatClient, ChatRpcs).pipe(
  Layer.provide(ChatRpcs.toLayer({
    SendMessage: unused,
    GetMessages: unused,
    StreamMessages: unused,
    GetMessagesJson: (payload) =>
      payload.limit === 13 ? Effect.fail(new NotRoomMember({ room_id: payload.room_id })) : Effect.succeed(verbatim)
  }))
)

layer(gatewayLayer({ chat: StubChat }), { excludeTestServices: true, timeout: "60 seconds" })(
  "history writes the page's text as it came",
  (it) => {
    it.effect("the chat service's text, byte for byte, inside the envelope; its typed error maps", () =>
      Effect.gen(function*() {
        const alice = yield* user("alice")
        const room = yield* createRoom(alice.token)
        const result = yield* history(alice.token, room)
        expect(result.status).toBe(200)
        expect(result.text).toBe(`{"success":true,"data":${verbatim}}`)
        expect(JSON.parse(result.text)).toMatchObject({ data: { messages: [{ created_at: "2026-01-01T01:00:00.000+01:00" }] } })
        expectError(yield* history(alice.token, room, "?limit=13"), 403, "forbidden")
      }))
  }
)
