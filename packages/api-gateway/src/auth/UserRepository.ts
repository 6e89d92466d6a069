/**
 * Users as stored in PostgreSQL. The port is what AuthService needs; `PgUserRepository` is the
 * only adapter (embedded mode runs the same SQL on PGlite).
 */
import { Context, Effect, Layer, Option, Schema } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"

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
  readonly create: (user: NewUser) => Effect.Effect<UserRow, UsernameOrEmailTaken | SqlError>
  readonly findByEmail: (email: string) => Effect.Effect<Option.Option<UserRow>, SqlError>
  readonly findById: (id: string) => Effect.Effect<Option.Option<UserRow>, SqlError>
}>()("pylon/gateway/UserRepository") {}

const COLUMNS = "id, username, email, password_hash, display_name, avatar_url, created_at"

export const PgUserRepository = Layer.effect(
  UserRepository,
  Effect.gen(function*() {
    const sql = yield* SqlClient
    const decodeRows = Schema.decodeUnknownEffect(Schema.Array(UserRow))
    const rows = (effect: Effect.Effect<ReadonlyArray<unknown>, SqlError>) =>
      effect.pipe(Effect.flatMap((r) => Effect.orDie(decodeRows(r))))

    const findOne = (effect: Effect.Effect<ReadonlyArray<unknown>, SqlError>) =>
      rows(effect).pipe(Effect.map((r) => Option.fromNullishOr(r[0])))

    return UserRepository.of({
      create: Effect.fn("UserRepository.create")(function*(user: NewUser) {
        const taken = yield* rows(sql`
          SELECT ${sql.literal(COLUMNS)} FROM users
          WHERE lower(username) = lower(${user.username}) OR lower(email) = lower(${user.email})
          LIMIT 1`)
        const existing = taken[0]
        if (existing !== undefined) {
          return yield* new UsernameOrEmailTaken({
            field: existing.email === user.email.toLowerCase() ? "email" : "username"
          })
        }
        const inserted = yield* rows(sql`
          INSERT INTO users (id, username, email, password_hash)
          VALUES (${user.id}, ${user.username}, ${user.email}, ${user.password_hash})
          RETURNING ${sql.literal(COLUMNS)}`).pipe(
          // A concurrent registration can still win the race; the unique indexes decide.
          Effect.catchIf(
            (error) => error.reason._tag === "UniqueViolation",
            () => Effect.fail(new UsernameOrEmailTaken({ field: "username" }))
          )
        )
        const row = inserted[0]
        if (row === undefined) return yield* Effect.die(new Error("INSERT … RETURNING gave no row"))
        return row
      }),
      findByEmail: (email) =>
        findOne(sql`SELECT ${sql.literal(COLUMNS)} FROM users WHERE lower(email) = lower(${email})`),
      findById: (id) => findOne(sql`SELECT ${sql.literal(COLUMNS)} FROM users WHERE id = ${id}`)
    })
  })
)
