/**
 * Auth routes of API.md §3: register, login, refresh, logout, users/me. Bodies are decoded with
 * the contract Schemas; responses are built as the contract's encoded JSON shapes.
 */
import { Effect, Layer } from "effect"
import { HttpServerRequest, HttpServerResponse } from "effect/http"
import type { AuthResult, TokenPair, User } from "@pylon/contracts/Auth"
import { LoginRequest, RefreshRequest, RegisterRequest } from "@pylon/contracts/Auth"
import { HttpFailure, respondOk } from "@pylon/platform/http/HttpEnvelope"
import { decodeJsonBody } from "@pylon/platform/http/HttpRequestDecoding"
import { resource } from "@pylon/platform/http/Resource"
import { AuthService } from "../auth/AuthService.ts"
import type { Session } from "../auth/AuthService.ts"
import type { UserRow } from "../auth/UserRepository.ts"
import { failWithHttpError } from "./HttpErrors.ts"
import { requestClientAddress, withRateLimit } from "./RateLimitGuard.ts"

export const userJson = (row: UserRow): typeof User.Encoded => ({
  id: row.id,
  username: row.username,
  email: row.email,
  display_name: row.display_name,
  avatar_url: row.avatar_url,
  created_at: row.created_at.toISOString()
})

const tokenPairJson = (session: Session): typeof TokenPair.Encoded => ({
  token: session.token,
  refresh_token: session.refreshToken,
  expires_at: session.expiresAt.toISOString(),
  refresh_expires_at: session.refreshExpiresAt.toISOString()
})

const authResultJson = (session: Session): typeof AuthResult.Encoded => ({
  user: userJson(session.user),
  ...tokenPairJson(session)
})

/** The bearer token's claims, or 401. Query-string tokens are not accepted here (only on /ws). */
export const requireAuth = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const header = request.headers["authorization"] ?? ""
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
  if (match === null || match[1] === undefined) return yield* HttpFailure.unauthorized("missing bearer token")
  const auth = yield* AuthService
  return yield* auth.authenticate(match[1]).pipe(failWithHttpError)
})

const byAddress = <E, R>(bucket: "register" | "login" | "refresh", handler: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
  Effect.flatMap(requestClientAddress, (address) => withRateLimit(bucket, address)(handler))

export const AuthRoutes = Layer.mergeAll(
  resource("/api/v1/auth/register", {
    POST: byAddress("register", Effect.gen(function*() {
      const input = yield* decodeJsonBody(RegisterRequest)
      const auth = yield* AuthService
      const session = yield* auth.register(input).pipe(failWithHttpError)
      return respondOk(authResultJson(session), { status: 201 })
    }))
  }),
  resource("/api/v1/auth/login", {
    POST: byAddress("login", Effect.gen(function*() {
      const input = yield* decodeJsonBody(LoginRequest)
      const auth = yield* AuthService
      const session = yield* auth.login(input).pipe(failWithHttpError)
      return respondOk(authResultJson(session))
    }))
  }),
  resource("/api/v1/auth/refresh", {
    POST: byAddress("refresh", Effect.gen(function*() {
      const input = yield* decodeJsonBody(RefreshRequest)
      const auth = yield* AuthService
      const session = yield* auth.refresh(input.refresh_token).pipe(failWithHttpError)
      return respondOk(tokenPairJson(session))
    }))
  }),
  resource("/api/v1/auth/logout", {
    POST: Effect.gen(function*() {
      const claims = yield* requireAuth
      const auth = yield* AuthService
      yield* auth.logout(claims).pipe(failWithHttpError)
      return respondOk({ logged_out: true })
    })
  }),
  resource("/api/v1/users/me", {
    GET: Effect.gen(function*() {
      const claims = yield* requireAuth
      const auth = yield* AuthService
      const user = yield* auth.currentUser(claims).pipe(failWithHttpError)
      return respondOk({ user: userJson(user) })
    })
  })
)
