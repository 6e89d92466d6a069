/**
 * The `Origin` check on `GET /ws` upgrades (same `CORS_ORIGINS` as CORS; none listed here): a
 * page from another site is refused with 403 before the upgrade, even with a valid token;
 * clients that send no `Origin` (non-browser) and pages from the gateway's own origin proceed.
 */
import { randomBytes } from "node:crypto"
import { request as httpRequest } from "node:http"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { Gateway, gatewayLayer } from "./support/GatewayHarness.ts"
import { newUser } from "./support/Http.ts"

interface UpgradeAnswer {
  readonly status: number
  readonly body: unknown
}

/** A raw WebSocket handshake on `/ws`; 101 when the server upgraded. */
const handshake = (options: { readonly origin?: string; readonly token?: string }) =>
  Gateway.use(({ baseUrl }) =>
    Effect.callback<UpgradeAnswer>((resume) => {
      const query = options.token === undefined ? "" : `?token=${encodeURIComponent(options.token)}`
      const req = httpRequest(`${baseUrl}/ws${query}`, {
        headers: {
          connection: "Upgrade",
          upgrade: "websocket",
          "sec-websocket-key": randomBytes(16).toString("base64"),
          "sec-websocket-version": "13",
          ...(options.origin === undefined ? {} : { origin: options.origin })
        }
      })
      req.on("upgrade", (_response, socket) => {
        socket.destroy()
        resume(Effect.succeed({ status: 101, body: undefined }))
      })
      req.on("response", (response) => {
        let text = ""
        response.setEncoding("utf8")
        response.on("data", (chunk: string) => {
          text += chunk
        })
        response.on("end", () => resume(Effect.succeed({ status: response.statusCode ?? 0, body: JSON.parse(text) as unknown })))
      })
      req.on("error", (error) => resume(Effect.die(error)))
      req.end()
      return Effect.sync(() => req.destroy())
    })
  )

layer(gatewayLayer(), { excludeTestServices: true, timeout: "60 seconds" })("GET /ws Origin check", (it) => {
  it.effect("another site's page is refused with 403 before the upgrade, token or not", () =>
    Effect.gen(function*() {
      const { session } = yield* newUser("origin")
      for (const token of [session.token, undefined]) {
        const answer = yield* handshake({ origin: "https://evil.example", ...(token === undefined ? {} : { token }) })
        expect(answer).toEqual({ status: 403, body: { success: false, error: { code: "forbidden", message: "origin not allowed" } } })
      }
    }))

  it.effect("a client without Origin and a page from the gateway's own origin are upgraded", () =>
    Effect.gen(function*() {
      const { baseUrl } = yield* Gateway
      const { session } = yield* newUser("origin")
      expect((yield* handshake({ token: session.token })).status).toBe(101)
      expect((yield* handshake({ origin: baseUrl, token: session.token })).status).toBe(101)
      // Without a token the Origin check passes and authentication answers.
      expect(yield* handshake({ origin: baseUrl })).toMatchObject({ status: 401, body: { error: { code: "unauthorized" } } })
    }))
})
