/**
 * `pnpm dev` / `npm run dev` (`pylon watch`, started by scripts/pylon.sh after scripts/infra.sh and
 * scripts/jaeger.sh): the microservice topology of `dev:stack` on the real infrastructure, every
 * process exporting its traces to `OTEL_EXPORTER_OTLP_ENDPOINT` (the local Jaeger), the Jaeger URL
 * printed at start, and each process restarted when the sources of its role change
 * (SourceWatcher.ts). Ctrl-C / SIGTERM stops every process it started.
 */
import { NodeFileSystem } from "@effect/platform-node"
import { Config, Effect, FileSystem, Option, Stream } from "effect"
import * as NodePath from "node:path"
import type { RestartableService } from "./RestartableService.ts"
import { restartableService } from "./RestartableService.ts"
import type { Role } from "./SourceWatcher.ts"
import { changedRoles } from "./SourceWatcher.ts"
import { DEFAULT_PORTS, prepareStack, stackSpecs } from "./Stack.ts"

const PACKAGES_DIR = NodePath.resolve(import.meta.dirname, "../..")

/** What a developer needs at start: where the gateways are and where the traces go. */
export const announcement = (gateways: ReadonlyArray<string>, jaegerUrl: Option.Option<string>, otlp: Option.Option<string>) => [
  `Pylon is up: gateways on ${gateways.join(" and ")}; edits under packages/*/src restart the processes that run them (Ctrl-C stops all)`,
  Option.isSome(jaegerUrl)
    ? `Jaeger UI/API: ${jaegerUrl.value} (e.g. ${jaegerUrl.value}/api/traces?service=api-gateway&limit=20); ` +
      `every process exports to ${Option.getOrElse(otlp, () => "(no OTLP endpoint)")}`
    : Option.isSome(otlp)
    ? `traces are exported to ${otlp.value}`
    : "traces are not exported (OTEL_EXPORTER_OTLP_ENDPOINT is unset)"
]

/** Restarts the processes of the changed roles, all at once. */
const restartRoles = (services: ReadonlyArray<RestartableService>, roles: ReadonlySet<Role>) =>
  Effect.gen(function*() {
    const changed = new Set<string>(roles)
    const affected = services.filter((service) => changed.has(service.spec.command))
    if (affected.length === 0) return
    const names = affected.map((service) => service.spec.name).join(", ")
    yield* Effect.logInfo(`sources changed: restarting ${names}`)
    const results = yield* Effect.forEach(affected, (service) => service.restart, { concurrency: "unbounded" })
    if (results.every(Boolean)) yield* Effect.logInfo(`restarted ${names}`)
  })

export const watchedStack = Effect.gen(function*() {
  const env = yield* prepareStack
  const specs = stackSpecs(DEFAULT_PORTS, env)
  const backends = yield* Effect.forEach(specs.backends, (spec) => restartableService(spec), { concurrency: "unbounded" })
  const gateways = yield* Effect.forEach(specs.gateways, (spec) => restartableService(spec), { concurrency: "unbounded" })
  const jaegerUrl = yield* Config.option(Config.String("PYLON_JAEGER_URL"))
  const otlp = yield* Config.option(Config.String("OTEL_EXPORTER_OTLP_ENDPOINT"))
  for (const line of announcement(gateways.map((g) => `http://127.0.0.1:${g.spec.port}`), jaegerUrl, otlp)) {
    yield* Effect.logInfo(line)
  }
  const fs = yield* FileSystem.FileSystem
  const packageNames = yield* fs.readDirectory(PACKAGES_DIR)
  yield* changedRoles(PACKAGES_DIR, packageNames).pipe(
    Stream.runForEach((roles) => restartRoles([...backends, ...gateways], roles))
  )
  return yield* Effect.never
}).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer))
