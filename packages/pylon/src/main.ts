/**
 * The `pylon` command.
 *   pylon dev        every service in one process on embedded defaults (PGlite, in-memory adapters)
 *   pylon migrate    apply pending migrations to DATABASE_URL, printing each one applied
 *   pylon stack      the microservice topology as child processes (npm run dev:stack)
 *   pylon watch      the same, restarting a process when its sources change (pnpm dev, with Jaeger)
 *   pylon seed [URL] load demo users, rooms and conversations through the public API (npm run seed)
 *   pylon gateway    the API gateway alone, on real PostgreSQL and Redis
 *   pylon room|chat|presence|notification  one backend service alone (RPC at /rpc)
 */
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Layer, Schema } from "effect"
import { FetchHttpClient } from "effect/http"
import { ObservabilityLive } from "@pylon/platform/observability/Observability"
import { devLayer } from "./DevMode.ts"
import { watchedStack } from "./DevStack.ts"
import { migrateCommand } from "./MigrateCommand.ts"
import { seedCommand } from "./seed/Seed.ts"
import { chatLayer, gatewayLayer, notificationLayer, presenceLayer, roomLayer } from "./ServiceModes.ts"
import { devStack } from "./Stack.ts"
import { explainStartupFailures } from "./StartupFailure.ts"

const usage = "usage: pylon <dev|migrate|stack|watch|seed|gateway|room|chat|presence|notification>"

class UsageError extends Schema.TaggedError<UsageError>()("UsageError", { message: Schema.String }) {}

const command = process.argv[2] ?? "dev"

/** Runs a service's Layer graph until interrupted, exporting traces when OTEL is configured. */
const launch = <E>(layer: Layer.Layer<never, E>, serviceName: string) =>
  Layer.launch(layer.pipe(Layer.provide(ObservabilityLive(serviceName))))

const program = ((): Effect.Effect<void, unknown> => {
  switch (command) {
    case "dev":
      return launch(devLayer, "pylon")
    case "gateway":
      return launch(gatewayLayer, "api-gateway")
    case "room":
      return launch(roomLayer, "room-service")
    case "chat":
      return launch(chatLayer, "chat-service")
    case "presence":
      return launch(presenceLayer, "presence-service")
    case "notification":
      return launch(notificationLayer, "notification-service")
    case "stack":
      return devStack
    case "watch":
      return watchedStack
    case "seed":
      return seedCommand(process.argv[3]).pipe(Effect.provide(FetchHttpClient.layer), Effect.asVoid)
    case "migrate":
      return migrateCommand
    default:
      return Effect.fail(new UsageError({ message: `${usage} (got "${command}")` }))
  }
})()

// A port or data directory already in use is one clear log line and exit status 1, not a stack trace.
NodeRuntime.runMain(explainStartupFailures(program))
