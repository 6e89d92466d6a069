/**
 * Settings of the notification service's event consumer, read once at start (defaults in brackets):
 * - `NOTIFICATION_TOPIC` [message-events]: the topic consumed
 * - `NOTIFICATION_CONSUMER_GROUP` [notification-consumer-group]: the consumer group
 * - `NOTIFICATION_DLQ_TOPIC` [<topic>.dlq]: where poison events go, with the failure reason
 * - `NOTIFICATION_MAX_ATTEMPTS` [5]: attempts at an event whose processing fails before it is
 *   dead-lettered (an event that does not decode is dead-lettered at once)
 * - `NOTIFICATION_RETRY_INITIAL_MS` [100] / `NOTIFICATION_RETRY_MAX_MS` [2000]: delay between
 *   those attempts (doubling, capped)
 * - `NOTIFICATION_RESTART_INITIAL_MS` [500] / `NOTIFICATION_RESTART_MAX_MS` [30000]: capped
 *   exponential backoff before a crashed consumer session is started again
 * - `NOTIFICATION_LAG_INTERVAL_MS` [15000]: how often the consumer lag gauge is refreshed
 * - `NOTIFICATION_SESSION_TIMEOUT_MS` [30000] / `NOTIFICATION_HEARTBEAT_INTERVAL_MS` [3000]:
 *   Kafka consumer group session timeout and heartbeat interval
 */
import { Config, Context, Duration, Effect, Layer, Option, Schema } from "effect"
import { MESSAGE_EVENTS_TOPIC } from "@pylon/contracts/Events"

export const NOTIFICATION_CONSUMER_GROUP = "notification-consumer-group"

export interface NotificationSettings {
  readonly topic: string
  readonly groupId: string
  readonly dlqTopic: string
  readonly maxAttempts: number
  readonly retryInitial: Duration.Duration
  readonly retryMax: Duration.Duration
  readonly restartInitial: Duration.Duration
  readonly restartMax: Duration.Duration
  readonly lagInterval: Duration.Duration
  readonly sessionTimeout: Duration.Duration
  readonly heartbeatInterval: Duration.Duration
}

export const defaultNotificationSettings: NotificationSettings = {
  topic: MESSAGE_EVENTS_TOPIC,
  groupId: NOTIFICATION_CONSUMER_GROUP,
  dlqTopic: `${MESSAGE_EVENTS_TOPIC}.dlq`,
  maxAttempts: 5,
  retryInitial: Duration.millis(100),
  retryMax: Duration.seconds(2),
  restartInitial: Duration.millis(500),
  restartMax: Duration.seconds(30),
  lagInterval: Duration.seconds(15),
  sessionTimeout: Duration.seconds(30),
  heartbeatInterval: Duration.seconds(3)
}

/** Fills in the settings not given, deriving the DLQ topic from the topic unless given. */
export const notificationSettings = (given: Partial<NotificationSettings> = {}): NotificationSettings => {
  const topic = given.topic ?? defaultNotificationSettings.topic
  return { ...defaultNotificationSettings, dlqTopic: `${topic}.dlq`, ...given, topic }
}

// Kafka topic names: 1–249 of [a-zA-Z0-9._-].
const TopicName = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9._-]{1,249}$/, { message: "must be a Kafka topic name", expected: "a topic name" })
)
const GroupId = Schema.String.check(Schema.isNonEmpty({ message: "must not be empty" }))

const millis = (name: string, fallback: Duration.Duration) =>
  Config.schema(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 3_600_000 })), name).pipe(
    Config.map(Duration.millis),
    Config.withDefault(fallback)
  )

export const NotificationSettingsConfig: Config.Config<NotificationSettings> = Config.all({
  topic: Config.schema(TopicName, "NOTIFICATION_TOPIC").pipe(Config.withDefault(defaultNotificationSettings.topic)),
  groupId: Config.schema(GroupId, "NOTIFICATION_CONSUMER_GROUP").pipe(
    Config.withDefault(defaultNotificationSettings.groupId)
  ),
  dlqTopic: Config.option(Config.schema(TopicName, "NOTIFICATION_DLQ_TOPIC")),
  maxAttempts: Config.schema(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 100 })), "NOTIFICATION_MAX_ATTEMPTS")
    .pipe(Config.withDefault(defaultNotificationSettings.maxAttempts)),
  retryInitial: millis("NOTIFICATION_RETRY_INITIAL_MS", defaultNotificationSettings.retryInitial),
  retryMax: millis("NOTIFICATION_RETRY_MAX_MS", defaultNotificationSettings.retryMax),
  restartInitial: millis("NOTIFICATION_RESTART_INITIAL_MS", defaultNotificationSettings.restartInitial),
  restartMax: millis("NOTIFICATION_RESTART_MAX_MS", defaultNotificationSettings.restartMax),
  lagInterval: millis("NOTIFICATION_LAG_INTERVAL_MS", defaultNotificationSettings.lagInterval),
  sessionTimeout: millis("NOTIFICATION_SESSION_TIMEOUT_MS", defaultNotificationSettings.sessionTimeout),
  heartbeatInterval: millis("NOTIFICATION_HEARTBEAT_INTERVAL_MS", defaultNotificationSettings.heartbeatInterval)
}).pipe(
  Config.map(({ dlqTopic, ...rest }): NotificationSettings => ({
    ...rest,
    dlqTopic: Option.getOrElse(dlqTopic, () => `${rest.topic}.dlq`)
  }))
)

export class NotificationConfig extends Context.Service<NotificationConfig, NotificationSettings>()(
  "pylon/notification/NotificationConfig"
) {
  static readonly layer = Layer.effect(
    NotificationConfig,
    Effect.gen(function*() {
      return NotificationConfig.of(yield* NotificationSettingsConfig)
    })
  )

  static readonly make = (settings: Partial<NotificationSettings> = {}) =>
    Layer.succeed(NotificationConfig, notificationSettings(settings))
}
