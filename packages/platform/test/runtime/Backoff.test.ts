/**
 * The shared retry backoff (platform/Backoff.ts): doubling from `initial`, capped at `max`,
 * each delay jittered to 0.8–1.2 of its nominal value; `reset` starts over.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { makeBackoff } from "../../src/runtime/Backoff.ts"

const within = (delay: Duration.Duration, nominal: number) => {
  const millis = Duration.toMillis(delay)
  expect(millis).toBeGreaterThanOrEqual(nominal * 0.8)
  expect(millis).toBeLessThanOrEqual(nominal * 1.2)
}

describe("Backoff", () => {
  it.effect("doubles from initial, caps at max, jitters by ±20 %, and starts over after reset", () =>
    Effect.gen(function*() {
      const backoff = yield* makeBackoff({ initial: "100 millis", max: "1 second" })
      for (const nominal of [100, 200, 400, 800, 1000, 1000, 1000]) within(yield* backoff.next, nominal)
      yield* backoff.reset
      within(yield* backoff.next, 100)
      within(yield* backoff.next, 200)
    }))

  it.effect("stays at the cap after very many failures", () =>
    Effect.gen(function*() {
      const backoff = yield* makeBackoff({ initial: "1 millis", max: "5 seconds" })
      for (let i = 0; i < 2_000; i++) yield* backoff.next
      within(yield* backoff.next, 5_000)
    }))

  it.effect("the jitter spreads delays (not the same value every time)", () =>
    Effect.gen(function*() {
      const seen = new Set<number>()
      for (let i = 0; i < 20; i++) {
        const backoff = yield* makeBackoff({ initial: "1 second", max: "1 second" })
        seen.add(Duration.toMillis(yield* backoff.next))
      }
      expect(seen.size).toBeGreaterThan(1)
    }))
})
