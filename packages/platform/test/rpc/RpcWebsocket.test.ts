/**
 * Internal RPC over its persistent transport (one WebSocket at `GET /rpc`), on a real socket
 * through a TCP proxy that counts and cuts connections: concurrent calls share one connection;
 * without the internal secret the upgrade is refused (401, no socket); a lost connection fails
 * the calls in flight instead of leaving them waiting and the client dials again; a frame beyond
 * `INTERNAL_RPC_MAX_BODY_BYTES` never reaches a handler.
 */
import { randomBytes } from "node:crypto"
import { request as httpRequest } from "node:http"
import { expect, layer } from "@effect/vitest"
import { Cause, ConfigProvider, Context, Deferred, Effect, Exit, Fiber, Layer, Metric, Option, Ref, References, Schedule, Schema } from "effect"
import { Rpc, RpcClientError, RpcGroup } from "effect/rpc"
import type { RpcClient } from "effect/rpc"
import { INTERNAL_AUTH_HEADER, InternalAuth } from "@pylon/contracts/InternalAuth"
import { startTcpProxy } from "@pylon/testkit/TcpProxy"
import type { TcpProxy } from "@pylon/testkit/TcpProxy"
import { healthRoutes } from "../../src/http/HealthRoutes.ts"
import { boundPort, serve } from "../../src/http/HttpServerLive.ts"
import { ServerConfig } from "../../src/http/ServerConfig.ts"
import { rpcClientLayer, rpcRoutes } from "../../src/rpc/InternalRpc.ts"
import { Draining } from "../../src/runtime/Draining.ts"

class EchoRpcs extends RpcGroup.make(
  Rpc.make("Echo", { payload: { text: Schema.String }, success: Schema.String }),
  /** Answers only once the test opens the gate: a call that stays in flight. */
  Rpc.make("Held", { payload: {}, success: Schema.String })
).middleware(InternalAuth) {}

class Echo extends Context.Service<Echo, RpcClient.FromGroup<typeof EchoRpcs, RpcClientError.RpcClientError>>()(
  "pylon/platform/test/RpcWebsocket/Echo"
) {}

class Fixture extends Context.Service<Fixture, {
  readonly proxy: TcpProxy
  readonly serverPort: number
  /** Texts the Echo handler received. */
  readonly received: Ref.Ref<ReadonlyArray<string>>
  readonly gate: Deferred.Deferred<void>
}>()("pylon/platform/test/RpcWebsocket/Fixture") {}

const SECRET = randomBytes(32).toString("base64url")
const MAX_BODY_BYTES = 64 * 1024

const Handlers = Layer.unwrap(Effect.gen(function*() {
  const received = yield* Ref.make<ReadonlyArray<string>>([])
  const gate = yield* Deferred.make<void>()
  return EchoRpcs.toLayer({
    Echo: ({ text }) => Ref.update(received, (all) => [...all, text]).pipe(Effect.as(text)),
    Held: () => Deferred.await(gate).pipe(Effect.as("released"))
  }).pipe(Layer.merge(Layer.succeed(State, { received, gate })))
}))

class State extends Context.Service<State, {
  readonly received: Ref.Ref<ReadonlyArray<string>>
  readonly gate: Deferred.Deferred<void>
}>()("pylon/platform/test/RpcWebsocket/State") {}

const Server = serve(Layer.mergeAll(rpcRoutes(EchoRpcs, "echo"), healthRoutes<never>("echo", []))).pipe(
  Layer.provideMerge(Handlers),
  Layer.provide([Draining.layer, ServerConfig.make({ port: 0, host: "127.0.0.1", env: "test", corsOrigins: [] })])
)

/** The client dials the proxy, never the server itself. */
const Client = Layer.unwrap(Effect.gen(function*() {
  const serverPort = yield* boundPort
  const proxy = yield* startTcpProxy("127.0.0.1", serverPort)
  const state = yield* State
  return Layer.merge(
    rpcClientLayer(Echo, EchoRpcs, `http://127.0.0.1:${proxy.port}`, "websocket"),
    Layer.succeed(Fixture, { proxy, serverPort, ...state })
  )
}))

const Settings = Layer.mergeAll(
  ConfigProvider.layer(ConfigProvider.fromUnknown({ INTERNAL_RPC_SECRET: SECRET, INTERNAL_RPC_MAX_BODY_BYTES: `${MAX_BODY_BYTES}` })),
  // The oversized frame's socket error is logged at ERROR by the server; expected here.
  Layer.succeed(References.MinimumLogLevel, "None")
)

const TestLive = Layer.provide(Layer.provideMerge(Client, Server), Settings)

/** Status of a WebSocket upgrade request to the server's `/rpc` (101 when it upgraded). */
const upgradeStatus = (port: number, headers: Record<string, string>) =>
  Effect.callback<number>((resume) => {
    const req = httpRequest({
      host: "127.0.0.1",
      port,
      path: "/rpc",
      headers: {
        connection: "Upgrade",
        upgrade: "websocket",
        "sec-websocket-version": "13",
        "sec-websocket-key": randomBytes(16).toString("base64"),
        ...headers
      }
    })
    req.on("upgrade", (res, socket) => {
      socket.destroy()
      resume(Effect.succeed(res.statusCode ?? 0))
    })
    req.on("response", (res) => {
      res.resume()
      resume(Effect.succeed(res.statusCode ?? 0))
    })
    req.on("error", () => resume(Effect.succeed(0)))
    req.end()
    return Effect.sync(() => req.destroy())
  })

/** Calls Echo until it answers (the client dials again after a lost connection), within a generous deadline. */
const echoWhenBack = (echo: Echo["Service"], text: string) =>
  echo.Echo({ text }).pipe(
    Effect.retry(Schedule.spaced("50 millis")),
    Effect.timeout("20 seconds")
  )

/** `pylon_grpc_requests_total` for the echo service's `Echo` calls, every status. */
const echoCallsCounted = Effect.map(Metric.snapshot, (snapshots) => {
  let total = 0
  for (const snapshot of snapshots) {
    if (
      snapshot.id === "pylon_grpc_requests_total" && snapshot.type === "Counter" &&
      snapshot.attributes?.["service"] === "echo" && snapshot.attributes["method"] === "Echo"
    ) total += Number(snapshot.state.count)
  }
  return total
})

layer(TestLive, { excludeTestServices: true, timeout: "60 seconds" })("internal RPC over one WebSocket", (it) => {
  it.effect("concurrent calls share one connection", () =>
    Effect.gen(function*() {
      const echo = yield* Echo
      const { proxy } = yield* Fixture
      const texts = Array.from({ length: 50 }, (_, i) => `call ${i}`)
      const countedBefore = yield* echoCallsCounted
      const answers = yield* Effect.forEach(texts, (text) => echo.Echo({ text }), { concurrency: "unbounded" })
      expect(answers).toEqual(texts)
      // Each served call is counted under the service name the routes were given.
      expect((yield* echoCallsCounted) - countedBefore).toBe(50)
      expect(yield* proxy.accepted).toBe(1)
      expect(yield* proxy.open).toBe(1)
    }))

  it.effect("without the secret the upgrade is answered 401 and no socket is opened", () =>
    Effect.gen(function*() {
      const { serverPort } = yield* Fixture
      expect(yield* upgradeStatus(serverPort, {})).toBe(401)
      expect(yield* upgradeStatus(serverPort, { [INTERNAL_AUTH_HEADER]: "not-the-secret" })).toBe(401)
      expect(yield* upgradeStatus(serverPort, { [INTERNAL_AUTH_HEADER]: SECRET })).toBe(101)
    }))

  it.effect("a lost connection fails the call in flight, and the client dials again", () =>
    Effect.gen(function*() {
      const echo = yield* Echo
      const { proxy } = yield* Fixture
      yield* echo.Echo({ text: "connected" })
      const before = yield* proxy.accepted
      const held = yield* Effect.forkChild(echo.Held({}).pipe(Effect.exit))
      // The call is in flight once the server has it; cutting the connection must end it.
      yield* Effect.sleep("200 millis")
      yield* proxy.block("refuse")
      const exit = yield* Fiber.join(held).pipe(Effect.timeout("20 seconds"))
      const error = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.findErrorOption(exit.cause)) : undefined
      expect(error).toBeInstanceOf(RpcClientError.RpcClientError)
      yield* proxy.unblock
      expect(yield* echoWhenBack(echo, "back")).toBe("back")
      expect(yield* proxy.accepted).toBeGreaterThan(before)
    }))

  it.effect("a frame beyond INTERNAL_RPC_MAX_BODY_BYTES never reaches the handler; later calls get through", () =>
    Effect.gen(function*() {
      const echo = yield* Echo
      const { received } = yield* Fixture
      const huge = "x".repeat(MAX_BODY_BYTES * 2)
      const exit = yield* echo.Echo({ text: huge }).pipe(Effect.timeout("20 seconds"), Effect.exit)
      expect(Exit.isFailure(exit)).toBe(true)
      expect(yield* echoWhenBack(echo, "after the big one")).toBe("after the big one")
      expect((yield* Ref.get(received)).some((text) => text.length > MAX_BODY_BYTES)).toBe(false)
    }))
})
