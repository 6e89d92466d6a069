/**
 * The one place SQL failures are classified; SQL text and rejected values never reach a client.
 *
 * - A database that can't be reached becomes the typed `Unavailable` (503 / UNAVAILABLE).
 * - SQLSTATE class 22 ("data exception": a NUL in text, a date or number out of range, a
 *   malformed literal) on a statement that carries client-supplied values becomes `BadRequest`
 *   (400 / BAD_REQUEST) — `sqlFailureToDomainError`. It is a backstop: the contract schemas
 *   refuse such values first, so reaching it is logged as a warning (a schema gap to close).
 * - Anything else — including class 22 on statements built only from server-made or
 *   schema-checked ids (`sqlFailureToUnavailable`), where it can only be a bug — is a defect
 *   (500 / INTERNAL), logged server-side.
 * - A row that does not decode with its `SqlSchema` (`rowSchemaFailureToDefect`) comes from our
 *   own tables, so it is a bug too: a defect.
 *
 * Repository adapters apply these at their edge, once per statement, so their ports speak only
 * domain errors (`Unavailable`, `BadRequest`) and services never see `SqlError`.
 */
import { Effect } from "effect"
import type { Schema } from "effect"
import type { SqlError } from "effect/sql/SqlError"
import { BadRequest, Unavailable } from "@pylon/contracts/Errors"

const unreachable = new Set(["ConnectionError", "AuthenticationError", "LockTimeoutError", "StatementTimeoutError"])

const isSqlFailure = (error: unknown): error is SqlError =>
  typeof error === "object" && error !== null && "_tag" in error && error._tag === "SqlError"

/** The SQLSTATE PostgreSQL answered with, when the failure came from the server. */
export const sqlStateOf = (error: SqlError): string | undefined => {
  const cause: unknown = error.reason.cause
  if (typeof cause !== "object" || cause === null || !("code" in cause)) return undefined
  return typeof cause.code === "string" ? cause.code : undefined
}

/** SQLSTATE class 22: PostgreSQL refused a value (not the statement, not the connection). */
export const isDataException = (sqlState: string | undefined): sqlState is string =>
  sqlState !== undefined && sqlState.startsWith("22")

/** What kind of value was refused, for the client: never the value itself, never SQL. */
const invalidValueMessage = (sqlState: string): string => {
  switch (sqlState) {
    case "22021": // character_not_in_repertoire: NUL (or invalid UTF-8) in text
    case "22P05": // untranslatable_character
      return "a text value contains a character that cannot be stored (such as NUL)"
    case "22007": // invalid_datetime_format
    case "22008": // datetime_field_overflow
      return "a date is out of range"
    case "22003": // numeric_value_out_of_range
      return "a number is out of range"
    default:
      return "a value is malformed or out of range"
  }
}

const toUnavailableOrDie = (error: SqlError): Effect.Effect<never, Unavailable> =>
  unreachable.has(error.reason._tag) ? Effect.fail(new Unavailable({ message: "database unavailable" })) : Effect.die(error)

/** For statements built only from server-made or schema-checked ids: class 22 there is a bug. */
export const sqlFailureToUnavailable = <A, E, R>(
  effect: Effect.Effect<A, E | SqlError, R>
): Effect.Effect<A, Exclude<E, SqlError> | Unavailable, R> =>
  Effect.catchIf(effect, isSqlFailure, toUnavailableOrDie) as Effect.Effect<A, Exclude<E, SqlError> | Unavailable, R>

/** For statements carrying client-supplied values (text, cursors): class 22 is bad input. */
export const sqlFailureToDomainError = <A, E, R>(
  effect: Effect.Effect<A, E | SqlError, R>
): Effect.Effect<A, Exclude<E, SqlError> | BadRequest | Unavailable, R> =>
  Effect.catchIf(effect, isSqlFailure, (error): Effect.Effect<never, BadRequest | Unavailable> => {
    const sqlState = sqlStateOf(error)
    if (!isDataException(sqlState)) return toUnavailableOrDie(error)
    return Effect.logWarning("PostgreSQL refused a client value the contract schemas let through").pipe(
      Effect.annotateLogs({ sqlstate: sqlState }),
      Effect.andThen(Effect.fail(new BadRequest({ message: invalidValueMessage(sqlState) })))
    )
  }) as Effect.Effect<A, Exclude<E, SqlError> | BadRequest | Unavailable, R>

/** A row or request that fails its `SqlSchema` is a bug in our own SQL or schema: a defect. */
export const rowSchemaFailureToDefect = <A, E, R>(
  effect: Effect.Effect<A, E | Schema.SchemaError, R>
): Effect.Effect<A, Exclude<E, Schema.SchemaError>, R> =>
  Effect.catchIf(
    effect,
    (error): error is Schema.SchemaError =>
      typeof error === "object" && error !== null && "_tag" in error && error._tag === "SchemaError",
    (error) => Effect.die(error)
  ) as Effect.Effect<A, Exclude<E, Schema.SchemaError>, R>
