/**
 * The auth building blocks without HTTP: AccessTokens' verification rules (with the TestClock),
 * the refresh-token hash, the argon2id hasher, and AuthConfig's production refusal.
 */
import * as NodeArgon2 from "@node-rs/argon2"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Exit, Layer, Option, Redacted } from "effect"
import { TestClock } from "effect/testing"
import { ServerConfig } from "@pylon/platform/http/ServerConfig"
import type { AppEnv } from "@pylon/platform/runtime/AppEnv"
import { AccessTokens } from "../src/auth/AccessTokens.ts"
import { AuthConfig, DEVELOPMENT_JWT_SECRET } from "../src/auth/AuthConfig.ts"
import { AuthService, hashRefreshToken } from "../src/auth/AuthService.ts"
import { PasswordHasher } from "../src/auth/PasswordHasher.ts"
import { RefreshTokenRepository } from "../src/auth/RefreshTokenRepository.ts"
import { SessionRevocations } from "../src/auth/SessionRevocations.ts"
import { UserRepository } from "../src/auth/UserRepository.ts"
import { claimsOf, headerOf, signToken, unsignedToken } from "./support/Tokens.ts"

const SECRET = "unit-test-secret-unit-test-secret-0123456789"
const USER_ID = "0190a5c4-0000-7000-8000-000000000001"
const SESSION_ID = "0190a5c4-0000-7000-8000-000000000002"

const accessTokensLayer = AccessTokens.layer.pipe(
  Layer.provide(AuthConfig.make({
    jwtSecret: Redacted.make(SECRET),
    accessTokenTtl: Duration.minutes(15),
    refreshTokenTtl: Duration.days(7)
  }))
)

const subject = { userId: USER_ID, username: "alice", sessionId: SESSION_ID }

/** Why `verify` refused `token`, or `undefined` if it accepted it. */
const refusal = (token: string) =>
  Effect.gen(function*() {
    const tokens = yield* AccessTokens
    return yield* tokens.verify(token).pipe(
      Effect.match({ onFailure: (error): string | undefined => error.reason, onSuccess: () => undefined })
    )
  })

describe("AccessTokens", () => {
  it.effect("issues HS256 access tokens whose claims verify, expiring after the configured TTL", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-06-23T00:00:00.000Z"))
      const tokens = yield* AccessTokens
      const issued = yield* tokens.issue(subject)
      expect(issued.expiresAt.toISOString()).toBe("2026-06-23T00:15:00.000Z")
      expect(headerOf(issued.token)).toEqual({ alg: "HS256", typ: "JWT" })
      const claims = yield* tokens.verify(issued.token)
      expect(claims).toMatchObject({ sub: USER_ID, username: "alice", sid: SESSION_ID, token_type: "access" })
      expect(claims.exp - claims.iat).toBe(15 * 60)
      expect(claims.jti.length).toBeGreaterThan(0)
      const other = yield* tokens.issue(subject)
      expect(claimsOf(other.token).jti).not.toBe(claims.jti)

      yield* TestClock.adjust(Duration.minutes(14))
      expect(yield* refusal(issued.token)).toBeUndefined()
      yield* TestClock.adjust(Duration.minutes(1))
      expect(yield* refusal(issued.token)).toMatch(/token expired/)
    }).pipe(Effect.provide(accessTokensLayer)))

  it.effect("refuses other algorithms, other keys, alg none, wrong token types and incomplete claims", () =>
    Effect.gen(function*() {
      const tokens = yield* AccessTokens
      const now = Math.floor(Date.now() / 1000)
      yield* TestClock.setTime(now * 1000)
      const claims = claimsOf((yield* tokens.issue(subject)).token)
      const sign = (payload: Record<string, unknown>, secret = SECRET, alg: "HS256" | "HS384" | "HS512" = "HS256") =>
        Effect.promise(() => signToken(payload, secret, alg))

      expect(yield* refusal(yield* sign(claims))).toBeUndefined()
      const cases: ReadonlyArray<readonly [string, string, RegExp]> = [
        ["alg none", unsignedToken(claims), /invalid token/],
        ["HS384", yield* sign(claims, SECRET, "HS384"), /invalid token/],
        ["HS512", yield* sign(claims, SECRET, "HS512"), /invalid token/],
        ["other key", yield* sign(claims, `${SECRET}x`), /invalid token/],
        ["token_type refresh", yield* sign({ ...claims, token_type: "refresh" }), /invalid token claims/],
        ["no sid", yield* sign({ ...claims, sid: undefined }), /invalid token claims/],
        ["sid not a uuid", yield* sign({ ...claims, sid: "x" }), /invalid token claims/],
        ["no jti", yield* sign({ ...claims, jti: undefined }), /invalid token claims/],
        ["no exp", yield* sign({ ...claims, exp: undefined }), /invalid token claims/],
        ["expired", yield* sign({ ...claims, exp: now - 1 }), /token expired/],
        ["not a JWT", "a.b.c", /invalid token/]
      ]
      for (const [name, token, reason] of cases) {
        expect(yield* refusal(token), name).toMatch(reason)
      }
    }).pipe(Effect.provide(accessTokensLayer)))
})

describe("hashRefreshToken", () => {
  it("is the hex SHA-256 of the token: deterministic, never the token itself", () => {
    expect(hashRefreshToken("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    expect(hashRefreshToken("abc")).toBe(hashRefreshToken("abc"))
    expect(hashRefreshToken("abd")).not.toBe(hashRefreshToken("abc"))
    expect(hashRefreshToken("x".repeat(43))).toMatch(/^[0-9a-f]{64}$/)
  })
})

describe("PasswordHasher", () => {
  it.live("hashes with argon2id (OWASP parameters) and verifies exactly", () =>
    Effect.gen(function*() {
      const hasher = yield* PasswordHasher
      const hash = yield* hasher.hash("  correct horse  ")
      expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
      expect(hash).not.toContain("correct horse")
      expect(yield* hasher.hash("  correct horse  ")).not.toBe(hash)
      expect(yield* hasher.verifyOrBurn(hash, "  correct horse  ")).toBe(true)
      expect(yield* hasher.verifyOrBurn(hash, "correct horse")).toBe(false)
      expect(yield* hasher.verifyOrBurn("not-a-hash", "  correct horse  ")).toBe(false)
      expect(yield* hasher.verifyOrBurn(undefined, "  correct horse  ")).toBe(false)
    }).pipe(Effect.provide(PasswordHasher.layer)))

  // The login-timing guarantee lives here: an unknown email (no stored hash) must still run one
  // full argon2id verification, against a real argon2id hash. Counted on the real binding.
  it.live("without a stored hash, still runs one argon2id verification (against an argon2id hash)", () =>
    Effect.gen(function*() {
      const verified: Array<string> = []
      const counting = PasswordHasher.layerWith({
        hash: NodeArgon2.hash,
        verify: (hashed, password) => {
          verified.push(hashed)
          return NodeArgon2.verify(hashed, password)
        }
      })
      const hasher = yield* Effect.provide(Effect.service(PasswordHasher), counting)
      expect(yield* hasher.verifyOrBurn(undefined, "correct horse")).toBe(false)
      expect(verified).toHaveLength(1)
      expect(verified[0]).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
      const stored = yield* hasher.hash("correct horse")
      expect(yield* hasher.verifyOrBurn(stored, "correct horse")).toBe(true)
      expect(verified).toEqual([verified[0], stored])
    }))
})

describe("AuthConfig", () => {
  const build = (env: AppEnv, vars: Record<string, string>) =>
    Effect.gen(function*() {
      return yield* AuthConfig
    }).pipe(
      Effect.provide(AuthConfig.layer.pipe(
        Layer.provide(ServerConfig.make({ port: 0, host: "127.0.0.1", env, corsOrigins: [] })),
        Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(vars)))
      )),
      Effect.exit
    )

  it.effect("refuses to start in production without a strong JWT_SECRET", () =>
    Effect.gen(function*() {
      const weak: ReadonlyArray<Record<string, string>> = [
        {},
        { JWT_SECRET: "" },
        { JWT_SECRET: DEVELOPMENT_JWT_SECRET },
        { JWT_SECRET: "secret" },
        { JWT_SECRET: "changeme" },
        { JWT_SECRET: "short-but-random-9f8e7d" }
      ]
      for (const vars of weak) {
        const exit = yield* build("production", vars)
        expect(Exit.isFailure(exit), JSON.stringify(vars)).toBe(true)
        if (Exit.isFailure(exit)) expect(String(exit.cause)).toMatch(/JWT_SECRET/)
      }
      const strong = "k3Jq9vX2mP7rT5wY8zA1bC4dE6fG0hI-strong"
      const ok = yield* build("production", { JWT_SECRET: strong })
      expect(Exit.isSuccess(ok) && Redacted.value(ok.value.jwtSecret)).toBe(strong)
    }))

  it.effect("outside production falls back to the development secret; reads JWT_EXPIRY / JWT_REFRESH_EXPIRY", () =>
    Effect.gen(function*() {
      for (const env of ["development", "test"] as const) {
        const exit = yield* build(env, {})
        expect(Exit.isSuccess(exit)).toBe(true)
        if (Exit.isSuccess(exit)) {
          expect(Redacted.value(exit.value.jwtSecret)).toBe(DEVELOPMENT_JWT_SECRET)
          expect(Duration.toMinutes(exit.value.accessTokenTtl)).toBe(15)
          expect(Duration.toDays(exit.value.refreshTokenTtl)).toBe(7)
        }
      }
      const custom = yield* build("production", {
        JWT_SECRET: "k3Jq9vX2mP7rT5wY8zA1bC4dE6fG0hI-strong",
        JWT_EXPIRY: "5 minutes",
        JWT_REFRESH_EXPIRY: "2 days"
      })
      expect(Exit.isSuccess(custom)).toBe(true)
      if (Exit.isSuccess(custom)) {
        expect(Duration.toMinutes(custom.value.accessTokenTtl)).toBe(5)
        expect(Duration.toDays(custom.value.refreshTokenTtl)).toBe(2)
      }
    }))
})

describe("AuthService.login", () => {
  // Deterministic twin of the HTTP timing check: the unknown-email path must pay for argon2 too.
  it.effect("runs the password check once, also when the email is unknown, and answers InvalidCredentials", () =>
    Effect.gen(function*() {
      const verified: Array<string | undefined> = []
      const recordingHasher = Layer.succeed(PasswordHasher, {
        hash: (password: string) => Effect.succeed(`hashed:${password}`),
        verifyOrBurn: (stored: string | undefined, _password: string) =>
          Effect.sync(() => {
            verified.push(stored)
            return false
          })
      })
      const noUsers = Layer.succeed(UserRepository, {
        create: () => Effect.die(new Error("not used")),
        findByEmail: () => Effect.succeed(Option.none()),
        findById: () => Effect.succeed(Option.none())
      })
      const noTokens = Layer.succeed(RefreshTokenRepository, {
        insert: () => Effect.die(new Error("not used")),
        findByHash: () => Effect.succeed(Option.none()),
        rotate: () => Effect.die(new Error("not used")),
        revokeFamily: () => Effect.void,
        isFamilyActive: () => Effect.succeed(false),
        activeFamilies: () => Effect.succeed(new Set<string>())
      })
      const noRevocations = Layer.succeed(SessionRevocations, { announce: () => Effect.void, register: () => Effect.void })
      const exit = yield* Effect.exit(
        Effect.gen(function*() {
          const auth = yield* AuthService
          return yield* auth.login({ email: "nobody@example.test", password: "whatever1" })
        }).pipe(
          Effect.provide(AuthService.layer.pipe(
            Layer.provide([recordingHasher, noUsers, noTokens, accessTokensLayer, noRevocations]),
            Layer.provide(AuthConfig.make({
              jwtSecret: Redacted.make("unit-test-secret-unit-test-secret"),
              accessTokenTtl: Duration.minutes(15),
              refreshTokenTtl: Duration.days(7)
            }))
          ))
        )
      )
      expect(verified).toEqual([undefined])
      expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("InvalidCredentials")
    }))
})
