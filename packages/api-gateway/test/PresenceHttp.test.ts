/**
 * `GET /api/v1/rooms/{id}/presence` over real HTTP (the gateway harness, presence service in
 * process): a member gets every member's status — online while they hold a WebSocket, offline
 * after it closes; a non-member is 403, an unknown room 404, a bad id 400, no token 401.
 */
import { randomUUID } from "node:crypto"
import { expect, layer } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { RoomPresenceResponse } from "@pylon/contracts/Presence"
import { connect } from "@pylon/testkit/WsClient"
import { Gateway, gatewayLayer } from "./support/GatewayHarness.ts"
import { expectError, expectOk, get, newUser, post } from "./support/Http.ts"

const decodePresence = Schema.decodeUnknownSync(RoomPresenceResponse)

const presenceOf = (roomId: string, token: string) =>
  Effect.map(get(`/api/v1/rooms/${roomId}/presence`, { bearer: token }), (result) => decodePresence(expectOk(result)))

interface Status {
  readonly user_id: string
  readonly status: string
}

/** Sorted by user id (the route does not promise an order). */
const byUser = (list: ReadonlyArray<Status>) => [...list].sort((x, y) => x.user_id.localeCompare(y.user_id))

const statuses = (response: RoomPresenceResponse) => byUser(response.presence.map((p) => ({ user_id: p.user_id, status: p.status })))

/** Asks until `check` passes (presence is set just after the WebSocket opens); generous deadline. */
const presenceUntil = (roomId: string, token: string, check: (r: RoomPresenceResponse) => boolean) =>
  Effect.gen(function*() {
    const deadline = Date.now() + 20_000
    let last = yield* presenceOf(roomId, token)
    while (!check(last) && Date.now() < deadline) {
      yield* Effect.sleep("100 millis")
      last = yield* presenceOf(roomId, token)
    }
    return last
  })

const online = (userId: string) => (r: RoomPresenceResponse) => r.presence.some((p) => p.user_id === userId && p.status === "online")

layer(gatewayLayer(), { excludeTestServices: true, timeout: "60 seconds" })("GET /api/v1/rooms/{id}/presence", (it) => {
  it.effect("a member gets every member's presence; the others are refused", () =>
    Effect.scoped(Effect.gen(function*() {
      const { baseUrl } = yield* Gateway
      const alice = (yield* newUser("alice")).session
      const bob = (yield* newUser("bob")).session
      const carol = (yield* newUser("carol")).session
      const created = yield* post("/api/v1/rooms", {
        bearer: alice.token,
        json: { name: "presence", type: "group", member_ids: [bob.user.id] }
      })
      const roomId = expectOk<{ readonly room: { readonly id: string } }>(created, 201).room.id

      // Nobody connected: both members offline.
      expect(statuses(yield* presenceOf(roomId, alice.token))).toEqual(
        byUser([{ user_id: alice.user.id, status: "offline" }, { user_id: bob.user.id, status: "offline" }])
      )

      // bob opens a WebSocket: alice sees him online, herself still offline.
      const socket = yield* connect(baseUrl, bob.token, { name: "bob" })
      const seen = yield* presenceUntil(roomId, alice.token, online(bob.user.id))
      expect(statuses(seen)).toEqual(
        byUser([{ user_id: alice.user.id, status: "offline" }, { user_id: bob.user.id, status: "online" }])
      )
      // bob, a member too, gets the same snapshot.
      expect(statuses(yield* presenceOf(roomId, bob.token))).toEqual(statuses(seen))

      // He closes it: offline again, with when he was last seen.
      yield* socket.close
      const after = yield* presenceUntil(roomId, alice.token, (r) => !online(bob.user.id)(r))
      const bobAfter = after.presence.find((p) => p.user_id === bob.user.id)
      expect(bobAfter?.status).toBe("offline")
      expect(bobAfter?.last_seen_at).not.toBeNull()

      // Not a member, an unknown room, a bad id, no token.
      expectError(yield* get(`/api/v1/rooms/${roomId}/presence`, { bearer: carol.token }), 403, "forbidden")
      expectError(yield* get(`/api/v1/rooms/${randomUUID()}/presence`, { bearer: alice.token }), 404, "not_found")
      expectError(yield* get("/api/v1/rooms/not-a-uuid/presence", { bearer: alice.token }), 400, "bad_request")
      expectError(yield* get(`/api/v1/rooms/${roomId}/presence`), 401, "unauthorized")
    })))
})
