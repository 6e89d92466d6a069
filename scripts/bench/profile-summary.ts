/**
 * `node scripts/bench/profile-summary.ts <file.cpuprofile> [top]`: what a V8 CPU profile (from
 * `node --cpu-prof`, e.g. `NODE_OPTIONS="--cpu-prof --cpu-prof-dir=DIR" npm run bench`) spent
 * its time on — self time by function, and by area (our packages, effect, the pg driver, ws,
 * node internals, GC, idle) — as plain text for docs/perf.md. Also names the process by the
 * Pylon package whose code it ran most.
 */
import { readFileSync } from "node:fs"

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly children?: ReadonlyArray<number>
}
interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
  readonly startTime: number
  readonly endTime: number
}

const [file, topArg] = process.argv.slice(2)
if (file === undefined) {
  console.error("usage: node scripts/bench/profile-summary.ts <file.cpuprofile> [top]")
  process.exit(2)
}
const top = Number(topArg ?? 25)
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile

const byId = new Map(profile.nodes.map((node) => [node.id, node]))
const selfUs = new Map<number, number>()
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))

const area = (url: string, name: string): string => {
  if (name === "(idle)") return "idle"
  if (name === "(garbage collector)") return "gc"
  if (name === "(program)") return "program (native, not JS)"
  const pkg = /\/packages\/([^/]+)\//.exec(url)
  if (pkg !== null && !url.includes("node_modules")) return `pylon:${pkg[1]}`
  const mod = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (mod !== null) {
    const sub = /node_modules\/effect\/dist\/(?:esm\/)?([^/.]+)/.exec(url)
    return mod[1] === "effect" && sub !== null ? `effect/${sub[1]}` : (mod[1] ?? "?")
  }
  if (url.startsWith("node:")) return "node internals"
  return url === "" ? "native/builtin" : "other"
}

const totals = new Map<string, number>()
const functions = new Map<string, number>()
let total = 0
for (const [id, us] of selfUs) {
  const node = byId.get(id)
  if (node === undefined) continue
  const { functionName, url, lineNumber } = node.callFrame
  total += us
  const a = area(url, functionName)
  const group = a.startsWith("effect/") ? "effect" : a
  totals.set(group, (totals.get(group) ?? 0) + us)
  if (a.startsWith("effect/")) totals.set(a, (totals.get(a) ?? 0) + us)
  const key = `${functionName || "(anonymous)"} ${url.replace(/^.*\/(node_modules|packages)\//, "$1/")}:${lineNumber + 1}`
  functions.set(key, (functions.get(key) ?? 0) + us)
}
const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)} %`
const busy = total - (totals.get("idle") ?? 0)
const pylon = [...totals].filter(([name]) => name.startsWith("pylon:")).sort((a, b) => b[1] - a[1])
console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy; ` +
  `most Pylon code from ${pylon.map(([name]) => name).slice(0, 3).join(", ")}`)
console.log("\nself time by area (share of busy time):")
for (const [name, us] of [...totals].filter(([n]) => n !== "idle").sort((a, b) => b[1] - a[1]).slice(0, 15)) {
  console.log(`  ${((us / busy) * 100).toFixed(1).padStart(5)} %  ${name}`)
}
console.log(`\ntop ${top} functions by self time (share of all samples, idle included):`)
for (const [name, us] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(us)}  ${name}`)
