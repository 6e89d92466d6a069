/**
 * Auth routes of API.md §3: register, login, refresh, logout, users/me. Bodies are decoded with
 * the contract Schemas and every response is encoded with its contract Schema (`respondWith`).
 * Register, login and refresh are public and rate-limited by client address; logout and
 * users/me run behind the authentication middleware (`Authentication.ts`).
 */
import { Effect, Layer } from "effect"
import type { HttpServerResponse } from "effect/http"
import { AuthResult, LoginRequest, LogoutResult, MeResponse, RefreshRequest, RegisterRequest, TokenPair } from "@pylon/contracts/Auth"
import { respondWith } from "@pylon/platform/http/HttpEnvelope"
import { decodeJsonBody } from "@pylon/platform/http/HttpRequestDecoding"
import { resource } from "@pylon/platform/http/Resource"
import { AuthService } from "../auth/AuthService.ts"
import { authResultOf, tokenPairOf, userOf } from "../auth/ContractValues.ts"
import { authenticatedResource, CurrentUser } from "./Authentication.ts"
import { failWithHttpError } from "./HttpErrors.ts"
import { requestClientAddress, withRateLimit } from "./RateLimitGuard.ts"

const byAddress = <E, R>(bucket: "register" | "login" | "refresh", handler: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
  Effect.flatMap(requestClientAddress, (address) => withRateLimit(bucket, address)(handler))

export const AuthRoutes = Layer.mergeAll(
  resource("/api/v1/auth/register", {
    POST: byAddress("register", Effect.gen(function*() {
      const input = yield* decodeJsonBody(RegisterRequest)
      const auth = yield* AuthService
      const session = yield* auth.register(input).pipe(failWithHttpError)
      return yield* respondWith(AuthResult, authResultOf(session), 201)
    }))
  }),
  resource("/api/v1/auth/login", {
    POST: byAddress("login", Effect.gen(function*() {
      const input = yield* decodeJsonBody(LoginRequest)
      const auth = yield* AuthService
      const session = yield* auth.login(input).pipe(failWithHttpError)
      return yield* respondWith(AuthResult, authResultOf(session))
    }))
  }),
  resource("/api/v1/auth/refresh", {
    POST: byAddress("refresh", Effect.gen(function*() {
      const input = yield* decodeJsonBody(RefreshRequest)
      const auth = yield* AuthService
      const session = yield* auth.refresh(input.refresh_token).pipe(failWithHttpError)
      return yield* respondWith(TokenPair, tokenPairOf(session))
    }))
  }),
  authenticatedResource("/api/v1/auth/logout", {
    POST: Effect.gen(function*() {
      const claims = yield* CurrentUser
      const auth = yield* AuthService
      yield* auth.logout(claims).pipe(failWithHttpError)
      return yield* respondWith(LogoutResult, { logged_out: true })
    })
  }),
  authenticatedResource("/api/v1/users/me", {
    GET: Effect.gen(function*() {
      const claims = yield* CurrentUser
      const auth = yield* AuthService
      const user = yield* auth.currentUser(claims).pipe(failWithHttpError)
      return yield* respondWith(MeResponse, { user: userOf(user) })
    })
  })
)
