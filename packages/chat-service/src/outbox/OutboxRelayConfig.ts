/**
 * Settings of the outbox relay, read once from the environment (defaults in brackets):
 * - `OUTBOX_POLL_INTERVAL_MS` [200]: how often an idle relay looks for new rows (nothing wakes it earlier in production)
 * - `OUTBOX_BATCH_SIZE` [100]: rows claimed, published and marked per transaction
 * - `OUTBOX_RETRY_INITIAL_MS` [200]: first delay after a failed batch; doubles per failure
 * - `OUTBOX_RETRY_MAX_MS` [10000]: cap of that delay (the relay retries forever)
 * - `OUTBOX_PUBLISH_TIMEOUT_MS` [30000]: a publish that has not finished by then counts as failed
 */
import { Config, Duration, Schema } from "effect"

export interface OutboxRelaySettings {
  readonly pollInterval: Duration.Duration
  readonly batchSize: number
  readonly retryInitial: Duration.Duration
  readonly retryMax: Duration.Duration
  readonly publishTimeout: Duration.Duration
}

export const defaultOutboxRelaySettings: OutboxRelaySettings = {
  pollInterval: Duration.millis(200),
  batchSize: 100,
  retryInitial: Duration.millis(200),
  retryMax: Duration.seconds(10),
  publishTimeout: Duration.seconds(30)
}

const millis = (name: string, fallback: Duration.Duration, maximum: number) =>
  Config.schema(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum })), name).pipe(
    Config.map(Duration.millis),
    Config.withDefault(fallback)
  )

export const OutboxRelayConfig: Config.Config<OutboxRelaySettings> = Config.all({
  pollInterval: millis("OUTBOX_POLL_INTERVAL_MS", defaultOutboxRelaySettings.pollInterval, 3_600_000),
  batchSize: Config.schema(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 10_000 })), "OUTBOX_BATCH_SIZE")
    .pipe(Config.withDefault(defaultOutboxRelaySettings.batchSize)),
  retryInitial: millis("OUTBOX_RETRY_INITIAL_MS", defaultOutboxRelaySettings.retryInitial, 3_600_000),
  retryMax: millis("OUTBOX_RETRY_MAX_MS", defaultOutboxRelaySettings.retryMax, 3_600_000),
  publishTimeout: millis("OUTBOX_PUBLISH_TIMEOUT_MS", defaultOutboxRelaySettings.publishTimeout, 3_600_000)
})
