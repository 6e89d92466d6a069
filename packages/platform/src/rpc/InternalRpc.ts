/**
 * Internal RPC between Pylon services: Effect RPC at `/rpc`, every call carrying the shared
 * `INTERNAL_RPC_SECRET` in the `InternalAuth` middleware header, checked again per call, so a
 * caller-supplied user id is only trusted from another service. Two transports on that path, both
 * behind the secret as an HTTP request header, checked before anything else is read (401):
 * - `websocket` (callers' default, `INTERNAL_RPC_TRANSPORT`): one persistent WebSocket per caller
 *   and service (`GET /rpc` upgrade, JSON frames, RpcWebsocket.ts), every call multiplexed on it;
 *   a frame beyond `INTERNAL_RPC_MAX_BODY_BYTES` closes the socket (1009) unread.
 * - `http`: one `POST /rpc` per call (ndjson); the body is capped at `INTERNAL_RPC_MAX_BODY_BYTES`
 *   (413 beyond).
 */
import { timingSafeEqual } from "node:crypto"
import { ByteSize, Config, Effect, Layer, Option, Redacted, Schema } from "effect"
import type { Context } from "effect"
import {
  FetchHttpClient,
  Headers,
  HttpClient,
  HttpClientRequest,
  HttpIncomingMessage,
  HttpRouter,
  HttpServerError,
  HttpServerRequest
} from "effect/http"
import type { HttpServerResponse } from "effect/http"
import { RpcClient, RpcMiddleware, RpcSerialization, RpcServer, RpcTest } from "effect/rpc"
import type { Rpc, RpcClientError, RpcGroup } from "effect/rpc"
import { Unauthorized } from "@pylon/contracts/Errors"
import { INTERNAL_AUTH_HEADER, InternalAuth } from "@pylon/contracts/InternalAuth"
import { respondError } from "../http/HttpEnvelope.ts"
import { websocketClientProtocol, websocketServerProtocol, websocketUrl } from "./RpcWebsocket.ts"
import { measureRpc } from "../observability/OriginalMetrics.ts"
import { configuredSecret, DEVELOPMENT_INTERNAL_SECRET } from "../runtime/SecretPolicy.ts"
import { ServerConfig } from "../http/ServerConfig.ts"

export { DEVELOPMENT_INTERNAL_SECRET }

/** `INTERNAL_RPC_SECRET` under the production-secret policy (SecretPolicy.ts). */
export const InternalSecret = Effect.gen(function*() {
  const server = yield* Effect.serviceOption(ServerConfig)
  return yield* configuredSecret(
    "INTERNAL_RPC_SECRET",
    DEVELOPMENT_INTERNAL_SECRET,
    Option.getOrUndefined(Option.map(server, (settings) => settings.env))
  )
})

const sameSecret = (given: string | undefined, expected: Redacted.Redacted<string>): boolean => {
  if (given === undefined) return false
  const a = Buffer.from(given)
  const b = Buffer.from(Redacted.value(expected))
  return a.length === b.length && timingSafeEqual(a, b)
}

/**
 * Checks the secret of every call; with `service`, also counts and times each call as
 * `pylon_grpc_requests_total` / `pylon_grpc_request_duration_seconds` (method = the RPC's tag).
 */
const internalAuthServer = (service: string | undefined) =>
  Layer.effect(
    InternalAuth,
    Effect.gen(function*() {
      const secret = yield* InternalSecret
      return InternalAuth.of((effect, { headers, rpc }) => {
        const checked = sameSecret(headers[INTERNAL_AUTH_HEADER], secret)
          ? effect
          : Effect.fail(new Unauthorized({ message: "internal authentication required" }))
        return service === undefined ? checked : measureRpc(service, rpc._tag)(checked)
      })
    })
  )

export const InternalAuthServerLive = internalAuthServer(undefined)

export const InternalAuthClientLive = RpcMiddleware.layerClient(
  InternalAuth,
  Effect.gen(function*() {
    const secret = yield* InternalSecret
    return ({ request, next }) =>
      next({ ...request, headers: Headers.set(request.headers, INTERNAL_AUTH_HEADER, Redacted.value(secret)) })
  })
)

export const RPC_PATH = "/rpc"

export const DEFAULT_RPC_MAX_BODY_BYTES = 16 * 1024 * 1024

/** `INTERNAL_RPC_MAX_BODY_BYTES`: the largest `/rpc` request body a service reads. */
export const RpcMaxBodyBytes = Config.schema(
  Schema.Int.check(Schema.isBetween({ minimum: 1024, maximum: 1024 * 1024 * 1024 })),
  "INTERNAL_RPC_MAX_BODY_BYTES"
).pipe(Config.withDefault(DEFAULT_RPC_MAX_BODY_BYTES))

// Both answers leave the body unread; `Connection: close` ends the connection instead of
// draining whatever the caller still sends.
const unauthenticated = () =>
  respondError("unauthorized", "internal authentication required", { connection: "close" })
const tooLarge = (maxBytes: number) =>
  respondError("payload_too_large", `request body exceeds ${maxBytes} bytes`, { connection: "close" })

const isBodyTooLarge = (defect: unknown): boolean =>
  HttpServerError.isHttpServerError(defect) && defect.reason._tag === "RequestParseError" &&
  defect.reason.reason === "BodyTooLarge"

/**
 * In front of the RPC server: the secret from the HTTP header before the body is touched, then
 * the declared length, then the length actually read (chunked bodies declare none). The RPC
 * server turns a failed body read into a defect, hence the defect match.
 */
const guardRpcRequest = (secret: Redacted.Redacted<string>, maxBytes: number) =>
<E, R>(
  rpcEffect: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | HttpServerRequest.HttpServerRequest> =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    if (!sameSecret(request.headers[INTERNAL_AUTH_HEADER], secret)) return Effect.succeed(unauthenticated())
    const declared = Number(request.headers["content-length"] ?? "0")
    if (Number.isFinite(declared) && declared > maxBytes) return Effect.succeed(tooLarge(maxBytes))
    return rpcEffect.pipe(
      Effect.provideService(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(maxBytes)),
      Effect.catchDefect((defect) => isBodyTooLarge(defect) ? Effect.succeed(tooLarge(maxBytes)) : Effect.die(defect))
    )
  })

/** The server `Protocol` of `RpcServer.layerProtocolHttp`, with `guardRpcRequest` in front of its POST route. */
const GuardedProtocolHttp = Layer.effect(
  RpcServer.Protocol,
  Effect.gen(function*() {
    const secret = yield* InternalSecret
    const maxBytes = yield* RpcMaxBodyBytes
    const { httpEffect, protocol } = yield* RpcServer.makeProtocolWithHttpEffect()
    const router = yield* HttpRouter.HttpRouter
    yield* router.add("POST", RPC_PATH, guardRpcRequest(secret, maxBytes)(httpEffect))
    return protocol
  })
)

/** `GET /rpc` (the WebSocket transport): the secret from the upgrade request's header, 401 and no socket otherwise. */
const GuardedProtocolWebsocket = Layer.unwrap(Effect.map(InternalSecret, (secret) =>
  websocketServerProtocol(
    RPC_PATH,
    (upgrade) =>
      Effect.flatMap(
        HttpServerRequest.HttpServerRequest,
        (request) => sameSecret(request.headers[INTERNAL_AUTH_HEADER], secret) ? upgrade : Effect.succeed(unauthenticated())
      )
  )))

/** Routes serving `group` at `/rpc` for other services; calls are counted under `service` (e.g. "chat-service"). */
export const rpcRoutes = <Rpcs extends Rpc.Any>(group: RpcGroup.RpcGroup<Rpcs>, service: string) =>
  Layer.mergeAll(
    RpcServer.layer(group).pipe(Layer.provide(GuardedProtocolWebsocket)),
    RpcServer.layer(group).pipe(Layer.provide(GuardedProtocolHttp), Layer.provide(RpcSerialization.layerNdjson))
  ).pipe(Layer.provide(internalAuthServer(service)))

/** Sends the secret as an HTTP header on every request, so the server can refuse before the body. */
const withInternalSecretHeader = (secret: Redacted.Redacted<string>) =>
<E, R>(client: HttpClient.HttpClient.With<E, R>): HttpClient.HttpClient.With<E, R> =>
  HttpClient.mapRequest(client, HttpClientRequest.setHeader(INTERNAL_AUTH_HEADER, Redacted.value(secret)))

/** `INTERNAL_RPC_TRANSPORT`: how this process calls other services, `websocket` unless set to `http`. */
export const RpcTransport = Config.schema(Schema.Literals(["websocket", "http"]), "INTERNAL_RPC_TRANSPORT").pipe(
  Config.withDefault("websocket" as const)
)

const clientProtocol = (url: string, secret: Redacted.Redacted<string>, transport: "websocket" | "http") =>
  transport === "websocket"
    ? websocketClientProtocol(websocketUrl(url), { [INTERNAL_AUTH_HEADER]: Redacted.value(secret) })
    : RpcClient.layerProtocolHttp({ url, transformClient: withInternalSecretHeader(secret) }).pipe(
      Layer.provide([FetchHttpClient.layer, RpcSerialization.layerNdjson])
    )

/**
 * The client service for `group` on the service at `baseUrl` (e.g. http://127.0.0.1:9003), over
 * `transport` (default: `INTERNAL_RPC_TRANSPORT`).
 */
export const rpcClientLayer = <Id, Rpcs extends Rpc.Any>(
  tag: Context.Key<Id, RpcClient.RpcClient<Rpcs, RpcClientError.RpcClientError>>,
  group: RpcGroup.RpcGroup<Rpcs>,
  baseUrl: string,
  transport?: "websocket" | "http"
) =>
  Layer.effect(tag, RpcClient.make(group)).pipe(
    Layer.provide(Layer.unwrap(Effect.gen(function*() {
      const secret = yield* InternalSecret
      const url = `${baseUrl.replace(/\/$/, "")}${RPC_PATH}`
      return clientProtocol(url, secret, transport ?? (yield* RpcTransport))
    }))),
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
