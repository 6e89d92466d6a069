/**
 * Redis adapter of `PresenceStore`, shared by every presence-service replica. Each transition is
 * one Lua script, so concurrent calls from any number of replicas are serialised by Redis and
 * every online/offline change is reported exactly once; lease times come from Redis `TIME`.
 *
 * Keys (prefix `PRESENCE_REDIS_KEY_PREFIX`, default `pylon:presence:`, so deployments or parallel
 * test runs can share one Redis):
 * - `user:<userId>`   sorted set: connection id → lease expiry (ms); expires with the last lease
 * - `expiries`        sorted set: user id → expiry of that user's latest lease, for every user
 *                     REPORTED online; `sweep` scans it for users whose leases all lapsed, and
 *                     its size (`ZCARD`) is `onlineCount`
 * - `seen:<userId>`   when the user's last lease ended (ms), kept for `LAST_SEEN_RETENTION`
 * - `typing:<roomId>` sorted set: user id → typing-mark expiry (ms)
 *
 * Scripts declare every key they touch, but `expiries` is shared by all users, so this layout
 * assumes one Redis (or a primary with replicas), not Redis Cluster.
 * Redis-down policy: every call fails with `Unavailable` after `timeout` (default 1 s).
 */
import { createHash } from "node:crypto"
import { Config, Duration, Effect, Layer, Predicate, Schema } from "effect"
import { Unavailable } from "@pylon/contracts/Errors"
import type { RoomId } from "@pylon/contracts/Ids"
import { UserId } from "@pylon/contracts/Ids"
import type { ConnectionId } from "@pylon/contracts/Presence"
import { RedisClient, RedisError } from "@pylon/platform/redis/Redis"
import { LAST_SEEN_RETENTION, PresenceStore, ttlMillis } from "./PresenceStore.ts"
import type { ExpiredPresence, PresenceState } from "./PresenceStore.ts"

export interface RedisPresenceStoreOptions {
  /** Prefix of every key; default `pylon:presence:`. */
  readonly keyPrefix?: string
  /** How long to wait for Redis before answering `Unavailable`; default 1 s. */
  readonly timeout?: Duration.Input
  /** Users examined per sweep batch; default 500. */
  readonly sweepBatch?: number
}

// Redis time in ms. Lua numbers are doubles: epoch milliseconds are exact in them.
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

// KEYS: user leases, expiries. ARGV: connection id, ttl ms, user id. → {changed, now}
const CONNECT = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
local latest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2]
redis.call('PEXPIREAT', KEYS[1], latest)
local reported = redis.call('ZSCORE', KEYS[2], ARGV[3])
redis.call('ZADD', KEYS[2], latest, ARGV[3])
if reported then return {0, now} end
return {1, now}
`

// KEYS: user leases, expiries, seen. ARGV: connection id, user id, seen retention ms. → {changed, now}
const DISCONNECT = `${NOW}
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if #last > 0 then
  redis.call('ZADD', KEYS[2], 'XX', last[2], ARGV[2])
  return {0, now}
end
if redis.call('ZREM', KEYS[2], ARGV[2]) == 1 then
  redis.call('SET', KEYS[3], now, 'PX', ARGV[3])
  return {1, now}
end
return {0, now}
`

// KEYS: expiries. ARGV: batch size. → user ids reported online whose latest lease has expired
const SWEEP_CANDIDATES = `${NOW}
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
`

// KEYS: user leases, expiries, seen. ARGV: user id, seen retention ms. → last seen ms, or -1 if
// the user is not (or no longer) to be reported: a concurrent sweep or a reconnect got there first.
const EXPIRE = `${NOW}
local latest = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not latest then return -1 end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if #last > 0 then
  redis.call('ZADD', KEYS[2], last[2], ARGV[1])
  return -1
end
redis.call('ZREM', KEYS[2], ARGV[1])
local seen = math.min(tonumber(latest), now)
redis.call('SET', KEYS[3], string.format('%d', seen), 'PX', ARGV[2])
return seen
`

// KEYS: n lease keys, then n seen keys. ARGV: n. → flat {online 0/1, last seen ms or -1} per user
const PRESENCE = `${NOW}
local n = tonumber(ARGV[1])
local out = {}
for i = 1, n do
  local live = redis.call('ZCOUNT', KEYS[i], string.format('(%d', now), '+inf')
  local seen = redis.call('GET', KEYS[n + i])
  out[2 * i - 1] = live > 0 and 1 or 0
  out[2 * i] = seen and tonumber(seen) or -1
end
return out
`

// KEYS: room typing marks. ARGV: user id, ttl ms.
const TYPING = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIREAT', KEYS[1], redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2])
return 1
`

// KEYS: room typing marks. → user ids with a live mark
const TYPING_IN = `${NOW}
return redis.call('ZRANGEBYSCORE', KEYS[1], string.format('(%d', now), '+inf')
`

interface Script {
  readonly name: string
  readonly source: string
  readonly sha: string
}

const script = (name: string, source: string): Script => ({
  name,
  source,
  sha: createHash("sha1").update(source).digest("hex")
})

const scripts = {
  connect: script("connect", CONNECT),
  disconnect: script("disconnect", DISCONNECT),
  sweepCandidates: script("sweepCandidates", SWEEP_CANDIDATES),
  expire: script("expire", EXPIRE),
  presence: script("presence", PRESENCE),
  typing: script("typing", TYPING),
  typingIn: script("typingIn", TYPING_IN)
}

const TransitionReply = Schema.Tuple([Schema.Int, Schema.Int])
const decodeTransition = Schema.decodeUnknownEffect(TransitionReply)
const decodeInts = Schema.decodeUnknownEffect(Schema.Array(Schema.Int))
const decodeInt = Schema.decodeUnknownEffect(Schema.Int)
const decodeUserIds = Schema.decodeUnknownEffect(Schema.Array(UserId))

const MAX_SWEEP_BATCHES = 20
const PRESENCE_SLICE = 500

const isNoScript = (error: RedisError): boolean =>
  Predicate.hasProperty(error.cause, "message") && Predicate.isString(error.cause.message) &&
  error.cause.message.startsWith("NOSCRIPT")

export const make = Effect.fnUntraced(function*(options: RedisPresenceStoreOptions = {}) {
  const redis = yield* RedisClient
  const prefix = options.keyPrefix ?? "pylon:presence:"
  const timeout = options.timeout ?? Duration.seconds(1)
  const sweepBatch = Math.max(1, Math.floor(options.sweepBatch ?? 500))
  const retention = String(Duration.toMillis(LAST_SEEN_RETENTION))
  const expiriesKey = `${prefix}expiries`
  const userKey = (userId: string) => `${prefix}user:${userId}`
  const seenKey = (userId: string) => `${prefix}seen:${userId}`
  const typingKey = (roomId: string) => `${prefix}typing:${roomId}`

  // The Redis-down policy: `Unavailable` after `timeout`, logged.
  const guarded = <A, E>(call: Effect.Effect<A, E>) =>
    call.pipe(
      Effect.timeout(timeout),
      Effect.catch((cause) =>
        Effect.logWarning("presence store: Redis unavailable", cause).pipe(
          Effect.andThen(Effect.fail(new Unavailable({ message: "presence store unavailable" })))
        )
      )
    )

  // EVALSHA keeps scripts off the wire; after a Redis restart the cache is empty, so send the source once more.
  const run = (s: Script, keys: ReadonlyArray<string>, args: ReadonlyArray<string | number>) =>
    guarded(
      redis.use(`presence.${s.name}`, (c) => c.evalsha(s.sha, keys.length, ...keys, ...args)).pipe(
        Effect.catchIf(isNoScript, () => redis.use(`presence.${s.name}`, (c) => c.eval(s.source, keys.length, ...keys, ...args)))
      )
    )

  // A reply of the wrong shape means the scripts and this code disagree: a bug, so a defect.
  const decoded = <A>(decode: (u: unknown) => Effect.Effect<A, Schema.SchemaError>) => (reply: unknown) =>
    Effect.orDie(decode(reply))

  const transition = (reply: unknown) =>
    Effect.map(decoded(decodeTransition)(reply), ([changed, at]) => ({ changed: changed === 1, at }))

  const connect = Effect.fn("PresenceStore.connect")(function*(
    userId: UserId,
    connectionId: ConnectionId,
    ttl: Duration.Input
  ) {
    const reply = yield* run(scripts.connect, [userKey(userId), expiriesKey], [connectionId, ttlMillis(ttl), userId])
    return yield* transition(reply)
  })

  const disconnect = Effect.fn("PresenceStore.disconnect")(function*(userId: UserId, connectionId: ConnectionId) {
    const reply = yield* run(
      scripts.disconnect,
      [userKey(userId), expiriesKey, seenKey(userId)],
      [connectionId, userId, retention]
    )
    return yield* transition(reply)
  })

  const presence = Effect.fn("PresenceStore.presence")(function*(userIds: ReadonlyArray<UserId>) {
    const states = new Map<UserId, PresenceState>()
    const unique = Array.from(new Set(userIds))
    // Bounded scripts: a big channel's members are read in slices, not as one huge call.
    for (let start = 0; start < unique.length; start += PRESENCE_SLICE) {
      const slice = unique.slice(start, start + PRESENCE_SLICE)
      const reply = yield* run(
        scripts.presence,
        [...slice.map(userKey), ...slice.map(seenKey)],
        [slice.length]
      ).pipe(Effect.flatMap(decoded(decodeInts)))
      slice.forEach((userId, i) => {
        const seen = reply[2 * i + 1] ?? -1
        states.set(userId, { online: reply[2 * i] === 1, lastSeenAt: seen >= 0 ? seen : null })
      })
    }
    return states
  })

  const typing = Effect.fn("PresenceStore.typing")(function*(roomId: RoomId, userId: UserId, ttl: Duration.Input) {
    yield* run(scripts.typing, [typingKey(roomId)], [userId, ttlMillis(ttl)])
  })

  const typingIn = Effect.fn("PresenceStore.typingIn")(function*(roomId: RoomId) {
    return yield* run(scripts.typingIn, [typingKey(roomId)], []).pipe(Effect.flatMap(decoded(decodeUserIds)))
  })

  const expire = (userId: UserId) =>
    run(scripts.expire, [userKey(userId), expiriesKey, seenKey(userId)], [userId, retention]).pipe(
      Effect.flatMap(decoded(decodeInt)),
      Effect.map((lastSeenAt): ReadonlyArray<ExpiredPresence> => lastSeenAt >= 0 ? [{ userId, lastSeenAt }] : [])
    )

  const sweep = Effect.gen(function*() {
    const expired: Array<ExpiredPresence> = []
    // Batches until one comes back short; every candidate leaves the due range of `expiries`
    // (reported, renewed, or taken by another replica), so no batch repeats. The cap bounds one
    // sweep's work; the rest waits for the next run.
    for (let batch = 0; batch < MAX_SWEEP_BATCHES; batch++) {
      const candidates = yield* run(scripts.sweepCandidates, [expiriesKey], [sweepBatch]).pipe(
        Effect.flatMap(decoded(decodeUserIds))
      )
      const results = yield* Effect.forEach(candidates, expire, { concurrency: 16 })
      for (const result of results) expired.push(...result)
      if (candidates.length < sweepBatch) break
    }
    return expired
  }).pipe(Effect.withSpan("PresenceStore.sweep"))

  // `expiries` holds exactly the users reported online, so its size is the count.
  const onlineCount = guarded(redis.use("presence.onlineCount", (c) => c.zcard(expiriesKey))).pipe(
    Effect.withSpan("PresenceStore.onlineCount")
  )

  return PresenceStore.of({ connect, disconnect, presence, typing, typingIn, sweep, onlineCount })
})

export const layerWith = (options: RedisPresenceStoreOptions): Layer.Layer<PresenceStore, never, RedisClient> =>
  Layer.effect(PresenceStore, make(options))

/** `PRESENCE_REDIS_KEY_PREFIX` (default `pylon:presence:`): lets deployments or test runs share one Redis. */
export const KeyPrefixConfig = Config.String("PRESENCE_REDIS_KEY_PREFIX").pipe(Config.withDefault("pylon:presence:"))

/** The store under the configured key prefix. */
export const layer: Layer.Layer<PresenceStore, Config.ConfigError, RedisClient> = Layer.unwrap(
  Effect.map(KeyPrefixConfig, (keyPrefix) => layerWith({ keyPrefix }))
)
