/**
 * One process of the stack that can be restarted in place (`pnpm dev` restarts the processes whose
 * code changed): each incarnation lives in a scope of its own, closed (SIGTERM, then SIGKILL) before
 * the next one starts. A start that fails — a syntax error in the edited file, say — is logged and
 * leaves the service down until the next change; the surrounding scope stops whatever runs.
 */
import { Effect, Exit, Option, Scope, SynchronizedRef } from "effect"
import type { RunningService, ServiceSpec } from "./ServiceProcess.ts"
import { startService } from "./ServiceProcess.ts"

export interface RestartableService {
  readonly spec: ServiceSpec
  /** The running incarnation, if the last start succeeded. */
  readonly current: Effect.Effect<Option.Option<RunningService>>
  /** Stops the running incarnation and starts a new one; `false` when the new one did not come up. */
  readonly restart: Effect.Effect<boolean>
}

interface Incarnation {
  readonly scope: Scope.Closeable
  readonly running: RunningService
}

/** One incarnation in a scope of its own; the scope is closed again when the start fails or is interrupted. */
const startIncarnation = (spec: ServiceSpec, options?: { readonly quiet?: boolean }) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const running = yield* Scope.provide(scope)(startService(spec, options)).pipe(
      Effect.onExit((exit) => Exit.isSuccess(exit) ? Effect.void : Scope.close(scope, exit))
    )
    const incarnation: Incarnation = { scope, running }
    return incarnation
  })

const stopIncarnation = (incarnation: Option.Option<Incarnation>) =>
  Option.isSome(incarnation) ? Scope.close(incarnation.value.scope, Exit.void) : Effect.void

/** Starts `spec` (failing if this first start fails); whatever runs is stopped when the current scope closes. */
export const restartableService = (spec: ServiceSpec, options?: { readonly quiet?: boolean }) =>
  Effect.gen(function*() {
    const ref = yield* SynchronizedRef.make(Option.some(yield* startIncarnation(spec, options)))
    // Through the ref's lock: a restart under way finishes (or is interrupted) before this runs.
    yield* Effect.addFinalizer(() =>
      SynchronizedRef.updateEffect(ref, (current) => Effect.as(stopIncarnation(current), Option.none<Incarnation>()))
    )
    const restart = SynchronizedRef.modifyEffect(ref, (current) =>
      Effect.gen(function*() {
        yield* stopIncarnation(current)
        const next = yield* Effect.option(startIncarnation(spec, options).pipe(
          Effect.tapError((error) => Effect.logError(`${spec.name} did not start (${error.message}); it is restarted on the next change`))
        ))
        return [Option.isSome(next), next] as const
      })
    )
    const service: RestartableService = {
      spec,
      current: Effect.map(SynchronizedRef.get(ref), Option.map((incarnation) => incarnation.running)),
      restart
    }
    return service
  })
