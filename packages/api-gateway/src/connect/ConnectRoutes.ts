/**
 * Serves the Connect surface (CONNECT-COMPAT.md) on the gateway's own HTTP server, as ordinary
 * routes of the Effect router: each service's path prefix is handed to the Connect handler of
 * `@connectrpc/connect` for the method named by the path, with the body read by Effect and a
 * runner bound to this request's context (ConnectBridge.ts). So CORS, security headers, request
 * ids, logs, metrics, timeouts and drain apply as to REST.
 *
 * Protocols: Connect (JSON and binary) and gRPC-Web over HTTP/1.1 and HTTP/2, and gRPC over
 * HTTP/2 cleartext on the same port (the gateway's server accepts h2c, platform
 * `CleartextHttp2.ts`). gRPC needs HTTP/2 trailers: Effect writes the response, and Connect's
 * trailers are put on the Node HTTP/2 response just before Effect ends it, so Node sends them as
 * the final HEADERS frame. Over HTTP/1.1 a gRPC client gets 415.
 * Every service of CONNECT-COMPAT.md is served. A server stream's response is written as Connect
 * produces it (Effect's stream body, so a reader that stops reading stops the writer) for as
 * long as the client listens; its end (and error) travels in the body (gRPC: the trailers).
 */
import type { DescService } from "@bufbuild/protobuf"
import { createConnectRouter, createContextValues } from "@connectrpc/connect"
import { createAsyncIterable } from "@connectrpc/connect/protocol"
import type { UniversalHandler, UniversalServerResponse } from "@connectrpc/connect/protocol"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import { Effect, Layer, Stream } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { HttpFailure } from "@pylon/platform/http/HttpEnvelope"
import { MAX_BODY_BYTES, readBodyBytes } from "@pylon/platform/http/HttpRequestDecoding"
import { AuthService as AuthServiceDesc } from "@pylon/proto-gen/auth/v1/auth"
import { GatewayService as GatewayServiceDesc } from "@pylon/proto-gen/gateway/v1/gateway"
import { ChatService as ChatServiceDesc } from "@pylon/proto-gen/chat/v1/chat"
import { NotificationService as NotificationServiceDesc } from "@pylon/proto-gen/notification/v1/notification"
import { PresenceService as PresenceServiceDesc } from "@pylon/proto-gen/presence/v1/presence"
import { RoomService as RoomServiceDesc } from "@pylon/proto-gen/room/v1/room"
import { authServiceImpl, gatewayServiceImpl } from "./AuthConnect.ts"
import { chatServiceImpl } from "./ChatConnect.ts"
import { requestRunner, RequestRunnerKey } from "./ConnectBridge.ts"
import { notificationServiceImpl } from "./NotificationConnect.ts"
import { presenceServiceImpl } from "./PresenceConnect.ts"
import { roomServiceImpl } from "./RoomConnect.ts"

/** Largest request body (and message) accepted: REST's limit (a room with MAX_MEMBER_IDS ids is ~40 KiB). */
export const CONNECT_READ_MAX_BYTES = MAX_BODY_BYTES

/** The Connect handler of every RPC by request path, for the given protocols. */
export const connectHandlers = (protocols: { readonly grpc: boolean }): ReadonlyMap<string, UniversalHandler> => {
  const router = createConnectRouter({ ...protocols, grpcWeb: true, connect: true, readMaxBytes: CONNECT_READ_MAX_BYTES })
    .service(AuthServiceDesc, authServiceImpl)
    .service(GatewayServiceDesc, gatewayServiceImpl)
    .service(RoomServiceDesc, roomServiceImpl)
    .service(ChatServiceDesc, chatServiceImpl)
    .service(PresenceServiceDesc, presenceServiceImpl)
    .service(NotificationServiceDesc, notificationServiceImpl)
  return new Map(router.handlers.map((handler) => [handler.requestPath, handler]))
}

/** HTTP/1.1 responses have no trailers: no gRPC there. */
const http1HandlerByPath = connectHandlers({ grpc: false })
const http2HandlerByPath = connectHandlers({ grpc: true })

const pathOf = (url: string): string => {
  const q = url.indexOf("?")
  return q === -1 ? url : url.slice(0, q)
}

const collect = async (body: AsyncIterable<Uint8Array> | undefined): Promise<Uint8Array> => {
  if (body === undefined) return new Uint8Array(0)
  const chunks: Array<Uint8Array> = []
  for await (const chunk of body) chunks.push(chunk)
  return Buffer.concat(chunks)
}

const internal = () => HttpFailure.of("internal_error", "internal error")

/**
 * Hands the current request to `handler`: the body read by Effect (at most MAX_BODY_BYTES, 413
 * envelope beyond, as REST) and a runner bound to this request's context. `signal` tells Connect
 * (and a stream's implementation) that the client is gone.
 */
export const callConnect = (handler: UniversalHandler, httpVersion: string, signal: AbortSignal) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const body = new Uint8Array(yield* readBodyBytes)
    const run = yield* requestRunner
    return yield* Effect.tryPromise({
      try: () =>
        handler({
          httpVersion,
          url: new URL(request.url, `http://${request.headers["host"] ?? "localhost"}`).toString(),
          method: request.method,
          header: new Headers(Object.entries(request.headers)),
          body: createAsyncIterable([body]),
          signal,
          contextValues: createContextValues().set(RequestRunnerKey, run)
        }),
      catch: internal
    })
  })

/**
 * Puts Connect's trailers (gRPC's status) on the HTTP/2 response; Node sends them when Effect
 * ends it. They are read only now because Connect fills them in as the body ends.
 */
const trailersOnEnd = (request: HttpServerRequest.HttpServerRequest, response: UniversalServerResponse) =>
  Effect.sync(() => {
    if (response.trailer === undefined) return
    NodeHttpServerRequest.toServerResponse(request).addTrailers(Object.fromEntries(response.trailer))
  })

/** One Connect call: the Connect handler of the path's method, or 404 when there is none. */
const serveConnect = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const http2 = NodeHttpServerRequest.toIncomingMessage(request).httpVersionMajor === 2
  const handler = (http2 ? http2HandlerByPath : http1HandlerByPath).get(pathOf(request.url))
  if (handler === undefined) return yield* HttpFailure.notFound("no such RPC")
  const client = new AbortController()
  const response = yield* callConnect(handler, http2 ? "2" : "1.1", client.signal).pipe(
    Effect.onInterrupt(() => Effect.sync(() => client.abort()))
  )
  const trailers = http2 ? trailersOnEnd(request, response) : Effect.void
  const headers = Object.fromEntries(response.header ?? [])
  const options = {
    status: response.status,
    headers,
    ...(headers["content-type"] === undefined ? {} : { contentType: headers["content-type"] })
  }
  if (handler.method.methodKind === "unary") {
    const bytes = yield* Effect.tryPromise({ try: () => collect(response.body), catch: internal })
    client.abort()
    yield* trailers
    return HttpServerResponse.uint8Array(bytes, options)
  }
  // A server stream: written as Connect produces it, for as long as the client reads.
  const body = response.body === undefined
    ? Stream.fromEffectDrain(trailers)
    : Stream.fromAsyncIterable(response.body, internal).pipe(
      Stream.concat(Stream.fromEffectDrain(trailers)),
      Stream.ensuring(Effect.sync(() => client.abort()))
    )
  return HttpServerResponse.stream(body, options)
})

const serviceRoutes = (service: DescService) => HttpRouter.add("*", `/${service.typeName}/*`, serveConnect)

/** The routes of every served Connect service, e.g. `POST /pylon.room.v1.RoomService/CreateRoom`. */
export const ConnectRoutes = Layer.mergeAll(
  serviceRoutes(AuthServiceDesc),
  serviceRoutes(GatewayServiceDesc),
  serviceRoutes(RoomServiceDesc),
  serviceRoutes(ChatServiceDesc),
  serviceRoutes(PresenceServiceDesc),
  serviceRoutes(NotificationServiceDesc)
)
