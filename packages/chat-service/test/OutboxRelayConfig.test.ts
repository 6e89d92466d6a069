// OutboxRelayConfig: defaults, overrides from the environment, and a fast failure on bad values.
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Exit } from "effect"
import { OutboxRelayConfig } from "../src/outbox/OutboxRelayConfig.ts"

describe("OutboxRelayConfig", () => {
  it.effect("defaults to a 200 ms poll and batches of 100", () =>
    Effect.gen(function*() {
      const settings = yield* OutboxRelayConfig.parse(ConfigProvider.fromUnknown({}))
      expect(Duration.toMillis(settings.pollInterval)).toBe(200)
      expect(settings.batchSize).toBe(100)
      expect(Duration.toMillis(settings.retryInitial)).toBe(200)
      expect(Duration.toMillis(settings.retryMax)).toBe(10_000)
      expect(Duration.toMillis(settings.publishTimeout)).toBe(30_000)
    }))

  it.effect("reads every setting from its variable", () =>
    Effect.gen(function*() {
      const settings = yield* OutboxRelayConfig.parse(ConfigProvider.fromEnv({
        env: {
          OUTBOX_POLL_INTERVAL_MS: "50",
          OUTBOX_BATCH_SIZE: "7",
          OUTBOX_RETRY_INITIAL_MS: "10",
          OUTBOX_RETRY_MAX_MS: "2000",
          OUTBOX_PUBLISH_TIMEOUT_MS: "1500"
        }
      }))
      expect(Duration.toMillis(settings.pollInterval)).toBe(50)
      expect(settings.batchSize).toBe(7)
      expect(Duration.toMillis(settings.retryInitial)).toBe(10)
      expect(Duration.toMillis(settings.retryMax)).toBe(2_000)
      expect(Duration.toMillis(settings.publishTimeout)).toBe(1_500)
    }))

  it.effect("rejects malformed values instead of falling back", () =>
    Effect.gen(function*() {
      for (const env of [{ OUTBOX_BATCH_SIZE: "0" }, { OUTBOX_BATCH_SIZE: "ten" }, { OUTBOX_POLL_INTERVAL_MS: "-5" }]) {
        const exit = yield* Effect.exit(OutboxRelayConfig.parse(ConfigProvider.fromEnv({ env })))
        expect(Exit.isFailure(exit)).toBe(true)
      }
    }))
})
