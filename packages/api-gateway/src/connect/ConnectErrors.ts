/**
 * How a failure of a Connect handler reaches the client (CONNECT-COMPAT.md rule 4): the Connect
 * code of the same HTTP error REST would answer (so both surfaces share one error table:
 * contracts `httpErrorOf`), its client-facing message, and its headers (`Retry-After`) as
 * metadata. Defects are `internal` with a fixed message; their details are only logged.
 */
import { Code, ConnectError } from "@connectrpc/connect"
import { Cause, Option } from "effect"
import type { ErrorCode } from "@pylon/contracts/Envelope"
import { HttpFailure } from "@pylon/platform/http/HttpEnvelope"

const codeByError: { readonly [K in ErrorCode]: Code } = {
  bad_request: Code.InvalidArgument,
  unauthorized: Code.Unauthenticated,
  forbidden: Code.PermissionDenied,
  not_found: Code.NotFound,
  method_not_allowed: Code.Unimplemented,
  already_exists: Code.AlreadyExists,
  payload_too_large: Code.ResourceExhausted,
  unsupported_media_type: Code.InvalidArgument,
  rate_limited: Code.ResourceExhausted,
  internal_error: Code.Internal,
  service_unavailable: Code.Unavailable
}

/** The Connect code that goes with a REST error code. */
export const connectCodeOf = (code: ErrorCode): Code => codeByError[code]

export const toConnectError = (failure: HttpFailure): ConnectError =>
  new ConnectError(failure.message, connectCodeOf(failure.code), failure.headers)

/** What a failed handler run becomes: its `HttpFailure`, else `unavailable` (interrupted) or `internal`. */
export const connectErrorOfCause = (cause: Cause.Cause<HttpFailure>): ConnectError => {
  const failure = Cause.findErrorOption(cause)
  if (Option.isSome(failure) && failure.value instanceof HttpFailure) return toConnectError(failure.value)
  if (Cause.hasInterruptsOnly(cause)) return new ConnectError("request interrupted", Code.Unavailable)
  return new ConnectError("internal error", Code.Internal)
}
