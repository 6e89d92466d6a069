/**
 * Restart-on-change for `pnpm dev`: which processes of the stack run the code of a changed source
 * file, and a stream of those changes. Every process loads every package's modules (main.ts picks
 * the role), so Node's own `--watch` would restart all of them on any edit; this maps a file to the
 * roles whose behaviour it can change instead.
 */
import { Duration, Effect, FileSystem, Stream } from "effect"
import * as NodePath from "node:path"

/** `pylon` sub-commands of the stack (ServiceSpec.command). */
export const ROLES = ["gateway", "room", "chat", "presence", "notification"] as const
export type Role = typeof ROLES[number]

/** Packages whose code runs in one role only; every other package under `packages/*\/src` is shared. */
const OWNER: Readonly<Record<string, Role>> = {
  "api-gateway": "gateway",
  web: "gateway",
  "room-service": "room",
  "chat-service": "chat",
  "presence-service": "presence",
  "notification-service": "notification"
}

/** Packages that no process of the stack loads (test support). */
const NOT_RUNTIME = new Set(["testkit"])

/** The package folders whose `src` is watched. */
export const watchedPackages = (packageNames: ReadonlyArray<string>) => packageNames.filter((name) => !NOT_RUNTIME.has(name))

/**
 * The roles to restart when `file` (relative to `packages/<packageName>/src`) changed: its owner's,
 * or every role for shared code (contracts, platform, proto-gen, pylon); none for editor leftovers.
 */
export const rolesFor = (packageName: string, file: string): ReadonlyArray<Role> => {
  const base = NodePath.basename(file)
  if (base.startsWith(".") || base.endsWith("~") || !/\.(ts|js|json|sql|html|css)$/.test(base)) return []
  if (NOT_RUNTIME.has(packageName)) return []
  const owner = OWNER[packageName]
  return owner === undefined ? ROLES : [owner]
}

/**
 * Sets of roles whose sources changed, one set per burst of file events (`settle` apart), under
 * `packagesDir/<name>/src` for each watched package.
 */
export const changedRoles = (packagesDir: string, packageNames: ReadonlyArray<string>, settle: Duration.Input = "300 millis") =>
  Stream.unwrap(Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const watched: Array<Stream.Stream<ReadonlyArray<Role>>> = []
    for (const name of watchedPackages(packageNames)) {
      const src = NodePath.join(packagesDir, name, "src")
      if (!(yield* fs.exists(src).pipe(Effect.orElseSucceed(() => false)))) continue
      watched.push(fs.watch(src, { recursive: true }).pipe(
        Stream.map((event) => rolesFor(name, event.path)),
        Stream.catch((error) => Stream.fromEffect(Effect.logWarning(`not watching ${src}: ${error.message}`)).pipe(Stream.drain))
      ))
    }
    return Stream.mergeAll(watched, { concurrency: "unbounded" }).pipe(
      Stream.filter((roles) => roles.length > 0),
      Stream.groupedWithin(1_000, settle),
      Stream.map((bursts) => new Set(bursts.flat()))
    )
  }))
