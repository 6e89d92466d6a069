#!/usr/bin/env bash
# Installs (once) and prints the location of the tools the infrastructure checks need, all pinned and
# cached under ~/.cache/pylon (or $PYLON_CACHE): kustomize and kubeconform built from their Go modules,
# the Kubernetes JSON schemas that PyPI's kubernetes-validate ships (kubeconform reads them offline),
# and promtool and prometheus (Debian's `prometheus` package: the ones on PATH, else unpacked from its
# .deb into the cache, so no daemon gets installed or started; the real-Prometheus test runs that
# prometheus binary itself, packages/pylon/test/PrometheusScrape.test.ts).
# Idempotent: a tool whose pinned version is already in the cache is not fetched again, so after the
# first run nothing here touches the network. Needs Go (any recent toolchain) and python3 with pip.
#   eval "$(bash scripts/ops/tools.sh)"   -> KUSTOMIZE, KUBECONFORM, K8S_SCHEMAS, PROMTOOL, PROMETHEUS, PYYAML_PATH
set -euo pipefail

KUSTOMIZE_VERSION=v5.7.1
KUBECONFORM_VERSION=v0.8.0
KUBERNETES_VALIDATE_VERSION=1.37.0
# Reads kustomize's YAML output for check-manifests.ts (python3 -c: YAML -> JSON).
PYYAML_VERSION=6.0.3
# Kubernetes versions whose schemas are prepared for kubeconform (scripts/ops/validate-infra.sh).
K8S_SCHEMA_VERSIONS=(1.30.0 1.35.0)

cache="${PYLON_CACHE:-$HOME/.cache/pylon}"
log() { echo "[ops/tools] $*" >&2; }

# go install into a versioned directory; the binary appears only once the build succeeded.
go_tool() {
  local name="$1" module="$2" version="$3"
  local dir="$cache/$name-$version"
  if [ ! -x "$dir/bin/$name" ]; then
    command -v go >/dev/null || { log "Go is needed to build $name ($module@$version)"; exit 1; }
    log "building $module@$version into $dir (once)"
    mkdir -p "$dir/bin.tmp"
    GOBIN="$dir/bin.tmp" GOFLAGS=-buildvcs=false CGO_ENABLED=0 go install "$module@$version" >&2
    mv "$dir/bin.tmp" "$dir/bin"
  fi
  echo "$dir/bin/$name"
}

# kubernetes-validate's "local" schemas refer to "/api/_definitions.json#/$defs/..." (resolved by its
# own Python registry); kubeconform resolves that against the schema's https $id and fails, so each
# prepared copy points the references at the _definitions.json file beside it.
schemas() {
  local dir="$cache/kubernetes-validate-$KUBERNETES_VALIDATE_VERSION"
  if [ ! -d "$dir/kubernetes_validate" ]; then
    log "installing kubernetes-validate==$KUBERNETES_VALIDATE_VERSION (its JSON schemas) into $dir (once)"
    rm -rf "$dir.tmp"
    python3 -m pip install --quiet --disable-pip-version-check --no-deps --no-compile \
      --target "$dir.tmp" "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" >&2
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
  fi
  local version source target
  for version in "${K8S_SCHEMA_VERSIONS[@]}"; do
    source="$dir/kubernetes_validate/kubernetes-json-schema/v$version-local-strict"
    target="$dir/kubeconform/v$version-local-strict"
    [ -d "$source" ] || { log "kubernetes-validate $KUBERNETES_VALIDATE_VERSION has no schemas for $version"; exit 1; }
    if [ ! -f "$target/_definitions.json" ]; then
      rm -rf "$target.tmp" && mkdir -p "$target.tmp"
      cp "$source"/*.json "$target.tmp/"
      find "$target.tmp" -name '*.json' -exec sed -i "s#\"/api/_definitions.json\##\"file://$target/_definitions.json\##g" {} +
      rm -rf "$target" && mv "$target.tmp" "$target"
    fi
  done
  echo "$dir/kubeconform"
}

# PyYAML on its own path (PYTHONPATH), so no Python environment of the machine is touched.
pyyaml() {
  local dir="$cache/pyyaml-$PYYAML_VERSION"
  if [ ! -f "$dir/yaml/__init__.py" ]; then
    log "installing PyYAML==$PYYAML_VERSION into $dir (once)"
    rm -rf "$dir.tmp"
    python3 -m pip install --quiet --disable-pip-version-check --no-deps --no-compile \
      --target "$dir.tmp" "PyYAML==$PYYAML_VERSION" >&2
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
  fi
  echo "$dir"
}

# promtool from Debian's prometheus package. Its build leaves out Kubernetes service discovery, so it
# checks rule files (and rule unit tests), not infra/prometheus/prometheus.yml.
find_promtool() {
  if type -P promtool >/dev/null && type -P prometheus >/dev/null; then type -P promtool; return; fi
  local dir="$cache/prometheus-deb"
  if [ ! -x "$dir/usr/bin/promtool" ]; then
    log "unpacking promtool from Debian's prometheus package into $dir (once)"
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
    if ! (cd "$dir.tmp" && apt-get download prometheus >&2 2>/dev/null); then
      [ "$(id -u)" = 0 ] && apt-get update -qq >&2 || true
      (cd "$dir.tmp" && apt-get download prometheus >&2)
    fi
    dpkg-deb -x "$dir.tmp"/prometheus_*.deb "$dir.tmp"
    rm -f "$dir.tmp"/prometheus_*.deb
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
  fi
  echo "$dir/usr/bin/promtool"
}

mkdir -p "$cache"
# One install at a time per cache (npm test and a developer's shell may start together).
exec 9>"$cache/.ops-tools.lock"
flock -w 900 9 || { log "timed out waiting for $cache/.ops-tools.lock"; exit 1; }

# Each tool into a variable first: a failed install stops the script (set -e sees an assignment's
# status, not a command substitution's inside another command's arguments).
kustomize="$(go_tool kustomize sigs.k8s.io/kustomize/kustomize/v5 "$KUSTOMIZE_VERSION")"
kubeconform="$(go_tool kubeconform github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION")"
k8s_schemas="$(schemas)"
promtool="$(find_promtool)"
prometheus="$(dirname "$promtool")/prometheus"
[ -x "$prometheus" ] || { log "no prometheus binary beside $promtool"; exit 1; }
pyyaml_path="$(pyyaml)"
# KEY=value lines for eval, quoted so a cache path with spaces survives.
printf '%s=%q\n' KUSTOMIZE "$kustomize" KUBECONFORM "$kubeconform" K8S_SCHEMAS "$k8s_schemas" \
  PROMTOOL "$promtool" PROMETHEUS "$prometheus" PYYAML_PATH "$pyyaml_path"
