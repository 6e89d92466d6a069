/**
 * The gateway's one mapping from typed domain errors (contracts `DomainError`) to HTTP
 * failures; the table itself is `httpErrorOf` in contracts, shared with the WebSocket codes.
 */
import { Effect } from "effect"
import type { RpcClientError } from "effect/rpc"
import type { DomainError } from "@pylon/contracts/Errors"
import { httpErrorOf } from "@pylon/contracts/ErrorMapping"
import { HttpFailure } from "@pylon/platform/http/HttpEnvelope"

export const toHttpFailure = (error: DomainError): HttpFailure => {
  const { code, message } = httpErrorOf(error)
  return error._tag === "RateLimited"
    ? HttpFailure.of(code, message, { "Retry-After": String(error.retry_after_seconds) })
    : HttpFailure.of(code, message)
}

export const failWithHttpError = <A, E extends DomainError, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, HttpFailure, R> => Effect.mapError(effect, toHttpFailure)

/**
 * `failWithHttpError` for calls through an RPC client: a transport failure (the service is
 * down or answered garbage) is `503 service_unavailable`, logged here, never shown.
 */
export const failWithRpcError = <A, E extends DomainError | RpcClientError.RpcClientError, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, HttpFailure, R> =>
  Effect.catch(effect, (error: DomainError | RpcClientError.RpcClientError) =>
    error._tag === "RpcClientError"
      ? Effect.andThen(
        Effect.logWarning("internal RPC failed", error),
        Effect.fail(HttpFailure.of("service_unavailable", "service temporarily unavailable"))
      )
      : Effect.fail(toHttpFailure(error))
  )
