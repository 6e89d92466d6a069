/**
 * Starts the bare `ws` broadcast floor (`FloorServer.ts`) as its own process on a free port,
 * so its CPU is measured like a gateway's; stopped (SIGTERM, then SIGKILL) with the scope.
 */
import { spawn } from "node:child_process"
import * as NodePath from "node:path"
import { Effect } from "effect"
import { BenchError } from "./BenchError.ts"
import type { BenchTarget } from "./LatencyPhase.ts"

const SERVER = NodePath.join(import.meta.dirname, "FloorServer.ts")

interface Floor {
  readonly process: BenchTarget
  readonly stop: () => void
}

export const startFloor = Effect.acquireRelease(
  Effect.callback<Floor, BenchError>((resume) => {
    const child = spawn(process.execPath, [SERVER, "0"], { stdio: ["ignore", "pipe", "inherit"] })
    let output = ""
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      resume(Effect.fail(new BenchError({ step: "floor", message: "the floor server did not start within 30 s" })))
    }, 30_000)
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString()
      const port = /listening (\d+)/.exec(output)?.[1]
      if (port === undefined || child.pid === undefined) return
      clearTimeout(timer)
      const baseUrl = `http://127.0.0.1:${port}`
      const started: Floor = {
        process: { name: "ws-floor", pid: child.pid, baseUrl, wsUrl: `ws://127.0.0.1:${port}/` },
        stop: () => {
          child.kill("SIGTERM")
          setTimeout(() => child.kill("SIGKILL"), 2_000).unref()
        }
      }
      resume(Effect.succeed(started))
    })
    child.once("exit", (code) => {
      clearTimeout(timer)
      resume(Effect.fail(new BenchError({ step: "floor", message: `the floor server exited (${code})` })))
    })
  }),
  (floor) => Effect.sync(() => floor.stop())
).pipe(Effect.map((floor) => floor.process))
