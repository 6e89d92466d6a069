/**
 * `@pylon/notification-service`: message events → notifications (a supervised consumer of the
 * event log), their store, the `NotificationRpcs` group and live delivery (API.md §5a, §8).
 */
export * from "./EventConsumer.ts"
export * from "./NotificationConfig.ts"
export * from "./NotificationConsumer.ts"
export * from "./NotificationHandlers.ts"
export * from "./NotificationRepository.ts"
export * from "./NotificationRules.ts"
export * from "./NotificationService.ts"
export * from "./NotificationServiceApp.ts"
export * from "./PgNotificationRepository.ts"
export * from "./RoomDirectory.ts"
export * as KafkaEventConsumer from "./KafkaEventConsumer.ts"
export * as MemoryEventConsumer from "./MemoryEventConsumer.ts"
