/** The run's JSON report and its one-screen human summary. */
import type { Crash } from "./ChaosStack.ts"
import type { CheckResult } from "./Checker.ts"
import { PROPERTIES } from "./Checker.ts"

export interface RunInfo {
  readonly runId: string
  readonly seed: number
  readonly startedAt: string
  readonly durationMs: number
  readonly faultPhaseMs: number
  readonly users: number
  readonly devices: number
  readonly rooms: number
  readonly faultsRequested: ReadonlyArray<string>
  /** Did every connection reach its rooms' last seq without an extra message to trigger gap repair? */
  readonly convergedWithoutSentinel: boolean
  readonly pipelinesDrained: boolean
  /** Service processes that exited on their own; any fails the run. */
  readonly crashes: ReadonlyArray<Crash>
  readonly command: string
}

export interface ChaosReport {
  readonly ok: boolean
  readonly run: RunInfo
  readonly properties: CheckResult["properties"]
  readonly faults: CheckResult["faults"]
  readonly violationsByKind: CheckResult["violationsByKind"]
  readonly stats: CheckResult["stats"]
  /** The first 200 violations in full. */
  readonly violations: CheckResult["violations"]
  readonly violationCount: number
}

export const makeReport = (run: RunInfo, result: CheckResult): ChaosReport => ({
  ok: result.ok && run.crashes.length === 0,
  run,
  properties: result.properties,
  faults: result.faults,
  violationsByKind: result.violationsByKind,
  stats: result.stats,
  violations: result.violations.slice(0, 200),
  violationCount: result.violations.length
})

const pad = (s: string, n: number) => s.padEnd(n)

export const renderSummary = (report: ChaosReport): string => {
  const { run, stats } = report
  const lines = [
    `chaos run ${run.runId} (seed ${run.seed}): ${
      report.ok ? "PASS — no violations" : `FAIL — ${report.violationCount} violation(s), ${run.crashes.length} process crash(es)`
    }`,
    `  ${Math.round(run.durationMs / 1000)} s total, ${Math.round(run.faultPhaseMs / 1000)} s under faults; ${run.users} users, ${run.devices} devices, ${run.rooms} rooms`,
    `  sends: ${stats.logicalSends} (${stats.sends} attempts, ${stats.retries} retries) → acked ${stats.acked}, refused ${stats.definiteFailures}, unresolved ${stats.ambiguous}`,
    `  stored ${stats.storedMessages}, topic ${stats.topicEvents} (${stats.topicDuplicates} duplicate records), notifications ${stats.notifications}`,
    `  deliveries ${stats.deliveries} over ${stats.segments} subscriptions on ${stats.connections} connections (closes by code: ${
      Object.entries(stats.closeCodes).map(([code, n]) => `${code}×${n}`).join(", ") || "none"
    })`,
    ...run.crashes.map((c) => `  CRASH: ${c.service} exited on its own (code ${c.code}, signal ${c.signal}) at ${new Date(c.at).toISOString()}`),
    `  converged without a sentinel message: ${run.convergedWithoutSentinel ? "yes" : "no"}; outbox/notifications drained: ${run.pipelinesDrained ? "yes" : "no"}`,
    "",
    `  ${pad("property", 16)}${pad("checked", 10)}violations`,
    ...PROPERTIES.map((p) => `  ${pad(p, 16)}${pad(String(report.properties[p].checked), 10)}${report.properties[p].violations}`),
    "",
    `  ${pad("fault", 22)}${pad("injected", 10)}violations in its window`,
    ...Object.entries(report.faults).toSorted(([a], [b]) => a.localeCompare(b)).map(([fault, c]) =>
      `  ${pad(fault, 22)}${pad(String(c.injected), 10)}${c.violations}`
    )
  ]
  if (!report.ok) {
    lines.push("", "  violations by kind:")
    for (const [kind, n] of Object.entries(report.violationsByKind)) lines.push(`    ${pad(kind, 44)}${n}`)
    lines.push("", "  first violations:")
    for (const v of report.violations.slice(0, 8)) lines.push(`    [${v.property}.${v.kind}] ${v.detail} (faults: ${v.faults.join(", ")})`)
  }
  return lines.join("\n")
}
