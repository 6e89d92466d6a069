/**
 * What the benchmark reads about processes and the machine from Linux `/proc`: a process's
 * resident memory (`VmRSS`) and CPU time (`utime + stime`), the whole machine's busy CPU time,
 * and the open-file limit that caps how many sockets one process can hold.
 */
import { execFileSync } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import * as Os from "node:os"

/** Kernel clock ticks per second (`getconf CLK_TCK`); 100 on every mainstream Linux build. */
export const CLOCK_TICKS: number = (() => {
  try {
    const ticks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim())
    return Number.isInteger(ticks) && ticks > 0 ? ticks : 100
  } catch {
    return 100
  }
})()

export interface ProcessSample {
  readonly rssKiB: number
  /** User + system CPU time consumed so far, in seconds. */
  readonly cpuSeconds: number
  /** `performance.now()` when sampled. */
  readonly atMs: number
}

/** Reads `/proc/<pid>/status` (VmRSS) and `/proc/<pid>/stat` (utime, stime). */
export const sampleProcess = (pid: number): ProcessSample => {
  const status = readFileSync(`/proc/${pid}/status`, "utf8")
  const rss = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1]
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  // Fields after "(comm)": state is field 3, utime field 14, stime field 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  const ticks = Number(fields[11]) + Number(fields[12])
  return { rssKiB: Number(rss), cpuSeconds: ticks / CLOCK_TICKS, atMs: performance.now() }
}

/** The CPUs a process may run on (`Cpus_allowed_list` of `/proc/<pid>/status`, e.g. "0-1"): where it ran. */
export const allowedCpus = (pid: number | "self"): string => {
  try {
    return /^Cpus_allowed_list:\s+(\S+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? "?"
  } catch {
    return "?"
  }
}

/** CPU cores used on average between two samples (1.0 = one core fully busy). */
export const coresBusy = (before: ProcessSample, after: ProcessSample): number => {
  const wallSeconds = (after.atMs - before.atMs) / 1000
  return wallSeconds > 0 ? (after.cpuSeconds - before.cpuSeconds) / wallSeconds : 0
}

/**
 * CPU seconds so far of every PostgreSQL backend connected to `database` (their process titles
 * read `postgres: <user> <database> <client> <state>`), by pid. Backends of other databases —
 * other people's tests on the same server — are not counted.
 */
export const sampleDatabaseBackends = (database: string): Map<number, number> => {
  const backends = new Map<number, number>()
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const title = readFileSync(`/proc/${entry}/cmdline`, "utf8")
      if (!title.startsWith("postgres: ") || !title.includes(` ${database} `)) continue
      backends.set(Number(entry), sampleProcess(Number(entry)).cpuSeconds)
    } catch {
      // The process ended while we looked.
    }
  }
  return backends
}

/** Cores used by the backends present in both samples (the pools keep their connections). */
export const databaseBackendCores = (before: Map<number, number>, after: Map<number, number>, wallSeconds: number): number => {
  let cpu = 0
  for (const [pid, end] of after) {
    const start = before.get(pid)
    if (start !== undefined) cpu += end - start
  }
  return wallSeconds > 0 ? cpu / wallSeconds : 0
}

export interface SystemCpuSample {
  readonly busyTicks: number
  readonly totalTicks: number
}

/** The aggregate `cpu` line of `/proc/stat` (idle = idle + iowait). */
export const sampleSystemCpu = (): SystemCpuSample => {
  const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? ""
  const values = line.trim().split(/\s+/).slice(1).map(Number)
  // user nice system idle iowait irq softirq steal (guest time is already counted in user).
  const total = values.slice(0, 8).reduce((sum, value) => sum + value, 0)
  const idle = (values[3] ?? 0) + (values[4] ?? 0)
  return { busyTicks: total - idle, totalTicks: total }
}

/** Share of the whole machine's CPU (all cores) that was busy between two samples, 0..1. */
export const systemBusyShare = (before: SystemCpuSample, after: SystemCpuSample): number => {
  const total = after.totalTicks - before.totalTicks
  return total > 0 ? (after.busyTicks - before.busyTicks) / total : 0
}

/** This process's CPU time so far, in seconds (the load generator's own cost). */
export const ownCpuSeconds = (): number => {
  const usage = process.cpuUsage()
  return (usage.user + usage.system) / 1e6
}

/** A process's soft limit on open files (`ulimit -n`), from `/proc/<pid>/limits`; this process by default. */
export const openFileLimit = (pid: number | "self" = "self"): number => {
  const limits = readFileSync(`/proc/${pid}/limits`, "utf8")
  const soft = /^Max open files\s+(\d+|unlimited)/m.exec(limits)?.[1]
  return soft === undefined || soft === "unlimited" ? Number.POSITIVE_INFINITY : Number(soft)
}

export interface MachineInfo {
  readonly cpus: number
  readonly cpuModel: string
  readonly memoryMiB: number
  readonly node: string
  readonly kernel: string
  readonly openFileLimit: number
  readonly loadAverage1m: number
}

export const machineInfo = (): MachineInfo => ({
  cpus: Os.availableParallelism(),
  cpuModel: Os.cpus()[0]?.model ?? "unknown",
  memoryMiB: Math.round(Os.totalmem() / 1024 / 1024),
  node: process.version,
  kernel: Os.release(),
  openFileLimit: openFileLimit(),
  loadAverage1m: Os.loadavg()[0] ?? 0
})

export interface CpuSnapshot {
  readonly processes: ReadonlyMap<string, ProcessSample>
  readonly database: Map<number, number>
  readonly generatorCpuSeconds: number
  readonly system: SystemCpuSample
  readonly atMs: number
}

/** CPU counters of the named processes, the benchmark database's backends, this process and the machine. */
export const snapshotCpu = (
  processes: ReadonlyArray<{ readonly name: string; readonly pid: number }>,
  database: string
): CpuSnapshot => {
  const samples = new Map<string, ProcessSample>()
  for (const process of processes) samples.set(process.name, sampleProcess(process.pid))
  return {
    processes: samples,
    database: sampleDatabaseBackends(database),
    generatorCpuSeconds: ownCpuSeconds(),
    system: sampleSystemCpu(),
    atMs: performance.now()
  }
}

export const GENERATOR = "load-generator"
export const POSTGRES = "postgres (benchmark database)"

/** Cores each process used between two snapshots, plus the generator and the database backends. */
export const coresBetween = (before: CpuSnapshot, after: CpuSnapshot): Record<string, number> => {
  const wallSeconds = (after.atMs - before.atMs) / 1000
  const cores: Record<string, number> = {}
  for (const [name, start] of before.processes) {
    const end = after.processes.get(name)
    if (end !== undefined) cores[name] = coresBusy(start, end)
  }
  cores[POSTGRES] = databaseBackendCores(before.database, after.database, wallSeconds)
  cores[GENERATOR] = wallSeconds > 0 ? (after.generatorCpuSeconds - before.generatorCpuSeconds) / wallSeconds : 0
  return cores
}
