/**
 * The persistent transport of internal RPC: one WebSocket per caller and service (`GET /rpc`
 * upgrade, one JSON message per frame), every call multiplexed on it by request id, instead of
 * one HTTP request per call. The server side puts a guard (the internal secret from the upgrade
 * request's header) in front of the upgrade, so an outsider never gets a socket; frames are
 * capped by the HTTP server's WebSocket `maxPayload`.
 */
import { NodeWS } from "@effect/platform-node"
import { Effect, Layer, Schedule } from "effect"
import { HttpRouter } from "effect/http"
import type { HttpServerRequest, HttpServerResponse } from "effect/http"
import { RpcClient, RpcSerialization, RpcServer } from "effect/rpc"
import type { Scope } from "effect"
import { Socket } from "effect/socket"
import { coalesceWritesPerTick } from "../net/TickCoalescedWrites.ts"

/** Runs before the upgrade: answers itself (e.g. 401) or lets the upgrade through. */
export type UpgradeGuard = <E, R>(
  upgrade: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
) => Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | HttpServerRequest.HttpServerRequest>

/** The server `Protocol` of `RpcServer.layerProtocolWebsocket`, with `guard` in front of its GET route at `path`. */
export const websocketServerProtocol = (path: HttpRouter.PathInput, guard: UpgradeGuard) =>
  Layer.effect(
    RpcServer.Protocol,
    Effect.gen(function*() {
      const { httpEffect, protocol } = yield* RpcServer.makeProtocolWithHttpEffectWebsocket
      const router = yield* HttpRouter.HttpRouter
      const guarded: Effect.Effect<
        HttpServerResponse.HttpServerResponse,
        never,
        Scope.Scope | HttpServerRequest.HttpServerRequest
      > = guard(httpEffect)
      yield* router.add("GET", path, guarded)
      return protocol
    })
  ).pipe(Layer.provide(RpcSerialization.layerJson))

/**
 * After a lost connection, calls fail at once (as a refused HTTP request would) while the socket
 * is dialled again: quickly at first, then every second, so a restarted service is used again
 * about a second after it is back.
 */
const RECONNECT = Schedule.min([Schedule.exponential("50 millis", 2), Schedule.spaced("1 second")])

/**
 * The client `Protocol` over one WebSocket to `url` (`ws://…` or `wss://…`) with `headers` on the
 * upgrade request. It pings every 10 s and drops (then dials again) a connection that has been
 * silent for 30 s: a stuck peer, not merely a busy one.
 */
export const websocketClientProtocol = (url: string, headers: Readonly<Record<string, string>>) =>
  RpcClient.layerProtocolSocket({ pingInterval: "10 seconds", pingTimeout: "30 seconds", retryPolicy: RECONNECT }).pipe(
    Layer.provide(Layer.effect(Socket.Socket, Socket.makeWebSocket(url, { headers, openTimeout: "5 seconds" }))),
    Layer.provide([CoalescingWebSocketConstructor, RpcSerialization.layerJson])
  )

/**
 * `ws` clients (with handshake headers, like `NodeWS.layerWebSocketConstructor`) whose socket
 * coalesces the writes of each event-loop turn (`TickCoalescedWrites.ts`): the calls a gateway
 * makes in one turn go out in one system call.
 */
const CoalescingWebSocketConstructor = Layer.succeed(Socket.WebSocketConstructor)((url, options) => {
  const ws = options === undefined || typeof options === "string" || Array.isArray(options)
    ? new NodeWS.WebSocket(url, options)
    : new NodeWS.WebSocket(url, options.protocols, { headers: options.headers })
  ws.once("upgrade", (response) => coalesceWritesPerTick(response.socket))
  return ws
})

/** `http://host/rpc` → `ws://host/rpc` (and https → wss). */
export const websocketUrl = (httpUrl: string): string => httpUrl.replace(/^http(s?):\/\//, "ws$1://")
