/**
 * `node scripts/ops/check-manifests.ts <overlay.json>...`: runs ManifestRules over rendered overlays
 * (kustomize output turned into a JSON array by validate-infra.sh) and exits 1 on any problem.
 */
import { readFileSync } from "node:fs"
import { basename } from "node:path"
import { checkOverlay, type K8sObject } from "./ManifestRules.ts"

const files = process.argv.slice(2)
if (files.length === 0) {
  console.error("usage: check-manifests.ts <rendered overlay .json>...")
  process.exit(2)
}
let problems = 0
let objects = 0
for (const file of files) {
  const parsed: unknown = JSON.parse(readFileSync(file, "utf8"))
  if (!Array.isArray(parsed)) throw new Error(`${file}: expected a JSON array of objects`)
  const rendered = parsed.filter((item): item is K8sObject => item !== null && typeof item === "object")
  objects += rendered.length
  for (const problem of checkOverlay(rendered)) {
    console.error(`${basename(file, ".json")}: ${problem}`)
    problems++
  }
}
if (problems > 0) {
  console.error(`manifest rules: ${problems} problem(s)`)
  process.exit(1)
}
console.log(`manifest rules: ${objects} objects in ${files.length} overlays, no problems`)
