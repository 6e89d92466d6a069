/**
 * Latency samples and their percentiles. Every sample is kept (a growable Float64Array) and
 * sorted once at the end, so percentiles are exact (nearest rank) rather than bucketed; at the
 * benchmark's sizes (≤ a few million samples) that costs a few MB and well under a second.
 */

export interface LatencySummary {
  readonly count: number
  readonly meanMs: number
  readonly p50Ms: number
  readonly p90Ms: number
  readonly p99Ms: number
  readonly p999Ms: number
  readonly maxMs: number
}

export class LatencyHistogram {
  private values = new Float64Array(4096)
  private length = 0

  get count(): number {
    return this.length
  }

  record(milliseconds: number): void {
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2)
      grown.set(this.values)
      this.values = grown
    }
    this.values[this.length++] = milliseconds
  }

  summary(): LatencySummary {
    const n = this.length
    if (n === 0) return { count: 0, meanMs: Number.NaN, p50Ms: Number.NaN, p90Ms: Number.NaN, p99Ms: Number.NaN, p999Ms: Number.NaN, maxMs: Number.NaN }
    const sorted = this.values.slice(0, n).sort()
    let sum = 0
    for (const value of sorted) sum += value
    // Nearest rank: the smallest sample with at least q·n samples at or below it.
    const at = (q: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))] ?? Number.NaN
    return {
      count: n,
      meanMs: sum / n,
      p50Ms: at(0.5),
      p90Ms: at(0.9),
      p99Ms: at(0.99),
      p999Ms: at(0.999),
      maxMs: sorted[n - 1] ?? Number.NaN
    }
  }
}
