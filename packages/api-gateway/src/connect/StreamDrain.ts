/**
 * When the Connect server streams of this node end because the node is going away. A stream
 * holds its HTTP response open for as long as the client listens, so the server's own `close`
 * would wait for it until the graceful-shutdown timeout and then cut it; instead every stream
 * ends cleanly (end of stream, no error) as soon as the server starts closing, and its client
 * reconnects elsewhere (StreamMessages resumes with `after_seq`). Started by the gateway's
 * server-close hook (GatewayLive.ts), and in any case when this layer is released.
 */
import type { IncomingMessage } from "node:http"
import type { Duplex } from "node:stream"
import { Context, Deferred, Effect, Layer } from "effect"
import { UpgradeInterceptor } from "@pylon/platform/http/UpgradeInterceptor"
import type { UpgradeHandler } from "@pylon/platform/http/UpgradeInterceptor"

export class StreamDrain extends Context.Service<StreamDrain, {
  /** Completes once the node has started draining. */
  readonly started: Effect.Effect<void>
  /** Starts draining (idempotent; safe to call from a Node callback). */
  readonly start: () => void
}>()("pylon/gateway/StreamDrain") {
  static readonly layer = Layer.effect(
    StreamDrain,
    Effect.gen(function*() {
      const signal = yield* Deferred.make<void>()
      const start = () => {
        Deferred.doneUnsafe(signal, Effect.void)
      }
      yield* Effect.addFinalizer(() => Effect.sync(start))
      return StreamDrain.of({ started: Deferred.await(signal), start })
    })
  )
}

/**
 * The server's upgrade hook (`upgrades`, the WebSocket endpoint) with the drain added: when the
 * server starts closing, Connect streams end together with the WebSockets' 1001 close.
 */
export const drainStreamsOnServerClose = <E, R>(upgrades: Layer.Layer<never, E, R>) =>
  Layer.effect(
    UpgradeInterceptor,
    Effect.gen(function*() {
      const inner = yield* UpgradeInterceptor
      const drain = yield* StreamDrain
      const handler: UpgradeHandler = Object.assign(
        (request: IncomingMessage, socket: Duplex, head: Buffer) => inner?.(request, socket, head) ?? false,
        {
          onServerClose: () => {
            drain.start()
            inner?.onServerClose?.()
          }
        }
      )
      return handler
    })
  ).pipe(Layer.provide(upgrades))
