/**
 * `node scripts/ops/check-metric-names.ts`: fails (exit 1) when a Grafana dashboard under
 * infra/grafana or a rule file under infra/prometheus reads a metric that Pylon's code does not export
 * (and that is not one of the external exporters' names listed in MetricNames.ts). Offline, no deps.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join, relative } from "node:path"
import { filesUnder, queryUses, recordedNames, ROOT as root } from "./InfraQueries.ts"
import { exportedNamesIn, isKnownMetric, metricNamesInPromQL } from "./MetricNames.ts"

const exported = new Set<string>(recordedNames())
for (const pkg of readdirSync(join(root, "packages"))) {
  const sourceDirectory = join(root, "packages", pkg, "src")
  if (!existsSync(sourceDirectory)) continue // not a package with sources
  for (const file of filesUnder(sourceDirectory, (name) => name.endsWith(".ts"))) {
    for (const name of exportedNamesIn(readFileSync(file, "utf8"))) exported.add(name)
  }
}

const uses = queryUses()
const problems: Array<string> = []
const checked = new Set<string>()
for (const use of uses) {
  for (const name of metricNamesInPromQL(use.expression)) {
    checked.add(name)
    if (!isKnownMetric(name, exported)) {
      problems.push(`${relative(root, use.file)}: ${name} is not exported by the code (in: ${use.expression.trim()})`)
    }
  }
}

if (uses.length === 0 || exported.size === 0) {
  console.error(`metric names: nothing to check (${uses.length} expressions, ${exported.size} exported names)`)
  process.exit(1)
}
if (problems.length > 0) {
  for (const problem of problems) console.error(problem)
  console.error(`metric names: ${problems.length} unknown use(s)`)
  process.exit(1)
}
console.log(
  `metric names: ${uses.length} expressions use ${checked.size} names, all exported by the code ` +
    `(${exported.size} names) or external`
)
