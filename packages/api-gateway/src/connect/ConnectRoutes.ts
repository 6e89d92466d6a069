/**
 * Serves the Connect surface (CONNECT-COMPAT.md) on the gateway's own HTTP server, as ordinary
 * routes of the Effect router: each service's path prefix is handed to the Connect handler of
 * `@connectrpc/connect` for the method named by the path, with the body read by Effect and a
 * runner bound to this request's context (ConnectBridge.ts). So CORS, security headers, request
 * ids, logs, metrics, timeouts and drain apply as to REST.
 *
 * Protocols: Connect (JSON and binary) and gRPC-Web over HTTP/1.1. gRPC needs HTTP/2 trailers,
 * which this server does not write, so it is off here (a client asking for it gets 415).
 * Served so far: AuthService, GatewayService, RoomService, and the unary calls of ChatService and
 * NotificationService; the server streams (StreamMessages, StreamPresence) and PresenceService are not.
 */
import type { DescService } from "@bufbuild/protobuf"
import { createConnectRouter, createContextValues } from "@connectrpc/connect"
import { createAsyncIterable } from "@connectrpc/connect/protocol"
import type { UniversalHandler } from "@connectrpc/connect/protocol"
import { Effect, Layer } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { HttpFailure } from "@pylon/platform/http/HttpEnvelope"
import { MAX_BODY_BYTES, readBodyBytes } from "@pylon/platform/http/HttpRequestDecoding"
import { AuthService as AuthServiceDesc } from "@pylon/proto-gen/auth/v1/auth"
import { GatewayService as GatewayServiceDesc } from "@pylon/proto-gen/gateway/v1/gateway"
import { ChatService as ChatServiceDesc } from "@pylon/proto-gen/chat/v1/chat"
import { NotificationService as NotificationServiceDesc } from "@pylon/proto-gen/notification/v1/notification"
import { RoomService as RoomServiceDesc } from "@pylon/proto-gen/room/v1/room"
import { authServiceImpl, gatewayServiceImpl } from "./AuthConnect.ts"
import { chatServiceImpl } from "./ChatConnect.ts"
import { requestRunner, RequestRunnerKey } from "./ConnectBridge.ts"
import { notificationServiceImpl } from "./NotificationConnect.ts"
import { roomServiceImpl } from "./RoomConnect.ts"

/** Largest request body (and message) accepted: REST's limit (a room with MAX_MEMBER_IDS ids is ~40 KiB). */
export const CONNECT_READ_MAX_BYTES = MAX_BODY_BYTES

const router = createConnectRouter({ grpc: false, grpcWeb: true, connect: true, readMaxBytes: CONNECT_READ_MAX_BYTES })
  .service(AuthServiceDesc, authServiceImpl)
  .service(GatewayServiceDesc, gatewayServiceImpl)
  .service(RoomServiceDesc, roomServiceImpl)
  .service(ChatServiceDesc, chatServiceImpl)
  .service(NotificationServiceDesc, notificationServiceImpl)

const handlerByPath: ReadonlyMap<string, UniversalHandler> = new Map(
  router.handlers.map((handler) => [handler.requestPath, handler])
)

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

/** One Connect call: the Connect handler of the path's method, or 404 when there is none. */
const serveConnect = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const handler = handlerByPath.get(pathOf(request.url))
  if (handler === undefined) return yield* HttpFailure.notFound("no such RPC")
  // At most MAX_BODY_BYTES, checked before and while reading (413 envelope beyond, as REST).
  const body = new Uint8Array(yield* readBodyBytes)
  const run = yield* requestRunner
  const response = yield* Effect.tryPromise({
    try: (signal) =>
      handler({
        httpVersion: "1.1",
        url: new URL(request.url, `http://${request.headers["host"] ?? "localhost"}`).toString(),
        method: request.method,
        header: new Headers(Object.entries(request.headers)),
        body: createAsyncIterable([body]),
        signal,
        contextValues: createContextValues().set(RequestRunnerKey, run)
      }),
    catch: internal
  })
  const bytes = yield* Effect.tryPromise({ try: () => collect(response.body), catch: internal })
  const headers = Object.fromEntries(response.header ?? [])
  return HttpServerResponse.uint8Array(bytes, {
    status: response.status,
    headers,
    ...(headers["content-type"] === undefined ? {} : { contentType: headers["content-type"] })
  })
})

const serviceRoutes = (service: DescService) => HttpRouter.add("*", `/${service.typeName}/*`, serveConnect)

/** The routes of every served Connect service, e.g. `POST /pylon.room.v1.RoomService/CreateRoom`. */
export const ConnectRoutes = Layer.mergeAll(
  serviceRoutes(AuthServiceDesc),
  serviceRoutes(GatewayServiceDesc),
  serviceRoutes(RoomServiceDesc),
  serviceRoutes(ChatServiceDesc),
  serviceRoutes(NotificationServiceDesc)
)
