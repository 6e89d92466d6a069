/**
 * `@pylon/chat-service`: durable, per-room ordered messages with a transactional outbox,
 * served as the `ChatRpcs` group (API.md §5, §9).
 */
export * from "./ChatHandlers.ts"
export * from "./ChatService.ts"
export * from "./ChatServiceApp.ts"
export * from "./MessageRepository.ts"
export * from "./PgMessageRepository.ts"
export * from "./outbox/index.ts"
