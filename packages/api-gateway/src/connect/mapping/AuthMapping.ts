/**
 * pylon.auth.v1 and pylon.gateway.v1 messages ⇄ the contract's auth values (Auth.ts). The
 * original auth package carries timestamps as RFC 3339 strings, which is exactly the contract's
 * encoded form; the gateway package uses protobuf Timestamps.
 */
import { create } from "@bufbuild/protobuf"
import { timestampFromMs } from "@bufbuild/protobuf/wkt"
import type { Effect } from "effect"
import { AuthResult, LoginRequest, RefreshRequest, RegisterRequest, TokenPair, User } from "@pylon/contracts/Auth"
import type { AccessTokenClaims } from "@pylon/contracts/Auth"
import type { BadRequest } from "@pylon/contracts/Errors"
import { formatTimestamp } from "@pylon/contracts/Time"
import * as AuthPb from "@pylon/proto-gen/auth/v1/auth"
import * as GatewayPb from "@pylon/proto-gen/gateway/v1/gateway"
import { decodeWith, timestampToProto, timestampWire } from "./Common.ts"

// --- requests -----------------------------------------------------------------------------

export const registerRequestToProto = (request: RegisterRequest): AuthPb.RegisterRequest =>
  create(AuthPb.RegisterRequestSchema, request)

export const registerRequestFromProto = (message: AuthPb.RegisterRequest): Effect.Effect<RegisterRequest, BadRequest> =>
  decodeWith(RegisterRequest)({ username: message.username, email: message.email, password: message.password })

export const loginRequestToProto = (request: LoginRequest): AuthPb.LoginRequest =>
  create(AuthPb.LoginRequestSchema, request)

export const loginRequestFromProto = (message: AuthPb.LoginRequest): Effect.Effect<LoginRequest, BadRequest> =>
  decodeWith(LoginRequest)({ email: message.email, password: message.password })

export const refreshRequestToProto = (request: RefreshRequest): AuthPb.RefreshTokenRequest =>
  create(AuthPb.RefreshTokenRequestSchema, { refreshToken: request.refresh_token })

export const gatewayRefreshRequestToProto = (request: RefreshRequest): GatewayPb.RefreshTokenRequest =>
  create(GatewayPb.RefreshTokenRequestSchema, { refreshToken: request.refresh_token })

/** Both packages' `RefreshTokenRequest` (same field). */
export const refreshRequestFromProto = (
  message: AuthPb.RefreshTokenRequest | GatewayPb.RefreshTokenRequest
): Effect.Effect<RefreshRequest, BadRequest> => decodeWith(RefreshRequest)({ refresh_token: message.refreshToken })

// --- responses ----------------------------------------------------------------------------

export const userToProto = (user: User): AuthPb.User =>
  create(AuthPb.UserSchema, {
    id: user.id,
    username: user.username,
    email: user.email,
    displayName: user.display_name ?? undefined,
    avatarUrl: user.avatar_url ?? undefined,
    createdAt: formatTimestamp(user.created_at)
  })

const userWire = (message: AuthPb.User) => ({
  id: message.id,
  username: message.username,
  email: message.email,
  display_name: message.displayName ?? null,
  avatar_url: message.avatarUrl ?? null,
  created_at: message.createdAt
})

export const userFromProto = (message: AuthPb.User): Effect.Effect<User, BadRequest> => decodeWith(User)(userWire(message))

const authResultInit = (result: AuthResult) => ({
  user: userToProto(result.user),
  token: result.token,
  refreshToken: result.refresh_token,
  expiresAt: formatTimestamp(result.expires_at),
  refreshExpiresAt: formatTimestamp(result.refresh_expires_at)
})

export const registerResponseToProto = (result: AuthResult): AuthPb.RegisterResponse =>
  create(AuthPb.RegisterResponseSchema, authResultInit(result))

export const loginResponseToProto = (result: AuthResult): AuthPb.LoginResponse =>
  create(AuthPb.LoginResponseSchema, authResultInit(result))

/** Register and Login answer the same shape. */
export const authResultFromProto = (
  message: AuthPb.RegisterResponse | AuthPb.LoginResponse
): Effect.Effect<AuthResult, BadRequest> =>
  decodeWith(AuthResult)({
    user: message.user === undefined ? undefined : userWire(message.user),
    token: message.token,
    refresh_token: message.refreshToken,
    expires_at: message.expiresAt,
    refresh_expires_at: message.refreshExpiresAt
  })

export const tokenPairToProto = (pair: TokenPair): AuthPb.RefreshTokenResponse =>
  create(AuthPb.RefreshTokenResponseSchema, {
    token: pair.token,
    refreshToken: pair.refresh_token,
    expiresAt: formatTimestamp(pair.expires_at),
    refreshExpiresAt: formatTimestamp(pair.refresh_expires_at)
  })

export const tokenPairFromProto = (message: AuthPb.RefreshTokenResponse): Effect.Effect<TokenPair, BadRequest> =>
  decodeWith(TokenPair)({
    token: message.token,
    refresh_token: message.refreshToken,
    expires_at: message.expiresAt,
    refresh_expires_at: message.refreshExpiresAt
  })

/** GatewayService.RefreshToken: the same pair, `token` named `access_token`. */
export const gatewayTokenPairToProto = (pair: TokenPair): GatewayPb.RefreshTokenResponse =>
  create(GatewayPb.RefreshTokenResponseSchema, {
    accessToken: pair.token,
    refreshToken: pair.refresh_token,
    expiresAt: timestampToProto(pair.expires_at),
    refreshExpiresAt: timestampToProto(pair.refresh_expires_at)
  })

export const gatewayTokenPairFromProto = (
  message: GatewayPb.RefreshTokenResponse
): Effect.Effect<TokenPair, BadRequest> =>
  decodeWith(TokenPair)({
    token: message.accessToken,
    refresh_token: message.refreshToken,
    expires_at: timestampWire(message.expiresAt),
    refresh_expires_at: timestampWire(message.refreshExpiresAt)
  })

/**
 * GatewayService.ValidateToken's answer for verified claims, or for none (`valid = false`, every
 * other field empty). One way only: the claims' session and token ids stay server-side.
 */
export const validateTokenResponseToProto = (claims: AccessTokenClaims | null): GatewayPb.ValidateTokenResponse =>
  claims === null
    ? create(GatewayPb.ValidateTokenResponseSchema, { valid: false })
    : create(GatewayPb.ValidateTokenResponseSchema, {
      valid: true,
      userId: claims.sub,
      username: claims.username,
      expiresAt: timestampFromMs(claims.exp * 1000)
    })
