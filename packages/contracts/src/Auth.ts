/**
 * Auth bodies and the access-token claims (API.md §3). Request schemas normalise on decode:
 * emails are trimmed and lower-cased; passwords are never touched. Every string that reaches
 * SQL refuses NUL (`isWithoutNul`); passwords only ever reach argon2, so they are kept verbatim.
 */
import { Schema, SchemaGetter } from "effect"
import { SessionId, UserId } from "./Ids.ts"
import { isWithoutNul } from "./Text.ts"
import { Timestamp } from "./Time.ts"

export const Username = Schema.String.check(
  isWithoutNul(),
  Schema.isPattern(/^[A-Za-z0-9_.-]{3,32}$/, {
    message: "must be 3–32 characters of letters, digits, '_', '.' or '-'",
    expected: "a username"
  })
)

// A plain address (no display name, no comments), with at least one dot in the domain. Lower
// case only: it is checked after decoding lower-cased the input.
const EMAIL =
  /^[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/

const TrimmedLowerCase = Schema.String.pipe(
  Schema.decode({
    decode: SchemaGetter.transform((s: string) => s.trim().toLowerCase()),
    encode: SchemaGetter.passthrough()
  })
)

/** Registration email: decoded trimmed and lower-cased, then validated, ≤ 255 characters. */
export const Email = TrimmedLowerCase.check(
  isWithoutNul(),
  Schema.isPattern(EMAIL, { message: "must be an email address", expected: "an email address" }),
  Schema.isMaxLength(255, { message: "must be at most 255 characters" })
)

/**
 * Login email: normalised like `Email` but not pattern-checked, so a malformed address is
 * simply "invalid credentials" (401) like any unknown one.
 */
export const LoginEmail = TrimmedLowerCase.check(
  isWithoutNul(),
  Schema.isBetweenLength(1, 255, { message: "must be 1–255 characters" }),
  Schema.isTrimmed(),
  Schema.isLowercased()
)

/** 8–128 characters (code points), kept verbatim: surrounding spaces are part of it. */
export const Password = Schema.String.check(
  Schema.isBetweenCodePoints(8, 128, { message: "must be 8–128 characters" })
)

export const RegisterRequest = Schema.Struct({
  username: Username,
  email: Email,
  password: Password
})
export type RegisterRequest = typeof RegisterRequest.Type

export const LoginRequest = Schema.Struct({
  email: LoginEmail,
  password: Schema.String.check(Schema.isBetweenCodePoints(1, 128, { message: "must be 1–128 characters" }))
})
export type LoginRequest = typeof LoginRequest.Type

export const RefreshRequest = Schema.Struct({
  refresh_token: Schema.String.check(
    isWithoutNul(),
    Schema.isBetweenLength(1, 1024, { message: "must be 1–1024 characters" })
  )
})
export type RefreshRequest = typeof RefreshRequest.Type

export class User extends Schema.Class<User>("User")({
  id: UserId,
  username: Schema.String,
  email: Schema.String,
  display_name: Schema.NullOr(Schema.String),
  avatar_url: Schema.NullOr(Schema.String),
  created_at: Timestamp
}) {}

export const TokenPair = Schema.Struct({
  token: Schema.String,
  refresh_token: Schema.String,
  expires_at: Timestamp,
  refresh_expires_at: Timestamp
})
export type TokenPair = typeof TokenPair.Type

export const AuthResult = Schema.Struct({
  user: User,
  ...TokenPair.fields
})
export type AuthResult = typeof AuthResult.Type

export const LogoutResult = Schema.Struct({ logged_out: Schema.Literal(true) })
export type LogoutResult = typeof LogoutResult.Type

export const MeResponse = Schema.Struct({ user: User })
export type MeResponse = typeof MeResponse.Type

/** Claims of the short-lived access JWT; `iat`/`exp` are NumericDate seconds. */
export const AccessTokenClaims = Schema.Struct({
  sub: UserId,
  username: Schema.String,
  sid: SessionId,
  jti: Schema.String.check(Schema.isNonEmpty()),
  token_type: Schema.Literal("access"),
  iat: Schema.Int,
  exp: Schema.Int
})
export type AccessTokenClaims = typeof AccessTokenClaims.Type
