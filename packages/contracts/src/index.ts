/**
 * `@pylon/contracts`: every shape that crosses a process boundary — REST bodies, WebSocket
 * frames, internal RPC groups, Kafka events and the typed errors — as Effect Schemas.
 *
 * Import a module by its path (`@pylon/contracts/WsFrames`). Like every Pylon package, this entry point
 * re-exports nothing (docs/architecture.md, "Package entry points").
 */
export {}
