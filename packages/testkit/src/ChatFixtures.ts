/**
 * Test fixtures for the chat service: users, rooms and memberships written with plain SQL
 * (the room service is not a dependency of these tests), a `ChatRpcs` client tag, and the
 * in-process client over the real handlers and PostgreSQL repository on a fresh database.
 */
import { Context, Effect, Layer, Schema } from "effect"
import type { RpcClient, RpcClientError } from "effect/rpc"
import { SqlClient } from "effect/sql/SqlClient"
import { ChatRpcs } from "@pylon/contracts/ChatRpcs"
import { RoomId, UserId } from "@pylon/contracts/Ids"
import { newId } from "@pylon/platform/runtime/IdGenerator"
import { inProcessClientLayer } from "@pylon/platform/rpc/InternalRpc"
import { TestDatabase } from "./TestDatabase.ts"
import { ChatHandlersLive } from "@pylon/chat-service/ChatHandlers"
import { ChatServiceLive } from "@pylon/chat-service/ChatServiceApp"

export class ChatClient extends Context.Service<
  ChatClient,
  RpcClient.FromGroup<typeof ChatRpcs, RpcClientError.RpcClientError>
>()("pylon/chat/test/ChatClient") {}

/** `ChatClient` answered in-process by the real handlers, plus `SqlClient` of the test database. */
export const ChatTestLive = inProcessClientLayer(ChatClient, ChatRpcs).pipe(
  Layer.provide(ChatHandlersLive),
  Layer.provide(ChatServiceLive),
  Layer.provideMerge(TestDatabase)
)

export interface TestUser {
  readonly id: UserId
  readonly username: string
  readonly display_name: string
}

/** A user row (no password that works: these tests never log in). */
export const createUser = Effect.fn("test.createUser")(function*(tag = "u") {
  const sql = yield* SqlClient
  const id = UserId.make(yield* newId)
  const username = `${tag}_${id.slice(-12)}`
  const display_name = `User ${tag}`
  yield* sql`INSERT INTO users (id, username, email, password_hash, display_name)
             VALUES (${id}, ${username}, ${`${username}@example.com`}, 'not-a-hash', ${display_name})`
  return { id, username, display_name }
})

/** A `group` room owned by `owner` with `members` (owner included automatically). */
export const createRoom = Effect.fn("test.createRoom")(function*(owner: UserId, members: ReadonlyArray<UserId> = []) {
  const sql = yield* SqlClient
  const id = RoomId.make(yield* newId)
  yield* sql`INSERT INTO rooms (id, name, type, created_by) VALUES (${id}, 'test room', 'group', ${owner})`
  yield* sql`INSERT INTO room_members (room_id, user_id, role) VALUES (${id}, ${owner}, 'owner')`
  for (const member of members) {
    yield* sql`INSERT INTO room_members (room_id, user_id, role) VALUES (${id}, ${member}, 'member')`
  }
  return id
})

const CountRow = Schema.Struct({ n: Schema.Int })
const decodeCount = Schema.decodeUnknownEffect(Schema.Array(CountRow))

/** `SELECT count(*)` of a query's rows, as a number. */
export const countRows = (query: (sql: SqlClient) => Effect.Effect<ReadonlyArray<unknown>, unknown>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient
    const rows = yield* Effect.orDie(query(sql).pipe(Effect.flatMap(decodeCount)))
    return rows[0]?.n ?? 0
  })

export const messageCount = (room_id: RoomId) =>
  countRows((sql) => sql`SELECT count(*)::int AS n FROM messages WHERE room_id = ${room_id}`)

export const outboxCount = (room_id: RoomId) =>
  countRows((sql) => sql`SELECT count(*)::int AS n FROM outbox WHERE aggregate_key = ${room_id}`)

export const lastSeqOf = (room_id: RoomId) =>
  countRows((sql) => sql`SELECT last_seq::int AS n FROM rooms WHERE id = ${room_id}`)
