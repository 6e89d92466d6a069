/**
 * The runtime image's file list, without Docker: scripts/ops/assemble-runtime.sh (the script the
 * Dockerfile's build stage runs to fill /app) assembles the same tree into a temporary directory,
 * with a production install from the local pnpm store, after the web client's bundle is built (as
 * the build stage does first). From that tree, outside the repository (so nothing resolves from the
 * working tree's node_modules), every role's module graph must load, `pylon migrate` must apply
 * every migration to an empty database, and the gateway's loader must find the bundle where the
 * Dockerfile's WEB_DIST_DIR points. Build tools must be absent.
 */
import { execFile } from "node:child_process"
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as NodePath from "node:path"
import { promisify } from "node:util"
import * as PgClient from "@effect/sql-pg/PgClient"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Config, Effect, Redacted } from "effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import { randomBytes } from "node:crypto"

const run = promisify(execFile)
const REPO = NodePath.resolve(import.meta.dirname, "../../..")
/** Deadlines only bound a hang: a loaded 2-core CI box may be slow to install or start Node. */
const ASSEMBLE_DEADLINE_MS = 240_000
const PROCESS_DEADLINE_MS = 120_000

let app = ""

/** The environment of a process in the image: no NODE_OPTIONS/NODE_PATH leaking in from the test run. */
const imageEnv = (extra: Record<string, string>): NodeJS.ProcessEnv => {
  const { NODE_OPTIONS: _options, NODE_PATH: _path, ...rest } = process.env
  return { ...rest, NODE_ENV: "production", ...extra }
}

const runInImage = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  run(process.execPath, [...args], { cwd: app, env: imageEnv(env), timeout: PROCESS_DEADLINE_MS })

beforeAll(async () => {
  // The build stage builds the bundle before assembling (here: only when its inputs changed).
  await run("bash", [NodePath.join(REPO, "scripts/web.sh"), "ensure"], { timeout: ASSEMBLE_DEADLINE_MS })
  app = await mkdtemp(NodePath.join(tmpdir(), "pylon-image-"))
  // The repository's own store, named explicitly: pnpm would open an empty one for a project on
  // another filesystem (a tmpfs /tmp), and the offline install would fail.
  const store = (await run("pnpm", ["store", "path"], { cwd: REPO })).stdout.trim()
  await run("bash", [NodePath.join(REPO, "scripts/ops/assemble-runtime.sh"), REPO, app, "--offline"], {
    env: { ...process.env, PNPM_STORE_DIR: store },
    timeout: ASSEMBLE_DEADLINE_MS,
    maxBuffer: 16 * 1024 * 1024
  })
}, ASSEMBLE_DEADLINE_MS + 10_000)

afterAll(async () => {
  if (app !== "") await rm(app, { recursive: true, force: true })
})

describe("runtime image (scripts/ops/assemble-runtime.sh)", () => {
  it("holds every workspace package and production dependencies only", async () => {
    const workspace = (await readdir(NodePath.join(REPO, "packages"), { withFileTypes: true }))
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
    const assembled = await readdir(NodePath.join(app, "packages"))
    for (const name of workspace) {
      const manifest = await readFile(NodePath.join(REPO, "packages", name, "package.json"), "utf8").catch(() => "")
      if (manifest !== "") expect(assembled).toContain(name)
    }
    const installed = await readdir(NodePath.join(app, "node_modules", ".pnpm"))
    // react and react-dom too: the web client's bundle has them built in (packages/web devDependencies).
    const buildOnly = ["react@", "react-dom@", "vite@"]
    for (const tool of ["typescript@", "vitest@", "eslint@", "@bufbuild+buf@", "@effect+language-service@", "fast-check@", "autocannon@", ...buildOnly]) {
      expect(installed.filter((entry) => entry.startsWith(tool))).toEqual([])
    }
  })

  it("loads every role's module graph from the assembled tree", async () => {
    // main.ts's imports, verbatim, in a module beside it: the whole graph of every role (gateway,
    // room, chat, presence, notification, migrate, dev, stack) without running the CLI.
    const main = await readFile(NodePath.join(app, "packages/pylon/src/main.ts"), "utf8")
    const imports = main.split("\n").filter((line) => /^import .* from "[^"]+"$/.test(line))
    expect(imports.length).toBeGreaterThan(3)
    const check = NodePath.join(app, "packages/pylon/src/roles-import-check.ts")
    await writeFile(check, `${imports.join("\n")}\nconsole.log("imports resolved")\n`)
    const { stdout } = await runInImage([check])
    expect(stdout).toContain("imports resolved")
  }, PROCESS_DEADLINE_MS + 10_000)

  it("carries the web client's bundle where the Dockerfile's WEB_DIST_DIR points, read by the gateway's loader", async () => {
    const dockerfile = await readFile(NodePath.join(REPO, "Dockerfile"), "utf8")
    const declared = /^\s*WEB_DIST_DIR=(\S+)\s*$/m.exec(dockerfile)?.[1]
    expect(declared).toBe("/app/packages/web/dist")
    // /app in the image is the assembled directory here.
    const dist = NodePath.join(app, NodePath.relative("/app", declared ?? ""))
    const index = await readFile(NodePath.join(dist, "index.html"), "utf8")
    const referenced = [...index.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((match) => match[1])
    expect(referenced.some((path) => path?.endsWith(".js"))).toBe(true)
    // The gateway's own loader, run from the assembled tree, serves the page and every file it references.
    const check = NodePath.join(app, "packages/pylon/src/web-bundle-check.ts")
    await writeFile(check, [
      `import * as NodeServices from "@effect/platform-node/NodeServices"`,
      `import { Effect } from "effect"`,
      `import { loadWebAssets, WebDistDir } from "@pylon/api-gateway/web/WebAssets"`,
      `const assets = await Effect.runPromise(Effect.flatMap(WebDistDir, loadWebAssets).pipe(Effect.provide(NodeServices.layer)))`,
      `console.log(JSON.stringify([...assets.keys()]))`
    ].join("\n"))
    const { stdout } = await runInImage([check], { WEB_DIST_DIR: dist })
    const served: unknown = JSON.parse(stdout)
    expect(served).toEqual(expect.arrayContaining(["/index.html", ...referenced]))
  }, PROCESS_DEADLINE_MS + 10_000)

  it.live("runs `pylon migrate` from the assembled tree against an empty database", () =>
    Effect.scoped(Effect.gen(function*() {
      const adminUrl = yield* Config.Redacted("DATABASE_URL")
      const admin = yield* PgClient.make({ url: adminUrl, maxConnections: 1, applicationName: "pylon-test-admin" }).pipe(
        Effect.provide(Reactivity.layer)
      )
      const name = `t_image_${randomBytes(6).toString("hex")}`
      yield* Effect.acquireRelease(
        admin.unsafe(`CREATE DATABASE "${name}"`).unprepared,
        () => admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).unprepared.pipe(Effect.orDie)
      )
      const url = new URL(Redacted.value(adminUrl))
      url.pathname = `/${name}`
      const migrations = (yield* Effect.promise(() => readdir(NodePath.join(REPO, "migrations"))))
        .filter((file) => file.endsWith(".sql"))
      const { stdout, stderr } = yield* Effect.promise(() =>
        runInImage(["packages/pylon/src/main.ts", "migrate"], { DATABASE_URL: url.toString(), APP_ENV: "production" })
      )
      expect(`${stdout}${stderr}`).toContain(`migrations applied: ${migrations.length}`)
    })), PROCESS_DEADLINE_MS + 10_000)
})
