/**
 * The two error codes of CONNECT-COMPAT.md rule 4 the other Connect tests cannot provoke:
 *
 * - `unavailable`: a real gateway (`gatewayApp` on a real socket, composed as in
 *   support/GatewayHarness.ts) whose SQL clients reach PostgreSQL only through a `TcpProxy`
 *   (`ProxiedDatabase`), so the test cuts the database off for the running gateway; Login and
 *   ListRooms then answer `unavailable` with no SQL or driver text, over Connect JSON and gRPC-Web,
 *   and succeed again once the proxy forwards. (Pointing `DATABASE_URL` of `gatewayLayer` at a
 *   proxy instead hung the layer's release, so the composition is repeated here.)
 * - `internal`: `connectErrorOfCause` turns a defect into `internal` with a fixed message; the
 *   defect's own text (a secret-looking string) reaches neither the message nor the metadata.
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect"
import type { Client, Transport } from "@connectrpc/connect"
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node"
import { describe, expect, it, layer } from "@effect/vitest"
import { Cause, ConfigProvider, Effect, Layer, References, Schedule } from "effect"
import { randomBytes } from "node:crypto"
import { AuthService } from "@pylon/proto-gen/auth/v1/auth"
import { RoomService, RoomType } from "@pylon/proto-gen/room/v1/room"
import { HttpFailure } from "@pylon/platform/http/HttpEnvelope"
import { DatabaseProxy, ProxiedDatabase } from "@pylon/testkit/ProxiedDatabase"
import { TestDatabase } from "@pylon/testkit/TestDatabase"
import { RedisClient } from "@pylon/platform/redis/Redis"
import * as RedisRateLimiter from "@pylon/platform/ratelimit/RedisRateLimiter"
import * as RedisRealtimeBus from "@pylon/platform/bus/RedisRealtimeBus"
import { ServerConfig } from "@pylon/platform/http/ServerConfig"
import { gatewayApp } from "../src/GatewayLive.ts"
import type { TcpProxy } from "@pylon/testkit/TcpProxy"
import { connectErrorOfCause } from "../src/connect/ConnectErrors.ts"
import { Gateway, gatewayInfoLayer } from "./support/GatewayHarness.ts"
import { chatInProcess, notificationsInProcess, presenceInProcess, roomsInProcess } from "./support/ServiceClientsInProcess.ts"

const transports: ReadonlyArray<readonly [string, (baseUrl: string) => Transport]> = [
  ["Connect JSON", (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: false })],
  ["gRPC-Web", (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" })]
]

/** Text that would betray the database or its driver behind a client-facing message. */
const INTERNALS = /sql|postgres|pg|econn|socket|connect(ion)? (refused|reset|terminated)|select|insert|relation/i

/**
 * `gatewayApp` as support/GatewayHarness.ts composes it, but with every SQL client of the gateway
 * and of the in-process room service on `ProxiedDatabase` (the fresh test database behind a
 * `TcpProxy` the test cuts); creating and dropping that database stays on the direct client.
 */
const proxiedGateway = Layer.unwrap(Effect.sync(() => {
  const jwtSecret = randomBytes(32).toString("base64url")
  const keyPrefix = `pylon:rl:test-gw-outage-${randomBytes(6).toString("hex")}:`
  const settings = ConfigProvider.fromUnknown({ JWT_SECRET: jwtSecret, TRUSTED_PROXIES: "" })
  return gatewayInfoLayer(jwtSecret, keyPrefix).pipe(
    Layer.provide(gatewayApp([]).pipe(Layer.provide(ConfigProvider.layer(settings)))),
    Layer.provide([
      RedisRateLimiter.layerWith({ keyPrefix, onUnavailable: "fail" }),
      RedisRealtimeBus.layer,
      ServerConfig.make({ port: 0, host: "127.0.0.1", env: "test", corsOrigins: [] })
    ]),
    Layer.provide([roomsInProcess, chatInProcess, presenceInProcess, notificationsInProcess]),
    Layer.provide(RedisRealtimeBus.layer),
    Layer.provide(RedisClient.layer),
    Layer.provideMerge(ProxiedDatabase),
    Layer.provide(TestDatabase),
    Layer.provide(Layer.succeed(References.MinimumLogLevel, "Error"))
  )
}))

const failureOf = (f: () => Promise<unknown>) =>
  Effect.promise(() =>
    f().then(
      () => undefined,
      (error: unknown) => ConnectError.from(error)
    )
  )

const expectUnavailable = (error: ConnectError | undefined) => {
  expect(error?.code).toBe(Code.Unavailable)
  expect(error?.rawMessage).not.toMatch(INTERNALS)
}

const reconnecting = Schedule.spaced("200 millis").pipe(Schedule.upTo({ times: 150 }))

/** Login and ListRooms during a cut and after it, on one transport. */
const outageRoundTrip = (t: Transport, proxy: TcpProxy) =>
  Effect.gen(function*() {
    const auth: Client<typeof AuthService> = createClient(AuthService, t)
    const rooms: Client<typeof RoomService> = createClient(RoomService, t)
    const name = `u${randomBytes(6).toString("hex")}`
    const credentials = { username: name, email: `${name}@example.com`, password: "correct horse battery" }
    const { token } = yield* Effect.promise(() => auth.register(credentials))
    const headers = { headers: { authorization: `Bearer ${token}` } }
    const created = yield* Effect.promise(() => rooms.createRoom({ name: "before", type: RoomType.CHANNEL }, headers))
    const login = { email: credentials.email, password: credentials.password }

    yield* proxy.block("refuse")
    expectUnavailable(yield* failureOf(() => auth.login(login)))
    expectUnavailable(yield* failureOf(() => rooms.listRooms({}, headers)))

    yield* proxy.unblock
    // The pools reconnect on demand; a loaded machine may need a few attempts.
    const listed = yield* Effect.tryPromise(() => rooms.listRooms({}, headers)).pipe(Effect.retry(reconnecting))
    expect(listed.rooms.map((r) => r.id)).toContain(created.room?.id)
    const again = yield* Effect.tryPromise(() => auth.login(login)).pipe(Effect.retry(reconnecting))
    expect(again.user?.username).toBe(name)
  })

layer(proxiedGateway, { excludeTestServices: true, timeout: "180 seconds" })("Connect `unavailable` while PostgreSQL is unreachable", (it) => {
  for (const [protocol, transport] of transports) {
    it.effect(`${protocol}: Login and ListRooms answer unavailable, then work once the database is back`, () =>
      Effect.gen(function*() {
        const { baseUrl } = yield* Gateway
        const proxy = yield* DatabaseProxy
        yield* outageRoundTrip(transport(baseUrl), proxy).pipe(Effect.ensuring(proxy.unblock))
      }))
  }
})

describe("Connect `internal` for a defect", () => {
  const SECRET = `sk_live_${randomBytes(12).toString("hex")}`

  it("is internal with a fixed message; nothing of the defect reaches the client", () => {
    const causes: ReadonlyArray<Cause.Cause<HttpFailure>> = [
      Cause.die(new Error(`password=${SECRET} at postgres://pylon@db/pylon`)),
      Cause.die(SECRET),
      Cause.combine(Cause.die({ secret: SECRET }), Cause.interrupt())
    ]
    for (const cause of causes) {
      const error = connectErrorOfCause(cause)
      expect(error.code).toBe(Code.Internal)
      expect(error.rawMessage).toBe("internal error")
      expect(error.message).not.toContain(SECRET)
      expect(error.cause).toBeUndefined()
      const metadata = [...error.metadata.entries()].flat().join("\n")
      expect(metadata).not.toContain(SECRET)
      expect(JSON.stringify(error.details)).not.toContain(SECRET)
    }
  })

  it("a typed failure keeps its own code, so the defect path is the only way to internal", () => {
    const error = connectErrorOfCause(Cause.fail(HttpFailure.of("service_unavailable", "try later")))
    expect(error.code).toBe(Code.Unavailable)
  })
})
