/**
 * Internal RPC between Pylon services: Effect RPC over HTTP (ndjson) at `/rpc`, every call
 * carrying the shared `INTERNAL_RPC_SECRET` in the `InternalAuth` middleware header. A service
 * rejects calls without it, so a caller-supplied user id is only trusted from another service.
 */
import { timingSafeEqual } from "node:crypto"
import { Config, Effect, Layer, Option, Redacted } from "effect"
import type { Context } from "effect"
import { FetchHttpClient, Headers } from "effect/http"
import { RpcClient, RpcMiddleware, RpcSerialization, RpcServer, RpcTest } from "effect/rpc"
import type { Rpc, RpcClientError, RpcGroup } from "effect/rpc"
import { Unauthorized } from "@pylon/contracts/Errors"
import { INTERNAL_AUTH_HEADER, InternalAuth } from "@pylon/contracts/InternalAuth"
import { ServerConfig } from "./ServerConfig.ts"

export const DEVELOPMENT_INTERNAL_SECRET = "pylon-development-internal-secret"
const MIN_PRODUCTION_SECRET_LENGTH = 32

/** `INTERNAL_RPC_SECRET`; a development default exists, but production refuses to start without one. */
export const InternalSecret = Effect.gen(function*() {
  const configured = yield* Config.option(Config.Redacted("INTERNAL_RPC_SECRET"))
  const server = yield* Effect.serviceOption(ServerConfig)
  const production = Option.isSome(server) && server.value.env === "production"
  const weak = Option.isNone(configured) || Redacted.value(configured.value) === DEVELOPMENT_INTERNAL_SECRET ||
    Redacted.value(configured.value).length < MIN_PRODUCTION_SECRET_LENGTH
  if (production && weak) {
    return yield* Effect.die(
      new Error(
        `INTERNAL_RPC_SECRET must be set to a random value of at least ${MIN_PRODUCTION_SECRET_LENGTH} characters when APP_ENV=production`
      )
    )
  }
  return Option.isNone(configured) ? Redacted.make(DEVELOPMENT_INTERNAL_SECRET) : configured.value
})

const sameSecret = (given: string | undefined, expected: Redacted.Redacted<string>): boolean => {
  if (given === undefined) return false
  const a = Buffer.from(given)
  const b = Buffer.from(Redacted.value(expected))
  return a.length === b.length && timingSafeEqual(a, b)
}

export const InternalAuthServerLive = Layer.effect(
  InternalAuth,
  Effect.gen(function*() {
    const secret = yield* InternalSecret
    return InternalAuth.of((effect, { headers }) =>
      sameSecret(headers[INTERNAL_AUTH_HEADER], secret)
        ? effect
        : Effect.fail(new Unauthorized({ message: "internal authentication required" }))
    )
  })
)

export const InternalAuthClientLive = RpcMiddleware.layerClient(
  InternalAuth,
  Effect.gen(function*() {
    const secret = yield* InternalSecret
    return ({ request, next }) =>
      next({ ...request, headers: Headers.set(request.headers, INTERNAL_AUTH_HEADER, Redacted.value(secret)) })
  })
)

export const RPC_PATH = "/rpc"

/** Routes serving `group` at `/rpc` for other services. */
export const rpcRoutes = <Rpcs extends Rpc.Any>(group: RpcGroup.RpcGroup<Rpcs>) =>
  RpcServer.layerHttp({ group, path: RPC_PATH, protocol: "http" }).pipe(
    Layer.provide([RpcSerialization.layerNdjson, InternalAuthServerLive])
  )

/** The client service for `group` on the service at `baseUrl` (e.g. http://127.0.0.1:9003). */
export const rpcClientLayer = <Id, Rpcs extends Rpc.Any>(
  tag: Context.Key<Id, RpcClient.RpcClient<Rpcs, RpcClientError.RpcClientError>>,
  group: RpcGroup.RpcGroup<Rpcs>,
  baseUrl: string
) =>
  Layer.effect(tag, RpcClient.make(group)).pipe(
    Layer.provide(
      RpcClient.layerProtocolHttp({ url: `${baseUrl.replace(/\/$/, "")}${RPC_PATH}` }).pipe(
        Layer.provide([FetchHttpClient.layer, RpcSerialization.layerNdjson])
      )
    ),
    Layer.provide(InternalAuthClientLive)
  )

/** `rpcClientLayer` for the service whose base URL is the config variable `urlVariable`. */
export const rpcClientLayerFromConfig = <Id, Rpcs extends Rpc.Any>(
  tag: Context.Key<Id, RpcClient.RpcClient<Rpcs, RpcClientError.RpcClientError>>,
  group: RpcGroup.RpcGroup<Rpcs>,
  urlVariable: string,
  defaultUrl: string
) =>
  Layer.unwrap(Effect.gen(function*() {
    const url = yield* Config.String(urlVariable).pipe(Config.withDefault(defaultUrl))
    return rpcClientLayer(tag, group, url)
  }))

/**
 * The same client service answered in-process by `group`'s handlers (embedded mode): no
 * network hop, but the same schemas, middleware and typed errors as over HTTP.
 */
export const inProcessClientLayer = <Id, Rpcs extends Rpc.Any>(
  tag: Context.Key<Id, RpcClient.RpcClient<Rpcs, RpcClientError.RpcClientError>>,
  group: RpcGroup.RpcGroup<Rpcs>
) =>
  Layer.effect(tag, RpcTest.makeClient(group)).pipe(
    Layer.provide([InternalAuthClientLive, InternalAuthServerLive])
  )
