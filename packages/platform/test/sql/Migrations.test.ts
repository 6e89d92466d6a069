// Migrations against a real PostgreSQL (a fresh database for this file), the schema's
// constraints, the value types the native client returns, and the statement splitter.
import { describe, expect, it, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Exit, Layer, Predicate } from "effect"
import { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import { randomUUID } from "node:crypto"
import { readdirSync, readFileSync } from "node:fs"
import { defaultMigrationsDirectory, runMigrations } from "../../src/sql/Migrations.ts"
import { splitStatements } from "../../src/sql/SqlStatements.ts"
import { TestDatabase } from "@pylon/testkit/TestDatabase"

const migrationFiles = readdirSync(defaultMigrationsDirectory)
  .filter((file) => /^\d+_.+\.sql$/.test(file))
  .sort()
  .map((file) => file.replace(/\.sql$/, "").replace(/^0+/, ""))

/** The constraint a failed statement violated, whatever kind of violation it was. */
const violatedConstraint = (error: SqlError): string | undefined => {
  if (error.reason._tag === "UniqueViolation") return error.reason.constraint
  const cause = error.reason.cause
  return Predicate.hasProperty(cause, "constraint") && Predicate.isString(cause.constraint)
    ? cause.constraint
    : undefined
}

/** Runs `statement`, expecting it to fail on `constraint`, and returns the reason's tag. */
const rejectedBy = <A, R>(statement: Effect.Effect<A, SqlError, R>, constraint: string) =>
  Effect.gen(function*() {
    const error = yield* Effect.flip(statement)
    expect(violatedConstraint(error)).toBe(constraint)
    return error.reason._tag
  })

const insertUser = Effect.fnUntraced(function*(username: string, email = `${username.toLowerCase()}@example.com`) {
  const sql = yield* SqlClient.SqlClient
  const id = randomUUID()
  yield* sql`INSERT INTO users (id, username, email, password_hash) VALUES (${id}, ${username}, ${email}, 'hash')`
  return id
})

const insertRoom = Effect.fnUntraced(function*(createdBy: string, options?: {
  readonly type?: string
  readonly directKey?: string | null
}) {
  const sql = yield* SqlClient.SqlClient
  const id = randomUUID()
  yield* sql`INSERT INTO rooms (id, name, type, created_by, direct_key)
    VALUES (${id}, 'room', ${options?.type ?? "group"}, ${createdBy}, ${options?.directKey ?? null})`
  return id
})

const insertMessage = Effect.fnUntraced(function*(roomId: string, senderId: string, seq: number, content: string, clientMsgId: string | null = null) {
  const sql = yield* SqlClient.SqlClient
  const id = randomUUID()
  yield* sql`INSERT INTO messages (id, room_id, seq, sender_id, client_msg_id, content)
    VALUES (${id}, ${roomId}, ${seq}, ${senderId}, ${clientMsgId}, ${content})`
  return id
})

layer(TestDatabase, { timeout: "60 seconds", excludeTestServices: true })("migrations on PostgreSQL", (it) => {
  it.effect("applies every migration file to a fresh database", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const applied = yield* sql<{ readonly migration_id: number; readonly name: string }>`
        SELECT migration_id, name FROM effect_sql_migrations ORDER BY migration_id`
      expect(applied.map((row) => `${row.migration_id}_${row.name}`)).toEqual(migrationFiles)
      const tables = yield* sql<{ readonly table_name: string }>`
        SELECT table_name FROM information_schema.tables
        WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`
      expect(tables.map((row) => row.table_name)).toEqual([
        "effect_sql_migrations",
        "messages",
        "notifications",
        "outbox",
        "refresh_tokens",
        "room_members",
        "rooms",
        "users"
      ])
    }))

  it.effect("re-running applies nothing new", () =>
    Effect.gen(function*() {
      expect(yield* runMigrations()).toEqual([])
      expect(yield* runMigrations()).toEqual([])
    }))

  it.effect("usernames and emails are unique case-insensitively", () =>
    Effect.gen(function*() {
      yield* insertUser("Alice", "alice@example.com")
      expect(yield* rejectedBy(insertUser("aLICE", "other@example.com"), "users_username_lower_key"))
        .toBe("UniqueViolation")
      expect(yield* rejectedBy(insertUser("alice2", "alice@example.com"), "users_email_lower_key"))
        .toBe("UniqueViolation")
      // Emails are stored lower-case, so a mixed-case one is a bug in the caller.
      expect(yield* rejectedBy(insertUser("alice3", "Alice3@Example.com"), "users_email_format"))
        .toBe("ConstraintError")
      expect(yield* rejectedBy(insertUser("a b"), "users_username_format")).toBe("ConstraintError")
    }))

  it.effect("updated_at follows updates", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const id = yield* insertUser("updater")
      yield* sql`UPDATE users SET created_at = created_at - interval '1 hour', updated_at = updated_at - interval '1 hour' WHERE id = ${id}`
      const [row] = yield* sql<{ readonly created_at: Date; readonly updated_at: Date }>`
        SELECT created_at, updated_at FROM users WHERE id = ${id}`
      expect(row).toBeDefined()
      expect(row?.updated_at.getTime()).toBeGreaterThan(row?.created_at.getTime() ?? Infinity)
    }))

  it.effect("a room's seq is unique", () =>
    Effect.gen(function*() {
      const user = yield* insertUser("seqer")
      const room = yield* insertRoom(user)
      yield* insertMessage(room, user, 1, "first")
      expect(yield* rejectedBy(insertMessage(room, user, 1, "again"), "messages_room_id_seq_key"))
        .toBe("UniqueViolation")
      expect(yield* rejectedBy(insertMessage(room, user, 0, "zero"), "messages_seq_positive"))
        .toBe("ConstraintError")
      // The same seq in another room is fine.
      yield* insertMessage(yield* insertRoom(user), user, 1, "first elsewhere")
    }))

  it.effect("client_msg_id is unique per sender within a room", () =>
    Effect.gen(function*() {
      const alice = yield* insertUser("idem_alice")
      const bob = yield* insertUser("idem_bob")
      const room = yield* insertRoom(alice)
      yield* insertMessage(room, alice, 1, "hi", "c-1")
      expect(yield* rejectedBy(insertMessage(room, alice, 2, "hi", "c-1"), "messages_room_sender_client_msg_id_key"))
        .toBe("UniqueViolation")
      yield* insertMessage(room, bob, 2, "hi", "c-1")
      // The same key in another room is another message (it was a cross-room replay before 0007).
      yield* insertMessage(yield* insertRoom(alice), alice, 1, "elsewhere", "c-1")
      yield* insertMessage(room, alice, 3, "no id")
      yield* insertMessage(room, alice, 4, "no id either")
      expect(yield* rejectedBy(insertMessage(room, alice, 5, "long", "x".repeat(65)), "messages_client_msg_id_length"))
        .toBe("ConstraintError")
    }))

  it.effect("a pair of users has at most one direct room", () =>
    Effect.gen(function*() {
      const alice = yield* insertUser("direct_alice")
      const bob = yield* insertUser("direct_bob")
      const [low, high] = [alice, bob].sort()
      const directKey = `${low}:${high}`
      yield* insertRoom(alice, { type: "direct", directKey })
      expect(yield* rejectedBy(insertRoom(bob, { type: "direct", directKey }), "rooms_direct_key_key"))
        .toBe("UniqueViolation")
      expect(yield* rejectedBy(insertRoom(bob, { type: "direct", directKey: `${high}:${low}` }), "rooms_direct_key_format"))
        .toBe("ConstraintError")
      expect(yield* rejectedBy(insertRoom(alice, { type: "direct" }), "rooms_direct_key_iff_direct"))
        .toBe("ConstraintError")
      expect(yield* rejectedBy(insertRoom(alice, { type: "group", directKey: `${low}:${high}` }), "rooms_direct_key_iff_direct"))
        .toBe("ConstraintError")
      expect(yield* rejectedBy(insertRoom(alice, { type: "lobby" }), "rooms_type_valid")).toBe("ConstraintError")
    }))

  it.effect("message content is 1 to 10,000 characters", () =>
    Effect.gen(function*() {
      const user = yield* insertUser("writer")
      const room = yield* insertRoom(user)
      expect(yield* rejectedBy(insertMessage(room, user, 1, ""), "messages_content_length")).toBe("ConstraintError")
      expect(yield* rejectedBy(insertMessage(room, user, 1, "x".repeat(10_001)), "messages_content_length"))
        .toBe("ConstraintError")
      yield* insertMessage(room, user, 1, "x".repeat(10_000))
      // Characters, not bytes: 10,000 four-byte emoji fit.
      yield* insertMessage(room, user, 2, "😀".repeat(10_000))
    }))

  it.effect("deleting a user cascades to their tokens, memberships and notifications", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const owner = yield* insertUser("cascade_owner")
      const member = yield* insertUser("cascade_member")
      const room = yield* insertRoom(owner)
      yield* sql`INSERT INTO room_members (room_id, user_id, role) VALUES (${room}, ${member}, 'member')`
      yield* sql`INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, expires_at)
        VALUES (${randomUUID()}, ${member}, ${randomUUID()}, ${"a".repeat(64)}, now() + interval '7 days')`
      yield* sql`INSERT INTO notifications (id, user_id, type, title, body)
        VALUES (${randomUUID()}, ${member}, 'invite', 'Invited', 'to room')`
      yield* sql`DELETE FROM users WHERE id = ${member}`
      const [counts] = yield* sql<{ readonly members: bigint; readonly tokens: bigint; readonly notifications: bigint }>`
        SELECT (SELECT count(*) FROM room_members WHERE user_id = ${member}) AS members,
               (SELECT count(*) FROM refresh_tokens WHERE user_id = ${member}) AS tokens,
               (SELECT count(*) FROM notifications WHERE user_id = ${member}) AS notifications`
      expect(counts).toEqual({ members: 0n, tokens: 0n, notifications: 0n })
    }))

  it.effect("value types returned by the native client", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const user = yield* insertUser("typer")
      const room = yield* insertRoom(user)
      const messageId = yield* insertMessage(room, user, 1, "typed")
      const [message] = yield* sql<Record<string, unknown>>`
        SELECT m.*, r.last_seq, r.last_message_at FROM messages m JOIN rooms r ON r.id = m.room_id
        WHERE m.id = ${messageId}`
      expect(message).toBeDefined()
      expect(message?.["id"]).toBe(messageId)
      expect(message?.["seq"]).toBe(1n)
      expect(message?.["last_seq"]).toBe(0n)
      expect(message?.["created_at"]).toBeInstanceOf(Date)
      expect(message?.["last_message_at"]).toBeNull()
      expect(message?.["client_msg_id"]).toBeNull()
      const [outbox] = yield* sql<Record<string, unknown>>`
        INSERT INTO outbox (aggregate_key, event_type, payload, headers)
        VALUES (${room}, 'message_created', ${JSON.stringify({ seq: 1, nested: { ok: true } })}, '{}')
        RETURNING id, payload, headers, attempts, published_at`
      expect(typeof outbox?.["id"]).toBe("bigint")
      expect(outbox?.["payload"]).toEqual({ seq: 1, nested: { ok: true } })
      expect(outbox?.["headers"]).toEqual({})
      expect(outbox?.["attempts"]).toBe(0)
      expect(outbox?.["published_at"]).toBeNull()
      // Numbers bind as int4 (or int8 beyond 2^31), bigints as int8, Dates as timestamptz.
      const [bound] = yield* sql<{ readonly seq: bigint; readonly at: Date }>`
        SELECT ${2}::bigint + ${3n} AS seq, ${new Date(0)}::timestamptz AS at`
      expect(bound).toEqual({ seq: 5n, at: new Date(0) })
    }))
})

describe("TestDatabase", () => {
  it.effect("fails loudly without DATABASE_URL", () =>
    Effect.gen(function*() {
      const exit = yield* Layer.build(TestDatabase).pipe(
        Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({}))),
        Effect.exit
      )
      expect(Exit.isFailure(exit)).toBe(true)
      expect(String(exit)).toContain("DATABASE_URL is not set")
    }))
})

describe("splitStatements", () => {
  it("splits at top-level semicolons and drops empty pieces", () => {
    expect(splitStatements("CREATE TABLE a (x int);\n\nCREATE TABLE b (y int) ;;\nSELECT 1")).toEqual([
      "CREATE TABLE a (x int)",
      "CREATE TABLE b (y int)",
      "SELECT 1"
    ])
    expect(splitStatements("")).toEqual([])
    expect(splitStatements("  ;\n ; ")).toEqual([])
  })

  it("keeps dollar-quoted bodies whole", () => {
    const fn = `CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now(); -- a comment; with a semicolon
  RETURN NEW;
END;
$$`
    const tagged = `DO $body$ BEGIN PERFORM 1; RAISE NOTICE '$$ inside; a tag'; END $body$`
    expect(splitStatements(`${fn};\n${tagged};\nSELECT 2;`)).toEqual([fn, tagged, "SELECT 2"])
  })

  it("does not take parameters or identifiers with $ for dollar quotes", () => {
    expect(splitStatements("SELECT $1; SELECT a$b$ FROM t; SELECT 3")).toEqual([
      "SELECT $1",
      "SELECT a$b$ FROM t",
      "SELECT 3"
    ])
  })

  it("ignores semicolons in strings and quoted identifiers", () => {
    const statement = `INSERT INTO "odd;name" (v) VALUES ('a;b', 'it''s; fine', E'esc\\'; still', U&'x;y')`
    expect(splitStatements(`${statement}; SELECT ';'`)).toEqual([statement, "SELECT ';'"])
    // Outside E'' strings a backslash is an ordinary character.
    expect(splitStatements(String.raw`SELECT 'C:\'; SELECT 2`)).toEqual([String.raw`SELECT 'C:\'`, "SELECT 2"])
  })

  it("keeps comments, ignoring semicolons inside them", () => {
    const script = `-- header; not a statement
CREATE TABLE t (
  id int /* a; b /* nested; */ still comment; */
);
/* trailing; comment */
-- only comments here;`
    expect(splitStatements(script)).toEqual([
      `-- header; not a statement
CREATE TABLE t (
  id int /* a; b /* nested; */ still comment; */
)`
    ])
  })

  it("splits the migration files into whole statements", () => {
    const files = readdirSync(defaultMigrationsDirectory).filter((name) => name.endsWith(".sql"))
    expect(files.length).toBeGreaterThan(0)
    for (const file of files) {
      expect(file).toMatch(/^\d{4}_[a-z0-9_]+\.sql$/)
      const statements = splitStatements(readFileSync(`${defaultMigrationsDirectory}/${file}`, "utf8"))
      expect(statements.length).toBeGreaterThan(0)
      for (const statement of statements) expect(statement).toMatch(/^(--[^\n]*\n)*\s*(CREATE|ALTER|COMMENT|DROP)\b/)
    }
    const users = splitStatements(readFileSync(`${defaultMigrationsDirectory}/0001_users.sql`, "utf8"))
    expect(users.find((statement) => statement.includes("CREATE FUNCTION"))).toContain("RETURN NEW;\nEND;\n$$")
  })
})
