/**
 * API.md §1–§3 over real HTTP: the gateway on a real socket, a fresh PostgreSQL database and the
 * real Redis (see support/GatewayHarness.ts). Rate-limit budgets are generous here; §7 is
 * covered in RateLimits.test.ts.
 */
import { request as httpRequest } from "node:http"
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import { hashRefreshToken } from "../src/auth/AuthService.ts"
import { Gateway, gatewayLayer } from "./support/GatewayHarness.ts"
import type { AuthResultJson, TokenPairJson, UserJson } from "./support/Http.ts"
import {
  expectError,
  expectOk,
  get,
  http,
  login,
  me,
  newCredentials,
  newUser,
  post,
  refresh,
  register,
  RFC3339_MS_UTC
} from "./support/Http.ts"
import { claimsOf, headerOf, nowSeconds, signToken, unsignedToken } from "./support/Tokens.ts"

/** API.md §1: request bodies are at most 1 MiB. */
const MAX_BODY_BYTES = 1024 * 1024
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const MINUTE = 60_000

const expectNear = (actual: number, expected: number, tolerance: number) => {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(tolerance)
}

const expectRateLimitHeaders = (headers: Headers) => {
  expect(headers.get("x-ratelimit-limit")).toMatch(/^\d+$/)
  expect(headers.get("x-ratelimit-remaining")).toMatch(/^\d+$/)
  expect(headers.get("x-ratelimit-reset")).toMatch(/^\d+$/)
}

/** Sends `body` to `path` with chunked transfer encoding (no Content-Length). */
const postChunked = (path: string, body: string) =>
  Effect.gen(function*() {
    const { baseUrl } = yield* Gateway
    return yield* Effect.promise(() =>
      new Promise<{ readonly status: number; readonly body: unknown }>((resolve, reject) => {
        const req = httpRequest(`${baseUrl}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json", "transfer-encoding": "chunked" }
        }, (res) => {
          let text = ""
          res.setEncoding("utf8")
          res.on("data", (chunk: string) => {
            text += chunk
          })
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown }))
          res.on("error", reject)
        })
        req.on("error", reject)
        const chunk = body.slice(0, 64 * 1024)
        // Write in pieces so the server sees a stream, not one buffer; stop early if it answered.
        let offset = 0
        const pump = () => {
          while (offset < body.length) {
            const piece = body.slice(offset, offset + chunk.length)
            offset += piece.length
            if (!req.write(piece)) {
              req.once("drain", pump)
              return
            }
          }
          req.end()
        }
        pump()
      })
    )
  })

const usersNamed = (username: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient
    const rows = yield* sql<{ readonly n: number }>`
      SELECT count(*)::int AS n FROM users WHERE lower(username) = lower(${username})`
    return rows[0]?.n ?? 0
  }).pipe(Effect.orDie)

layer(gatewayLayer(), { excludeTestServices: true })("api-gateway over HTTP", (it) => {
  describe("POST /api/v1/auth/register", () => {
    it.effect("201 with the AuthResult shape, email lower-cased, tokens as specified", () =>
      Effect.gen(function*() {
        const credentials = newCredentials("Reg")
        const mixedEmail = credentials.email.toUpperCase()
        const before = Date.now()
        const response = yield* post("/api/v1/auth/register", { json: { ...credentials, email: mixedEmail } })
        const data = expectOk<AuthResultJson>(response, 201)
        expect(response.headers.get("content-type")).toMatch(/^application\/json/)
        expectRateLimitHeaders(response.headers)

        expect(Object.keys(data).sort()).toEqual(["expires_at", "refresh_expires_at", "refresh_token", "token", "user"])
        expect(Object.keys(data.user).sort()).toEqual(["avatar_url", "created_at", "display_name", "email", "id", "username"])
        expect(data.user).toMatchObject({
          username: credentials.username,
          email: credentials.email.toLowerCase(),
          display_name: null,
          avatar_url: null
        })
        expect(data.user.id).toMatch(UUID)
        for (const timestamp of [data.user.created_at, data.expires_at, data.refresh_expires_at]) {
          expect(timestamp).toMatch(RFC3339_MS_UTC)
        }
        expectNear(Date.parse(data.user.created_at), before, MINUTE)
        expectNear(Date.parse(data.expires_at), before + 15 * MINUTE, MINUTE)
        expectNear(Date.parse(data.refresh_expires_at), before + 7 * 24 * 60 * MINUTE, MINUTE)

        // Access token: HS256 JWT with the claims of API.md §3, expiring at `expires_at`.
        expect(headerOf(data.token)).toMatchObject({ alg: "HS256" })
        const claims = claimsOf(data.token)
        expect(claims).toMatchObject({ token_type: "access", sub: data.user.id, username: credentials.username })
        expect(claims["sid"]).toMatch(UUID)
        expect(typeof claims.jti).toBe("string")
        expect(claims.exp! * 1000).toBe(Date.parse(data.expires_at))
        expect(claims.exp! - claims.iat!).toBe(15 * 60)
        expect(data.refresh_token).not.toBe(data.token)
        expect(data.refresh_token.length).toBeGreaterThanOrEqual(32)

        // Stored lower-cased, password hashed with argon2id.
        const sql = yield* SqlClient
        const rows = yield* sql<{ readonly email: string; readonly password_hash: string }>`
          SELECT email, password_hash FROM users WHERE id = ${data.user.id}`
        expect(rows[0]?.email).toBe(credentials.email.toLowerCase())
        expect(rows[0]?.password_hash).toMatch(/^\$argon2id\$/)
        expect(rows[0]?.password_hash).not.toContain(credentials.password)

        const current = expectOk<{ readonly user: UserJson }>(yield* me(data.token))
        expect(current).toEqual({ user: data.user })
      }))

    it.effect("a username differing only in case is taken: 409 already_exists", () =>
      Effect.gen(function*() {
        const { credentials } = yield* newUser("Case")
        const again = newCredentials("other")
        const response = yield* post("/api/v1/auth/register", {
          json: { ...again, username: credentials.username.toUpperCase() }
        })
        expectError(response, 409, "already_exists")
        expect(yield* usersNamed(credentials.username)).toBe(1)
      }))

    it.effect("a taken email (in any case) is 409 already_exists", () =>
      Effect.gen(function*() {
        const { credentials } = yield* newUser("mail")
        const again = newCredentials("other")
        for (const email of [credentials.email, credentials.email.toUpperCase()]) {
          const response = yield* post("/api/v1/auth/register", { json: { ...again, email } })
          expectError(response, 409, "already_exists")
        }
        expect(yield* usersNamed(again.username)).toBe(0)
      }))

    it.effect("invalid or missing fields are 400 naming the field, and create nothing", () =>
      Effect.gen(function*() {
        const cases: ReadonlyArray<readonly [field: string, patch: Record<string, unknown>]> = [
          ["username", { username: "ab" }],
          ["username", { username: "a".repeat(33) }],
          ["username", { username: "bad name" }],
          ["username", { username: "émile" }],
          ["username", { username: 12345 }],
          ["username", { username: undefined }],
          ["email", { email: "not-an-email" }],
          ["email", { email: "Name <name@example.com>" }],
          ["email", { email: `${"a".repeat(244)}@example.com` }],
          ["email", { email: null }],
          ["email", { email: undefined }],
          ["password", { password: "7 chars" }],
          ["password", { password: "p".repeat(129) }],
          ["password", { password: 12345678 }],
          ["password", { password: undefined }]
        ]
        for (const [field, patch] of cases) {
          const credentials = newCredentials("bad")
          const response = yield* post("/api/v1/auth/register", { json: { ...credentials, ...patch } })
          const error = expectError(response, 400, "bad_request")
          expect(error.message, JSON.stringify(patch)).toMatch(new RegExp(`^${field}\\b`))
          expect(yield* usersNamed(credentials.username)).toBe(0)
        }
      }))

    it.effect("the bounds themselves are valid: 3 and 32 character usernames, 8 and 128 character passwords", () =>
      Effect.gen(function*() {
        const suffix = newCredentials().username.slice(-5)
        yield* register({ ...newCredentials(), username: `a.${suffix.slice(0, 1)}` })
        yield* register({ ...newCredentials(), username: `A-_.${suffix}`.padEnd(32, "z") })
        yield* register({ ...newCredentials(), password: "12345678" })
        yield* register({ ...newCredentials(), password: "x".repeat(128) })
        // 128 characters, not 128 UTF-16 units: astral characters count once.
        yield* register({ ...newCredentials(), password: "🔑".repeat(128) })
      }))

    it.effect("passwords are kept verbatim: surrounding spaces are part of the password", () =>
      Effect.gen(function*() {
        const credentials = { ...newCredentials("space"), password: "  two  spaces  " }
        yield* register(credentials)
        yield* login(credentials.email, credentials.password)
        const trimmed = yield* post("/api/v1/auth/login", {
          json: { email: credentials.email, password: credentials.password.trim() }
        })
        expect(expectError(trimmed, 401, "unauthorized").message).toBe("invalid credentials")
      }))

    it.effect("a missing, empty, invalid or multi-value JSON body is 400 bad_request", () =>
      Effect.gen(function*() {
        const credentials = newCredentials("body")
        const bodies = ["", "   ", "{", "{\"username\":", "not json", JSON.stringify(credentials) + " {}", "{} {}", "[]", "null", "42"]
        expectError(yield* http("POST", "/api/v1/auth/register"), 400, "bad_request")
        for (const raw of bodies) {
          const response = yield* post("/api/v1/auth/register", { raw })
          expect(response.status, raw).toBe(400)
          expectError(response, 400, "bad_request")
        }
        expect(yield* usersNamed(credentials.username)).toBe(0)
      }))

    it.effect("unknown fields are ignored (and cannot set server-owned fields)", () =>
      Effect.gen(function*() {
        const credentials = newCredentials("extra")
        const response = yield* post("/api/v1/auth/register", {
          json: {
            ...credentials,
            id: "00000000-0000-7000-8000-000000000000",
            display_name: "Mallory",
            avatar_url: "https://example.com/a.png",
            created_at: "2000-01-01T00:00:00.000Z",
            is_admin: true
          }
        })
        const data = expectOk<AuthResultJson>(response, 201)
        expect(data.user).toMatchObject({ username: credentials.username, display_name: null, avatar_url: null })
        expect(data.user.id).not.toBe("00000000-0000-7000-8000-000000000000")
        expect(data.user.created_at.startsWith("2000-")).toBe(false)
      }))

    it.effect("a body of just under 1 MiB is read; over 1 MiB is 413 payload_too_large", () =>
      Effect.gen(function*() {
        const credentials = newCredentials("big")
        const envelope = JSON.stringify({ ...credentials, padding: "" })
        const fits = JSON.stringify({ ...credentials, padding: "x".repeat(MAX_BODY_BYTES - envelope.length) })
        expect(Buffer.byteLength(fits)).toBe(MAX_BODY_BYTES)
        expectOk(yield* post("/api/v1/auth/register", { raw: fits }), 201)

        const tooBig = JSON.stringify({ ...newCredentials("big"), padding: "x".repeat(MAX_BODY_BYTES) })
        expectError(yield* post("/api/v1/auth/register", { raw: tooBig }), 413, "payload_too_large")
        // Without Content-Length the limit is enforced while reading.
        const chunked = yield* postChunked("/api/v1/auth/register", tooBig)
        expect(chunked).toMatchObject({ status: 413, body: { success: false, error: { code: "payload_too_large" } } })
      }))
  })

  describe("POST /api/v1/auth/login", () => {
    it.effect("200 AuthResult with a new session; the email is matched case-insensitively", () =>
      Effect.gen(function*() {
        const { credentials, session } = yield* newUser("login")
        const response = yield* post("/api/v1/auth/login", {
          json: { email: `  ${credentials.email.toUpperCase()} `, password: credentials.password }
        })
        const data = expectOk<AuthResultJson>(response)
        expectRateLimitHeaders(response.headers)
        expect(Object.keys(data).sort()).toEqual(["expires_at", "refresh_expires_at", "refresh_token", "token", "user"])
        expect(data.user).toEqual(session.user)
        expect(data.expires_at).toMatch(RFC3339_MS_UTC)
        expect(data.refresh_expires_at).toMatch(RFC3339_MS_UTC)
        expect(claimsOf(data.token)["sid"]).not.toBe(claimsOf(session.token)["sid"])
        expect(data.refresh_token).not.toBe(session.refresh_token)
        expectOk(yield* me(data.token))
      }))

    it.effect("wrong password, unknown email and a malformed email are the same 401 invalid credentials", () =>
      Effect.gen(function*() {
        const { credentials } = yield* newUser("timing")
        const wrongPassword = { email: credentials.email, password: `${credentials.password}!` }
        const unknownEmail = { email: `nobody.${credentials.email}`, password: credentials.password }
        const malformedEmail = { email: "not-an-email", password: credentials.password }
        const first = yield* post("/api/v1/auth/login", { json: wrongPassword })
        const second = yield* post("/api/v1/auth/login", { json: unknownEmail })
        const third = yield* post("/api/v1/auth/login", { json: malformedEmail })
        expect(expectError(first, 401, "unauthorized").message).toBe("invalid credentials")
        expect(second.text).toBe(first.text)
        expect(third.text).toBe(first.text)

        // That the unknown-email path pays for a real argon2id verification is checked
        // deterministically in AuthUnits.test.ts (it counts verifications); no wall-clock timing here.
      }))

    it.effect("invalid bodies are 400 naming the field", () =>
      Effect.gen(function*() {
        const cases: ReadonlyArray<readonly [string, unknown]> = [
          ["email", { password: "whatever-password" }],
          ["email", { email: 5, password: "whatever-password" }],
          ["password", { email: "a@example.com" }],
          ["password", { email: "a@example.com", password: "" }]
        ]
        for (const [field, json] of cases) {
          const error = expectError(yield* post("/api/v1/auth/login", { json }), 400, "bad_request")
          expect(error.message).toMatch(new RegExp(`^${field}\\b`))
        }
        expectError(yield* post("/api/v1/auth/login", { raw: "{" }), 400, "bad_request")
      }))
  })

  describe("POST /api/v1/auth/refresh", () => {
    it.effect("rotates: a new pair for the same session, and the new refresh token rotates again", () =>
      Effect.gen(function*() {
        const { session } = yield* newUser("rot")
        const response = yield* refresh(session.refresh_token)
        const pair = expectOk<TokenPairJson>(response)
        expectRateLimitHeaders(response.headers)
        expect(Object.keys(pair).sort()).toEqual(["expires_at", "refresh_expires_at", "refresh_token", "token"])
        expect(pair.expires_at).toMatch(RFC3339_MS_UTC)
        expect(pair.refresh_expires_at).toMatch(RFC3339_MS_UTC)
        expect(pair.refresh_token).not.toBe(session.refresh_token)
        expect(pair.token).not.toBe(session.token)
        expect(claimsOf(pair.token)).toMatchObject({ sub: session.user.id, sid: claimsOf(session.token)["sid"] })
        expectOk(yield* me(pair.token))
        const next = expectOk<TokenPairJson>(yield* refresh(pair.refresh_token))
        expect(next.refresh_token).not.toBe(pair.refresh_token)
        expectOk(yield* me(next.token))
      }))

    it.effect("reusing a rotated refresh token is 401 and revokes its whole family (only that family)", () =>
      Effect.gen(function*() {
        const { credentials, session } = yield* newUser("reuse")
        const other = yield* login(credentials.email, credentials.password)
        const rotated = expectOk<TokenPairJson>(yield* refresh(session.refresh_token))
        expectOk(yield* me(rotated.token))

        expectError(yield* refresh(session.refresh_token), 401, "unauthorized")
        // The newest token of the family and every access token of the session are dead now.
        expectError(yield* refresh(rotated.refresh_token), 401, "unauthorized")
        expectError(yield* me(rotated.token), 401, "unauthorized")
        expectError(yield* me(session.token), 401, "unauthorized")
        // Another session of the same user is untouched.
        expectOk(yield* me(other.token))
        expectOk(yield* refresh(other.refresh_token))
      }))

    it.effect("refresh tokens are stored only as SHA-256 hashes", () =>
      Effect.gen(function*() {
        const { session } = yield* newUser("hash")
        const rotated = expectOk<TokenPairJson>(yield* refresh(session.refresh_token))
        const sql = yield* SqlClient
        const rows = yield* sql<{ readonly row: string; readonly token_hash: string }>`
          SELECT row_to_json(t)::text AS row, t.token_hash FROM refresh_tokens t WHERE t.user_id = ${session.user.id}`
        expect(rows.length).toBe(2)
        for (const raw of [session.refresh_token, rotated.refresh_token]) {
          for (const { row } of rows) expect(row).not.toContain(raw)
          expect(rows.map((r) => r.token_hash)).toContain(hashRefreshToken(raw))
        }
        const all = yield* sql<{ readonly dump: string }>`SELECT string_agg(row_to_json(t)::text, '') AS dump FROM refresh_tokens t`
        expect(all[0]?.dump).not.toContain(rotated.refresh_token)
      }))

    it.effect("unknown, expired and malformed refresh tokens are rejected", () =>
      Effect.gen(function*() {
        const { session } = yield* newUser("badref")
        expectError(yield* refresh("not-a-refresh-token"), 401, "unauthorized")
        expectError(yield* refresh(session.token), 401, "unauthorized")
        const error = expectError(yield* post("/api/v1/auth/refresh", { json: {} }), 400, "bad_request")
        expect(error.message).toMatch(/^refresh_token\b/)
        expectError(yield* post("/api/v1/auth/refresh", { json: { refresh_token: "" } }), 400, "bad_request")

        const sql = yield* SqlClient
        yield* sql`UPDATE refresh_tokens SET expires_at = now() - interval '1 second'
                   WHERE token_hash = ${hashRefreshToken(session.refresh_token)}`
        expectError(yield* refresh(session.refresh_token), 401, "unauthorized")
      }))
  })

  describe("POST /api/v1/auth/logout", () => {
    it.effect("revokes the caller's session: its access and refresh tokens are rejected afterwards", () =>
      Effect.gen(function*() {
        const { credentials, session } = yield* newUser("bye")
        const other = yield* login(credentials.email, credentials.password)
        const response = yield* http("POST", "/api/v1/auth/logout", { bearer: session.token })
        expect(expectOk(response)).toEqual({ logged_out: true })

        expectError(yield* me(session.token), 401, "unauthorized")
        expectError(yield* refresh(session.refresh_token), 401, "unauthorized")
        expectError(yield* http("POST", "/api/v1/auth/logout", { bearer: session.token }), 401, "unauthorized")
        // Other sessions stay logged in.
        expectOk(yield* me(other.token))
        expectOk(yield* refresh(other.refresh_token))
      }))

    it.effect("needs a valid bearer token", () =>
      Effect.gen(function*() {
        expectError(yield* http("POST", "/api/v1/auth/logout"), 401, "unauthorized")
        expectError(yield* http("POST", "/api/v1/auth/logout", { bearer: "garbage" }), 401, "unauthorized")
      }))
  })

  describe("GET /api/v1/users/me", () => {
    it.effect("200 {user} for a valid token; 401 without or with a malformed Authorization header", () =>
      Effect.gen(function*() {
        const { session } = yield* newUser("me")
        expect(expectOk(yield* me(session.token))).toEqual({ user: session.user })
        expect(expectOk(yield* get("/api/v1/users/me", { headers: { authorization: `bearer ${session.token}` } })))
          .toEqual({ user: session.user })

        expectError(yield* get("/api/v1/users/me"), 401, "unauthorized")
        for (const authorization of ["", "Bearer", "Bearer ", "garbage", `Basic ${session.token}`, `Token ${session.token}`, "Bearer a.b.c"]) {
          expectError(yield* get("/api/v1/users/me", { headers: { authorization } }), 401, "unauthorized")
        }
        // Query-string tokens are only for GET /ws.
        expectError(yield* get(`/api/v1/users/me?token=${session.token}`), 401, "unauthorized")
        expectError(yield* get(`/api/v1/users/me?access_token=${session.token}`), 401, "unauthorized")
      }))

    it.effect("only HS256 tokens signed with the gateway's secret, with every claim, of type access, unexpired", () =>
      Effect.gen(function*() {
        const { jwtSecret } = yield* Gateway
        const { session } = yield* newUser("jwt")
        const other = yield* newUser("jwt_other")
        const claims = claimsOf(session.token)
        const sign = (payload: Record<string, unknown>, secret = jwtSecret, alg: "HS256" | "HS512" = "HS256") =>
          Effect.promise(() => signToken(payload, secret, alg))

        // Control: the same claims re-signed correctly are accepted, so each rejection below is
        // due to the one thing changed.
        expectOk(yield* me(yield* sign({ ...claims, jti: "resigned" })))

        const rejected: ReadonlyArray<readonly [string, string]> = [
          ["alg none", unsignedToken(claims)],
          ["alg none, signature kept", `${unsignedToken(claims).slice(0, -1)}.${session.token.split(".")[2]}`],
          ["other secret", yield* sign(claims, `${jwtSecret}-forged`)],
          ["HS512 with the right secret", yield* sign(claims, jwtSecret, "HS512")],
          ["token_type refresh", yield* sign({ ...claims, token_type: "refresh" })],
          ["no token_type", yield* sign({ ...claims, token_type: undefined })],
          ["no sid", yield* sign({ ...claims, sid: undefined })],
          ["no sub", yield* sign({ ...claims, sub: undefined })],
          ["sub not a uuid", yield* sign({ ...claims, sub: "alice" })],
          ["no exp", yield* sign({ ...claims, exp: undefined })],
          ["expired", yield* sign({ ...claims, iat: nowSeconds() - 120, exp: nowSeconds() - 60 })],
          ["unknown session", yield* sign({ ...claims, sid: "00000000-0000-7000-8000-000000000001" })],
          ["another user's live session", yield* sign({ ...claims, sid: claimsOf(other.session.token).sid })],
          ["lifetime beyond JWT_EXPIRY", yield* sign({ ...claims, iat: nowSeconds() - 10, exp: nowSeconds() + 24 * 3600 })],
          ["the refresh token", session.refresh_token],
          ["tampered payload", tamper(session.token)]
        ]
        for (const [name, token] of rejected) {
          const response = yield* me(token)
          expect(response.status, name).toBe(401)
          expectError(response, 401, "unauthorized")
        }
      }))

    it.effect("an expired access token is 401 even though its session is alive", () =>
      Effect.gen(function*() {
        const { jwtSecret } = yield* Gateway
        const { session } = yield* newUser("exp")
        const claims = claimsOf(session.token)
        const now = nowSeconds()
        const expired = yield* Effect.promise(() => signToken({ ...claims, iat: now - 16 * 60, exp: now - 1 }, jwtSecret))
        const error = expectError(yield* me(expired), 401, "unauthorized")
        expect(error.message).toMatch(/expired/)
        expectOk(yield* refresh(session.refresh_token))
      }))
  })

  describe("envelope and operations", () => {
    it.effect("unknown routes are 404 not_found, wrong methods 405 method_not_allowed", () =>
      Effect.gen(function*() {
        expectError(yield* get("/nope"), 404, "not_found")
        expectError(yield* post("/api/v1/auth/nope", { json: {} }), 404, "not_found")
        expectError(yield* get("/api/v1/auth/login"), 405, "method_not_allowed")
        expectError(yield* http("DELETE", "/api/v1/users/me"), 405, "method_not_allowed")
        expectError(yield* http("PUT", "/api/v1/auth/register", { json: newCredentials() }), 405, "method_not_allowed")
        expectError(yield* post("/health"), 405, "method_not_allowed")
      }))

    it.effect("/health, /ready, and /metrics on the metrics port only", () =>
      Effect.gen(function*() {
        const health = yield* get("/health")
        expect(expectOk(health)).toEqual({ service: "api-gateway", status: "ok" })
        expect(health.headers.get("x-request-id")).toBeTruthy()
        expect(expectOk(yield* get("/ready"))).toMatchObject({
          service: "api-gateway",
          status: "ready",
          checks: { postgres: "up", redis: "up" }
        })
        expectError(yield* get("/metrics"), 404, "not_found")
        const { metricsUrl } = yield* Gateway
        const metrics = yield* Effect.promise(async () => {
          const response = await fetch(`${metricsUrl}/metrics`)
          return { status: response.status, contentType: response.headers.get("content-type"), text: await response.text() }
        })
        expect(metrics.status).toBe(200)
        expect(metrics.contentType).toMatch(/^text\/plain/)
        expect(metrics.text).toMatch(/^# (HELP|TYPE) /m)
        expect(metrics.text).toContain("pylon_http_requests_total")
      }))

    it.effect("failures never leak internals", () =>
      Effect.gen(function*() {
        const response = yield* post("/api/v1/auth/register", { raw: "{\"username\": \"x\", \"email\": " })
        expectError(response, 400, "bad_request")
        expect(response.text).not.toMatch(/at .*\.ts:\d+|SyntaxError|stack/)
      }))
  })
})

/** Flips one character of the payload segment, keeping the signature. */
const tamper = (token: string): string => {
  const [header, payload, signature] = token.split(".")
  const chars = [...(payload ?? "")]
  chars[5] = chars[5] === "A" ? "B" : "A"
  return `${header}.${chars.join("")}.${signature}`
}
