/**
 * `@pylon/presence-service`: connection leases, typing marks and presence changes (API.md §6).
 *
 * Import a module by its path (`@pylon/presence-service/PresenceService`). Like every Pylon package, this entry point
 * re-exports nothing (docs/architecture.md, "Package entry points").
 */
export {}
