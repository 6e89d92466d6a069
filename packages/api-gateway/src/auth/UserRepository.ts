/**
 * Users as stored in PostgreSQL. The port is what AuthService needs; `PgUserRepository` is the
 * only adapter (embedded mode runs the same SQL on PGlite). Rows decode through `SqlSchema`;
 * SQL failures are mapped here, once (platform/SqlFailures.ts): `Unavailable` or a defect, and
 * `BadRequest` where a client value (username, email) reaches SQL.
 */
import { Context, Effect, Layer, Schema } from "effect"
import type { Option } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import * as SqlSchema from "effect/sql/SqlSchema"
import type { BadRequest, Unavailable } from "@pylon/contracts/Errors"
import { rowSchemaFailureToDefect, sqlFailureToDomainError, sqlFailureToUnavailable } from "@pylon/platform/sql/SqlFailures"

export const UserRow = Schema.Struct({
  id: Schema.String,
  username: Schema.String,
  email: Schema.String,
  password_hash: Schema.String,
  display_name: Schema.NullOr(Schema.String),
  avatar_url: Schema.NullOr(Schema.String),
  created_at: Schema.Date
})
export type UserRow = typeof UserRow.Type

export class UsernameOrEmailTaken extends Schema.TaggedError<UsernameOrEmailTaken>()("UsernameOrEmailTaken", {
  field: Schema.Literals(["username", "email"])
}) {}

export interface NewUser {
  readonly id: string
  readonly username: string
  readonly email: string
  readonly password_hash: string
}

export class UserRepository extends Context.Service<UserRepository, {
  readonly create: (user: NewUser) => Effect.Effect<UserRow, UsernameOrEmailTaken | BadRequest | Unavailable>
  readonly findByEmail: (email: string) => Effect.Effect<Option.Option<UserRow>, BadRequest | Unavailable>
  readonly findById: (id: string) => Effect.Effect<Option.Option<UserRow>, Unavailable>
}>()("pylon/gateway/UserRepository") {}

const COLUMNS = "id, username, email, password_hash, display_name, avatar_url, created_at"

const NewUserRequest = Schema.Struct({
  id: Schema.String,
  username: Schema.String,
  email: Schema.String,
  password_hash: Schema.String
})

export const PgUserRepository = Layer.effect(
  UserRepository,
  Effect.gen(function*() {
    const sql = yield* SqlClient
    const columns = sql.literal(COLUMNS)

    const findTaken = SqlSchema.findOneOption({
      Request: NewUserRequest,
      Result: UserRow,
      execute: (user) =>
        sql`
          SELECT ${columns} FROM users
          WHERE lower(username) = lower(${user.username}) OR lower(email) = lower(${user.email})
          LIMIT 1`
    })

    const insertUser = SqlSchema.findOne({
      Request: NewUserRequest,
      Result: UserRow,
      execute: (user) =>
        sql`
          INSERT INTO users (id, username, email, password_hash)
          VALUES (${user.id}, ${user.username}, ${user.email}, ${user.password_hash})
          RETURNING ${columns}`.pipe(
          // A concurrent registration can still win the race; the unique indexes decide.
          Effect.catchIf(
            (error) => error.reason._tag === "UniqueViolation",
            () => Effect.fail(new UsernameOrEmailTaken({ field: "username" }))
          )
        )
    })

    const findByEmail = SqlSchema.findOneOption({
      Request: Schema.String,
      Result: UserRow,
      execute: (email) => sql`SELECT ${columns} FROM users WHERE lower(email) = lower(${email})`
    })

    const findById = SqlSchema.findOneOption({
      Request: Schema.String,
      Result: UserRow,
      execute: (id) => sql`SELECT ${columns} FROM users WHERE id = ${id}`
    })

    return UserRepository.of({
      create: Effect.fn("UserRepository.create")(
        function*(user: NewUser) {
          const existing = yield* findTaken(user)
          if (existing._tag === "Some") {
            return yield* new UsernameOrEmailTaken({
              field: existing.value.email === user.email.toLowerCase() ? "email" : "username"
            })
          }
          return yield* insertUser(user).pipe(
            Effect.catchTag("NoSuchElementError", () => Effect.die(new Error("INSERT … RETURNING gave no row")))
          )
        },
        rowSchemaFailureToDefect,
        sqlFailureToDomainError
      ),
      findByEmail: (email) =>
        findByEmail(email).pipe(rowSchemaFailureToDefect, sqlFailureToDomainError),
      findById: (id) =>
        findById(id).pipe(rowSchemaFailureToDefect, sqlFailureToUnavailable)
    })
  })
)
