// The PromQL/dashboard metric-name extraction behind scripts/ops/check-metric-names.ts (npm test's
// infrastructure step): names are found where PromQL selects them, and nothing else is taken for one.
import { describe, expect, it } from "vitest"
import {
  exportedNamesIn,
  isKnownMetric,
  metricNamesInPromQL,
  promQLInDashboard,
  rulesInYaml
} from "../../../scripts/ops/MetricNames.ts"

describe("metricNamesInPromQL", () => {
  it("finds selected metrics, not functions, labels, grouping, durations or Grafana variables", () => {
    const expression =
      `histogram_quantile(0.95, sum by (le, job) (rate(pylon_http_request_duration_seconds_bucket{namespace=~"$namespace", route!="/ready"}[$__rate_interval])))` +
      ` / on (job) group_left sum without (pod) (pylon_ws_connections offset 5m) > bool 1e3 and absent(up{job="x"})`
    expect([...metricNamesInPromQL(expression)].sort()).toEqual([
      "pylon_http_request_duration_seconds_bucket",
      "pylon_ws_connections",
      "up"
    ])
  })
})

describe("isKnownMetric", () => {
  const exported = new Set(["pylon_http_request_duration_seconds", "pylon_ws_connections"])
  it("accepts exported names, their histogram series and external exporters' names", () => {
    expect(isKnownMetric("pylon_ws_connections", exported)).toBe(true)
    expect(isKnownMetric("pylon_http_request_duration_seconds_bucket", exported)).toBe(true)
    expect(isKnownMetric("container_memory_working_set_bytes", exported)).toBe(true)
    expect(isKnownMetric("up", exported)).toBe(true)
  })
  it("rejects a misspelt or unexported name", () => {
    expect(isKnownMetric("pylon_ws_connection", exported)).toBe(false)
    expect(isKnownMetric("pylon_ws_connections_bucket_total", exported)).toBe(false)
    expect(isKnownMetric("upstream_requests", exported)).toBe(false)
  })
})

describe("sources, dashboards and rule files", () => {
  it("reads names from Metric constructors and pylon_* constants", () => {
    const source = `const a = Metric.counter(\n  "pylon_a_total", {})\nconst NAME = "pylon_b_seconds"\nMetric.gauge("other_gauge")`
    expect([...exportedNamesIn(source)].sort()).toEqual(["other_gauge", "pylon_a_total", "pylon_b_seconds"])
  })
  it("collects panel expressions and query variables of a dashboard", () => {
    const dashboard = {
      templating: { list: [{ query: { query: `label_values(up{job=~"pylon-.*"}, namespace)` } }] },
      panels: [{ targets: [{ expr: "sum(pylon_ws_connections)" }] }, { panels: [{ targets: [{ expr: "x_total" }] }] }]
    }
    expect(promQLInDashboard(dashboard)).toEqual([`(up{job=~"pylon-.*"})`, "sum(pylon_ws_connections)", "x_total"])
  })
  it("reads one-line and block `expr:` values and `record:` names from a rule file", () => {
    const yaml = [
      "groups:",
      "  - name: g",
      "    rules:",
      "      - record: job:pylon_requests:rate5m",
      "        expr: sum by (job) (rate(pylon_http_requests_total[5m]))",
      "      - alert: A",
      "        expr: |",
      "          max(pylon_outbox_lag_seconds)",
      "            > 60",
      "        for: 5m"
    ].join("\n")
    const rules = rulesInYaml(yaml)
    expect(rules.records).toEqual(["job:pylon_requests:rate5m"])
    expect(rules.expressions.map((e) => e.trim())).toEqual([
      "sum by (job) (rate(pylon_http_requests_total[5m]))",
      "max(pylon_outbox_lag_seconds)\n            > 60"
    ])
  })
})
