#!/usr/bin/env bash
# Offline checks of everything under infra/ (npm test runs this before vitest; see README "Operations"):
#   1. kustomize build of every overlay in infra/k8s/overlays (dev with secrets.env.example in place of
#      the git-ignored secrets.env), and of prod with every optional component in infra/k8s/components;
#   2. strict schema validation of the rendered objects with kubeconform against the Kubernetes JSON
#      schemas of PyPI's kubernetes-validate (oldest and newest Kubernetes version we support), plus a
#      negative control: an object with an unknown field must be rejected;
#      and the repo's own rules over the rendered objects (scripts/ops/ManifestRules.ts);
#   3. promtool check rules, and promtool test rules for the rule unit tests under infra/prometheus
#      (every alert must have one);
#   4. the dashboards in infra/grafana/dashboards are what scripts/ops/dashboards renders, promtool
#      parses every dashboard expression, and every metric name in infra/grafana dashboards and
#      infra/prometheus rules is exported by the code.
# Tools come from scripts/ops/tools.sh (pinned, cached under ~/.cache/pylon; only its first run
# downloads). Nothing here writes into the working tree.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

tools="$(bash scripts/ops/tools.sh)"   # an assignment, so a failed install stops here (set -e)
eval "$tools"
K8S_VERSIONS=(1.30.0 1.35.0)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
say() { echo "[validate-infra] $*"; }

# 1. Render every overlay from a scratch copy of infra/ (the dev overlay needs a secrets.env file).
cp -r infra "$work/infra"
cp "$work/infra/k8s/overlays/dev/secrets.env.example" "$work/infra/k8s/overlays/dev/secrets.env"
mkdir -p "$work/infra/k8s/checks/prod-components" "$work/rendered"
{
  echo "apiVersion: kustomize.config.k8s.io/v1beta1"
  echo "kind: Kustomization"
  echo "resources: [../../overlays/prod]"
  echo "components:"
  for component in "$work"/infra/k8s/components/*/; do echo "  - ../../components/$(basename "$component")"; done
} > "$work/infra/k8s/checks/prod-components/kustomization.yaml"
overlays=()
for dir in "$work"/infra/k8s/overlays/*/ "$work/infra/k8s/checks/prod-components/"; do
  name="$(basename "$dir")"
  "$KUSTOMIZE" build "$dir" > "$work/rendered/$name.yaml"
  overlays+=("$name")
done
say "kustomize build: ${overlays[*]} ($(cat "$work"/rendered/*.yaml | grep -c '^kind:') objects)"

# 2. Strict schemas, offline. ServiceMonitor is a CRD (no schema in the Kubernetes set).
location="$K8S_SCHEMAS/{{ .NormalizedKubernetesVersion }}-local{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json"
kubeconform_strict() {
  "$KUBECONFORM" -strict -summary -skip ServiceMonitor -kubernetes-version "$1" -schema-location "$location" "${@:2}"
}
for version in "${K8S_VERSIONS[@]}"; do
  kubeconform_strict "$version" "$work"/rendered/*.yaml | sed "s/^/[kubeconform $version] /"
done
cat > "$work/unknown-field.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata:
  name: negative-control
spec:
  ports:
    - port: 80
      targetPortt: 8080
YAML
if kubeconform_strict "${K8S_VERSIONS[0]}" "$work/unknown-field.yaml" >/dev/null 2>&1; then
  say "kubeconform accepted an object with an unknown field: the schemas are not being applied"; exit 1
fi

# 2b. What schemas cannot say (scripts/ops/ManifestRules.ts): migrate init containers, metrics ports,
#     memory limits, pinned images, non-root pods, default-deny, HPA not on CPU only, TRUSTED_PROXIES.
for rendered in "$work"/rendered/*.yaml; do
  PYTHONPATH="$PYYAML_PATH" python3 -c 'import json, sys, yaml; json.dump([o for o in yaml.safe_load_all(sys.stdin) if o], sys.stdout)' \
    < "$rendered" > "${rendered%.yaml}.json"
done
node scripts/ops/check-manifests.ts "$work"/rendered/*.json | sed "s/^/[validate-infra] /"

# 3. Alerting/recording rules. Debian's promtool has no Kubernetes service discovery, so
#    prometheus.yml (kubernetes_sd_configs) is not checked here.
#    Rule files are the YAML files under infra/prometheus with a top-level `groups:`; rule unit tests
#    (promtool test rules) the ones with a top-level `tests:`.
rule_files=() rule_tests=()
while IFS= read -r -d '' file; do
  if grep -q '^groups:' "$file"; then rule_files+=("$file"); fi
  if grep -q '^tests:' "$file"; then rule_tests+=("$file"); fi
done < <(find infra/prometheus -type f \( -name '*.yml' -o -name '*.yaml' \) -print0 | sort -z)
if [ "${#rule_files[@]}" -gt 0 ]; then
  "$PROMTOOL" check rules "${rule_files[@]}" | sed "s/^/[promtool] /"
fi
if [ "${#rule_tests[@]}" -gt 0 ]; then
  "$PROMTOOL" test rules "${rule_tests[@]}" | sed "s/^/[promtool] /"
fi

# 4. Dashboards: generated from scripts/ops/dashboards, every expression parsed by promtool (as
#    recording rules), every alert unit-tested; dashboards and rules read only metrics the code exports.
node scripts/ops/dashboards/build.ts --check | sed "s/^/[validate-infra] /"
mkdir -p "$work/queries"
node scripts/ops/check-dashboard-queries.ts "$work/queries" | sed "s/^/[validate-infra] /"
"$PROMTOOL" check rules "$work/queries/dashboard-queries.rules.yml" | sed "s/^/[promtool dashboards] /"
node scripts/ops/check-metric-names.ts | sed "s/^/[validate-infra] /"

say "ok"
