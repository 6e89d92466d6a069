/**
 * The bounded fuzz run of `npm test` (issue #7): a few thousand generated and mutated requests
 * and frames against the embedded topology (`pylon dev` in process, PGlite in a temp dir) over
 * real HTTP and WebSocket. Every answer must be a 4xx/2xx in the documented envelope (or a
 * contract frame), never a 5xx, an INTERNAL frame or leaked internals; afterwards the server must
 * still answer `/health`, an authenticated call and a normal send, and its heap (after a forced
 * GC) must be back near the baseline. The seed is printed; `FUZZ_SEED=<n>` replays a run.
 * `npm run fuzz` (scripts/fuzz/run.ts) is the long run against a server process.
 */
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as NodePath from "node:path"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { expect, layer } from "@effect/vitest"
import { ConfigProvider, Context, Effect, Layer, References } from "effect"
import { boundPort } from "@pylon/platform/http/HttpServerLive"
import { devLayer } from "../src/DevMode.ts"
import { describeFindings, runCampaign } from "./support/fuzz/Campaign.ts"
import type { MemoryProbe } from "./support/fuzz/Campaign.ts"
import { fuzzServerEnv } from "./support/fuzz/ServerEnv.ts"
import { summarize } from "./support/fuzz/Summary.ts"

class BaseUrl extends Context.Service<BaseUrl, string>()("pylon/pylon/test/FuzzBaseUrl") {}

const JWT_SECRET = "fuzz-test-secret-0123456789abcdef"

const Embedded = Layer.unwrap(Effect.gen(function*() {
  const dataDir = yield* Effect.acquireRelease(
    Effect.promise(() => mkdtemp(NodePath.join(tmpdir(), "pylon-fuzz-"))),
    (directory) => Effect.promise(() => rm(directory, { recursive: true, force: true }))
  )
  const config = ConfigProvider.fromUnknown({ ...fuzzServerEnv(JWT_SECRET), APP_PORT: "0", APP_HOST: "127.0.0.1", PYLON_DATA_DIR: dataDir })
  return Layer.effect(BaseUrl, Effect.map(boundPort, (port) => `http://127.0.0.1:${port}`)).pipe(
    Layer.provide(devLayer),
    Layer.provide(ConfigProvider.layer(config)),
    // Every bad request is logged at Info; errors (a defect, an unhandled failure) still show.
    Layer.provide(Layer.succeed(References.MinimumLogLevel, "Error"))
  )
}))

const isCallable = (value: unknown): value is () => unknown => typeof value === "function"

/** `gc()` even without `--expose-gc` (V8 flag set at runtime, function taken from a fresh context). */
const forceGc = (): () => void => {
  const exposed: unknown = (globalThis as { gc?: unknown }).gc
  if (isCallable(exposed)) return () => void exposed()
  setFlagsFromString("--expose-gc")
  const gc: unknown = runInNewContext("gc")
  return isCallable(gc) ? () => void gc() : () => undefined
}

/** The server shares this process: its heap is our heap, measured after two full collections. */
const inProcessHeap = (): MemoryProbe => {
  const gc = forceGc()
  return {
    sample: async (label) => {
      for (let i = 0; i < 2; i++) {
        gc()
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      const usage = process.memoryUsage()
      return { label, heapUsedBytes: usage.heapUsed, rssBytes: usage.rss }
    }
  }
}

const envInt = (name: string, fallback: number) => {
  const value = Number(process.env[name])
  return Number.isSafeInteger(value) && value >= 0 ? value : fallback
}

/** Heap growth over the run that still counts as "back to baseline". */
const HEAP_TOLERANCE_BYTES = 48 * 1024 * 1024

layer(Embedded, { excludeTestServices: true, timeout: "120 seconds" })("fuzz (bounded, embedded server)", (it) => {
  it.effect("no 5xx, no INTERNAL frame, no leaked internals, only documented envelopes; the server stays whole", () =>
    Effect.gen(function*() {
      const baseUrl = yield* BaseUrl
      const seed = envInt("FUZZ_SEED", Math.floor(Math.random() * 0x7fff_ffff))
      console.log(`fuzz: seed ${seed} (replay with FUZZ_SEED=${seed})`)
      const report = yield* runCampaign({
        baseUrl,
        seed,
        httpCases: envInt("FUZZ_HTTP_CASES", 1500),
        wsCases: envInt("FUZZ_WS_CASES", 700),
        warmupCases: 150,
        concurrency: 4,
        jwtSecret: JWT_SECRET,
        timeoutMs: 20_000,
        batchSize: 250,
        // Bounded in time too: on a badly overloaded machine fewer cases run (the summary says how many).
        maxSeconds: 30,
        http: { maxHuge: 20_000, maxUrlHuge: 600, maxDepth: 20_000, maxBytes: 2048, hugeBodyWeight: 4, oversizedHeadWeight: 1 },
        ws: { maxHuge: 10_000, maxDepth: 5_000, maxBytes: 2048, oversizedWeight: 3, upgradeWeight: 20 },
        memory: inProcessHeap()
      })
      console.log(summarize(report))
      expect(report.http.cases + report.ws.frames, "no case ran").toBeGreaterThan(0)
      expect(report.findings.length, `seed ${seed}\n${describeFindings(report)}`).toBe(0)
      expect(report.afterwards).toEqual({ health: 200, me: 200, send: "acked" })
      const [baseline, after] = report.memory
      const growth = (after?.heapUsedBytes ?? 0) - (baseline?.heapUsedBytes ?? 0)
      expect(growth, `heap grew by ${(growth / 2 ** 20).toFixed(1)} MiB`).toBeLessThan(HEAP_TOLERANCE_BYTES)
    }))
})
