/**
 * Log lines written once per event-loop turn: every line pushed during a turn goes out in ONE
 * write at the next `setImmediate`, instead of one `console.log` (a synchronous write syscall on
 * a pipe) per line. Under load a gateway writes one access-log line per request; per line that
 * was ~6 % of its CPU (docs/perf.md §10). Order is kept, and `flush` writes what is pending at
 * once; the process's `exit` runs it, so `process.exit` loses nothing (only a kill -9 can lose
 * the lines of the current turn).
 */
export interface TurnBatchedLines {
  readonly push: (line: string) => void
  /** Writes every pending line now (in one write), if any. */
  readonly flush: () => void
}

export const makeTurnBatchedLines = (
  write: (chunk: string) => void,
  schedule: (run: () => void) => void = setImmediate
): TurnBatchedLines => {
  let pending: Array<string> = []
  let scheduled = false
  const flush = () => {
    scheduled = false
    if (pending.length === 0) return
    const lines = pending
    pending = []
    write(`${lines.join("\n")}\n`)
  }
  const push = (line: string) => {
    pending.push(line)
    if (scheduled) return
    scheduled = true
    schedule(flush)
  }
  return { push, flush }
}

let stdoutLines: TurnBatchedLines | undefined

/** The process's one batcher for stdout, flushed on `exit` (created on first use). */
export const processStdoutLines = (): TurnBatchedLines => {
  if (stdoutLines === undefined) {
    const lines = makeTurnBatchedLines((chunk) => {
      process.stdout.write(chunk)
    })
    process.once("exit", lines.flush)
    stdoutLines = lines
  }
  return stdoutLines
}
