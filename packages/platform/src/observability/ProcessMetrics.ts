/**
 * Node.js runtime metrics under prom-client's usual names, sampled when `/metrics` is scraped
 * (MetricsServer): event-loop delay percentiles since the previous scrape, heap, external memory,
 * RSS, CPU seconds, and GC pauses by kind (a histogram fed by a PerformanceObserver).
 */
import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks"
import { constants } from "node:perf_hooks"
import { Effect, Metric } from "effect"

const lagP50 = Metric.gauge("nodejs_eventloop_lag_p50_seconds", { description: "Event-loop delay p50 since the previous scrape" })
const lagP99 = Metric.gauge("nodejs_eventloop_lag_p99_seconds", { description: "Event-loop delay p99 since the previous scrape" })
const lagMax = Metric.gauge("nodejs_eventloop_lag_max_seconds", { description: "Event-loop delay max since the previous scrape" })
const heapUsed = Metric.gauge("nodejs_heap_size_used_bytes", { description: "V8 heap used" })
const heapTotal = Metric.gauge("nodejs_heap_size_total_bytes", { description: "V8 heap allocated" })
const external = Metric.gauge("nodejs_external_memory_bytes", { description: "Memory of C++ objects bound to JavaScript" })
const rss = Metric.gauge("process_resident_memory_bytes", { description: "Resident set size" })
const cpuSeconds = Metric.counter("process_cpu_seconds_total", { description: "User and system CPU time" })
const gcDuration = Metric.histogram("nodejs_gc_duration_seconds", {
  description: "Garbage-collection pauses by kind",
  boundaries: [0.001, 0.01, 0.1, 1, 2, 5]
})

const GC_KINDS: Readonly<Record<number, string>> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: "minor",
  [constants.NODE_PERFORMANCE_GC_MAJOR]: "major",
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: "incremental",
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: "weakcb"
}

interface Sampler {
  readonly delay: ReturnType<typeof monitorEventLoopDelay>
  readonly gcPauses: Array<{ readonly kind: string; readonly seconds: number }>
  cpuMicros: number
}

let sampler: Sampler | undefined

/** Starts the event-loop monitor and the GC observer once per process (idempotent). */
const startSampler = (): Sampler => {
  if (sampler !== undefined) return sampler
  const delay = monitorEventLoopDelay({ resolution: 10 })
  delay.enable()
  const state: Sampler = { delay, gcPauses: [], cpuMicros: 0 }
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const detail: unknown = "detail" in entry ? entry.detail : undefined
      const kind = typeof detail === "object" && detail !== null && "kind" in detail && typeof detail.kind === "number"
        ? detail.kind
        : -1
      // bounded: a scrape drains it; without scrapes only the latest 10,000 pauses are kept
      if (state.gcPauses.length >= 10_000) state.gcPauses.shift()
      state.gcPauses.push({ kind: GC_KINDS[kind] ?? "other", seconds: entry.duration / 1000 })
    }
  })
  observer.observe({ entryTypes: ["gc"] })
  sampler = state
  return state
}

/** Updates the runtime gauges (and drains GC pauses into the histogram); run before formatting. */
export const sampleProcessMetrics = Effect.suspend(() => {
  const state = startSampler()
  const { delay } = state
  const seconds = (nanos: number) => (Number.isFinite(nanos) ? nanos : 0) / 1e9
  const memory = process.memoryUsage()
  const cpu = process.cpuUsage()
  const cpuMicros = cpu.user + cpu.system
  const cpuDelta = (cpuMicros - state.cpuMicros) / 1e6
  state.cpuMicros = cpuMicros
  const pauses = state.gcPauses.splice(0)
  const updates = [
    Metric.update(lagP50, delay.count > 0 ? seconds(delay.percentile(50)) : 0),
    Metric.update(lagP99, delay.count > 0 ? seconds(delay.percentile(99)) : 0),
    Metric.update(lagMax, delay.count > 0 ? seconds(delay.max) : 0),
    Metric.update(heapUsed, memory.heapUsed),
    Metric.update(heapTotal, memory.heapTotal),
    Metric.update(external, memory.external),
    Metric.update(rss, memory.rss),
    Metric.update(cpuSeconds, cpuDelta),
    ...pauses.map(({ kind, seconds: pause }) => Metric.update(Metric.withAttributes(gcDuration, { kind }), pause))
  ]
  delay.reset()
  return Effect.all(updates, { discard: true })
})

/** Starts sampling at process start, so the first scrape already covers the time since. */
export const startProcessMetrics = Effect.sync(() => {
  startSampler()
})
