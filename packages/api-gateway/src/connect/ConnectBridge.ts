/**
 * Runs Effect programs as Connect method implementations. The HTTP route that hands a request to
 * Connect (ConnectRoutes.ts) puts a runner bound to that request's Effect context into the
 * request's Connect context values; `effectMethod` turns a program into a method implementation
 * that uses it. So handlers keep using the REST building blocks unchanged (`requireAuth` reads
 * the same request's `Authorization`, rate limits key on the same client address), and every
 * failure goes through one mapping (ConnectErrors.ts).
 */
import { createContextKey } from "@connectrpc/connect"
import type { HandlerContext } from "@connectrpc/connect"
import { Cause, Effect, Exit } from "effect"
import { HttpServerResponse } from "effect/http"
import type { HttpServerRequest } from "effect/http"
import type { HttpFailure } from "@pylon/platform/http/HttpEnvelope"
import type { RateLimitBucket, RateLimitConfig } from "@pylon/platform/ratelimit/RateLimitConfig"
import type { RateLimiter } from "@pylon/platform/ratelimit/RateLimiter"
import type { AuthService } from "../auth/AuthService.ts"
import type { ChatClient, NotificationsClient, RoomsClient } from "../clients/ServiceClients.ts"
import { withRateLimit } from "../http/RateLimitGuard.ts"
import type { TrustedProxySettings } from "../http/RateLimitGuard.ts"
import { connectErrorOfCause } from "./ConnectErrors.ts"

/** What Connect handlers may use: the request itself and the gateway's services. */
export type ConnectServices =
  | HttpServerRequest.HttpServerRequest
  | AuthService
  | RoomsClient
  | ChatClient
  | NotificationsClient
  | RateLimiter
  | RateLimitConfig
  | TrustedProxySettings

/** Runs a handler program in the context of the HTTP request being served; rejects with a `ConnectError`. */
export type RequestRunner = <A>(program: Effect.Effect<A, HttpFailure, ConnectServices>, signal: AbortSignal) => Promise<A>

const notInRequest: RequestRunner = () => Promise.reject(new Error("Connect handler called outside ConnectRoutes"))

export const RequestRunnerKey = createContextKey<RequestRunner>(notInRequest, { description: "pylon request runner" })

/** The runner for one request, from that request's Effect context. */
export const requestRunner = Effect.map(Effect.context<ConnectServices>(), (context): RequestRunner => {
  const run = Effect.runPromiseExitWith(context)
  return (program, signal) =>
    run(
      program.pipe(Effect.tapCause((cause) =>
        Cause.hasFails(cause) ? Effect.void : Effect.logError("Connect handler failed", cause)
      )),
      { signal }
    ).then((exit) => (Exit.isSuccess(exit) ? exit.value : Promise.reject(connectErrorOfCause(exit.cause))))
})

/** A Connect method implementation from an Effect program over the request message. */
export const effectMethod = <I, O>(program: (request: I) => Effect.Effect<O, HttpFailure, ConnectServices>) =>
(request: I, context: HandlerContext): Promise<O> => context.values.get(RequestRunnerKey)(program(request), context.signal)

/**
 * Spends one unit of a REST rate-limit budget (same buckets, keys and fail-open rule as REST:
 * `withRateLimit`); a spent budget is `rate_limited` → `resource_exhausted`.
 */
export const spendBudget = (bucket: RateLimitBucket, key: string) =>
  withRateLimit(bucket, key)(Effect.succeed(HttpServerResponse.empty())).pipe(Effect.asVoid)
