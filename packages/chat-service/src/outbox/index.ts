/**
 * The transactional outbox's relay: committed `outbox` rows → `EventPublisher` (Kafka
 * `message-events` in microservice mode, the in-memory bus in embedded mode).
 */
export * from "./OutboxRelay.ts"
export * from "./OutboxRelayConfig.ts"
