/**
 * The `pylon` command.
 *   pylon dev        every service in one process on embedded defaults (PGlite, in-memory adapters)
 *   pylon migrate    apply pending migrations to DATABASE_URL
 *   pylon stack      the microservice topology as child processes (npm run dev:stack)
 *   pylon gateway    the API gateway alone, on real PostgreSQL and Redis
 *   pylon room|chat|presence  one backend service alone (RPC at /rpc)
 */
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Layer, Schema } from "effect"
import { runMigrations } from "@pylon/platform/Migrations"
import { DatabaseLive } from "@pylon/platform/Database"
import { devLayer } from "./DevMode.ts"
import { chatLayer, gatewayLayer, presenceLayer, roomLayer } from "./ServiceModes.ts"
import { devStack } from "./Stack.ts"

const usage = "usage: pylon <dev|migrate|stack|gateway|room|chat|presence>"

class UsageError extends Schema.TaggedError<UsageError>()("UsageError", { message: Schema.String }) {}

const command = process.argv[2] ?? "dev"

const program = ((): Effect.Effect<void, unknown> => {
  switch (command) {
    case "dev":
      return Layer.launch(devLayer)
    case "gateway":
      return Layer.launch(gatewayLayer)
    case "room":
      return Layer.launch(roomLayer)
    case "chat":
      return Layer.launch(chatLayer)
    case "presence":
      return Layer.launch(presenceLayer)
    case "stack":
      return devStack
    case "migrate":
      return runMigrations().pipe(
        Effect.tap((applied) => Effect.logInfo(`migrations applied: ${applied.length}`)),
        Effect.provide(DatabaseLive),
        Effect.asVoid
      )
    default:
      return Effect.fail(new UsageError({ message: `${usage} (got "${command}")` }))
  }
})()

NodeRuntime.runMain(program)
