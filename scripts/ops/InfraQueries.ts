/**
 * Every PromQL expression the monitoring files hold: panel targets and query variables of the
 * Grafana dashboards under infra/grafana, and `expr:` of the rule files under infra/prometheus
 * (YAML with a top-level `groups:`), with the recording rules' names. Read by check-metric-names.ts,
 * check-dashboard-queries.ts (promtool parses them) and the real-Prometheus test.
 */
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { promQLInDashboard, rulesInYaml } from "./MetricNames.ts"

export const ROOT = join(import.meta.dirname, "..", "..")

export interface QueryUse {
  readonly file: string
  readonly kind: "dashboard" | "rule"
  readonly expression: string
}

export const filesUnder = (directory: string, accept: (name: string) => boolean): ReadonlyArray<string> =>
  readdirSync(directory, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && accept(entry.name) && !entry.parentPath.includes("node_modules"))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort()

export const ruleFiles = (): ReadonlyArray<string> =>
  filesUnder(join(ROOT, "infra", "prometheus"), (name) => /\.ya?ml$/.test(name))
    .filter((file) => /^\s*groups:/m.test(readFileSync(file, "utf8")))

export const dashboardFiles = (): ReadonlyArray<string> =>
  filesUnder(join(ROOT, "infra", "grafana"), (name) => name.endsWith(".json"))

/** Names the rule files record (they count as exported for the queries that read them). */
export const recordedNames = (): ReadonlyArray<string> =>
  ruleFiles().flatMap((file) => rulesInYaml(readFileSync(file, "utf8")).records)

export const queryUses = (): ReadonlyArray<QueryUse> => [
  ...ruleFiles().flatMap((file) =>
    rulesInYaml(readFileSync(file, "utf8")).expressions.map((expression) => ({ file, kind: "rule" as const, expression }))
  ),
  ...dashboardFiles().flatMap((file) => {
    const dashboard: unknown = JSON.parse(readFileSync(file, "utf8"))
    return promQLInDashboard(dashboard).map((expression) => ({ file, kind: "dashboard" as const, expression }))
  })
]

/**
 * A dashboard expression as Prometheus receives it from Grafana with the variables at "All":
 * `$namespace` → `.*`, Grafana's range variables → 5m.
 */
export const asPrometheusQuery = (expression: string): string =>
  expression
    .replace(/\$\{namespace\}|\$namespace/g, ".*")
    .replace(/\$__rate_interval|\$__interval|\$__range/g, "5m")
