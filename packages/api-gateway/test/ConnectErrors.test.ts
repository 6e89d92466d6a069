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
 *   And end to end: a real gateway (support/GatewayHarness.ts) whose notification service client
 *   dies on every call (its handlers die with the secret in the message) answers GetNotifications
 *   with `internal` over Connect JSON (the raw body too) and gRPC over HTTP/2 cleartext, with
 *   nothing of the defect in the message, headers or trailers, and keeps serving other calls.
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect"
import type { Client, Transport } from "@connectrpc/connect"
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node"
import { describe, expect, it, layer } from "@effect/vitest"
import { Cause, ConfigProvider, Effect, Layer, References, Schedule } from "effect"
import { randomBytes, randomUUID } from "node:crypto"
import { AuthService } from "@pylon/proto-gen/auth/v1/auth"
import { NotificationService } from "@pylon/proto-gen/notification/v1/notification"
import { NotificationRpcs } from "@pylon/contracts/NotificationRpcs"
import { inProcessClientLayer } from "@pylon/platform/rpc/InternalRpc"
import { NotificationsClient } from "../src/clients/ServiceClients.ts"
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
import { Gateway, gatewayInfoLayer, gatewayLayer } from "./support/GatewayHarness.ts"
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

const DEFECT_SECRET = `sk_live_${randomBytes(12).toString("hex")}`

/** A notification service client whose every call dies, the secret in the defect's message. */
const dyingNotifications = inProcessClientLayer(NotificationsClient, NotificationRpcs).pipe(
  Layer.provide(NotificationRpcs.toLayer(Effect.sync(() => {
    const die = () => Effect.die(new Error(`password=${DEFECT_SECRET} at postgres://pylon@db/pylon`))
    return NotificationRpcs.of({ SendNotification: die, GetNotifications: die, MarkAsRead: die, MarkAllRead: die })
  })))
)

// The gateway logs each defect in full (an ERROR line per call below); only its clients must not see it.
layer(gatewayLayer({ notifications: dyingNotifications }), { excludeTestServices: true, timeout: "180 seconds" })("Connect `internal` from a running gateway whose service client dies", (it) => {
  /** Registers a user through `t`: the rest of the gateway works. */
  const register = (t: Transport) =>
    Effect.promise(() => {
      const name = `d${randomBytes(6).toString("hex")}`
      return createClient(AuthService, t).register({ username: name, email: `${name}@example.com`, password: "correct horse battery" })
    })

  const expectInternal = (error: ConnectError | undefined) => {
    expect(error?.code).toBe(Code.Internal)
    expect(error?.rawMessage).toBe("internal error")
    const everything = [error?.message, ...[...(error?.metadata.entries() ?? [])].flat(), JSON.stringify(error?.details)]
      .join("\n")
    expect(everything).not.toContain(DEFECT_SECRET)
    expect(everything).not.toMatch(INTERNALS)
  }

  const defectTransports: ReadonlyArray<readonly [string, (baseUrl: string) => Transport]> = [
    ["Connect JSON", (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: false })],
    ["gRPC (HTTP/2 cleartext)", (baseUrl) => createGrpcTransport({ baseUrl })]
  ]
  for (const [protocol, transport] of defectTransports) {
    it.effect(`${protocol}: GetNotifications answers internal with nothing of the defect; the gateway keeps serving`, () =>
      Effect.gen(function*() {
        const t = transport((yield* Gateway).baseUrl)
        const { token } = yield* register(t)
        const notifications = createClient(NotificationService, t)
        const headers = { headers: { authorization: `Bearer ${token}` } }
        expectInternal(yield* failureOf(() => notifications.getNotifications({}, headers)))
        expectInternal(yield* failureOf(() => notifications.markAsRead({ notificationId: randomUUID() }, headers)))
        // The same connection and gateway still answer the calls that do not reach the dying client.
        expect((yield* register(t)).token).not.toBe("")
      }))
  }

  it.effect("the raw Connect JSON answer: 500, {code: internal, message: internal error}, no defect text anywhere", () =>
    Effect.gen(function*() {
      const { baseUrl } = yield* Gateway
      const { token } = yield* register(createConnectTransport({ baseUrl, httpVersion: "1.1" }))
      const answer = yield* Effect.promise(async () => {
        const response = await fetch(`${baseUrl}/pylon.notification.v1.NotificationService/GetNotifications`, {
          method: "POST",
          headers: { "content-type": "application/json", "connect-protocol-version": "1", authorization: `Bearer ${token}` },
          body: "{}"
        })
        return { status: response.status, headers: [...response.headers].flat().join("\n"), body: await response.text() }
      })
      expect(answer.status).toBe(500)
      expect(JSON.parse(answer.body)).toEqual({ code: "internal", message: "internal error" })
      expect(`${answer.headers}\n${answer.body}`).not.toContain(DEFECT_SECRET)
    }))
})
