/**
 * Process-wide "we are shutting down" flag: `/ready` answers 503 once it is set, and long-lived
 * work (WebSockets, relays) reads it to finish gracefully. Set by the server layer's finalizer.
 */
import { Context, Effect, Layer, Ref } from "effect"

export class Draining extends Context.Service<Draining, {
  readonly isDraining: Effect.Effect<boolean>
  readonly start: Effect.Effect<void>
}>()("pylon/platform/Draining") {
  static readonly layer = Layer.effect(
    Draining,
    Effect.gen(function*() {
      const flag = yield* Ref.make(false)
      return Draining.of({ isDraining: Ref.get(flag), start: Ref.set(flag, true) })
    })
  )
}
