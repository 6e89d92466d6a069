/**
 * Hand-made JWTs for the negative cases of access-token verification: the claims of a real
 * token re-signed with another key or algorithm, `alg: none`, wrong `token_type`, expired.
 */
import { decodeJwt, decodeProtectedHeader, SignJWT, UnsecuredJWT } from "jose"
import type { JWTPayload } from "jose"

export const claimsOf = (token: string): JWTPayload => decodeJwt(token)
export const headerOf = (token: string) => decodeProtectedHeader(token)

/** Signs `payload` as given (no defaults added) with `secret` and `alg` (HMAC algorithms). */
export const signToken = (
  payload: JWTPayload,
  secret: string,
  alg: "HS256" | "HS384" | "HS512" = "HS256"
): Promise<string> =>
  new SignJWT(payload).setProtectedHeader({ alg, typ: "JWT" }).sign(new TextEncoder().encode(secret))

/** The same claims with `alg: none` and an empty signature. */
export const unsignedToken = (payload: JWTPayload): string => new UnsecuredJWT(payload).encode()

export const nowSeconds = (): number => Math.floor(Date.now() / 1000)
