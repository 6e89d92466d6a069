/**
 * Authentication of service-to-service RPC. Every internal RPC group carries this middleware:
 * the client side attaches the shared internal credential (header `INTERNAL_AUTH_HEADER`), the
 * server side verifies it and fails with `Unauthorized` otherwise. End-user authorisation is
 * separate: every payload names the acting `user_id`, which the gateway took from a verified
 * access token.
 */
import { RpcMiddleware } from "effect/rpc"
import { Unauthorized } from "./Errors.ts"

/** The request header that carries the internal credential. */
export const INTERNAL_AUTH_HEADER = "x-pylon-internal-token"

export class InternalAuth extends RpcMiddleware.Service<InternalAuth>()("pylon/contracts/InternalAuth", {
  error: Unauthorized,
  requiredForClient: true
}) {}
