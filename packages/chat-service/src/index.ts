/**
 * `@pylon/chat-service`: durable, per-room ordered messages with a transactional outbox,
 * served as the `ChatRpcs` group (API.md §5, §9).
 *
 * Import a module by its path (`@pylon/chat-service/ChatService`). Like every Pylon package, this entry point
 * re-exports nothing (docs/architecture.md, "Package entry points").
 */
export {}
