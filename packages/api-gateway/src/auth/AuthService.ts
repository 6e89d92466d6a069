/**
 * Register, login, refresh (rotation + reuse detection), logout, and "who is this token".
 * Depends only on ports (repositories, hasher, token issuer); HTTP lives in AuthHttp.
 */
import { createHash, randomBytes } from "node:crypto"
import { Clock, Context, Duration, Effect, Layer, Option } from "effect"
import type { AccessTokenClaims, LoginRequest, RegisterRequest } from "@pylon/contracts/Auth"
import { AlreadyExists, InvalidCredentials, Unauthorized } from "@pylon/contracts/Errors"
import type { BadRequest } from "@pylon/contracts/Errors"
import { newId } from "@pylon/platform/runtime/IdGenerator"
import type { Unavailable } from "@pylon/contracts/Errors"
import { AccessTokens } from "./AccessTokens.ts"
import { AuthConfig } from "./AuthConfig.ts"
import { PasswordHasher } from "./PasswordHasher.ts"
import { RefreshTokenRepository } from "./RefreshTokenRepository.ts"
import { cachedAuthentication } from "./AuthenticationCache.ts"
import { SessionRevocations } from "./SessionRevocations.ts"
import type { UserRow } from "./UserRepository.ts"
import { UserRepository } from "./UserRepository.ts"

export interface Session {
  readonly user: UserRow
  readonly token: string
  readonly expiresAt: Date
  readonly refreshToken: string
  readonly refreshExpiresAt: Date
}

export const hashRefreshToken = (token: string): string => createHash("sha256").update(token).digest("hex")

const newRefreshTokenValue = Effect.sync(() => randomBytes(32).toString("base64url"))

export class AuthService extends Context.Service<AuthService, {
  /** Username and email reach SQL as text: a value PostgreSQL refuses (class 22) is `BadRequest`. */
  readonly register: (input: RegisterRequest) => Effect.Effect<Session, AlreadyExists | BadRequest | Unavailable>
  readonly login: (input: LoginRequest) => Effect.Effect<Session, InvalidCredentials | BadRequest | Unavailable>
  readonly refresh: (refreshToken: string) => Effect.Effect<Session, Unauthorized | Unavailable>
  readonly logout: (claims: AccessTokenClaims) => Effect.Effect<void, Unavailable>
  /** Verifies an access token, and that its session was not revoked and belongs to its subject. */
  readonly authenticate: (token: string) => Effect.Effect<AccessTokenClaims, Unauthorized | Unavailable>
  readonly currentUser: (claims: AccessTokenClaims) => Effect.Effect<UserRow, Unauthorized | Unavailable>
}>()("pylon/gateway/AuthService") {
  static readonly layer = Layer.effect(
    AuthService,
    Effect.gen(function*() {
      const config = yield* AuthConfig
      const users = yield* UserRepository
      const refreshTokens = yield* RefreshTokenRepository
      const hasher = yield* PasswordHasher
      const accessTokens = yield* AccessTokens
      const revocations = yield* SessionRevocations

      /** Revokes the session in the database, then ends its live connections on every node. */
      const endSession = (familyId: string) =>
        Effect.andThen(refreshTokens.revokeFamily(familyId), revocations.announce(familyId))

      const newRefreshToken = (userId: string, familyId: string) =>
        Effect.gen(function*() {
          const value = yield* newRefreshTokenValue
          const now = yield* Clock.currentTimeMillis
          const expiresAt = new Date(now + Duration.toMillis(config.refreshTokenTtl))
          const id = yield* newId
          return { value, row: { id, user_id: userId, family_id: familyId, token_hash: hashRefreshToken(value), expires_at: expiresAt } }
        })

      const sessionFor = (user: UserRow, familyId: string, refresh: { readonly value: string; readonly row: { readonly expires_at: Date } }) =>
        Effect.map(
          accessTokens.issue({ userId: user.id, username: user.username, sessionId: familyId }),
          (access): Session => ({
            user,
            token: access.token,
            expiresAt: access.expiresAt,
            refreshToken: refresh.value,
            refreshExpiresAt: refresh.row.expires_at
          })
        )

      const startSession = (user: UserRow) =>
        Effect.gen(function*() {
          const familyId = yield* newId
          const refresh = yield* newRefreshToken(user.id, familyId)
          yield* refreshTokens.insert(refresh.row)
          return yield* sessionFor(user, familyId, refresh)
        })

      const register = Effect.fn("AuthService.register")(function*(input: RegisterRequest) {
        const passwordHash = yield* hasher.hash(input.password)
        const user = yield* users.create({
          id: yield* newId,
          username: input.username,
          email: input.email,
          password_hash: passwordHash
        }).pipe(
          Effect.catchTag("UsernameOrEmailTaken", (taken) =>
            Effect.fail(new AlreadyExists({ message: `${taken.field} already taken` })))
        )
        return yield* startSession(user)
      })

      const login = Effect.fn("AuthService.login")(function*(input: LoginRequest) {
        const user = yield* users.findByEmail(input.email)
        const ok = yield* hasher.verifyOrBurn(
          Option.match(user, { onNone: () => undefined, onSome: (u) => u.password_hash }),
          input.password
        )
        if (!ok || Option.isNone(user)) return yield* new InvalidCredentials()
        return yield* startSession(user.value)
      })

      const refresh = Effect.fn("AuthService.refresh")(function*(token: string) {
        const found = yield* refreshTokens.findByHash(hashRefreshToken(token))
        if (Option.isNone(found)) return yield* new Unauthorized({ message: "invalid refresh token" })
        const row = found.value
        if (row.revoked_at !== null) return yield* new Unauthorized({ message: "refresh token revoked" })
        if (row.rotated_at !== null) {
          // Reuse of a rotated token: someone holds a copy. End the whole session.
          yield* endSession(row.family_id)
          yield* Effect.logWarning("refresh token reuse detected; session revoked").pipe(
            Effect.annotateLogs({ user_id: row.user_id, session_id: row.family_id })
          )
          return yield* new Unauthorized({ message: "refresh token reuse detected" })
        }
        if (row.expires_at.getTime() <= (yield* Clock.currentTimeMillis)) {
          return yield* new Unauthorized({ message: "refresh token expired" })
        }
        const user = yield* users.findById(row.user_id)
        if (Option.isNone(user)) return yield* new Unauthorized({ message: "invalid refresh token" })
        const next = yield* newRefreshToken(row.user_id, row.family_id)
        const rotated = yield* refreshTokens.rotate(row.id, next.row)
        if (!rotated) {
          // Lost a race with another use of the same token: that is reuse too.
          yield* endSession(row.family_id)
          return yield* new Unauthorized({ message: "refresh token reuse detected" })
        }
        return yield* sessionFor(user.value, row.family_id, next)
      })

      const logout = Effect.fn("AuthService.logout")(function*(claims: AccessTokenClaims) {
        yield* endSession(claims.sid)
      })

      const authenticate = Effect.fn("AuthService.authenticate")(function*(token: string) {
        const claims = yield* accessTokens.verify(token).pipe(
          Effect.mapError((invalid) => new Unauthorized({ message: invalid.reason }))
        )
        // The session must be live and be the token subject's own (a token whose `sid` names
        // another user's session is refused even though its signature is valid).
        if (!(yield* refreshTokens.isFamilyActive(claims.sid, claims.sub))) {
          return yield* new Unauthorized({ message: "session revoked" })
        }
        return claims
      })

      const currentUser = Effect.fn("AuthService.currentUser")(function*(claims: AccessTokenClaims) {
        const user = yield* users.findById(claims.sub)
        if (Option.isNone(user)) return yield* new Unauthorized({ message: "user no longer exists" })
        return user.value
      })

      // Repeated requests with one token skip the HMAC and the session query (issue #10); the
      // cache forgets a session as soon as its revocation is announced (AuthenticationCache.ts).
      const authenticateCached = yield* cachedAuthentication(authenticate, revocations)

      return AuthService.of({ register, login, refresh, logout, authenticate: authenticateCached, currentUser })
    })
  )
}
