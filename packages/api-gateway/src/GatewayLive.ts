/**
 * The API gateway's Layer graph. `GatewayApp` needs a SQL client, a RateLimiter and server
 * config; the two topologies provide them differently (see `pylon dev` and `pylon gateway`).
 */
import { postgresReady } from "@pylon/platform/http/ReadinessChecks"
import { Layer } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import { Draining } from "@pylon/platform/runtime/Draining"
import { healthRoutes } from "@pylon/platform/http/HealthRoutes"
import { serve } from "@pylon/platform/http/HttpServerLive"
import { CleartextHttp2 } from "@pylon/platform/http/CleartextHttp2"
import type { ReadinessCheck } from "@pylon/platform/http/HealthRoutes"
import { RateLimitConfig } from "@pylon/platform/ratelimit/RateLimitConfig"
import { AccessTokens } from "./auth/AccessTokens.ts"
import { AuthConfig } from "./auth/AuthConfig.ts"
import { AuthService } from "./auth/AuthService.ts"
import { PasswordHasher } from "./auth/PasswordHasher.ts"
import { PgRefreshTokenRepository } from "./auth/RefreshTokenRepository.ts"
import { SessionRevocations } from "./auth/SessionRevocations.ts"
import { PgUserRepository } from "./auth/UserRepository.ts"
import { ConnectRoutes } from "./connect/ConnectRoutes.ts"
import { drainStreamsOnServerClose, StreamDrain } from "./connect/StreamDrain.ts"
import { StreamSettings } from "./connect/StreamSettings.ts"
import { AuthRoutes } from "./http/AuthHttp.ts"
import { MessagesRoutes } from "./http/MessagesHttp.ts"
import { NotificationsRoutes } from "./http/NotificationsHttp.ts"
import { PresenceRoutes } from "./http/PresenceHttp.ts"
import { TrustedProxySettings } from "./http/RateLimitGuard.ts"
import { RoomsRoutes } from "./http/RoomsHttp.ts"
import { ConnectionLimits } from "./ws/ConnectionLimits.ts"
import { MembershipEventsLive } from "./ws/MembershipEventsLive.ts"
import { PresenceFanoutLive, PresenceLeases } from "./ws/PresenceFanout.ts"
import { RoomFanout } from "./ws/RoomFanout.ts"
import { TypingThrottle } from "./ws/TypingThrottle.ts"
import { UserSockets } from "./ws/UserChannelFanout.ts"
import { WsEndpointLive } from "./ws/WsEndpoint.ts"
import { WebRoutes } from "./web/WebAssets.ts"
import { WsSettings } from "./ws/WsSettings.ts"

export const SERVICE_NAME = "api-gateway"

/** Auth, and the session revocations the WebSocket endpoint shares with it (needs RealtimeBus). */
export const AuthLive = AuthService.layer.pipe(
  Layer.provideMerge(SessionRevocations.layer),
  Layer.provide([PgUserRepository, PgRefreshTokenRepository, PasswordHasher.layer, AccessTokens.layer]),
  Layer.provideMerge(AuthConfig.layer)
)

/**
 * `GET /ws`: the WebSocket endpoint with this node's room fan-out (needs RealtimeBus + service
 * clients); the fan-out, caps, typing throttle, settings and stream drain are shared with the
 * Connect streams (LiveRoomStream.ts).
 */
export const WebSocketLive = Layer.mergeAll(
  drainStreamsOnServerClose(WsEndpointLive),
  MembershipEventsLive,
  PresenceFanoutLive
).pipe(
  Layer.provideMerge([StreamDrain.layer, StreamSettings.layer]),
  Layer.provide(PresenceLeases.layer),
  Layer.provideMerge(RoomFanout.layer),
  Layer.provide(UserSockets.layer),
  Layer.provideMerge([ConnectionLimits.layer, TypingThrottle.layer]),
  Layer.provideMerge(WsSettings.layer)
)


/**
 * Extra readiness checks (e.g. Redis in the microservice topology) are passed in by the caller.
 * The port also accepts HTTP/2 cleartext, for gRPC clients (ConnectRoutes.ts).
 */
export const gatewayApp = <R = never>(extraChecks: ReadonlyArray<ReadinessCheck<R>> = []) => {
  const checks: ReadonlyArray<ReadinessCheck<SqlClient | R>> = [postgresReady, ...extraChecks]
  return serve(Layer.mergeAll(
    AuthRoutes,
    RoomsRoutes,
    MessagesRoutes,
    NotificationsRoutes,
    PresenceRoutes,
    ConnectRoutes,
    healthRoutes(SERVICE_NAME, checks),
    WebRoutes
  )).pipe(
    Layer.provide(Layer.succeed(CleartextHttp2, true)),
    Layer.provide(WebSocketLive),
    Layer.provide([AuthLive, TrustedProxySettings.layer, RateLimitConfig.layer, Draining.layer])
  )
}
