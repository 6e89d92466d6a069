/**
 * The room-service process (`roomServiceApp`) on a real socket: `RoomRpcs` over HTTP (ndjson)
 * with the internal credential, so payloads, `Room` timestamps and typed errors go through the
 * wire codecs; plus its health routes.
 */
import { randomBytes, randomUUID } from "node:crypto"
import { expect, layer } from "@effect/vitest"
import { Context, Effect, Layer, References } from "effect"
import type { RpcClient, RpcClientError } from "effect/rpc"
import { SqlClient } from "effect/sql/SqlClient"
import { RoomId, UserId } from "@pylon/contracts/Ids"
import { INTERNAL_AUTH_HEADER } from "@pylon/contracts/InternalAuth"
import { RoomRpcs } from "@pylon/contracts/RoomRpcs"
import { formatTimestamp } from "@pylon/contracts/Time"
import { Draining } from "@pylon/platform/runtime/Draining"
import { boundPort } from "@pylon/platform/http/HttpServerLive"
import { rpcClientLayer } from "@pylon/platform/rpc/InternalRpc"
import { ServerConfig } from "@pylon/platform/http/ServerConfig"
import { TestDatabase } from "@pylon/testkit/TestDatabase"
import { roomServiceApp } from "../src/RoomServiceApp.ts"

type RoomsRpcClient = RpcClient.FromGroup<typeof RoomRpcs, RpcClientError.RpcClientError>

class Rooms extends Context.Service<Rooms, RoomsRpcClient>()("pylon/room/test/RoomsOverHttp") {}

class BaseUrl extends Context.Service<BaseUrl, string>()("pylon/room/test/BaseUrl") {}

const clients = Layer.unwrap(Effect.gen(function*() {
  const baseUrl = `http://127.0.0.1:${yield* boundPort}`
  return Layer.mergeAll(
    rpcClientLayer(Rooms, RoomRpcs, baseUrl),
    Layer.succeed(BaseUrl, baseUrl)
  )
}))

const TestLayer = clients.pipe(
  Layer.provide(roomServiceApp),
  Layer.provide(Layer.succeed(References.MinimumLogLevel, "Warn")),
  Layer.provide([Draining.layer, ServerConfig.make({ port: 0, host: "127.0.0.1", env: "test", corsOrigins: [] })]),
  Layer.provideMerge(TestDatabase)
)

const newUser = Effect.gen(function*() {
  const sql = yield* SqlClient
  const id = UserId.make(randomUUID())
  const username = `u_${randomBytes(5).toString("hex")}`
  yield* sql`INSERT INTO users (id, username, email, password_hash)
    VALUES (${id}, ${username}, ${`${username}@example.com`}, 'hash')`
  return id
})

layer(TestLayer, { excludeTestServices: true, timeout: "60 seconds" })("roomServiceApp over HTTP", (it) => {
  it.effect("rooms round-trip through the wire codecs", () =>
    Effect.gen(function*() {
      const rooms = yield* Rooms
      const alice = yield* newUser
      const bob = yield* newUser
      const created = yield* rooms.CreateRoom({ user_id: alice, name: "wire", type: "direct", member_ids: [bob] })
      expect(created.created).toBe(true)
      expect(created.room).toMatchObject({ name: "wire", type: "direct", member_count: 2, last_seq: 0, last_message_at: null })
      const again = yield* rooms.CreateRoom({ user_id: bob, name: "wire", type: "direct", member_ids: [alice] })
      expect(again).toMatchObject({ created: false, room: { id: created.room.id } })

      const fetched = yield* rooms.GetRoom({ user_id: bob, room_id: created.room.id })
      expect(formatTimestamp(fetched.created_at)).toBe(formatTimestamp(created.room.created_at))
      const members = yield* rooms.GetRoomMembers({ user_id: alice, room_id: created.room.id })
      expect(members.map((m) => m.role).sort()).toEqual(["member", "owner"])
      expect((yield* rooms.ListRooms({ user_id: alice })).map((r) => r.id)).toEqual([created.room.id])
      expect(yield* rooms.CheckMembership({ user_id: alice, room_id: created.room.id })).toEqual({
        room_id: created.room.id,
        room_type: "direct",
        role: "owner",
        last_seq: 0
      })
    }))

  it.effect("typed errors cross the wire", () =>
    Effect.gen(function*() {
      const rooms = yield* Rooms
      const alice = yield* newUser
      const eve = yield* newUser
      const ghost = UserId.make(randomUUID())
      const unknown = yield* Effect.flip(rooms.CreateRoom({ user_id: alice, name: "g", type: "group", member_ids: [ghost] }))
      expect(unknown).toMatchObject({ _tag: "BadRequest" })
      const group = (yield* rooms.CreateRoom({ user_id: alice, name: "g", type: "group", member_ids: [] })).room
      expect(yield* Effect.flip(rooms.GetRoom({ user_id: eve, room_id: group.id }))).toMatchObject({ _tag: "NotRoomMember" })
      expect(yield* Effect.flip(rooms.JoinRoom({ user_id: eve, room_id: group.id }))).toMatchObject({ _tag: "Forbidden" })
      const missing = RoomId.make(randomUUID())
      expect(yield* Effect.flip(rooms.LeaveRoom({ user_id: eve, room_id: missing }))).toMatchObject({
        _tag: "RoomNotFound",
        room_id: missing
      })
    }))

  it.effect("a caller without the internal credential gets 401 (checked from the HTTP header)", () =>
    Effect.gen(function*() {
      const baseUrl = yield* BaseUrl
      const alice = yield* newUser
      const request = `${JSON.stringify({ _tag: "Request", id: "1", tag: "ListRooms", payload: { user_id: alice }, headers: [] })}\n`
      for (const headers of [{}, { [INTERNAL_AUTH_HEADER]: "not-the-secret" }]) {
        const answer = yield* Effect.promise(() =>
          fetch(`${baseUrl}/rpc`, {
            method: "POST",
            headers: { "content-type": "application/ndjson", ...headers },
            body: request
          }).then(async (r) => ({ status: r.status, body: JSON.parse(await r.text()) as unknown }))
        )
        expect(answer).toMatchObject({ status: 401, body: { success: false, error: { code: "unauthorized" } } })
      }
    }))

  it.effect("health and readiness", () =>
    Effect.gen(function*() {
      const baseUrl = yield* BaseUrl
      const health = yield* Effect.promise(() => fetch(`${baseUrl}/health`).then((r) => r.json()))
      expect(health).toEqual({ success: true, data: { service: "room-service", status: "ok" } })
      const ready = yield* Effect.promise(() => fetch(`${baseUrl}/ready`))
      expect(ready.status).toBe(200)
    }))
})
