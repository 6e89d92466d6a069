/**
 * WebSocket tuning: keepalive, per-connection memory and concurrency bounds, deadlines and
 * connection caps (README lists each variable).
 */
import { Config, Context, Effect, Layer, Schema } from "effect"

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
  /** Bytes of received, not yet answered frames at which the socket stops being read (`WS_INBOUND_BUFFER_BYTES`, default 128 KiB). */
  readonly inboundBufferBytes: number
  /** Frames of one connection handled at once (`WS_MAX_FRAMES_IN_FLIGHT`, default 16). */
  readonly maxFramesInFlight: number
  /** Deadline of every internal call a frame makes (`WS_RPC_TIMEOUT_MS`, default 10 s). */
  readonly rpcTimeoutMs: number
  /** Open connections per user on this node (`WS_MAX_CONNECTIONS_PER_USER`, default 32). */
  readonly maxConnectionsPerUser: number
  /** Open connections per client address on this node (`WS_MAX_CONNECTIONS_PER_ADDRESS`, default 512). */
  readonly maxConnectionsPerAddress: number
  /** At most one `typing` forwarded per user and room per this interval (`WS_TYPING_THROTTLE_MS`, default 1 s). */
  readonly typingThrottleMs: number
}

const int = (name: string, fallback: number) => Config.Int(name).pipe(Config.withDefault(fallback))
/** A bound that must be at least 1: a zero or negative value fails startup instead of blocking every socket. */
const positive = (name: string, fallback: number) =>
  Config.schema(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)), name).pipe(Config.withDefault(fallback))

/** The value of each setting when its variable is not set. */
const DEFAULTS: WsSettingsShape = {
  pingIntervalMs: 25_000,
  idleTimeoutMs: 60_000,
  outboundQueue: 1024,
  socketHighWaterBytes: 256 * 1024,
  presenceLeaseMs: 60_000,
  inboundBufferBytes: 128 * 1024,
  maxFramesInFlight: 16,
  rpcTimeoutMs: 10_000,
  maxConnectionsPerUser: 32,
  maxConnectionsPerAddress: 512,
  typingThrottleMs: 1_000
}

export class WsSettings extends Context.Service<WsSettings, WsSettingsShape>()("pylon/gateway/WsSettings") {
  static readonly defaults = DEFAULTS

  static readonly layer = Layer.effect(
    WsSettings,
    Effect.gen(function*() {
      return WsSettings.of({
        pingIntervalMs: yield* int("WS_PING_INTERVAL_MS", DEFAULTS.pingIntervalMs),
        idleTimeoutMs: yield* int("WS_IDLE_TIMEOUT_MS", DEFAULTS.idleTimeoutMs),
        outboundQueue: yield* int("WS_OUTBOUND_QUEUE", DEFAULTS.outboundQueue),
        socketHighWaterBytes: yield* int("WS_SOCKET_HIGH_WATER_BYTES", DEFAULTS.socketHighWaterBytes),
        presenceLeaseMs: (yield* int("PRESENCE_LEASE_TTL_SECONDS", DEFAULTS.presenceLeaseMs / 1000)) * 1000,
        inboundBufferBytes: yield* positive("WS_INBOUND_BUFFER_BYTES", DEFAULTS.inboundBufferBytes),
        maxFramesInFlight: yield* positive("WS_MAX_FRAMES_IN_FLIGHT", DEFAULTS.maxFramesInFlight),
        rpcTimeoutMs: yield* positive("WS_RPC_TIMEOUT_MS", DEFAULTS.rpcTimeoutMs),
        maxConnectionsPerUser: yield* positive("WS_MAX_CONNECTIONS_PER_USER", DEFAULTS.maxConnectionsPerUser),
        maxConnectionsPerAddress: yield* positive("WS_MAX_CONNECTIONS_PER_ADDRESS", DEFAULTS.maxConnectionsPerAddress),
        typingThrottleMs: yield* int("WS_TYPING_THROTTLE_MS", DEFAULTS.typingThrottleMs)
      })
    })
  )

  static readonly make = (settings: WsSettingsShape) => Layer.succeed(WsSettings, settings)
}
