/**
 * `pylon_messages_sent_total{room_type, message_type}` counts each new message by the type of
 * its room, as the send statement (`PgSendBatch.ts`) read it from the room's row: direct, group
 * and channel rooms each get their own series (never `"all"`), a `client_msg_id` retry counts
 * nothing. Run on the real PostgreSQL and on PGlite (embedded mode's database), through the
 * same `ChatService` and repository.
 */
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer, Metric } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import { ClientMsgId } from "@pylon/contracts/Ids"
import type { RoomId, UserId } from "@pylon/contracts/Ids"
import type { MsgType } from "@pylon/contracts/Messages"
import type { RoomType } from "@pylon/contracts/Rooms"
import { messagesSent } from "@pylon/platform/observability/OriginalMetrics"
import { embeddedDatabaseLayer } from "@pylon/platform/sql/EmbeddedPostgres"
import { migrationsLayer } from "@pylon/platform/sql/Migrations"
import { createRoom, createUser } from "@pylon/testkit/ChatFixtures"
import { TestDatabase } from "@pylon/testkit/TestDatabase"
import { ChatService } from "../src/ChatService.ts"
import { PgMessageRepository } from "../src/PgMessageRepository.ts"

const chatOn = <E, R>(database: Layer.Layer<SqlClient, E, R>) =>
  ChatService.layer.pipe(Layer.provide(PgMessageRepository), Layer.provideMerge(database))

/** A migrated PGlite in a temporary directory (removed afterwards), as `pylon dev` runs it. */
const EmbeddedDatabase = Layer.unwrap(Effect.gen(function*() {
  const dataDir = yield* Effect.acquireRelease(
    Effect.promise(() => mkdtemp(join(tmpdir(), "pylon-messages-sent-pglite-"))),
    (directory) => Effect.promise(() => rm(directory, { recursive: true, force: true }))
  )
  return migrationsLayer().pipe(Layer.provideMerge(embeddedDatabaseLayer({ dataDir })))
}))

const LABELS = ["direct", "group", "channel", "all"] as const

/** The counter's value per room_type for `message_type` (the process-wide registry). */
const sentByRoomType = (message_type: MsgType) =>
  Effect.gen(function*() {
    const counts: Record<string, number> = {}
    for (const room_type of LABELS) {
      const state = yield* Metric.value(Metric.withAttributes(messagesSent, { room_type, message_type }))
      counts[room_type] = Number(state.count)
    }
    return counts
  })

/** A room of `type` owned by `owner` with `other` as member (a direct room gets its pair key). */
const roomOfType = Effect.fn("test.roomOfType")(function*(type: RoomType, owner: UserId, other: UserId) {
  const sql = yield* SqlClient
  const room = yield* createRoom(owner, [other])
  const directKey = type === "direct" ? [owner, other].map((id) => id.toLowerCase()).sort().join(":") : null
  yield* sql`UPDATE rooms SET type = ${type}, direct_key = ${directKey} WHERE id = ${room}`
  return room
})

const scenario = Effect.gen(function*() {
  const chat = yield* ChatService
  const alice = yield* createUser("alice")
  const bob = yield* createUser("bob")
  const rooms: Record<RoomType, RoomId> = {
    direct: yield* roomOfType("direct", alice.id, bob.id),
    group: yield* roomOfType("group", alice.id, bob.id),
    channel: yield* roomOfType("channel", alice.id, bob.id)
  }
  const send = (room_id: RoomId, msg_type: MsgType, content: string, key: string | null = null) =>
    chat.send({
      user_id: bob.id,
      room_id,
      content,
      msg_type,
      client_msg_id: key === null ? null : ClientMsgId.make(key)
    })

  const textBefore = yield* sentByRoomType("text")
  const imageBefore = yield* sentByRoomType("image")
  yield* send(rooms.direct, "text", "d1")
  // Concurrent sends to one room are stored by one batch statement: each still counts once.
  yield* Effect.forEach(["g1", "g2", "g3"], (content) => send(rooms.group, "text", content), { concurrency: "unbounded" })
  const first = yield* send(rooms.channel, "text", "c1", "key-1")
  yield* send(rooms.channel, "image", "c2")
  const retry = yield* send(rooms.channel, "text", "c1", "key-1")
  const textAfter = yield* sentByRoomType("text")
  const imageAfter = yield* sentByRoomType("image")

  expect([first.created, retry.created]).toEqual([true, false])
  // The contract's result only: the room type is the metric's, not the wire's.
  expect(Object.keys(retry).sort()).toEqual(["created", "message"])
  const delta = (after: Record<string, number>, before: Record<string, number>) =>
    Object.fromEntries(LABELS.map((label) => [label, (after[label] ?? 0) - (before[label] ?? 0)]))
  expect(delta(textAfter, textBefore)).toEqual({ direct: 1, group: 3, channel: 1, all: 0 })
  expect(delta(imageAfter, imageBefore)).toEqual({ direct: 0, group: 0, channel: 1, all: 0 })
})

const countsByRoomType = <E>(database: string, live: Layer.Layer<SqlClient, E>) =>
  layer(chatOn(live), { excludeTestServices: true, timeout: "120 seconds" })(
    `pylon_messages_sent_total on ${database}`,
    (it) => {
      describe("room_type", () => {
        it.effect("is the room's type (direct, group, channel) for each new message; a retry counts nothing", () =>
          scenario)
      })
    }
  )

countsByRoomType("PostgreSQL", TestDatabase)
countsByRoomType("PGlite (embedded mode)", EmbeddedDatabase)
