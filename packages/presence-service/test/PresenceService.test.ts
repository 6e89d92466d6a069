/**
 * The presence service through its RPC group, in process: real handlers and domain on the Redis
 * store and Redis realtime bus, membership from a fresh migrated PostgreSQL database. Presence
 * changes are watched on the bus exactly as a gateway node would watch them.
 */
import { randomBytes, randomUUID } from "node:crypto"
import { describe, expect, it, layer } from "@effect/vitest"
import { ConfigProvider, Context, Duration, Effect, Fiber, Layer, Redacted, Schema, Scope, Stream } from "effect"
import type { RpcClient, RpcClientError } from "effect/rpc"
import { SqlClient } from "effect/sql/SqlClient"
import { RoomId, UserId } from "@pylon/contracts/Ids"
import { ConnectionId, UserPresence } from "@pylon/contracts/Presence"
import { PresenceRpcs } from "@pylon/contracts/PresenceRpcs"
import { formatTimestamp } from "@pylon/contracts/Time"
import { inProcessClientLayer } from "@pylon/platform/rpc/InternalRpc"
import { RedisClient } from "@pylon/platform/redis/Redis"
import * as RedisRealtimeBus from "@pylon/platform/bus/RedisRealtimeBus"
import { RealtimeBus, RealtimeBusEvent } from "@pylon/platform/bus/RealtimeBus"
import { PRESENCE_CHANNEL } from "@pylon/platform/bus/Channels"
import { TestDatabase } from "@pylon/testkit/TestDatabase"
import * as RedisPresenceStore from "../src/RedisPresenceStore.ts"
import { PresenceConfig, PresenceSettingsConfig } from "../src/PresenceConfig.ts"
import { PresenceHandlersLive } from "../src/PresenceHandlers.ts"
import { PresenceService } from "../src/PresenceService.ts"
import { PresenceSweeperLive } from "../src/PresenceSweeper.ts"
import { RoomMembership } from "../src/RoomMembership.ts"
import type { PresenceSettings } from "../src/PresenceConfig.ts"

class Presence extends Context.Service<Presence, RpcClient.FromGroup<typeof PresenceRpcs, RpcClientError.RpcClientError>>()(
  "pylon/presence/test/Presence"
) {}

const redisUrl = process.env["REDIS_URL"]
const keyPrefix = `pylon:presence:test-${randomUUID().slice(0, 8)}:`

const decodeChange = Schema.decodeUnknownEffect(Schema.fromJsonString(UserPresence))

const settings = (overrides: Partial<PresenceSettings> = {}): PresenceSettings => ({
  leaseTtl: Duration.minutes(1),
  typingTtl: Duration.seconds(5),
  sweepInterval: Duration.millis(100),
  ...overrides
})

/** The service, handlers and sweeper on the given settings; needs Redis and a SqlClient. */
const presenceStack = (presenceSettings: PresenceSettings) =>
  Layer.mergeAll(PresenceHandlersLive, PresenceSweeperLive).pipe(
    Layer.provideMerge(PresenceService.layer),
    Layer.provide(RoomMembership.layer),
    Layer.provideMerge(PresenceConfig.make(presenceSettings)),
    Layer.provideMerge(Layer.mergeAll(RedisPresenceStore.layerWith({ keyPrefix }), RedisRealtimeBus.layer))
  )

const newUser = Effect.gen(function*() {
  const sql = yield* SqlClient
  const id = UserId.make(randomUUID())
  const username = `u_${randomBytes(6).toString("hex")}`
  yield* sql`INSERT INTO users (id, username, email, password_hash)
    VALUES (${id}, ${username}, ${`${username}@example.com`}, 'hash')`
  return id
})

const newRoom = (owner: UserId, members: ReadonlyArray<UserId>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient
    const id = RoomId.make(randomUUID())
    yield* sql`INSERT INTO rooms (id, name, type, created_by) VALUES (${id}, 'room', 'group', ${owner})`
    // Staggered join times: members are listed oldest first.
    for (const [i, userId] of [owner, ...members].entries()) {
      yield* sql`INSERT INTO room_members (room_id, user_id, role, joined_at)
        VALUES (${id}, ${userId}, ${i === 0 ? "owner" : "member"}, now() + ${`${i} seconds`}::interval)`
    }
    return id
  })

const connection = (label: string) => ConnectionId.make(`${label}-${randomUUID()}`)

/**
 * Presence changes of `userId` seen on the bus, the first `n`. Subscribes before returning, so
 * every change caused after this effect is seen. Other tests (and files) publish on the same
 * channel, hence the filter.
 */
const watchChanges = (userId: UserId, n: number) =>
  Effect.gen(function*() {
    const bus = yield* RealtimeBus
    const stream = yield* bus.subscribe(PRESENCE_CHANNEL)
    return yield* stream.pipe(
      Stream.filter(RealtimeBusEvent.$is("Message")),
      Stream.mapEffect((event) => decodeChange(event.payload)),
      Stream.filter((change) => change.user_id === userId),
      Stream.take(n),
      Stream.runCollect,
      Effect.timeout("10 seconds"),
      Effect.forkScoped
    )
  })

if (redisUrl === undefined || redisUrl === "") {
  describe("PresenceService", () => {
    it("needs REDIS_URL", () => {
      throw new Error("REDIS_URL is not set: the presence service tests need a real Redis (e.g. redis://127.0.0.1:6380)")
    })
  })
} else {
  const redis = RedisClient.layerFromUrl(Redacted.make(redisUrl))
  const TestLayer = inProcessClientLayer(Presence, PresenceRpcs).pipe(
    Layer.provideMerge(presenceStack(settings())),
    Layer.provideMerge(redis),
    Layer.provideMerge(TestDatabase)
  )

  layer(TestLayer, { excludeTestServices: true, timeout: "60 seconds" })("PresenceRpcs in process", (it) => {
    it.effect("SetOnline publishes one `online` for two connections; the last SetOffline one `offline`", () =>
      Effect.gen(function*() {
        const presence = yield* Presence
        const alice = yield* newUser
        const [phone, laptop, tablet] = [connection("phone"), connection("laptop"), connection("tablet")]
        const watching = yield* watchChanges(alice, 3)

        yield* presence.SetOnline({ user_id: alice, connection_id: phone })
        yield* presence.SetOnline({ user_id: alice, connection_id: laptop })
        yield* presence.SetOnline({ user_id: alice, connection_id: phone }) // heartbeat
        yield* presence.SetOffline({ user_id: alice, connection_id: phone })
        yield* presence.SetOffline({ user_id: alice, connection_id: laptop })
        yield* presence.SetOffline({ user_id: alice, connection_id: laptop }) // repeated
        // Back again: the changes come from one publisher in order, so nothing else came between.
        yield* presence.SetOnline({ user_id: alice, connection_id: tablet })

        const changes = yield* Fiber.join(watching)
        expect(changes.map((c) => c.status)).toEqual(["online", "offline", "online"])
        expect(changes[0]?.last_seen_at).toBeNull()
        expect(changes[1]?.last_seen_at).not.toBeNull()
        expect(changes[2]?.last_seen_at).toBeNull()
      }))

    it.effect("GetPresence answers in the order asked, with last_seen_at for users who left", () =>
      Effect.gen(function*() {
        const presence = yield* Presence
        const [alice, bob, carol] = [yield* newUser, yield* newUser, yield* newUser]
        const bobTab = connection("bob")
        yield* presence.SetOnline({ user_id: alice, connection_id: connection("alice") })
        yield* presence.SetOnline({ user_id: bob, connection_id: bobTab })
        yield* presence.SetOffline({ user_id: bob, connection_id: bobTab })
        const result = yield* presence.GetPresence({ user_id: alice, target_user_ids: [carol, bob, alice] })
        expect(result.map((p) => [p.user_id, p.status])).toEqual([[carol, "offline"], [bob, "offline"], [alice, "online"]])
        expect(result[0]?.last_seen_at).toBeNull()
        expect(result[2]?.last_seen_at).toBeNull()
        const bobSeen = result[1]?.last_seen_at
        expect(bobSeen === null || bobSeen === undefined ? "" : formatTimestamp(bobSeen)).toMatch(
          /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
        )
        expect(yield* presence.GetPresence({ user_id: alice, target_user_ids: [] })).toEqual([])
      }))

    it.effect("GetRoomPresence lists every member for a member, and requires membership", () =>
      Effect.gen(function*() {
        const presence = yield* Presence
        const [owner, member, outsider] = [yield* newUser, yield* newUser, yield* newUser]
        const room = yield* newRoom(owner, [member])
        yield* presence.SetOnline({ user_id: member, connection_id: connection("m") })

        const result = yield* presence.GetRoomPresence({ user_id: owner, room_id: room })
        expect(result.map((p) => [p.user_id, p.status])).toEqual([[owner, "offline"], [member, "online"]])

        const notMember = yield* Effect.flip(presence.GetRoomPresence({ user_id: outsider, room_id: room }))
        expect(notMember).toMatchObject({ _tag: "NotRoomMember", room_id: room })
        const unknown = RoomId.make(randomUUID())
        const notFound = yield* Effect.flip(presence.GetRoomPresence({ user_id: owner, room_id: unknown }))
        expect(notFound).toMatchObject({ _tag: "RoomNotFound", room_id: unknown })
      }))

    it.effect("SetTyping marks the user typing in that room", () =>
      Effect.gen(function*() {
        const presence = yield* Presence
        const service = yield* PresenceService
        const alice = yield* newUser
        const room = yield* newRoom(alice, [])
        yield* presence.SetTyping({ user_id: alice, room_id: room })
        expect(yield* service.typingIn(room)).toEqual([alice])
        expect(yield* service.typingIn(RoomId.make(randomUUID()))).toEqual([])
      }))

    it.effect("a node that dies without SetOffline: the sweeper publishes `offline` once the lease lapses", () =>
      Effect.gen(function*() {
        // A second replica with short leases, on the same Redis keys, bus and database.
        // A fresh MemoMap: the outer replica's module-level layers must not be reused.
        const shortLived = yield* Layer.buildWithMemoMap(
          presenceStack(settings({ leaseTtl: Duration.millis(300) })),
          yield* Layer.makeMemoMap,
          yield* Scope.Scope
        )
        const service = Context.get(shortLived, PresenceService)
        const alice = yield* newUser
        const watching = yield* watchChanges(alice, 2)
        yield* service.setOnline(alice, connection("doomed"))
        const changes = yield* Fiber.join(watching)
        expect(changes.map((c) => c.status)).toEqual(["online", "offline"])
        expect(changes[1]?.last_seen_at).not.toBeNull()
        const [state] = yield* service.getPresence([alice])
        expect(state?.status).toBe("offline")
      }))
  })
}

describe("PresenceSettingsConfig", () => {
  it.effect("defaults: 60 s leases, 5 s typing (API.md §6), a sweep every 5 s", () =>
    Effect.gen(function*() {
      const s = yield* PresenceSettingsConfig.parse(ConfigProvider.fromUnknown({}))
      expect(Duration.toSeconds(s.leaseTtl)).toBe(60)
      expect(Duration.toSeconds(s.typingTtl)).toBe(5)
      expect(Duration.toSeconds(s.sweepInterval)).toBe(5)
    }))

  it.effect("reads each variable and rejects nonsense", () =>
    Effect.gen(function*() {
      const s = yield* PresenceSettingsConfig.parse(
        ConfigProvider.fromEnv({ env: { PRESENCE_LEASE_TTL_SECONDS: "90", PRESENCE_SWEEP_INTERVAL_SECONDS: "2" } })
      )
      expect(Duration.toSeconds(s.leaseTtl)).toBe(90)
      expect(Duration.toSeconds(s.sweepInterval)).toBe(2)
      const bad = yield* Effect.exit(
        PresenceSettingsConfig.parse(ConfigProvider.fromEnv({ env: { PRESENCE_LEASE_TTL_SECONDS: "0" } }))
      )
      expect(bad._tag).toBe("Failure")
    }))
})
