/**
 * Tuning of the Connect server streams (README "Configuration"). Their other bounds are the
 * WebSocket ones (WsSettings.ts: `WS_OUTBOUND_QUEUE`, the connection caps).
 */
import { Config, Context, Duration, Effect, Layer, Schema } from "effect"

/** `CONNECT_MEMBERSHIP_RECHECK_MS` when unset. */
export const DEFAULT_MEMBERSHIP_RECHECK_MS = 30_000

export class StreamSettings extends Context.Service<StreamSettings, {
  /**
   * How often a live stream reads its membership again (`CONNECT_MEMBERSHIP_RECHECK_MS`): a
   * leave or kick whose bus event was lost ends the stream at most this much later.
   */
  readonly membershipRecheck: Duration.Duration
}>()("pylon/gateway/StreamSettings") {
  static readonly layer = Layer.effect(
    StreamSettings,
    Effect.gen(function*() {
      const millis = yield* Config.schema(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)), "CONNECT_MEMBERSHIP_RECHECK_MS").pipe(
        Config.withDefault(DEFAULT_MEMBERSHIP_RECHECK_MS)
      )
      return StreamSettings.of({ membershipRecheck: Duration.millis(millis) })
    })
  )
}
