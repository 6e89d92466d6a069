/**
 * The presence-service process (`presenceServiceApp`) on a real socket: `PresenceRpcs` over HTTP
 * (ndjson) with the internal credential, on the Redis adapters under a per-run key prefix and a
 * fresh PostgreSQL database, so payloads, timestamps and typed errors go through the wire codecs;
 * plus its health routes (readiness checks PostgreSQL and Redis).
 */
import { randomBytes, randomUUID } from "node:crypto"
import { describe, expect, it, layer } from "@effect/vitest"
import { ConfigProvider, Context, Effect, Layer, Redacted, References } from "effect"
import type { RpcClient, RpcClientError } from "effect/rpc"
import { SqlClient } from "effect/sql/SqlClient"
import { RoomId, UserId } from "@pylon/contracts/Ids"
import { ConnectionId } from "@pylon/contracts/Presence"
import { PresenceRpcs } from "@pylon/contracts/PresenceRpcs"
import { Draining } from "@pylon/platform/runtime/Draining"
import { boundPort } from "@pylon/platform/http/HttpServerLive"
import { rpcClientLayer } from "@pylon/platform/rpc/InternalRpc"
import { RedisClient } from "@pylon/platform/redis/Redis"
import { ServerConfig } from "@pylon/platform/http/ServerConfig"
import { TestDatabase } from "@pylon/testkit/TestDatabase"
import { presenceServiceApp } from "../src/PresenceServiceApp.ts"

class Presence extends Context.Service<Presence, RpcClient.FromGroup<typeof PresenceRpcs, RpcClientError.RpcClientError>>()(
  "pylon/presence/test/PresenceOverHttp"
) {}

class BaseUrl extends Context.Service<BaseUrl, string>()("pylon/presence/test/BaseUrl") {}

const redisUrl = process.env["REDIS_URL"]

if (redisUrl === undefined || redisUrl === "") {
  describe("presenceServiceApp", () => {
    it("needs REDIS_URL", () => {
      throw new Error("REDIS_URL is not set: the presence service tests need a real Redis (e.g. redis://127.0.0.1:6380)")
    })
  })
} else {
  const keyPrefix = `pylon:presence:test-${randomUUID().slice(0, 8)}:`

  const clients = Layer.unwrap(Effect.gen(function*() {
    const baseUrl = `http://127.0.0.1:${yield* boundPort}`
    return Layer.mergeAll(rpcClientLayer(Presence, PresenceRpcs, baseUrl), Layer.succeed(BaseUrl, baseUrl))
  }))

  const app = presenceServiceApp.pipe(
    // Only the app reads this provider: the environment plus its own key prefix.
    Layer.provide(
      ConfigProvider.layer(ConfigProvider.fromEnvRecord({ ...process.env, PRESENCE_REDIS_KEY_PREFIX: keyPrefix }))
    )
  )

  const TestLayer = clients.pipe(
    Layer.provide(app),
    Layer.provide(Layer.succeed(References.MinimumLogLevel, "Warn")),
    Layer.provide([Draining.layer, ServerConfig.make({ port: 0, host: "127.0.0.1", env: "test", corsOrigins: [] })]),
    Layer.provideMerge(Layer.mergeAll(RedisClient.layerFromUrl(Redacted.make(redisUrl)), TestDatabase))
  )

  const newUser = Effect.gen(function*() {
    const sql = yield* SqlClient
    const id = UserId.make(randomUUID())
    const username = `u_${randomBytes(6).toString("hex")}`
    yield* sql`INSERT INTO users (id, username, email, password_hash)
      VALUES (${id}, ${username}, ${`${username}@example.com`}, 'hash')`
    return id
  })

  layer(TestLayer, { excludeTestServices: true, timeout: "60 seconds" })("presenceServiceApp over HTTP", (it) => {
    it.effect("presence round-trips through the wire codecs", () =>
      Effect.gen(function*() {
        const presence = yield* Presence
        const [alice, bob] = [yield* newUser, yield* newUser]
        const sql = yield* SqlClient
        const room = RoomId.make(randomUUID())
        yield* sql`INSERT INTO rooms (id, name, type, created_by) VALUES (${room}, 'r', 'group', ${alice})`
        yield* sql`INSERT INTO room_members (room_id, user_id, role) VALUES (${room}, ${alice}, 'owner')`
        const tab = ConnectionId.make(`tab-${randomUUID()}`)
        yield* presence.SetOnline({ user_id: alice, connection_id: tab })
        yield* presence.SetTyping({ user_id: alice, room_id: room })
        const bobTab = ConnectionId.make(`tab-${randomUUID()}`)
        yield* presence.SetOnline({ user_id: bob, connection_id: bobTab })
        yield* presence.SetOffline({ user_id: bob, connection_id: bobTab })

        const both = yield* presence.GetPresence({ user_id: alice, target_user_ids: [alice, bob] })
        expect(both.map((p) => p.status)).toEqual(["online", "offline"])
        expect(both[1]?.last_seen_at).not.toBeNull()
        expect(yield* presence.GetRoomPresence({ user_id: alice, room_id: room })).toEqual([
          { user_id: alice, status: "online", last_seen_at: null }
        ])
        expect(yield* Effect.flip(presence.GetRoomPresence({ user_id: bob, room_id: room }))).toMatchObject({
          _tag: "NotRoomMember"
        })

        // The app used the configured prefix, not the shared default one.
        const { client } = yield* RedisClient
        expect(yield* Effect.promise(() => client.exists(`${keyPrefix}user:${alice}`))).toBe(1)
      }))

    it.effect("health and readiness", () =>
      Effect.gen(function*() {
        const baseUrl = yield* BaseUrl
        const health = yield* Effect.promise(() => fetch(`${baseUrl}/health`).then((r) => r.json()))
        expect(health).toEqual({ success: true, data: { service: "presence-service", status: "ok" } })
        const ready = yield* Effect.promise(() => fetch(`${baseUrl}/ready`).then((r) => r.json()))
        expect(ready).toMatchObject({ data: { checks: { postgres: "up", redis: "up" } } })
      }))
  })
}
