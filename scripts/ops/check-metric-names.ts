/**
 * `node scripts/ops/check-metric-names.ts`: fails (exit 1) when a Grafana dashboard under
 * infra/grafana or a rule file under infra/prometheus reads a metric that Pylon's code does not export
 * (and that is not one of the external exporters' names listed in MetricNames.ts). Offline, no deps.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join, relative } from "node:path"
import { exportedNamesIn, isKnownMetric, metricNamesInPromQL, promQLInDashboard, rulesInYaml } from "./MetricNames.ts"

const root = join(import.meta.dirname, "..", "..")

const filesUnder = (directory: string, accept: (name: string) => boolean): ReadonlyArray<string> =>
  readdirSync(directory, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && accept(entry.name) && !entry.parentPath.includes("node_modules"))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort()

const exported = new Set<string>()
for (const pkg of readdirSync(join(root, "packages"))) {
  const sourceDirectory = join(root, "packages", pkg, "src")
  if (!existsSync(sourceDirectory)) continue // not a package with sources
  for (const file of filesUnder(sourceDirectory, (name) => name.endsWith(".ts"))) {
    for (const name of exportedNamesIn(readFileSync(file, "utf8"))) exported.add(name)
  }
}

interface Use {
  readonly file: string
  readonly expression: string
}
const uses: Array<Use> = []
for (const file of filesUnder(join(root, "infra", "prometheus"), (name) => /\.ya?ml$/.test(name))) {
  const text = readFileSync(file, "utf8")
  if (!/^\s*groups:/m.test(text)) continue // scrape config, not a rule file
  const rules = rulesInYaml(text)
  for (const record of rules.records) exported.add(record)
  for (const expression of rules.expressions) uses.push({ file, expression })
}
for (const file of filesUnder(join(root, "infra", "grafana"), (name) => name.endsWith(".json"))) {
  const dashboard: unknown = JSON.parse(readFileSync(file, "utf8"))
  for (const expression of promQLInDashboard(dashboard)) uses.push({ file, expression })
}

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
