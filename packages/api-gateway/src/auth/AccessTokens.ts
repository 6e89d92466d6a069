/**
 * Access tokens: HS256 JWTs with `token_type: "access"`, `sub`, `username`, `sid` (refresh-token
 * family = session) and `jti`. Verification pins the algorithm (no `none`, no switching), checks
 * expiry, the token type and that its lifetime (`exp − iat`) is at most `JWT_EXPIRY`, and
 * decodes the claims with Schema.
 */
import { Clock, Context, Duration, Effect, Layer, Redacted, Schema } from "effect"
import { errors as JoseErrors, jwtVerify, SignJWT } from "jose"
import { newId } from "@pylon/platform/runtime/IdGenerator"
import { AccessTokenClaims } from "@pylon/contracts/Auth"
import { AuthConfig } from "./AuthConfig.ts"

const ALGORITHM = "HS256"
/** Tolerated difference between gateway clocks for a token's `iat`. */
const CLOCK_SKEW_SECONDS = 60

export type AccessClaims = AccessTokenClaims

export class InvalidAccessToken extends Schema.TaggedError<InvalidAccessToken>()("InvalidAccessToken", {
  reason: Schema.String
}) {}

export interface IssuedToken {
  readonly token: string
  readonly expiresAt: Date
}

export class AccessTokens extends Context.Service<AccessTokens, {
  readonly issue: (subject: { readonly userId: string; readonly username: string; readonly sessionId: string }) =>
    Effect.Effect<IssuedToken>
  readonly verify: (token: string) => Effect.Effect<AccessClaims, InvalidAccessToken>
}>()("pylon/gateway/AccessTokens") {
  static readonly layer = Layer.effect(
    AccessTokens,
    Effect.gen(function*() {
      const config = yield* AuthConfig
      const key = new TextEncoder().encode(Redacted.value(config.jwtSecret))
      const decodeClaims = Schema.decodeUnknownEffect(AccessTokenClaims)
      const ttlSeconds = Math.max(1, Math.floor(Duration.toSeconds(config.accessTokenTtl)))

      const issue = Effect.fn("AccessTokens.issue")(function*(subject: {
        readonly userId: string
        readonly username: string
        readonly sessionId: string
      }) {
        const now = Math.floor((yield* Clock.currentTimeMillis) / 1000)
        const exp = now + ttlSeconds
        const jti = yield* newId
        const token = yield* Effect.promise(() =>
          new SignJWT({ username: subject.username, sid: subject.sessionId, token_type: "access" })
            .setProtectedHeader({ alg: ALGORITHM, typ: "JWT" })
            .setSubject(subject.userId)
            .setJti(jti)
            .setIssuedAt(now)
            .setExpirationTime(exp)
            .sign(key)
        )
        return { token, expiresAt: new Date(exp * 1000) }
      })

      const verify = Effect.fn("AccessTokens.verify")(function*(token: string) {
        const now = Math.floor((yield* Clock.currentTimeMillis) / 1000)
        const { payload } = yield* Effect.tryPromise({
          try: () => jwtVerify(token, key, { algorithms: [ALGORITHM], currentDate: new Date(now * 1000) }),
          catch: (cause) =>
            new InvalidAccessToken({
              reason: cause instanceof JoseErrors.JWTExpired ? "token expired" : "invalid token"
            })
        })
        const claims = yield* decodeClaims(payload).pipe(
          Effect.mapError(() => new InvalidAccessToken({ reason: "invalid token claims" }))
        )
        // We never issue a longer-lived token; one that claims more was not minted by this config.
        if (claims.exp - claims.iat > ttlSeconds || claims.iat > now + CLOCK_SKEW_SECONDS) {
          return yield* new InvalidAccessToken({ reason: "invalid token lifetime" })
        }
        return claims
      })

      return AccessTokens.of({ issue, verify })
    })
  )
}
