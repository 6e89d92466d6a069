/**
 * Shared setup of the chaos findings' reproductions (scripts/chaos/repro/*.ts): a fresh database
 * and the chaos stack on the infrastructure in DATABASE_URL / REDIS_URL / KAFKA_BROKERS (the
 * shared one is fine: only the stack's own processes and proxies are disturbed), two users in a
 * group room, and a WebSocket client that prints and keeps every frame.
 */
import { Config, Effect } from "effect"
import type { Scope } from "effect"
import WebSocket from "ws"
import { benchDatabase } from "../../bench/BenchDatabase.ts"
import { createGroupRoom, registerUsers } from "../../bench/PylonRest.ts"
import { startChaosStack } from "../ChaosStack.ts"

export interface ReproClient {
  readonly frames: Array<string>
  readonly send: (payload: unknown) => void
  readonly close: () => void
}

export const connect = (baseUrl: string, token: string, name: string) =>
  Effect.callback<ReproClient>((resume) => {
    const ws = new WebSocket(`${baseUrl.replace(/^http/, "ws")}/ws`, { headers: { authorization: `Bearer ${token}` } })
    const frames: Array<string> = []
    ws.on("message", (data, isBinary) => {
      if (isBinary) return
      const text = Buffer.isBuffer(data) ? data.toString("utf8") : ""
      frames.push(text)
      console.log(`[${name}] <- ${text.slice(0, 140)}`)
    })
    ws.once("open", () =>
      resume(Effect.succeed({ frames, send: (payload) => ws.send(JSON.stringify(payload)), close: () => ws.terminate() })))
  })

/** The stack, and users `a` and `b` in one group room. */
export const reproSetup = Effect.gen(function*() {
  const database = yield* benchDatabase
  const stack = yield* startChaosStack({
    databaseUrl: database.url,
    redisUrl: yield* Config.String("REDIS_URL"),
    kafkaBrokers: yield* Config.String("KAFKA_BROKERS")
  }, { quiet: true })
  const [a, b] = yield* registerUsers(stack.gateways[1].baseUrl, "127.0.0.1", `r${Date.now() % 1_000_000}`, 2)
  if (a === undefined || b === undefined) return yield* Effect.die(new Error("registration failed"))
  const room = yield* createGroupRoom(stack.gateways[1].baseUrl, a, "repro", [b])
  return { stack, a, b, room }
})

export const messageSeqs = (frames: ReadonlyArray<string>) =>
  frames.flatMap((frame) => {
    const match = /^\{"type":"message".*?"seq":(\d+)/.exec(frame)
    return match === null ? [] : [Number(match[1])]
  })

export const runRepro = (program: Effect.Effect<void, unknown, Scope.Scope>) =>
  Effect.runPromise(Effect.scoped(program)).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error)
      process.exit(1)
    }
  )
