/**
 * `@pylon/pylon`: the processes — `main.ts <role>` for each service and the gateway, and the
 * embedded single-process mode (`DevMode.ts`) that `npm start` runs.
 *
 * Import a module by its path (`@pylon/pylon/DevMode`). Like every Pylon package, this entry point
 * re-exports nothing (docs/architecture.md, "Package entry points").
 */
export {}
