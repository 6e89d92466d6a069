/** A campaign report as text: the counts (cases and statuses per endpoint, frames, codes) and the findings. */
import type { CampaignReport } from "./Campaign.ts"

const counts = (record: Readonly<Record<string, number>>) =>
  Object.entries(record).sort(([, a], [, b]) => b - a).map(([key, n]) => `${key}×${n}`).join(" ")

const mib = (bytes: number | undefined) => (bytes === undefined ? "n/a" : `${(bytes / 2 ** 20).toFixed(1)} MiB`)

export const summarize = (report: CampaignReport): string => {
  const lines = [
    `fuzz: seed ${report.seed}, ${report.durationSeconds} s, ${report.http.cases} HTTP cases (+${report.http.unsendable} unsendable), ` +
    `${report.ws.frames} WebSocket frames, ${Object.values(report.ws.upgrades).reduce((a, b) => a + b, 0)} upgrades; ${report.findings.length} finding(s)`,
    `  HTTP statuses: ${counts(report.http.statuses)}`,
    ...Object.entries(report.http.byEndpoint).sort(([a], [b]) => a.localeCompare(b)).map(([endpoint, stats]) =>
      `  ${endpoint}: ${stats.cases} cases — ${counts(stats.statuses)}`
    ),
    `  WS upgrades: ${counts(report.ws.upgrades)}`,
    `  WS server frames: ${counts(report.ws.serverFrames)}`,
    `  WS error codes: ${counts(report.ws.errorCodes)}`,
    `  WS closes: ${counts(report.ws.closes)} (reconnects ${report.ws.reconnects})`,
    `  afterwards: /health ${report.afterwards.health}, /users/me ${report.afterwards.me}, send ${report.afterwards.send}`,
    ...report.memory.map((m) => `  memory ${m.label}: heap ${mib(m.heapUsedBytes)}, rss ${mib(m.rssBytes)}`)
  ]
  return lines.join("\n")
}
