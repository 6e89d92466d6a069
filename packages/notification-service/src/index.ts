/**
 * `@pylon/notification-service`: message events → notifications (a supervised consumer of the
 * event log), their store, the `NotificationRpcs` group and live delivery (API.md §5a, §8).
 *
 * Import a module by its path (`@pylon/notification-service/NotificationService`). Like every Pylon package, this entry point
 * re-exports nothing (docs/architecture.md, "Package entry points").
 */
export {}
