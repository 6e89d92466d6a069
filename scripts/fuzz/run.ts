/**
 * `npm run fuzz` (`node scripts/fuzz/run.ts [--flag=value …]`): the long fuzz run (issue #7).
 * Starts `pylon dev` as a child process (PGlite in a temp dir, rate limits raised, inspector on
 * loopback for heap measurements) — or aims at `--base-url` (e.g. a gateway of
 * `npm run dev:stack`, with its `--jwt-secret`) — and runs the same campaign as the bounded
 * `Fuzz.test.ts`, at ≥ 100,000 cases by default and with request heads over 16 KiB included.
 * Writes `scripts/fuzz/results/latest.json` (`--out-dir` to keep it elsewhere): seed, counts per endpoint
 * and status, WebSocket frames and codes, every finding with its smallest reproduction, the
 * server's error log lines, whether it stayed up, and its heap/RSS trend. Exit status 1 when
 * there is a finding, the server died, or its heap did not come back to the baseline.
 */
import { randomBytes } from "node:crypto"
import { mkdirSync, writeFileSync } from "node:fs"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as NodePath from "node:path"
import { createInterface } from "node:readline"
import { parseArgs } from "node:util"
import { Cause, Console, Data, Effect, Exit } from "effect"
import { freePorts } from "../../packages/pylon/src/FreePorts.ts"
import { startService } from "../../packages/pylon/src/ServiceProcess.ts"
import { benchDatabase } from "../bench/BenchDatabase.ts"
import { startBenchStack } from "../bench/BenchStack.ts"
import { describeFindings, runCampaign } from "../../packages/pylon/test/support/fuzz/Campaign.ts"
import type { MemoryProbe, MemorySample } from "../../packages/pylon/test/support/fuzz/Campaign.ts"
import { fuzzServerEnv } from "../../packages/pylon/test/support/fuzz/ServerEnv.ts"
import { summarize } from "../../packages/pylon/test/support/fuzz/Summary.ts"
import { inspectorUrlOn, serverHeapProbe } from "./ServerHeap.ts"

class FuzzRunError extends Data.TaggedError("FuzzRunError")<{ readonly message: string }> {}

const usage = `usage: npm run fuzz -- [--http-cases=66000] [--ws-cases=34000] [--seed=N] [--concurrency=4]
                     [--warmup=2000] [--base-url=http://host:port --jwt-secret=S] [--out-dir=scripts/fuzz/results]
                     [--http-from=I --ws-from=J] (start at those case indices: with --seed, replays cases I… and J…)
                     [--server-log] (show the server's own output)
                     [--target=stack] (the microservice topology on DATABASE_URL/REDIS_URL/KAFKA_BROKERS, fresh database;
                                       memory is the first gateway's RSS only)`

/** Heap growth after a full GC that still counts as "back to the baseline". */
const HEAP_TOLERANCE_BYTES = 64 * 1024 * 1024

const readOptions = Effect.try({
  try: () => {
    const { values } = parseArgs({
      options: {
        "http-cases": { type: "string", default: "66000" },
        "ws-cases": { type: "string", default: "34000" },
        seed: { type: "string", default: String(Math.floor(Math.random() * 0x7fff_ffff)) },
        concurrency: { type: "string", default: "4" },
        warmup: { type: "string", default: "2000" },
        "http-from": { type: "string", default: "0" },
        "ws-from": { type: "string", default: "0" },
        "server-log": { type: "boolean", default: false },
        target: { type: "string", default: "dev" },
        "base-url": { type: "string" },
        "jwt-secret": { type: "string" },
        "out-dir": { type: "string", default: NodePath.join(import.meta.dirname, "results") },
        help: { type: "boolean", default: false }
      }
    })
    const int = (name: string, text: string) => {
      const n = Number(text)
      if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got "${text}"`)
      return n
    }
    return {
      help: values.help,
      httpCases: int("http-cases", values["http-cases"]),
      wsCases: int("ws-cases", values["ws-cases"]),
      seed: int("seed", values.seed),
      concurrency: Math.max(1, int("concurrency", values.concurrency)),
      warmup: int("warmup", values.warmup),
      from: { http: int("http-from", values["http-from"]), ws: int("ws-from", values["ws-from"]) },
      serverLog: values["server-log"],
      target: values.target === "stack" ? "stack" as const : "dev" as const,
      baseUrl: values["base-url"],
      jwtSecret: values["jwt-secret"] ?? process.env["JWT_SECRET"] ?? randomBytes(24).toString("hex"),
      outDir: NodePath.resolve(values["out-dir"])
    }
  },
  catch: (cause) => new FuzzRunError({ message: `${cause instanceof Error ? cause.message : String(cause)}\n${usage}` })
})

interface ServerUnderTest {
  readonly baseUrl: string
  readonly description: string
  readonly memory: MemoryProbe | undefined
  /** Exit code/signal if it stopped, else undefined. */
  readonly exited: () => string | undefined
  readonly errorLines: () => ReadonlyArray<string>
}

/** `pylon dev` as a child process on a free port, its output scanned for errors and its inspector URL. */
const startDevServer = (jwtSecret: string, showLog: boolean) =>
  Effect.gen(function*() {
    const dataDir = yield* Effect.acquireRelease(
      Effect.promise(() => mkdtemp(NodePath.join(tmpdir(), "pylon-fuzz-"))),
      (directory) => Effect.promise(() => rm(directory, { recursive: true, force: true }))
    )
    const [port, inspectPort] = yield* freePorts(2)
    if (port === undefined || inspectPort === undefined) return yield* new FuzzRunError({ message: "no free port" })
    const service = yield* startService({
      name: "pylon-dev",
      command: "dev",
      port,
      env: { ...fuzzServerEnv(jwtSecret), APP_HOST: "127.0.0.1", PYLON_DATA_DIR: dataDir, NODE_OPTIONS: `--inspect=127.0.0.1:${inspectPort}` }
    }, { quiet: !showLog, readyTimeoutMs: 120_000 }).pipe(Effect.mapError((error) => new FuzzRunError({ message: `pylon dev did not start: ${error.message}` })))
    // WARN and worse, each with the lines that continue it (the logger prints a cause over several lines).
    const errors: Array<string> = []
    let errorCount = 0
    let continuing: Array<string> | undefined
    const scan = (stream: NodeJS.ReadableStream | null) =>
      stream === null ? undefined : createInterface({ input: stream }).on("line", (line) => {
        if (/\b(WARN|ERROR|FATAL)\b/.test(line)) {
          errorCount++
          continuing = errors.length < 100 ? [line.slice(0, 2000)] : undefined
          if (continuing !== undefined) errors.push(continuing[0] ?? "")
        } else if (continuing !== undefined && !/^\[\d/.test(line) && continuing.length < 20) {
          continuing.push(line.slice(0, 500))
          errors[errors.length - 1] = continuing.join("\n")
        } else {
          continuing = undefined
        }
      })
    scan(service.child.stdout)
    scan(service.child.stderr)
    const inspectorUrl = yield* Effect.promise(() => inspectorUrlOn(inspectPort))
    if (inspectorUrl === undefined) yield* Console.log("fuzz: the server's inspector did not answer; memory is RSS only")
    const pid = service.child.pid ?? 0
    const server: ServerUnderTest = {
      baseUrl: service.baseUrl,
      description: `pylon dev (child process ${pid}, PGlite in ${dataDir})`,
      memory: serverHeapProbe(pid, inspectorUrl),
      exited: () => {
        const { exitCode, signalCode } = service.child
        return exitCode !== null ? `exit code ${exitCode}` : signalCode !== null ? `signal ${signalCode}` : undefined
      },
      errorLines: () => (errorCount > errors.length ? [...errors, `… ${errorCount - errors.length} more`] : errors)
    }
    return server
  })

/**
 * The microservice topology (services and two gateways as processes) on the real infrastructure,
 * a fresh database, as the benchmark starts it. Its JWT secret stays inside it, so the fuzzer's
 * "signed" credentials are plain forgeries there.
 */
const startStackServer = Effect.gen(function*() {
  const database = yield* benchDatabase
  const stack = yield* startBenchStack(database, randomBytes(3).toString("hex"), { notifications: true })
  const gateway = stack.gateways[0]
  if (gateway === undefined) return yield* new FuzzRunError({ message: "the stack has no gateway" })
  const server: ServerUnderTest = {
    baseUrl: gateway.baseUrl,
    description: `microservice stack (gateway ${gateway.name}, pid ${gateway.pid}; database ${stack.database})`,
    memory: serverHeapProbe(gateway.pid, undefined),
    exited: () => undefined,
    errorLines: () => []
  }
  return server
})

const program = Effect.gen(function*() {
  const options = yield* readOptions
  if (options.help) return yield* Console.log(usage)
  const startedAt = new Date()
  const server: ServerUnderTest = options.baseUrl !== undefined
    ? { baseUrl: options.baseUrl, description: `existing server at ${options.baseUrl}`, memory: undefined, exited: () => undefined, errorLines: () => [] }
    : options.target === "stack"
    ? yield* startStackServer
    : yield* startDevServer(options.jwtSecret, options.serverLog)
  yield* Console.log(`fuzz: ${server.description}; seed ${options.seed} (replay with --seed=${options.seed}); ${options.httpCases} HTTP + ${options.wsCases} WebSocket cases`)

  const trend: Array<MemorySample & { readonly cases: number }> = []
  let nextCheckpoint = 0
  const total = options.httpCases - options.from.http + options.wsCases - options.from.ws
  const report = yield* runCampaign({
    baseUrl: server.baseUrl,
    seed: options.seed,
    httpCases: options.httpCases,
    wsCases: options.wsCases,
    warmupCases: options.warmup,
    from: options.from,
    concurrency: options.concurrency,
    jwtSecret: options.jwtSecret,
    timeoutMs: 30_000,
    batchSize: 500,
    http: { maxHuge: 60_000, maxUrlHuge: 600, maxDepth: 100_000, maxBytes: 4096, hugeBodyWeight: 4, oversizedHeadWeight: 1 },
    ws: { maxHuge: 10_000, maxDepth: 10_000, maxBytes: 4096, oversizedWeight: 3, upgradeWeight: 20 },
    memory: server.memory,
    log: (line) => console.log(line),
    onBatch: (done) => {
      const cases = done.http - options.from.http + done.ws - options.from.ws
      if (cases < nextCheckpoint) return Effect.void
      nextCheckpoint = cases + Math.ceil(total / 10)
      return Effect.gen(function*() {
        const sample = server.memory === undefined ? undefined : yield* Effect.promise(() => server.memory!.sample(`${cases} cases`))
        if (sample !== undefined) trend.push({ ...sample, cases })
        const heap = sample?.heapUsedBytes === undefined ? "" : `, server heap ${(sample.heapUsedBytes / 2 ** 20).toFixed(1)} MiB`
        yield* Console.log(`fuzz: ${cases}/${total} cases${heap}`)
      })
    }
  })
  const exited = server.exited()
  const [baseline, after] = report.memory
  const heapGrowthBytes = baseline?.heapUsedBytes !== undefined && after?.heapUsedBytes !== undefined
    ? after.heapUsedBytes - baseline.heapUsedBytes
    : undefined
  const verdict = {
    findings: report.findings.length,
    serverStayedUp: exited === undefined && report.afterwards.health === 200,
    afterwardsOk: report.afterwards.health === 200 && report.afterwards.me === 200 && report.afterwards.send === "acked",
    heapGrowthBytes,
    heapBackToBaseline: heapGrowthBytes === undefined ? null : heapGrowthBytes < HEAP_TOLERANCE_BYTES,
    heapToleranceBytes: HEAP_TOLERANCE_BYTES
  }
  const results = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    target: server.description,
    options: { ...options, jwtSecret: "(redacted)" },
    verdict,
    server: { exited: exited ?? null, warnAndErrorLogs: server.errorLines() },
    memoryTrend: trend,
    report
  }
  mkdirSync(options.outDir, { recursive: true })
  const json = `${JSON.stringify(results, null, 2)}\n`
  writeFileSync(NodePath.join(options.outDir, "latest.json"), json)
  yield* Console.log(summarize(report))
  if (report.findings.length > 0) yield* Console.log(describeFindings(report))
  yield* Console.log(`fuzz: verdict ${JSON.stringify(verdict)}; results in ${NodePath.join(options.outDir, "latest.json")}`)
  if (verdict.findings > 0 || !verdict.serverStayedUp || !verdict.afterwardsOk || verdict.heapBackToBaseline === false) {
    process.exitCode = 1
  }
}).pipe(Effect.scoped)

// Ctrl-C / SIGTERM interrupt the run, so the server process and its data directory are cleaned up.
const fiber = Effect.runFork(program)
const interrupt = () => fiber.interruptUnsafe(fiber.id)
process.once("SIGINT", interrupt)
process.once("SIGTERM", interrupt)
fiber.addObserver((exit) => {
  if (Exit.isFailure(exit) && !Cause.hasInterruptsOnly(exit.cause)) {
    console.error(Cause.pretty(exit.cause))
    process.exitCode = 1
  }
  process.exit()
})
