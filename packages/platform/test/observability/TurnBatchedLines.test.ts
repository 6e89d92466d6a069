/**
 * Log lines of one event-loop turn leave in one write, in order (TurnBatchedLines.ts); `flush`
 * writes what is pending at once; a process that logs and then calls `process.exit` loses nothing.
 */
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { makeTurnBatchedLines } from "../../src/observability/TurnBatchedLines.ts"

describe("turn-batched log lines", () => {
  it("lines pushed in one turn are one write, in order; the next turn is another write", () => {
    const writes: Array<string> = []
    const scheduled: Array<() => void> = []
    const lines = makeTurnBatchedLines((chunk) => writes.push(chunk), (run) => scheduled.push(run))
    lines.push("a")
    lines.push("b")
    lines.push("c")
    expect(writes).toEqual([])
    expect(scheduled).toHaveLength(1)
    scheduled.shift()?.()
    expect(writes).toEqual(["a\nb\nc\n"])
    lines.push("d")
    expect(scheduled).toHaveLength(1)
    scheduled.shift()?.()
    expect(writes).toEqual(["a\nb\nc\n", "d\n"])
  })

  it("flush writes the pending lines at once; the scheduled run then writes nothing", () => {
    const writes: Array<string> = []
    const scheduled: Array<() => void> = []
    const lines = makeTurnBatchedLines((chunk) => writes.push(chunk), (run) => scheduled.push(run))
    lines.push("x")
    lines.flush()
    expect(writes).toEqual(["x\n"])
    scheduled.shift()?.()
    expect(writes).toEqual(["x\n"])
    lines.flush()
    expect(writes).toEqual(["x\n"])
  })

  it("a process that logs through the JSON logger and exits at once still prints every line", () => {
    const logger = fileURLToPath(new URL("../../src/observability/JsonLogger.ts", import.meta.url))
    const script = `
      import { Effect, Logger } from "effect"
      import { consoleJsonWithTrace } from ${JSON.stringify(logger)}
      Effect.runSync(Effect.forEach([1, 2, 3], (i) => Effect.logInfo("line " + i)).pipe(Effect.provide(Logger.layer([consoleJsonWithTrace]))))
      process.exit(3)
    `
    let stdout = ""
    try {
      execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", cwd: fileURLToPath(new URL("../..", import.meta.url)) })
    } catch (error) {
      const failed = error as { status: number; stdout: string }
      expect(failed.status).toBe(3)
      stdout = failed.stdout
    }
    const messages = stdout.trim().split("\n").map((line) => (JSON.parse(line) as { message: string }).message)
    expect(messages).toEqual(["line 1", "line 2", "line 3"])
  })
})
