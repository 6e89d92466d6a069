/**
 * The one place SQL failures are classified: a database that can't be reached becomes the typed
 * `Unavailable` (503 / UNAVAILABLE); anything else is a bug and becomes a defect (500 / INTERNAL),
 * logged server-side. SQL text never reaches a client either way.
 */
import { Effect } from "effect"
import type { SqlError } from "effect/sql/SqlError"
import { Unavailable } from "@pylon/contracts/Errors"

const unreachable = new Set(["ConnectionError", "AuthenticationError", "LockTimeoutError", "StatementTimeoutError"])

export const sqlFailureToUnavailable = <A, E, R>(
  effect: Effect.Effect<A, E | SqlError, R>
): Effect.Effect<A, Exclude<E, SqlError> | Unavailable, R> =>
  Effect.catchIf(
    effect,
    (error): error is SqlError => typeof error === "object" && error !== null && "_tag" in error && error._tag === "SqlError",
    (error) =>
      unreachable.has(error.reason._tag)
        ? Effect.fail(new Unavailable({ message: "database unavailable" }))
        : Effect.die(error)
  ) as Effect.Effect<A, Exclude<E, SqlError> | Unavailable, R>
