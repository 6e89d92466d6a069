/**
 * The `NotificationRpcs` group over its real handlers, domain and PostgreSQL repository (a fresh
 * database), called in process exactly as the gateway calls it: keyset pages newest first with
 * `unread_count` and `next_cursor` (ties on `created_at` broken by id), `unread_only`, the cursor
 * rejected when forged, owner-only `MarkAsRead`, `MarkAllRead`, and `SendNotification`
 * idempotent per (user, message) and announced live once.
 */
import { randomUUID } from "node:crypto"
import { describe, expect, layer } from "@effect/vitest"
import { Context, Effect, Layer, Schema, Stream } from "effect"
import type { RpcClient, RpcClientError } from "effect/rpc"
import { SqlClient } from "effect/sql/SqlClient"
import { MessageId, NotificationId } from "@pylon/contracts/Ids"
import { NotificationRpcs } from "@pylon/contracts/NotificationRpcs"
import type { Notification } from "@pylon/contracts/Notifications"
import { NotificationFrame } from "@pylon/contracts/WsFrames"
import { newId } from "@pylon/platform/runtime/IdGenerator"
import { inProcessClientLayer } from "@pylon/platform/rpc/InternalRpc"
import * as MemoryRealtimeBus from "@pylon/platform/bus/MemoryRealtimeBus"
import { RealtimeBus } from "@pylon/platform/bus/RealtimeBus"
import { userChannel } from "@pylon/platform/bus/Channels"
import { TestDatabase } from "@pylon/testkit/TestDatabase"
import { NotificationHandlersLive } from "../src/NotificationHandlers.ts"
import { NotificationServiceLive } from "../src/NotificationServiceApp.ts"
import { eventually } from "./support/Eventually.ts"
import type { TestUser } from "./support/NotificationFixtures.ts"
import { createRoom, createUser } from "./support/NotificationFixtures.ts"

class Notifications extends Context.Service<
  Notifications,
  RpcClient.FromGroup<typeof NotificationRpcs, RpcClientError.RpcClientError>
>()("pylon/notification/test/Notifications") {}

const TestLive = inProcessClientLayer(Notifications, NotificationRpcs).pipe(
  Layer.provide(NotificationHandlersLive),
  Layer.provide(NotificationServiceLive),
  Layer.provideMerge(MemoryRealtimeBus.layer),
  Layer.provideMerge(TestDatabase)
)

/**
 * Inserts `count` notifications for `user` directly: the first `sameInstant` of them share one
 * `created_at` (the tie case), the rest one millisecond apart.
 */
const seed = Effect.fn("test.seed")(function*(user: TestUser, roomId: string, count: number, sameInstant = 0) {
  const sql = yield* SqlClient
  const ids: Array<string> = []
  for (let i = 0; i < count; i++) {
    const id = yield* newId
    const offset = i < sameInstant ? 0 : i
    yield* sql`
      INSERT INTO notifications (id, user_id, type, title, body, room_id, message_id, created_at)
      VALUES (${id}, ${user.id}, 'message', ${`title ${i}`}, ${`body ${i}`}, ${roomId}, ${yield* newId},
              timestamptz '2026-01-01 00:00:00+00' + ${offset}::int * interval '1 millisecond')`
    ids.push(id)
  }
  return ids
})

/** Walks every page; returns the notifications in order and the pages' sizes. */
const allPages = (user: TestUser, limit: number, unreadOnly = false) =>
  Effect.gen(function*() {
    const client = yield* Notifications
    const seen: Array<Notification> = []
    const sizes: Array<number> = []
    let cursor: string | undefined
    for (let page = 0; page < 100; page++) {
      const result = yield* client.GetNotifications({
        user_id: user.id,
        limit,
        unread_only: unreadOnly,
        ...(cursor === undefined ? {} : { cursor })
      })
      seen.push(...result.notifications)
      sizes.push(result.notifications.length)
      if (result.next_cursor === null) break
      cursor = result.next_cursor
    }
    return { seen, sizes }
  })

const isNewestFirst = (list: ReadonlyArray<Notification>) =>
  list.every((n, i) => {
    const previous = list[i - 1]
    return previous === undefined || previous.created_at.epochMilliseconds >= n.created_at.epochMilliseconds
  })

layer(TestLive, { excludeTestServices: true, timeout: "60 seconds" })("NotificationRpcs", (it) => {
  describe("GetNotifications", () => {
    it.effect("pages newest first by keyset, ties broken by id, nothing twice or missing", () =>
      Effect.gen(function*() {
        const [alice, bob] = yield* Effect.all([createUser("alice"), createUser("bob")])
        const room = yield* createRoom("group", alice, [bob])
        // 45 in all, 7 of them created at the very same instant.
        const ids = yield* seed(bob, room, 45, 7)
        const { seen, sizes } = yield* allPages(bob, 20)
        expect(sizes).toEqual([20, 20, 5])
        expect(new Set(seen.map((n) => n.id)).size).toBe(45)
        expect(seen.map((n) => n.id).sort()).toEqual([...ids].sort())
        expect(isNewestFirst(seen)).toBe(true)
        const client = yield* Notifications
        const first = yield* client.GetNotifications({ user_id: bob.id, limit: 20, unread_only: false })
        expect(first.unread_count).toBe(45)
        expect(first.next_cursor).toMatch(/^[A-Za-z0-9._~=-]{1,512}$/)
        const exact = yield* client.GetNotifications({ user_id: bob.id, limit: 45, unread_only: false })
        expect(exact.notifications).toHaveLength(45)
        expect(exact.next_cursor).toBeNull()
        const none = yield* client.GetNotifications({ user_id: alice.id, limit: 20, unread_only: false })
        expect(none).toEqual({ notifications: [], unread_count: 0, next_cursor: null })
      }))

    it.effect("rows created in the same transaction (same created_at) page without loss", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient
        const [alice, carol] = yield* Effect.all([createUser("alice"), createUser("carol")])
        const room = yield* createRoom("group", alice, [carol])
        const ids = yield* Effect.forEach(Array.from({ length: 9 }), () => newId)
        yield* sql.withTransaction(Effect.forEach(ids, (id) =>
          sql`INSERT INTO notifications (id, user_id, type, title, body, room_id, message_id)
              VALUES (${id}, ${carol.id}, 'mention', 't', 'b', ${room}, NULL)`, { discard: true }))
        const { seen, sizes } = yield* allPages(carol, 4)
        expect(sizes).toEqual([4, 4, 1])
        expect(seen.map((n) => n.id)).toEqual([...ids].sort().reverse())
      }))

    it.effect("unread_only lists unread ones; unread_count follows read marks", () =>
      Effect.gen(function*() {
        const client = yield* Notifications
        const [alice, dave] = yield* Effect.all([createUser("alice"), createUser("dave")])
        const room = yield* createRoom("group", alice, [dave])
        const ids = yield* seed(dave, room, 6)
        const [a, b] = ids
        if (a === undefined || b === undefined) return
        yield* client.MarkAsRead({ user_id: dave.id, notification_id: NotificationId.make(a) })
        yield* client.MarkAsRead({ user_id: dave.id, notification_id: NotificationId.make(b) })
        // Marking again is fine.
        yield* client.MarkAsRead({ user_id: dave.id, notification_id: NotificationId.make(b) })
        const unread = yield* allPages(dave, 2, true)
        expect(unread.seen.map((n) => n.id).sort()).toEqual(ids.slice(2).sort())
        expect(unread.seen.every((n) => !n.read)).toBe(true)
        const everything = yield* client.GetNotifications({ user_id: dave.id, limit: 10, unread_only: false })
        expect(everything.unread_count).toBe(4)
        expect(everything.notifications.filter((n) => n.read).map((n) => n.id).sort()).toEqual([a, b].sort())
      }))

    it.effect("a forged or foreign cursor is BadRequest", () =>
      Effect.gen(function*() {
        const client = yield* Notifications
        const eve = yield* createUser("eve")
        for (const cursor of ["not-a-cursor", Buffer.from("2026-02-30T00:00:00.000000Z|x").toString("base64url"),
          Buffer.from(`2026-02-30T00:00:00.000000Z|${randomUUID()}`).toString("base64url")])
        {
          const error = yield* client.GetNotifications({ user_id: eve.id, limit: 5, unread_only: false, cursor }).pipe(Effect.flip)
          expect(error._tag).toBe("BadRequest")
        }
        const valid = Buffer.from(`2026-01-01T00:00:00.000000Z|${randomUUID()}`).toString("base64url")
        const page = yield* client.GetNotifications({ user_id: eve.id, limit: 5, unread_only: false, cursor: valid })
        expect(page.notifications).toEqual([])
      }))
  })

  describe("read marks", () => {
    it.effect("MarkAsRead is owner-only: someone else's or an unknown id is NotificationNotFound", () =>
      Effect.gen(function*() {
        const client = yield* Notifications
        const [alice, bob, mallory] = yield* Effect.all([createUser("alice"), createUser("bob"), createUser("mallory")])
        const room = yield* createRoom("group", alice, [bob])
        const [id] = yield* seed(bob, room, 1)
        if (id === undefined) return
        const foreign = yield* client.MarkAsRead({ user_id: mallory.id, notification_id: NotificationId.make(id) }).pipe(Effect.flip)
        expect(foreign).toMatchObject({ _tag: "NotificationNotFound", notification_id: id })
        const unknown = yield* client.MarkAsRead({ user_id: bob.id, notification_id: NotificationId.make(randomUUID()) }).pipe(Effect.flip)
        expect(unknown._tag).toBe("NotificationNotFound")
        const page = yield* client.GetNotifications({ user_id: bob.id, limit: 5, unread_only: false })
        expect(page.notifications[0]?.read).toBe(false)
        yield* client.MarkAsRead({ user_id: bob.id, notification_id: NotificationId.make(id) })
        expect((yield* client.GetNotifications({ user_id: bob.id, limit: 5, unread_only: false })).unread_count).toBe(0)
      }))

    it.effect("MarkAllRead marks only the caller's unread ones and says how many", () =>
      Effect.gen(function*() {
        const client = yield* Notifications
        const [alice, bob, carol] = yield* Effect.all([createUser("alice"), createUser("bob"), createUser("carol")])
        const room = yield* createRoom("group", alice, [bob, carol])
        const [first] = yield* seed(bob, room, 5)
        yield* seed(carol, room, 3)
        if (first === undefined) return
        yield* client.MarkAsRead({ user_id: bob.id, notification_id: NotificationId.make(first) })
        expect(yield* client.MarkAllRead({ user_id: bob.id })).toEqual({ updated: 4 })
        expect(yield* client.MarkAllRead({ user_id: bob.id })).toEqual({ updated: 0 })
        expect((yield* client.GetNotifications({ user_id: bob.id, limit: 10, unread_only: true })).notifications).toEqual([])
        expect((yield* client.GetNotifications({ user_id: carol.id, limit: 10, unread_only: false })).unread_count).toBe(3)
      }))
  })

  describe("SendNotification", () => {
    it.effect("stores once per (user, message), returns the stored one, and announces it live once", () =>
      Effect.gen(function*() {
        const client = yield* Notifications
        const bus = yield* RealtimeBus
        const [alice, bob] = yield* Effect.all([createUser("alice"), createUser("bob")])
        const room = yield* createRoom("group", alice, [bob])
        const frames: Array<NotificationFrame> = []
        const decode = Schema.decodeUnknownSync(Schema.fromJsonString(NotificationFrame))
        const stream = yield* bus.subscribe(userChannel(bob.id))
        yield* Stream.runForEach(stream, (event) =>
          Effect.sync(() => {
            if (event._tag === "Message") frames.push(decode(event.payload))
          })).pipe(Effect.forkScoped)

        const payload = {
          user_id: bob.id,
          type: "invite" as const,
          title: "alice invited you",
          body: "join us",
          room_id: room,
          message_id: MessageId.make(randomUUID())
        }
        const first = yield* client.SendNotification(payload)
        const again = yield* client.SendNotification({ ...payload, title: "changed" })
        expect(again).toEqual(first)
        expect(first).toMatchObject({ type: "invite", title: "alice invited you", body: "join us", room_id: room, read: false })
        // Not about a message: every send is a new notification.
        const a = yield* client.SendNotification({ ...payload, message_id: null })
        const b = yield* client.SendNotification({ ...payload, message_id: null })
        expect(a.id).not.toBe(b.id)
        expect(a.message_id).toBeNull()

        yield* eventually("3 frames", Effect.sync(() => frames.length), (n) => n >= 3)
        yield* Effect.sleep("200 millis")
        expect(frames.map((f) => f.notification.id)).toEqual([first.id, a.id, b.id])
        expect(frames[0]?.notification).toEqual(first)
      }))
  })
})
