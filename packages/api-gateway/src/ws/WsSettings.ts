/**
 * WebSocket tuning: keepalive and per-connection memory bounds (README lists each variable).
 */
import { Config, Context, Effect, Layer } from "effect"

export interface WsSettingsShape {
  /** Server ping interval (`WS_PING_INTERVAL_MS`, default 25 s). */
  readonly pingIntervalMs: number
  /** Close a connection silent for this long (`WS_IDLE_TIMEOUT_MS`, default 60 s). */
  readonly idleTimeoutMs: number
  /** Frames queued for one slow reader before it is closed with 4008 (`WS_OUTBOUND_QUEUE`, default 1024). */
  readonly outboundQueue: number
  /** Bytes buffered in the socket before the writer waits (`WS_SOCKET_HIGH_WATER_BYTES`, default 256 KiB). */
  readonly socketHighWaterBytes: number
  /** Presence lease length, renewed at a third of it (`PRESENCE_LEASE_TTL_SECONDS`, default 60, shared with the presence service). */
  readonly presenceLeaseMs: number
}

const int = (name: string, fallback: number) => Config.Int(name).pipe(Config.withDefault(fallback))

export class WsSettings extends Context.Service<WsSettings, WsSettingsShape>()("pylon/gateway/WsSettings") {
  static readonly layer = Layer.effect(
    WsSettings,
    Effect.gen(function*() {
      return WsSettings.of({
        pingIntervalMs: yield* int("WS_PING_INTERVAL_MS", 25_000),
        idleTimeoutMs: yield* int("WS_IDLE_TIMEOUT_MS", 60_000),
        outboundQueue: yield* int("WS_OUTBOUND_QUEUE", 1024),
        socketHighWaterBytes: yield* int("WS_SOCKET_HIGH_WATER_BYTES", 256 * 1024),
        presenceLeaseMs: (yield* int("PRESENCE_LEASE_TTL_SECONDS", 60)) * 1000
      })
    })
  )

  static readonly make = (settings: WsSettingsShape) => Layer.succeed(WsSettings, settings)
}
