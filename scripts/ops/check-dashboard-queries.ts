/**
 * `node scripts/ops/check-dashboard-queries.ts <dir>`: writes `<dir>/dashboard-queries.rules.yml`,
 * a rule file with every dashboard expression (variables at "All", asPrometheusQuery) as a
 * recording rule, for `promtool check rules` to parse with Prometheus' own PromQL parser; and fails
 * (exit 1) when an alert in infra/prometheus has no `alertname:` case in a rule unit-test file
 * (a YAML file there with a top-level `tests:`). validate-infra.sh runs both.
 */
import { readFileSync, writeFileSync } from "node:fs"
import { basename, join } from "node:path"
import { asPrometheusQuery, filesUnder, queryUses, ROOT, ruleFiles } from "./InfraQueries.ts"

const directory = process.argv[2]
if (directory === undefined) {
  console.error("usage: node scripts/ops/check-dashboard-queries.ts <output directory>")
  process.exit(2)
}

const dashboards = queryUses().filter((use) => use.kind === "dashboard")
const groups = [...new Set(dashboards.map((use) => use.file))].map((file) => ({
  name: basename(file, ".json"),
  rules: dashboards
    .filter((use) => use.file === file)
    .map((use, index) => ({ record: `dashboard:${basename(file, ".json").replace(/-/g, "_")}:${index}`, expr: asPrometheusQuery(use.expression) }))
}))
// JSON is YAML: promtool reads it as a rule file.
writeFileSync(join(directory, "dashboard-queries.rules.yml"), JSON.stringify({ groups }, null, 1))

const alerts = ruleFiles().flatMap((file) =>
  Array.from(readFileSync(file, "utf8").matchAll(/^\s*-?\s*alert:\s*["']?([A-Za-z0-9_:]+)/gm), (match) => match[1] ?? "")
)
const tested = new Set(
  filesUnder(join(ROOT, "infra", "prometheus"), (name) => /\.ya?ml$/.test(name))
    .map((file) => readFileSync(file, "utf8"))
    .filter((text) => /^tests:/m.test(text))
    .flatMap((text) => Array.from(text.matchAll(/^\s*alertname:\s*["']?([A-Za-z0-9_:]+)/gm), (match) => match[1] ?? ""))
)
const untested = alerts.filter((alert) => !tested.has(alert))
if (untested.length > 0) {
  console.error(`alerts without a promtool unit test: ${untested.join(", ")}`)
  process.exit(1)
}
console.log(`dashboard queries: ${dashboards.length} expressions in ${groups.length} dashboards for promtool; all ${alerts.length} alerts unit-tested`)
