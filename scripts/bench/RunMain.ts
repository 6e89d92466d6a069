/**
 * Like NodeRuntime.runMain (the scripts have no `@effect/platform-node`): Ctrl-C / SIGTERM
 * interrupt the program, so every finalizer (processes, database) runs before the exit.
 */
import { Runtime } from "effect"

export const runMain = Runtime.makeRunMain(({ fiber, teardown }) => {
  const onSignal = () => fiber.interruptUnsafe(fiber.id)
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
  fiber.addObserver((exit) => {
    process.off("SIGINT", onSignal)
    process.off("SIGTERM", onSignal)
    teardown(exit, (code) => process.exit(code))
  })
})
