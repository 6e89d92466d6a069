/**
 * Runs Effect programs as Connect method implementations. The HTTP route that hands a request to
 * Connect (ConnectRoutes.ts) puts a runner bound to that request's Effect context into the
 * request's Connect context values; `effectMethod` turns a program into a method implementation
 * that uses it, `effectServerStream` an Effect `Stream` into a server-streaming one (cancelled
 * when the client goes away). So handlers keep using the REST building blocks unchanged (`requireAuth` reads
 * the same request's `Authorization`, rate limits key on the same client address), and every
 * failure goes through one mapping (ConnectErrors.ts).
 */
import { createContextKey } from "@connectrpc/connect"
import type { HandlerContext } from "@connectrpc/connect"
import { Cause, Effect, Exit, Stream } from "effect"
import { HttpServerResponse } from "effect/http"
import type { HttpServerRequest } from "effect/http"
import type { HttpFailure } from "@pylon/platform/http/HttpEnvelope"
import type { RateLimitBucket, RateLimitConfig } from "@pylon/platform/ratelimit/RateLimitConfig"
import type { RateLimiter } from "@pylon/platform/ratelimit/RateLimiter"
import type { AuthService } from "../auth/AuthService.ts"
import type { ChatClient, NotificationsClient, PresenceClient, RoomsClient } from "../clients/ServiceClients.ts"
import { withRateLimit } from "../http/RateLimitGuard.ts"
import type { TrustedProxySettings } from "../http/RateLimitGuard.ts"
import type { TypingThrottle } from "../ws/TypingThrottle.ts"
import { connectErrorOfCause } from "./ConnectErrors.ts"
import type { LiveRoomServices } from "./LiveRoomStream.ts"

/** What Connect handlers may use: the request itself and the gateway's services. */
export type ConnectServices =
  | HttpServerRequest.HttpServerRequest
  | AuthService
  | RoomsClient
  | ChatClient
  | NotificationsClient
  | PresenceClient
  | RateLimiter
  | RateLimitConfig
  | TrustedProxySettings
  | LiveRoomServices
  | TypingThrottle

/** Runs handler programs in the context of the HTTP request being served; failures become `ConnectError`s. */
export interface RequestRunner {
  /** A unary call: rejects with a `ConnectError`. */
  readonly unary: <A>(program: Effect.Effect<A, HttpFailure, ConnectServices>, signal: AbortSignal) => Promise<A>
  /** A server stream: the iteration throws a `ConnectError`; it stops when `signal` aborts (client gone). */
  readonly stream: <A>(stream: Stream.Stream<A, HttpFailure, ConnectServices>, signal: AbortSignal) => AsyncIterable<A>
}

const outsideRequest = () => new Error("Connect handler called outside ConnectRoutes")
const notInRequest: RequestRunner = {
  unary: () => Promise.reject(outsideRequest()),
  stream: () => ({
    [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(outsideRequest()) })
  })
}

export const RequestRunnerKey = createContextKey<RequestRunner>(notInRequest, { description: "pylon request runner" })

const logDefects = (cause: Cause.Cause<HttpFailure>) =>
  Cause.hasFails(cause) || Cause.hasInterruptsOnly(cause) ? Effect.void : Effect.logError("Connect handler failed", cause)

const aborted = (signal: AbortSignal) =>
  Effect.callback<void>((resume) => {
    if (signal.aborted) return resume(Effect.void)
    signal.addEventListener("abort", () => resume(Effect.void), { once: true })
  })

/** The runner for one request, from that request's Effect context. */
export const requestRunner = Effect.map(Effect.context<ConnectServices>(), (context): RequestRunner => {
  const run = Effect.runPromiseExitWith(context)
  return {
    unary: (program, signal) =>
      run(program.pipe(Effect.tapCause(logDefects)), { signal }).then((exit) =>
        Exit.isSuccess(exit) ? exit.value : Promise.reject(connectErrorOfCause(exit.cause))
      ),
    stream: (stream, signal) =>
      Stream.toAsyncIterableWith(
        stream.pipe(
          Stream.interruptWhen(aborted(signal)),
          Stream.catchCause((cause) => Stream.fromEffect(Effect.andThen(logDefects(cause), Effect.fail(connectErrorOfCause(cause)))))
        ),
        context
      )
  }
})

/** A Connect method implementation from an Effect program over the request message. */
export const effectMethod = <I, O>(program: (request: I) => Effect.Effect<O, HttpFailure, ConnectServices>) =>
(request: I, context: HandlerContext): Promise<O> => context.values.get(RequestRunnerKey).unary(program(request), context.signal)

/** A Connect server-streaming implementation from an Effect stream over the request message. */
export const effectServerStream = <I, O>(stream: (request: I) => Stream.Stream<O, HttpFailure, ConnectServices>) =>
(request: I, context: HandlerContext): AsyncIterable<O> =>
  context.values.get(RequestRunnerKey).stream(stream(request), context.signal)

/**
 * Spends one unit of a REST rate-limit budget (same buckets, keys and fail-open rule as REST:
 * `withRateLimit`); a spent budget is `rate_limited` → `resource_exhausted`.
 */
export const spendBudget = (bucket: RateLimitBucket, key: string) =>
  withRateLimit(bucket, key)(Effect.succeed(HttpServerResponse.empty())).pipe(Effect.asVoid)
