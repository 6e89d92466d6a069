/** `/health` and `/ready`, the same on every Pylon process. */
import { Effect, Layer } from "effect"
import { Draining } from "../runtime/Draining.ts"
import { respondError, respondOk } from "./HttpEnvelope.ts"
import { resource } from "./Resource.ts"

export interface ReadinessCheck<R> {
  readonly name: string
  readonly check: Effect.Effect<unknown, unknown, R>
}

/** `/health` (liveness, no dependencies), `/ready` (dependencies answer, not draining); `/metrics` is on MetricsServer. */
export const healthRoutes = <R>(service: string, checks: ReadonlyArray<ReadinessCheck<R>>) =>
  Layer.mergeAll(
    resource("/health", { GET: Effect.succeed(respondOk({ service, status: "ok" })) }),
    resource("/ready", {
      GET: Effect.gen(function*() {
        const draining = yield* Draining
        if (yield* draining.isDraining) return respondError("service_unavailable", "draining")
        const results = yield* Effect.forEach(checks, ({ name, check }) =>
          check.pipe(
            Effect.timeout("2 seconds"),
            Effect.match({ onFailure: () => [name, "down"] as const, onSuccess: () => [name, "up"] as const })
          ), { concurrency: "unbounded" })
        const failed = results.filter(([, state]) => state === "down").map(([name]) => name)
        return failed.length === 0
          ? respondOk({ service, status: "ready", checks: Object.fromEntries(results) })
          : respondError("service_unavailable", `not ready: ${failed.join(", ")}`)
      })
    })
  )
