/** `NotificationConfig` from the environment: defaults, overrides, the derived DLQ topic, bad values. */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect } from "effect"
import { defaultNotificationSettings, NotificationSettingsConfig } from "../src/NotificationConfig.ts"

const read = (env: Record<string, string>) =>
  NotificationSettingsConfig.parse(ConfigProvider.fromUnknown(env))

describe("NotificationConfig", () => {
  it.effect("defaults: message-events, notification-consumer-group, message-events.dlq", () =>
    Effect.gen(function*() {
      const settings = yield* read({})
      expect(settings).toEqual(defaultNotificationSettings)
      expect(settings.topic).toBe("message-events")
      expect(settings.groupId).toBe("notification-consumer-group")
      expect(settings.dlqTopic).toBe("message-events.dlq")
    }))

  it.effect("reads every NOTIFICATION_* key; the DLQ topic follows the topic unless given", () =>
    Effect.gen(function*() {
      const settings = yield* read({
        NOTIFICATION_TOPIC: "events-test",
        NOTIFICATION_CONSUMER_GROUP: "group-test",
        NOTIFICATION_MAX_ATTEMPTS: "3",
        NOTIFICATION_RETRY_INITIAL_MS: "10",
        NOTIFICATION_RETRY_MAX_MS: "20",
        NOTIFICATION_RESTART_INITIAL_MS: "30",
        NOTIFICATION_RESTART_MAX_MS: "40",
        NOTIFICATION_LAG_INTERVAL_MS: "50",
        NOTIFICATION_SESSION_TIMEOUT_MS: "6000",
        NOTIFICATION_HEARTBEAT_INTERVAL_MS: "500"
      })
      expect(settings).toEqual({
        topic: "events-test",
        groupId: "group-test",
        dlqTopic: "events-test.dlq",
        maxAttempts: 3,
        retryInitial: Duration.millis(10),
        retryMax: Duration.millis(20),
        restartInitial: Duration.millis(30),
        restartMax: Duration.millis(40),
        lagInterval: Duration.millis(50),
        sessionTimeout: Duration.millis(6000),
        heartbeatInterval: Duration.millis(500)
      })
      expect((yield* read({ NOTIFICATION_DLQ_TOPIC: "dead" })).dlqTopic).toBe("dead")
    }))

  it.effect("fails fast on bad values", () =>
    Effect.gen(function*() {
      for (const env of [
        { NOTIFICATION_TOPIC: "no spaces allowed" },
        { NOTIFICATION_MAX_ATTEMPTS: "0" },
        { NOTIFICATION_RETRY_MAX_MS: "soon" },
        { NOTIFICATION_DLQ_TOPIC: "a/b" }
      ]) {
        const error = yield* Effect.flip(read(env))
        expect(error._tag).toBe("ConfigError")
      }
    }))
})
