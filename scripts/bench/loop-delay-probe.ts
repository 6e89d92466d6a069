// Event-loop delay probe for benchmark runs (issue #10 measurements), loaded into every Pylon
// process through NODE_OPTIONS (the stack inherits it):
//   LOOP_PROBE_DIR=/tmp/loop NODE_OPTIONS="--import=$PWD/scripts/bench/loop-delay-probe.ts" npm run bench …
// Each process writes `<pid>.json` (its command line and event-loop delay percentiles in ms,
// from perf_hooks.monitorEventLoopDelay, 5 ms timer, the timer period subtracted) into LOOP_PROBE_DIR when it exits.
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { monitorEventLoopDelay } from "node:perf_hooks"

const dir = process.env.LOOP_PROBE_DIR
if (dir !== undefined && dir !== "") {
  const resolutionMs = 5
  const histogram = monitorEventLoopDelay({ resolution: resolutionMs })
  histogram.enable()
  // The histogram holds the time between the sampling timer's firings: the delay is what exceeds its period.
  const ms = (ns: number) => Math.max(0, Math.round((ns / 1e6 - resolutionMs) * 100) / 100)
  process.once("exit", () => {
    histogram.disable()
    writeFileSync(join(dir, `${process.pid}.json`), JSON.stringify({
      argv: process.argv.slice(1).join(" "),
      samples: histogram.count,
      p50Ms: ms(histogram.percentile(50)),
      p99Ms: ms(histogram.percentile(99)),
      maxMs: ms(histogram.max)
    }) + "\n")
  })
}
