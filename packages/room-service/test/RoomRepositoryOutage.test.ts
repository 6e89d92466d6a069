/**
 * The repository convention (issue #13 item 5) against a real outage: `PgRoomRepository` maps
 * an unreachable PostgreSQL to the domain's `Unavailable` at its edge, so every `RoomService`
 * call fails with that typed error (never a defect, never `SqlError`) while the database is cut
 * off, and works again once it is back.
 */
import { randomBytes } from "node:crypto"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer, Schedule } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import { RoomId, UserId } from "@pylon/contracts/Ids"
import { newId } from "@pylon/platform/runtime/IdGenerator"
import { DatabaseProxy, ProxiedDatabase } from "@pylon/testkit/ProxiedDatabase"
import { TestDatabase } from "@pylon/testkit/TestDatabase"
import { PgRoomRepository } from "../src/PgRoomRepository.ts"
import { RoomService } from "../src/RoomService.ts"

// The service runs on the proxied client; the fixture user is written with the direct one.
const TestLayer = Layer.mergeAll(
  RoomService.layer.pipe(Layer.provide(PgRoomRepository), Layer.provide(ProxiedDatabase)),
  ProxiedDatabase
).pipe(Layer.provideMerge(TestDatabase))

const createUser = Effect.gen(function*() {
  const sql = yield* SqlClient
  const id = UserId.make(yield* newId)
  const name = `outage_${randomBytes(4).toString("hex")}`
  yield* sql`INSERT INTO users (id, username, email, password_hash) VALUES (${id}, ${name}, ${`${name}@example.com`}, 'x')`
  return id
})

layer(TestLayer, { excludeTestServices: true, timeout: "120 seconds" })("RoomService during a database outage", (it) => {
  it.effect("every call fails with Unavailable while PostgreSQL is unreachable, and works once it is back", () =>
    Effect.gen(function*() {
      const rooms = yield* RoomService
      const proxy = yield* DatabaseProxy
      const alice = yield* createUser
      const { room } = yield* rooms.create(alice, { name: "before", type: "group", member_ids: [] })

      yield* proxy.block("refuse")
      const failures = [
        yield* Effect.flip(rooms.list(alice)),
        yield* Effect.flip(rooms.get(alice, room.id)),
        yield* Effect.flip(rooms.members(alice, room.id)),
        yield* Effect.flip(rooms.create(alice, { name: "during", type: "group", member_ids: [] })),
        yield* Effect.flip(rooms.listChannels({ q: "x", limit: 10 })),
        yield* Effect.flip(rooms.leave(alice, RoomId.make(yield* newId)))
      ]
      for (const failure of failures) expect(failure._tag).toBe("Unavailable")

      yield* proxy.unblock
      // The pool reconnects on demand; a loaded machine may need a few attempts.
      const listed = yield* rooms.list(alice).pipe(
        Effect.retry(Schedule.spaced("200 millis").pipe(Schedule.upTo({ times: 100 })))
      )
      expect(listed.map((r) => r.id)).toContain(room.id)
    }))
})
