/**
 * Internal RPC at `/rpc` on a real socket: the internal secret is checked from the HTTP header
 * before the body is read (an outsider's huge body is answered 401 while it is still arriving),
 * the body is capped (`INTERNAL_RPC_MAX_BODY_BYTES`, 413), and the real client still gets through.
 */
import { randomBytes } from "node:crypto"
import { request as httpRequest } from "node:http"
import { expect, layer } from "@effect/vitest"
import { ConfigProvider, Context, Effect, Layer, Option, References, Schema } from "effect"
import { Rpc, RpcGroup } from "effect/rpc"
import type { RpcClient, RpcClientError } from "effect/rpc"
import { INTERNAL_AUTH_HEADER, InternalAuth } from "@pylon/contracts/InternalAuth"
import { Draining } from "../../src/runtime/Draining.ts"
import { boundPort, serve } from "../../src/http/HttpServerLive.ts"
import { healthRoutes } from "../../src/http/HealthRoutes.ts"
import { rpcClientLayer, rpcRoutes } from "../../src/rpc/InternalRpc.ts"
import { ServerConfig } from "../../src/http/ServerConfig.ts"

class EchoRpcs extends RpcGroup.make(
  Rpc.make("Echo", { payload: { text: Schema.String }, success: Schema.String })
).middleware(InternalAuth) {}

class Echo extends Context.Service<Echo, RpcClient.FromGroup<typeof EchoRpcs, RpcClientError.RpcClientError>>()(
  "pylon/platform/test/Echo"
) {}

class BaseUrl extends Context.Service<BaseUrl, string>()("pylon/platform/test/InternalRpcHttp/BaseUrl") {}

const SECRET = randomBytes(32).toString("base64url")
const MAX_BODY_BYTES = 64 * 1024

const Server = serve(Layer.mergeAll(rpcRoutes(EchoRpcs, "echo"), healthRoutes<never>("echo", []))).pipe(
  Layer.provide(EchoRpcs.toLayer({ Echo: ({ text }) => Effect.succeed(text) })),
  Layer.provide([Draining.layer, ServerConfig.make({ port: 0, host: "127.0.0.1", env: "test", corsOrigins: [] })])
)

const Client = Layer.unwrap(Effect.map(boundPort, (port) => {
  const url = `http://127.0.0.1:${port}`
  return Layer.merge(rpcClientLayer(Echo, EchoRpcs, url), Layer.succeed(BaseUrl, url))
}))

const TestLive = Client.pipe(
  Layer.provideMerge(Server),
  Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({
    INTERNAL_RPC_SECRET: SECRET,
    INTERNAL_RPC_MAX_BODY_BYTES: String(MAX_BODY_BYTES)
  }))),
  Layer.provide(Layer.succeed(References.MinimumLogLevel, "Warn"))
)

interface Answer {
  readonly status: number
  readonly body: unknown
  /** Whether the client had finished sending the body when the answer was complete. */
  readonly bodyFinished: boolean
}

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}

/**
 * POSTs to `/rpc` declaring `declaredBytes` (or chunked) and sends `sendBytes` of it; unless
 * `finish`, it then stops without ending the body, so only a server that answers before reading
 * the whole body answers at all. `None` when no answer came within the (generous) deadline.
 */
const post = (options: {
  readonly headers: Record<string, string>
  readonly declaredBytes?: number
  readonly sendBytes: number
  readonly finish: boolean
}) =>
  BaseUrl.use((baseUrl) =>
    Effect.callback<Answer>((resume) => {
      let bodyFinished = false
      const headers: Record<string, string> = { "content-type": "application/ndjson", ...options.headers }
      if (options.declaredBytes !== undefined) headers["content-length"] = String(options.declaredBytes)
      const req = httpRequest(`${baseUrl}/rpc`, { method: "POST", headers }, (res) => {
        let text = ""
        res.setEncoding("utf8")
        res.on("data", (chunk: string) => {
          text += chunk
        })
        res.on("end", () => resume(Effect.succeed({ status: res.statusCode ?? 0, body: parse(text), bodyFinished })))
      })
      // The server may close the connection while the rest of the body is still being written.
      req.on("error", () => undefined)
      const chunk = Buffer.alloc(16 * 1024, "a")
      for (let sent = 0; sent < options.sendBytes; sent += chunk.length) req.write(chunk)
      if (options.finish) {
        req.end(() => {
          bodyFinished = true
        })
      }
      return Effect.sync(() => req.destroy())
    }).pipe(Effect.timeoutOption("20 seconds")))

const DECLARED_HUGE = 400 * 1024 * 1024

layer(TestLive, { excludeTestServices: true, timeout: "60 seconds" })("internal RPC over HTTP", (it) => {
  it.effect("a caller through rpcClientLayer still gets answers", () =>
    Effect.gen(function*() {
      const echo = yield* Echo
      expect(yield* echo.Echo({ text: "over the wire" })).toBe("over the wire")
    }))

  it.effect("without the secret header, a 400 MB body is answered 401 before it has arrived", () =>
    Effect.gen(function*() {
      for (const headers of [{}, { [INTERNAL_AUTH_HEADER]: "not-the-secret" }]) {
        const answer = yield* post({ headers, declaredBytes: DECLARED_HUGE, sendBytes: 64 * 1024, finish: false })
        expect(Option.isSome(answer), "answered while the body was incomplete").toBe(true)
        if (Option.isNone(answer)) return
        expect(answer.value).toMatchObject({
          status: 401,
          body: { success: false, error: { code: "unauthorized" } },
          bodyFinished: false
        })
      }
    }))

  it.effect("with the secret, a body declared beyond the cap is answered 413 before it has arrived", () =>
    Effect.gen(function*() {
      const answer = yield* post({
        headers: { [INTERNAL_AUTH_HEADER]: SECRET },
        declaredBytes: DECLARED_HUGE,
        sendBytes: 64 * 1024,
        finish: false
      })
      expect(Option.isSome(answer), "answered while the body was incomplete").toBe(true)
      if (Option.isNone(answer)) return
      expect(answer.value).toMatchObject({
        status: 413,
        body: { success: false, error: { code: "payload_too_large" } },
        bodyFinished: false
      })
    }))

  it.effect("with the secret, a chunked body that grows beyond the cap is 413", () =>
    Effect.gen(function*() {
      const answer = yield* post({
        headers: { [INTERNAL_AUTH_HEADER]: SECRET },
        sendBytes: MAX_BODY_BYTES * 2,
        finish: true
      })
      expect(Option.getOrUndefined(answer)).toMatchObject({
        status: 413,
        body: { success: false, error: { code: "payload_too_large" } }
      })
    }))
})
