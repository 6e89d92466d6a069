/**
 * `@pylon/api-gateway`: the public edge — REST, WebSocket and Connect — in front of the services' internal RPC.
 *
 * Import a module by its path (`@pylon/api-gateway/GatewayLive`). Like every Pylon package, this entry point
 * re-exports nothing (docs/architecture.md, "Package entry points").
 */
export {}
