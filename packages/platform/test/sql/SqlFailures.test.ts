// The SQL failure classification against errors the real PostgreSQL raises (a fresh database for
// this file): SQLSTATE class 22 — a value PostgreSQL refuses — is `BadRequest` on statements that
// carry client values and a defect elsewhere; other failures keep their old meaning.
import { describe, expect, layer } from "@effect/vitest"
import { Cause, Effect, Exit } from "effect"
import { SqlClient } from "effect/sql"
import { randomUUID } from "node:crypto"
import { BadRequest } from "@pylon/contracts/Errors"
import { isDataException, sqlFailureToDomainError, sqlFailureToUnavailable, sqlStateOf } from "../../src/sql/SqlFailures.ts"
import { TestDatabase } from "@pylon/testkit/TestDatabase"

/** Statements PostgreSQL fails with a class-22 SQLSTATE, each with the state and the client's message. */
const refusedValues = [
  { what: "a NUL in text", state: "22021", message: "a text value contains a character that cannot be stored (such as NUL)", query: (sql: SqlClient.SqlClient) => sql`SELECT ${"a\u0000b"}::text AS v` },
  { what: "year 0", state: "22008", message: "a date is out of range", query: (sql: SqlClient.SqlClient) => sql`SELECT ${"0000-01-01T00:00:00Z"}::timestamptz AS v` },
  { what: "a bigint beyond 2^63", state: "22003", message: "a number is out of range", query: (sql: SqlClient.SqlClient) => sql`SELECT ${"9223372036854775808"}::bigint AS v` },
  { what: "a malformed integer", state: "22P02", message: "a value is malformed or out of range", query: (sql: SqlClient.SqlClient) => sql`SELECT ${"1e300"}::bigint AS v` }
] as const

layer(TestDatabase, { timeout: "60 seconds" })("SqlFailures on real PostgreSQL errors", (it) => {
  describe("SQLSTATE class 22", () => {
    for (const { what, state, message, query } of refusedValues) {
      it.effect(`${what} (${state}) is BadRequest through sqlFailureToDomainError`, () =>
        Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          const raw = yield* Effect.flip(query(sql))
          expect(sqlStateOf(raw)).toBe(state)
          expect(isDataException(sqlStateOf(raw))).toBe(true)

          const error = yield* Effect.flip(sqlFailureToDomainError(query(sql)))
          expect(error).toBeInstanceOf(BadRequest)
          expect(error.message).toBe(message)
        }))
    }

    it.effect("a NUL in a real INSERT is BadRequest and stores nothing", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const id = randomUUID()
        const insert = sql`INSERT INTO users (id, username, email, password_hash)
          VALUES (${id}, ${"nul\u0000user"}, ${`${id}@example.com`}, 'hash')`
        const error = yield* Effect.flip(sqlFailureToDomainError(insert))
        expect(error._tag).toBe("BadRequest")
        const rows = yield* sql`SELECT 1 FROM users WHERE id = ${id}`
        expect(rows).toHaveLength(0)
      }))

    it.effect("is a defect through sqlFailureToUnavailable (statements without client values)", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const exit = yield* Effect.exit(sqlFailureToUnavailable(sql`SELECT ${"a\u0000b"}::text AS v`))
        expect(Exit.isFailure(exit) && Cause.hasDies(exit.cause)).toBe(true)
      }))
  })

  describe("other failures", () => {
    it.effect("a statement PostgreSQL cannot run (not class 22) stays a defect", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const exit = yield* Effect.exit(sqlFailureToDomainError(sql`SELECT no_such_column FROM users`))
        expect(Exit.isFailure(exit) && Cause.hasDies(exit.cause)).toBe(true)
      }))

    it.effect("a good statement passes through untouched", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const rows = yield* sqlFailureToDomainError(sql`SELECT ${"plain"}::text AS v`)
        expect(rows).toEqual([{ v: "plain" }])
      }))
  })
})
