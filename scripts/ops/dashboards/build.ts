/**
 * `node scripts/ops/dashboards/build.ts` writes the dashboards of Dashboards.ts to
 * infra/grafana/dashboards/<uid>.json; with `--check` it writes nothing and fails (exit 1) when a
 * committed file differs from what the definitions render, or a dashboard file has no definition
 * (validate-infra.sh runs the check, so the JSON cannot drift from its source).
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { DASHBOARDS } from "./Dashboards.ts"
import { render } from "./Grafana.ts"

const directory = join(import.meta.dirname, "..", "..", "..", "infra", "grafana", "dashboards")
const check = process.argv.includes("--check")

const expected = new Map(DASHBOARDS.map((spec) => [`${spec.uid}.json`, `${JSON.stringify(render(spec), null, 2)}\n`]))
const problems: Array<string> = []
for (const [file, text] of expected) {
  const path = join(directory, file)
  if (check) {
    if (!existsSync(path)) problems.push(`${file} is missing`)
    else if (readFileSync(path, "utf8") !== text) problems.push(`${file} differs from scripts/ops/dashboards`)
  } else {
    writeFileSync(path, text)
  }
}
for (const file of readdirSync(directory)) {
  if (file.endsWith(".json") && !expected.has(file)) problems.push(`${file} has no definition in scripts/ops/dashboards`)
}
if (problems.length > 0) {
  for (const problem of problems) console.error(problem)
  console.error("dashboards: run `node scripts/ops/dashboards/build.ts` and commit the result")
  process.exit(1)
}
console.log(`dashboards: ${expected.size} ${check ? "up to date" : "written"} (${[...expected.keys()].join(", ")})`)
