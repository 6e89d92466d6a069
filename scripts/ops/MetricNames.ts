/**
 * Metric names on both sides of the monitoring contract: the names Pylon's code exports (found in its
 * sources) and the names that PromQL in Grafana dashboards and Prometheus rule files reads. Used by
 * check-metric-names.ts so a renamed or misspelt metric fails `npm test` instead of an empty panel.
 */

/** Series a histogram or summary named N is scraped as, besides N itself. */
const SERIES_SUFFIXES = ["_bucket", "_sum", "_count"] as const

/**
 * Names not exported by Pylon that dashboards and alerts may read: Prometheus' own series and the
 * usual exporters of the platform around it (the names each one exports cannot be checked here).
 */
export const EXTERNAL_METRIC_PREFIXES: ReadonlyArray<string> = [
  "up", // Prometheus: target health
  "scrape_", // Prometheus: per-scrape series
  "ALERTS", // Prometheus: alert state (ALERTS, ALERTS_FOR_STATE)
  "container_", // cAdvisor (kubelet)
  "kube_", // kube-state-metrics
  "node_", // node-exporter
  "pg_", // postgres_exporter
  "redis_", // redis_exporter
  "kafka_", // kafka-exporter (Pylon's own Kafka metrics are pylon_kafka_*)
  "otelcol_" // the OpenTelemetry Collector's own metrics
]

const METRIC_CONSTRUCTOR = /Metric\.(?:counter|gauge|histogram|summary|frequency|timer)\(\s*["'`]([a-zA-Z_:][a-zA-Z0-9_:]*)["'`]/g
// A string literal shaped like one of Pylon's metric names (covers names kept in constants).
const PYLON_NAME_LITERAL = /["'`](pylon_[a-z0-9_:]+)["'`]/g

/** Metric names declared in one TypeScript source file. */
export const exportedNamesIn = (source: string): ReadonlyArray<string> => [
  ...new Set([
    ...Array.from(source.matchAll(METRIC_CONSTRUCTOR), (match) => match[1] ?? ""),
    ...Array.from(source.matchAll(PYLON_NAME_LITERAL), (match) => match[1] ?? "")
  ])
].filter((name) => name.length > 0)

// PromQL words that are not metric names when they are not followed by "(".
const PROMQL_KEYWORDS = new Set([
  "and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right",
  "inf", "nan", "Inf", "NaN", "atan2"
])

/**
 * The metric names a PromQL expression selects. Grafana variables (`$var`, `${var}`, `[[var]]`),
 * strings, label matchers, ranges and grouping label lists are removed first; what is left that looks
 * like an identifier and is not a function call, an aggregation or a keyword is a metric name.
 */
export const metricNamesInPromQL = (expression: string): ReadonlyArray<string> => {
  const stripped = expression
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, " ")
    .replace(/\$\{[^}]*\}|\$[a-zA-Z_][a-zA-Z0-9_]*|\[\[[^\]]*\]\]/g, " ")
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
  const names = new Set<string>()
  for (const match of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const name = match[0]
    const start = match.index
    const before = stripped[start - 1] ?? " "
    const after = stripped.slice(start + name.length)
    if (/[0-9.]/.test(before)) continue // 1e3, 5m after "offset", 0.95
    if (/^\s*\(/.test(after)) continue // function or aggregation
    if (PROMQL_KEYWORDS.has(name)) continue
    names.add(name)
  }
  return [...names]
}

/** Every PromQL string in a Grafana dashboard: panel targets' `expr` and query variables. */
export const promQLInDashboard = (dashboard: unknown): ReadonlyArray<string> => {
  const found: Array<string> = []
  const visit = (node: unknown, key: string | undefined): void => {
    if (typeof node === "string") {
      if (key === "expr") found.push(node)
      // query variables: label_values(<selector>, label) / query_result(<expr>)
      if ((key === "query" || key === "definition") && /^\s*(?:label_values|query_result)\s*\(/.test(node)) {
        found.push(node.replace(/^\s*(?:label_values|query_result)\s*\(/, "(").replace(/,\s*[a-zA-Z_]+\s*\)\s*$/, ")"))
      }
      return
    }
    if (Array.isArray(node)) {
      for (const item of node) visit(item, undefined)
      return
    }
    if (node !== null && typeof node === "object") {
      for (const [childKey, child] of Object.entries(node)) visit(child, childKey)
    }
  }
  visit(dashboard, undefined)
  return found
}

/** Rule file (YAML): the `expr:` values, one-line or block scalars, and the `record:` names. */
export const rulesInYaml = (text: string): { readonly expressions: ReadonlyArray<string>; readonly records: ReadonlyArray<string> } => {
  const lines = text.split("\n")
  const expressions: Array<string> = []
  const records: Array<string> = []
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index] ?? ""
    const record = /^\s*(?:-\s+)?record:\s*["']?([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line)
    if (record?.[1] !== undefined) records.push(record[1])
    const expr = /^(\s*)(?:-\s+)?expr:\s*(.*)$/.exec(line)
    if (expr === null) continue
    const indent = (expr[1] ?? "").length
    const value = (expr[2] ?? "").trim()
    if (/^[|>][-+]?$/.test(value)) {
      const block: Array<string> = []
      while (index + 1 < lines.length) {
        const next = lines[index + 1] ?? ""
        if (next.trim() !== "" && next.length - next.trimStart().length <= indent) break
        block.push(next)
        index++
      }
      expressions.push(block.join("\n"))
    } else {
      expressions.push(value.replace(/^(["'])(.*)\1$/, "$2"))
    }
  }
  return { expressions, records }
}

/** Is `name` one the code exports (directly or as a histogram/summary series), or an external one? */
export const isKnownMetric = (name: string, exported: ReadonlySet<string>): boolean =>
  exported.has(name) ||
  SERIES_SUFFIXES.some((suffix) => name.endsWith(suffix) && exported.has(name.slice(0, -suffix.length))) ||
  EXTERNAL_METRIC_PREFIXES.some((prefix) => prefix === "up" ? name === "up" : name.startsWith(prefix))
