/**
 * Applies a rate-limit budget to an HTTP handler: every limited response carries the
 * X-RateLimit-* headers, a refused one is `429 rate_limited` with Retry-After (API.md §7).
 * Auth routes are keyed by client address (X-Forwarded-For only behind TRUSTED_PROXIES),
 * authenticated routes by user id.
 */
import { Context, Effect, Layer, Option } from "effect"
import { HttpServerRequest, HttpServerResponse } from "effect/http"
import { clientAddress, TrustedProxiesConfig } from "@pylon/platform/http/ClientAddress"
import type { TrustedProxies } from "@pylon/platform/http/ClientAddress"
import { HttpFailure } from "@pylon/platform/http/HttpEnvelope"
import { RateLimitConfig } from "@pylon/platform/ratelimit/RateLimitConfig"
import type { RateLimitBucket } from "@pylon/platform/ratelimit/RateLimitConfig"
import { RateLimiter } from "@pylon/platform/ratelimit/RateLimiter"
import { rateLimitHeaders } from "@pylon/platform/ratelimit/RateLimitHeaders"

export class TrustedProxySettings extends Context.Service<TrustedProxySettings, TrustedProxies>()(
  "pylon/gateway/TrustedProxySettings"
) {
  static readonly layer = Layer.effect(
    TrustedProxySettings,
    Effect.gen(function*() {
      return yield* TrustedProxiesConfig
    })
  )
}

/** The caller's address: the socket peer, or X-Forwarded-For when the peer is a trusted proxy. */
export const requestClientAddress = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const trusted = yield* TrustedProxySettings
  const peer = Option.getOrElse(request.remoteAddress, () => "unknown")
  return clientAddress(peer, request.headers["x-forwarded-for"], trusted)
})

export const withRateLimit = (bucket: RateLimitBucket, key: string) =>
<E, R>(
  handler: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
): Effect.Effect<HttpServerResponse.HttpServerResponse, E | HttpFailure, R | RateLimiter | RateLimitConfig> =>
  Effect.gen(function*() {
    const limiter = yield* RateLimiter
    const config = yield* RateLimitConfig
    const decision = yield* limiter.consume(bucket, key, config.limits[bucket], config.window).pipe(
      // The limiter protects us; it must not take the service down with it (fail open, logged).
      Effect.tapError((error) => Effect.logWarning("rate limiter unavailable; allowing request", error)),
      Effect.option
    )
    if (Option.isNone(decision)) return yield* handler
    const headers = rateLimitHeaders(decision.value)
    if (!decision.value.allowed) {
      return yield* HttpFailure.of("rate_limited", "too many requests, retry later", headers)
    }
    const response = yield* handler.pipe(
      Effect.mapError((error) =>
        error instanceof HttpFailure
          ? HttpFailure.of(error.code, error.message, { ...error.headers, ...headers })
          : error
      )
    )
    return HttpServerResponse.setHeaders(response, headers)
  })
