/**
 * `@pylon/room-service`: rooms and membership behind `RoomRpcs` (API.md §4).
 *
 * Import a module by its path (`@pylon/room-service/RoomService`). Like every Pylon package, this entry point
 * re-exports nothing (docs/architecture.md, "Package entry points").
 */
export {}
