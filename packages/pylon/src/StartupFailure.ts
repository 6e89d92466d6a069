/**
 * Startup failures the operator fixes by hand — the embedded data directory already in use by
 * another process, a port already taken — logged as one clear line instead of an error dump with
 * a stack trace. The process still fails, so it exits with status 1.
 */
import { Effect, Option, Runtime, Schema } from "effect"
import { ServeError } from "effect/http/HttpServerError"
import { DataDirectoryInUse, DataDirectoryLockError } from "@pylon/platform/sql/DataDirectoryLock"

/** A failure already explained in the log: the runtime must not report it again. */
export class StartupFailure extends Schema.TaggedError<StartupFailure>()("StartupFailure", {
  message: Schema.String
}) {
  override readonly [Runtime.errorReported] = false
}

const codeOf = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "code" in error && typeof error.code === "string"
    ? error.code
    : undefined

/** `address:port` of a failed `listen` (Node puts both on the error). */
const listenAddressOf = (error: unknown): string => {
  if (typeof error !== "object" || error === null) return "the configured port"
  const address = "address" in error && typeof error.address === "string" ? error.address : "?"
  const port = "port" in error && typeof error.port === "number" ? String(error.port) : "?"
  return `${address}:${port}`
}

/** The one-line explanation of a failure the operator can fix, if it is one. */
export const explainStartupFailure = (error: unknown): Option.Option<string> => {
  if (error instanceof DataDirectoryInUse || error instanceof DataDirectoryLockError) {
    return Option.some(error.message)
  }
  if (error instanceof ServeError && codeOf(error.cause) === "EADDRINUSE") {
    return Option.some(
      `Cannot listen on ${listenAddressOf(error.cause)}: the port is already in use by another process ` +
        `(another Pylon?). Stop it, or choose another port with APP_PORT / METRICS_PORT (0 picks a free one).`
    )
  }
  return Option.none()
}

/** Runs `effect`, turning an explainable failure into a logged line and a `StartupFailure`. */
export const explainStartupFailures = <A, E, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E | StartupFailure, R> =>
  effect.pipe(Effect.catch((error): Effect.Effect<never, E | StartupFailure> =>
    Option.match(explainStartupFailure(error), {
      onNone: () => Effect.fail(error),
      onSome: (message) => Effect.logError(message).pipe(Effect.andThen(Effect.fail(new StartupFailure({ message }))))
    })
  ))
