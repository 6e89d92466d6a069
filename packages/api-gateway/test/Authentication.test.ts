/**
 * The REST authentication middleware in process (no socket, no database): a handler declared with
 * `authenticatedResource` runs only after the bearer token verified, sees the token's claims as
 * `CurrentUser`, and never runs for a missing or refused token; a wrong method is still 405
 * before any token is looked at.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { HttpRouter } from "effect/http"
import type { AccessTokenClaims } from "@pylon/contracts/Auth"
import { Unauthorized } from "@pylon/contracts/Errors"
import { SessionId, UserId } from "@pylon/contracts/Ids"
import { EnvelopeMiddleware } from "@pylon/platform/http/EnvelopeMiddleware"
import { respondOk } from "@pylon/platform/http/HttpEnvelope"
import { ServerConfig } from "@pylon/platform/http/ServerConfig"
import { AuthService } from "../src/auth/AuthService.ts"
import { authenticatedResource, CurrentUser } from "../src/http/Authentication.ts"

const claims: AccessTokenClaims = {
  sub: UserId.make("6f1d8a52-3c1e-4f57-9d0e-2b7c9a1e4f10"),
  username: "alice",
  sid: SessionId.make("0b9e3c2a-7d41-4e8f-a6b5-91c2d3e4f5a6"),
  jti: "jti-1",
  token_type: "access",
  iat: 1,
  exp: 2
}

const unused = Effect.die("not used by this test")

/** Accepts exactly the token "good"; counts every token it is asked about. */
const makeApp = () => {
  const seen: Array<string> = []
  let handlerRuns = 0
  const auth = Layer.succeed(AuthService, AuthService.of({
    register: () => unused,
    login: () => unused,
    refresh: () => unused,
    logout: () => unused,
    currentUser: () => unused,
    authenticate: (token) =>
      Effect.suspend(() => {
        seen.push(token)
        return token === "good" ? Effect.succeed(claims) : Effect.fail(new Unauthorized({ message: "invalid token" }))
      })
  }))
  const routes = authenticatedResource("/probe", {
    GET: Effect.gen(function*() {
      const user = yield* CurrentUser
      handlerRuns++
      return respondOk({ sub: user.sub, username: user.username })
    })
  })
  const app = routes.pipe(
    Layer.provideMerge(EnvelopeMiddleware),
    Layer.provideMerge([auth, ServerConfig.make({ port: 0, host: "127.0.0.1", env: "test", corsOrigins: [] })])
  )
  const { handler, dispose } = HttpRouter.toWebHandler(app, { disableLogger: true })
  const call = (init: RequestInit = {}) =>
    Effect.promise(async () => {
      const response = await handler(new Request("http://local/probe", init))
      const body: unknown = await response.json()
      return { status: response.status, body }
    })
  return { call, dispose: Effect.promise(dispose), seen, runs: () => handlerRuns }
}

describe("authentication middleware", () => {
  it.effect("provides the verified caller as CurrentUser", () =>
    Effect.gen(function*() {
      const app = makeApp()
      const { status, body } = yield* app.call({ headers: { authorization: "Bearer good" } })
      expect(status).toBe(200)
      expect(body).toEqual({ success: true, data: { sub: claims.sub, username: "alice" } })
      expect(app.seen).toEqual(["good"])
      expect(app.runs()).toBe(1)
      yield* app.dispose
    }))

  it.effect("a missing or refused token is 401 and the handler never runs", () =>
    Effect.gen(function*() {
      const app = makeApp()
      const missing = yield* app.call()
      const malformed = yield* app.call({ headers: { authorization: "Basic Zm9vOmJhcg==" } })
      const refused = yield* app.call({ headers: { authorization: "Bearer bad" } })
      for (const response of [missing, malformed, refused]) {
        expect(response.status).toBe(401)
        expect(response.body).toMatchObject({ success: false, error: { code: "unauthorized" } })
      }
      expect(app.seen).toEqual(["bad"])
      expect(app.runs()).toBe(0)
      yield* app.dispose
    }))

  it.effect("a wrong method is 405 before the token is looked at", () =>
    Effect.gen(function*() {
      const app = makeApp()
      const { status, body } = yield* app.call({ method: "DELETE" })
      expect(status).toBe(405)
      expect(body).toMatchObject({ success: false, error: { code: "method_not_allowed" } })
      expect(app.seen).toEqual([])
      yield* app.dispose
    }))
})
