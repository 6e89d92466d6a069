// README "Configuration" stays the complete list of settings: every variable name the services'
// Config code reads is a row of its table, every row names a variable something in the repository
// reads, and every key the Kubernetes ConfigMap sets is a documented variable (a misspelt key
// there would be silently ignored by the process).
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"

const root = join(import.meta.dirname, "..", "..", "..")
const read = (path: string) => readFileSync(join(root, path), "utf8")

const SKIPPED = new Set(["node_modules", "dist", "results", ".pylon"])

/** Files under `dir` (repository-relative) whose name `keep` accepts; dependencies and outputs skipped. */
const filesUnder = (dir: string, keep: (name: string) => boolean): ReadonlyArray<string> =>
  readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return SKIPPED.has(entry.name) ? [] : filesUnder(path, keep)
    return entry.isFile() && keep(entry.name) ? [path] : []
  })

/** A name shaped like an environment variable: upper case words joined by underscores. */
const VARIABLE = /"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)"/g
const IMPORTS_CONFIG = /import \{[^}]*\bConfig\b[^}]*\} from "effect"/

/**
 * Variable-shaped string literals in the source files that use Effect `Config` (also those handed
 * to a helper first, e.g. `int("WS_MAX_FRAMES_IN_FLIGHT", 64)`), with the file that names each.
 */
const configVariablesIn = (sources: ReadonlyArray<{ readonly path: string; readonly text: string }>) => {
  const found = new Map<string, string>()
  for (const { path, text } of sources) {
    if (!IMPORTS_CONFIG.test(text)) continue
    for (const match of text.matchAll(VARIABLE)) if (match[1] !== undefined && !found.has(match[1])) found.set(match[1], path)
  }
  return found
}

/** The first-column names of the table under README's `## Configuration` heading. */
const documentedVariables = (readme: string): ReadonlySet<string> => {
  const start = /^## Configuration$/m.exec(readme)?.index
  if (start === undefined) return new Set()
  const end = readme.indexOf("\n## ", start + 1)
  const section = readme.slice(start, end === -1 ? undefined : end)
  const names = new Set<string>()
  for (const line of section.split("\n")) {
    const first = /^\| ([^|]+)\|/.exec(line)?.[1] ?? ""
    for (const match of first.matchAll(/`([A-Z][A-Z0-9_]+)`/g)) if (match[1] !== undefined) names.add(match[1])
  }
  return names
}

const sources = ["packages"].flatMap((dir) =>
  filesUnder(dir, (name) => name.endsWith(".ts") && !name.endsWith(".d.ts"))
    .filter((path) => path.includes("/src/") && !path.includes("/gen/"))
    .map((path) => ({ path, text: read(path) }))
)
const readme = read("README.md")

describe("the helpers", () => {
  it("take the variables of Config-using files only, and the table's first column only", () => {
    const found = configVariablesIn([
      { path: "a.ts", text: `import { Config, Effect } from "effect"\nconst x = int("WS_MAX_FRAMES", 3); Config.String("APP_HOST")` },
      { path: "b.ts", text: `import { Effect } from "effect"\nconst code = "NOT_JOINED"` }
    ])
    expect([...found.keys()].sort()).toEqual(["APP_HOST", "WS_MAX_FRAMES"])
    const table = "## Configuration\n\n| Variable | Default |\n|---|---|\n| `A_B` | `C_D` |\n| `E_F`, `G_H` | 1 |\n\n## Next\n| `I_J` | x |\n"
    expect([...documentedVariables(table)].sort()).toEqual(["A_B", "E_F", "G_H"])
  })
})

describe("README configuration table", () => {
  const documented = documentedVariables(readme)

  it("has a row for every variable the services read through Config", () => {
    const read = configVariablesIn(sources)
    expect(read.size).toBeGreaterThan(40)
    const missing = [...read].filter(([name]) => !documented.has(name)).map(([name, path]) => `${name} (${path})`)
    expect(missing).toEqual([])
  })

  it("names only variables something in the repository reads", () => {
    const elsewhere = [
      ...sources.map((source) => source.text),
      ...filesUnder("scripts", (name) => /\.(ts|sh)$/.test(name)).map(read),
      ...filesUnder("infra", (name) => /\.(ya?ml|env)$/.test(name)).map(read)
    ].join("\n")
    const unread = [...documented].filter((name) => !elsewhere.includes(name))
    expect(unread).toEqual([])
  })

  it("documents every key the Kubernetes ConfigMap sets", () => {
    const keys = read("infra/k8s/base/pylon-config.env")
      .split("\n")
      .map((line) => /^([A-Z][A-Z0-9_]*)=/.exec(line)?.[1])
      .filter((name) => name !== undefined)
    expect(keys.length).toBeGreaterThan(10)
    expect(keys.filter((name) => !documented.has(name))).toEqual([])
  })
})
