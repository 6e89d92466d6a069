/**
 * Before each phase: waits until the work of the phase before it is done — no unpublished
 * outbox row in the benchmark database and the machine under `SETTLE_MAX_BUSY` over one second —
 * for at most `SETTLE_DEADLINE_SECONDS`, so a phase measures its own load and not the backlog
 * another one left (a cross-node step that fell behind leaves thousands of outbox rows for the
 * chat service's relay to publish while the next phase runs). Logs what it waited for.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { DatabaseLive } from "../../packages/platform/src/sql/Database.ts"
import type { BenchDatabaseInfo } from "./BenchDatabase.ts"
import { withDatabaseUrl } from "./BenchDatabase.ts"
import { sampleSystemCpu, systemBusyShare } from "./ProcessStats.ts"

/** The machine counts as quiet below this busy share (the idle stack, PostgreSQL, Redis and Kafka stay well under it). */
export const SETTLE_MAX_BUSY = 0.3
export const SETTLE_DEADLINE_SECONDS = 180

export interface Settled {
  readonly seconds: number
  /** Unpublished outbox rows when the wait began. */
  readonly backlogAtStart: number
  readonly busy: number
  readonly timedOut: boolean
}

const unpublished = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ readonly n: number }>`SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL`
  return rows[0]?.n ?? 0
})

export const settle = (database: BenchDatabaseInfo, phase: string) =>
  Effect.gen(function*() {
    const started = performance.now()
    const backlogAtStart = yield* unpublished
    let backlog = backlogAtStart
    while (true) {
      const before = sampleSystemCpu()
      yield* Effect.sleep("1 second")
      const busy = systemBusyShare(before, sampleSystemCpu())
      const seconds = (performance.now() - started) / 1000
      const timedOut = seconds >= SETTLE_DEADLINE_SECONDS
      if ((backlog === 0 && busy < SETTLE_MAX_BUSY) || timedOut) {
        const settled: Settled = { seconds, backlogAtStart, busy, timedOut }
        yield* Effect.logInfo(
          `${phase}: ${timedOut ? "NOT settled" : "settled"} after ${seconds.toFixed(1)} s ` +
            `(outbox backlog ${backlogAtStart} at start, ${backlog} now; machine ${(busy * 100).toFixed(0)} % busy)`
        )
        return settled
      }
      backlog = yield* unpublished
    }
  }).pipe(Effect.provide(DatabaseLive), withDatabaseUrl(database.url))
