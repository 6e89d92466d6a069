/**
 * The behaviour every `PresenceStore` adapter must show, registered once per adapter by
 * `PresenceStore.test.ts`. Real time with short, scaled ttls (test services excluded), so the same suite
 * runs unchanged against Redis, whose clock no TestClock can move. Users and rooms are fresh
 * UUIDs per test, so a shared store cannot leak state between tests or parallel files; `sweep`
 * results are filtered to the test's own users for the same reason.
 */
import { randomUUID } from "node:crypto"
import { expect, layer } from "@effect/vitest"
import { Clock, Duration, Effect } from "effect"
import type { Layer } from "effect"
import { RoomId, UserId } from "@pylon/contracts/Ids"
import { ConnectionId } from "@pylon/contracts/Presence"
import { PresenceStore } from "../src/PresenceStore.ts"
import type { ExpiredPresence } from "../src/PresenceStore.ts"

export const freshUser = () => UserId.make(randomUUID())
export const freshRoom = () => RoomId.make(randomUUID())
export const connection = (label: string) => ConnectionId.make(`${label}-${randomUUID()}`)

const LONG = Duration.minutes(1)

/**
 * The suite runs on real time (Redis has its own clock), so its windows are ×4 the nominal
 * values: a wait that overshoots by a few hundred ms on a loaded machine still lands inside.
 */
const DEFAULT_TIME_SCALE = 4

const sweptFor = (expired: ReadonlyArray<ExpiredPresence>, ...users: ReadonlyArray<UserId>) =>
  expired.filter((e) => users.includes(e.userId))

export const presenceStoreContract = <E>(
  name: string,
  implementation: Layer.Layer<PresenceStore, E>,
  /** Every lease, ttl and wait below is multiplied by this: margins that survive a loaded CI box. */
  timeScale = DEFAULT_TIME_SCALE
): void => {
  const t = (millis: number) => Duration.millis(millis * timeScale)
  layer(implementation, { excludeTestServices: true, timeout: "30 seconds" })(`PresenceStore contract: ${name}`, (it) => {
    it.effect("a user is online while any connection lives: one change up, one change down", () =>
      Effect.gen(function*() {
        const store = yield* PresenceStore
        const alice = freshUser()
        const [phone, laptop] = [connection("phone"), connection("laptop")]
        expect((yield* store.connect(alice, phone, LONG)).changed).toBe(true)
        expect((yield* store.connect(alice, laptop, LONG)).changed).toBe(false)
        // A renewal (heartbeat) of a live lease is not a change either.
        expect((yield* store.connect(alice, phone, LONG)).changed).toBe(false)
        expect((yield* store.presence([alice])).get(alice)).toEqual({ online: true, lastSeenAt: null })

        expect((yield* store.disconnect(alice, phone)).changed).toBe(false)
        expect((yield* store.presence([alice])).get(alice)?.online).toBe(true)

        const before = yield* Clock.currentTimeMillis
        const last = yield* store.disconnect(alice, laptop)
        expect(last.changed).toBe(true)
        const state = (yield* store.presence([alice])).get(alice)
        expect(state?.online).toBe(false)
        expect(state?.lastSeenAt).toBe(last.at)
        expect(Math.abs(last.at - before)).toBeLessThan(2_000)

        // Disconnecting again, or an unknown connection, changes nothing.
        expect((yield* store.disconnect(alice, laptop)).changed).toBe(false)
        expect((yield* store.disconnect(alice, connection("ghost"))).changed).toBe(false)
      }))

    it.effect("answers for every user asked, strangers offline and never seen", () =>
      Effect.gen(function*() {
        const store = yield* PresenceStore
        const [alice, bob, stranger] = [freshUser(), freshUser(), freshUser()]
        yield* store.connect(alice, connection("a"), LONG)
        const bobConnection = connection("b")
        yield* store.connect(bob, bobConnection, LONG)
        yield* store.disconnect(bob, bobConnection)
        const states = yield* store.presence([stranger, alice, bob, alice])
        expect(states.size).toBe(3)
        expect(states.get(alice)).toEqual({ online: true, lastSeenAt: null })
        expect(states.get(bob)?.online).toBe(false)
        expect(states.get(bob)?.lastSeenAt).toBeTypeOf("number")
        expect(states.get(stranger)).toEqual({ online: false, lastSeenAt: null })
        expect((yield* store.presence([])).size).toBe(0)
      }))

    it.effect("coming back online is a change; the store still remembers when the user was last seen", () =>
      Effect.gen(function*() {
        const store = yield* PresenceStore
        const alice = freshUser()
        const tab = connection("tab")
        yield* store.connect(alice, tab, LONG)
        const gone = yield* store.disconnect(alice, tab)
        expect((yield* store.connect(alice, tab, LONG)).changed).toBe(true)
        expect((yield* store.presence([alice])).get(alice)).toEqual({ online: true, lastSeenAt: gone.at })
      }))

    it.effect("a lease that is not renewed expires, and the sweep reports the user exactly once", () =>
      Effect.gen(function*() {
        const store = yield* PresenceStore
        const alice = freshUser()
        const connect = yield* store.connect(alice, connection("dying-node"), t(300))
        expect(connect.changed).toBe(true)
        expect(sweptFor(yield* store.sweep, alice)).toEqual([])
        yield* Effect.sleep(t(450))
        // Offline by lease as soon as it lapsed, before any sweep…
        expect((yield* store.presence([alice])).get(alice)?.online).toBe(false)
        // …and reported by exactly one sweep, last seen when the lease ran out.
        const swept = sweptFor(yield* store.sweep, alice)
        expect(swept).toHaveLength(1)
        expect(swept[0]?.lastSeenAt).toBeGreaterThanOrEqual(connect.at + 300 * timeScale)
        expect(swept[0]?.lastSeenAt).toBeLessThanOrEqual(connect.at + 450 * timeScale)
        expect(sweptFor(yield* store.sweep, alice)).toEqual([])
        expect((yield* store.presence([alice])).get(alice)?.lastSeenAt).toBe(swept[0]?.lastSeenAt)
        // Already reported offline: a late disconnect from the dead node changes nothing.
        expect((yield* store.disconnect(alice, connection("dying-node"))).changed).toBe(false)
      }))

    it.effect("renewed leases keep the user online", () =>
      Effect.gen(function*() {
        const store = yield* PresenceStore
        const alice = freshUser()
        const tab = connection("tab")
        yield* store.connect(alice, tab, t(400))
        for (let i = 0; i < 3; i++) {
          yield* Effect.sleep(t(200))
          expect((yield* store.connect(alice, tab, t(400))).changed).toBe(false)
        }
        expect((yield* store.presence([alice])).get(alice)?.online).toBe(true)
        expect(sweptFor(yield* store.sweep, alice)).toEqual([])
      }))

    it.effect("one lapsed lease does not take a user offline while another lives", () =>
      Effect.gen(function*() {
        const store = yield* PresenceStore
        const alice = freshUser()
        const [dead, alive] = [connection("dead"), connection("alive")]
        yield* store.connect(alice, dead, t(200))
        yield* store.connect(alice, alive, LONG)
        yield* Effect.sleep(t(300))
        expect(sweptFor(yield* store.sweep, alice)).toEqual([])
        expect((yield* store.presence([alice])).get(alice)?.online).toBe(true)
        expect((yield* store.disconnect(alice, alive)).changed).toBe(true)
      }))

    it.effect("the sweep tracks the latest lease, also after a shorter renewal", () =>
      Effect.gen(function*() {
        const store = yield* PresenceStore
        const alice = freshUser()
        const [first, second] = [connection("first"), connection("second")]
        yield* store.connect(alice, first, t(250))
        yield* store.connect(alice, second, t(700))
        yield* store.connect(alice, first, t(250))
        yield* Effect.sleep(t(400))
        expect(sweptFor(yield* store.sweep, alice)).toEqual([])
        expect((yield* store.presence([alice])).get(alice)?.online).toBe(true)
        yield* Effect.sleep(t(450))
        expect(sweptFor(yield* store.sweep, alice)).toHaveLength(1)
      }))

    it.effect("a user who reconnects before the sweep is never reported offline", () =>
      Effect.gen(function*() {
        const store = yield* PresenceStore
        const alice = freshUser()
        yield* store.connect(alice, connection("old-node"), t(200))
        yield* Effect.sleep(t(300))
        // Still reported online (no sweep yet), so coming back is no change and nothing flaps.
        expect((yield* store.connect(alice, connection("new-node"), LONG)).changed).toBe(false)
        expect(sweptFor(yield* store.sweep, alice)).toEqual([])
        expect((yield* store.presence([alice])).get(alice)?.online).toBe(true)
      }))

    it.effect("concurrent connects and disconnects report exactly one change each way", () =>
      Effect.gen(function*() {
        const store = yield* PresenceStore
        const alice = freshUser()
        const connections = Array.from({ length: 20 }, (_, i) => connection(`c${i}`))
        const ups = yield* Effect.forEach(connections, (c) => store.connect(alice, c, LONG), { concurrency: "unbounded" })
        expect(ups.filter((t) => t.changed)).toHaveLength(1)
        const downs = yield* Effect.forEach(connections, (c) => store.disconnect(alice, c), {
          concurrency: "unbounded"
        })
        expect(downs.filter((t) => t.changed)).toHaveLength(1)
      }))

    it.effect("concurrent sweeps report each expired user once between them", () =>
      Effect.gen(function*() {
        const store = yield* PresenceStore
        const users = Array.from({ length: 30 }, freshUser)
        yield* Effect.forEach(users, (u) => store.connect(u, connection("n"), t(150)), { concurrency: 10 })
        yield* Effect.sleep(t(250))
        const sweeps = yield* Effect.all([store.sweep, store.sweep, store.sweep], { concurrency: "unbounded" })
        const reported = sweeps.flatMap((s) => sweptFor(s, ...users).map((e) => e.userId))
        expect(reported.toSorted()).toEqual(users.toSorted())
      }))

    it.effect("onlineCount counts users reported online, once each however many connections", () =>
      Effect.gen(function*() {
        const store = yield* PresenceStore
        const [alice, bob] = [freshUser(), freshUser()]
        const [phone, laptop, desk] = [connection("phone"), connection("laptop"), connection("desk")]
        // The store may be shared with earlier tests of this file (never with other files): deltas.
        const before = yield* store.onlineCount
        yield* store.connect(alice, phone, LONG)
        yield* store.connect(alice, laptop, LONG)
        yield* store.connect(bob, desk, LONG)
        expect((yield* store.onlineCount) - before).toBe(2)
        yield* store.disconnect(alice, phone)
        expect((yield* store.onlineCount) - before).toBe(2)
        yield* store.disconnect(alice, laptop)
        expect((yield* store.onlineCount) - before).toBe(1)
        yield* store.disconnect(bob, desk)
        expect(yield* store.onlineCount).toBe(before)
      }))

    it.effect("typing marks are per room and expire after their ttl", () =>
      Effect.gen(function*() {
        const store = yield* PresenceStore
        const [room, other] = [freshRoom(), freshRoom()]
        const [alice, bob] = [freshUser(), freshUser()]
        expect(yield* store.typingIn(room)).toEqual([])
        yield* store.typing(room, alice, t(300))
        yield* store.typing(room, bob, t(900))
        expect((yield* store.typingIn(room)).toSorted()).toEqual([alice, bob].toSorted())
        expect(yield* store.typingIn(other)).toEqual([])
        // A new `typing` renews the mark: alice's first one would have lapsed at 300 ms.
        yield* Effect.sleep(t(200))
        yield* store.typing(room, alice, t(400))
        yield* Effect.sleep(t(250))
        expect((yield* store.typingIn(room)).toSorted()).toEqual([alice, bob].toSorted())
        yield* Effect.sleep(t(300))
        expect(yield* store.typingIn(room)).toEqual([bob])
        yield* Effect.sleep(t(300))
        expect(yield* store.typingIn(room)).toEqual([])
      }))
  })
}
