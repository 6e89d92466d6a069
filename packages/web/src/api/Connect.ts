/**
 * The Connect edge (CONNECT-COMPAT.md): generated clients over Connect-Web to the gateway this
 * page came from (same origin, so the page's `connect-src 'self'` allows it), in the Connect
 * protocol's binary format. Every answer is decoded with the generated message schemas; every
 * failure becomes the same `ApiError` (error code and text to show) as a REST failure, by the
 * gateway's one error table read backwards (Connect code → the REST code it stands for).
 */
import { Code, ConnectError } from "@connectrpc/connect"
import type { Interceptor, Transport } from "@connectrpc/connect"
import { createConnectTransport } from "@connectrpc/connect-web"
import { statusOf } from "@pylon/contracts/Envelope"
import type { ErrorCode } from "@pylon/contracts/Envelope"
import { restErrorText } from "./ErrorText.ts"
import { ApiError } from "./Rest.ts"

/** A transport to this page's gateway (the Connect paths are `/<package>.<Service>/<Method>`). */
export const connectTransport = (interceptors: ReadonlyArray<Interceptor> = []): Transport =>
  createConnectTransport({ baseUrl: "/", useBinaryFormat: true, interceptors: [...interceptors] })

/** The REST error code each Connect code stands for (the inverse of the gateway's `connectCodeOf`). */
const errorCodeOf = (code: Code): ErrorCode => {
  switch (code) {
    case Code.InvalidArgument:
      return "bad_request"
    case Code.Unauthenticated:
      return "unauthorized"
    case Code.PermissionDenied:
      return "forbidden"
    case Code.NotFound:
      return "not_found"
    case Code.AlreadyExists:
      return "already_exists"
    case Code.ResourceExhausted:
      return "rate_limited"
    case Code.Unimplemented:
      return "method_not_allowed"
    case Code.Unavailable:
    case Code.DeadlineExceeded:
    case Code.Aborted:
      return "service_unavailable"
    default:
      return "internal_error"
  }
}

/** A fetch that never reached the server (offline, DNS, connection refused). */
const isNetworkFailure = (error: ConnectError): boolean => error.code === Code.Unknown && error.cause instanceof TypeError

/** Any failure of a Connect call (or a REST one, passed through) as the `ApiError` the page shows. */
export const apiErrorOf = (error: unknown): ApiError => {
  if (error instanceof ApiError) return error
  const failure = ConnectError.from(error)
  // An ApiError thrown inside an interceptor (the session could not be renewed) comes back wrapped.
  if (failure.cause instanceof ApiError) return failure.cause
  if (isNetworkFailure(failure)) {
    return new ApiError("network", 0, "Cannot reach the server. Check your connection and try again.")
  }
  const code = errorCodeOf(failure.code)
  return new ApiError(code, statusOf(code), restErrorText(code, failure.rawMessage))
}

/** Runs one Connect call; its failure is thrown as an `ApiError`. */
export const rpc = async <A>(call: () => Promise<A>): Promise<A> => {
  try {
    return await call()
  } catch (error) {
    throw apiErrorOf(error)
  }
}

/** The answer did not have the shape the page needs (an enum value it does not know, a field missing). */
export const invalidResponse = (): ApiError =>
  new ApiError("invalid_response", 200, "The server sent an answer this page does not understand.")
