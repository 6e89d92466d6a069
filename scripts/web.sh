#!/usr/bin/env bash
# The web client's bundle (packages/web → packages/web/dist, served by the gateway at /).
#
#   bash scripts/web.sh ensure     build it when missing or stale (a few seconds); else nothing
#   bash scripts/web.sh build      build it now
#   bash scripts/web.sh chromium   make sure Debian's Chromium is installed (browser tests); prints its path
#
# Stale = the hash of its inputs (packages/web sources and config, the shared contracts, the
# generated Connect code in packages/proto-gen, the lockfile) differs from the one recorded in
# dist/.build-inputs at the last build. One build at a time per checkout (flock), so parallel test
# files and `npm start` never race on dist/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WEB="$ROOT/packages/web"
DIST="$WEB/dist"
STAMP="$DIST/.build-inputs"

log() { echo "[web] $*" >&2; }

inputs_hash() {
  (cd "$ROOT" && find packages/web/src packages/web/index.html packages/web/vite.config.ts packages/web/package.json \
      packages/contracts/src packages/proto-gen/src pnpm-lock.yaml -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-64)
}

build() {
  local hash="$1"
  log "building the web client (vite build packages/web)"
  # NODE_ENV=production: run from a test (vitest sets NODE_ENV=test) Vite would otherwise bundle
  # React's development build (about 200 kB more), and `npm start` would then serve that bundle.
  (cd "$ROOT" && NODE_ENV=production "$WEB/node_modules/.bin/vite" build packages/web --logLevel warn >&2)
  echo "$hash" >"$STAMP"
}

ensure() {
  mkdir -p "$WEB/.cache"
  exec 7>"$WEB/.cache/build.lock"
  flock -w 300 7 || { log "another build holds $WEB/.cache/build.lock"; exit 1; }
  local hash
  hash="$(inputs_hash)"
  if [ -f "$DIST/index.html" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$hash" ]; then return 0; fi
  build "$hash"
}

chromium_path() {
  local c
  for c in "${PYLON_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
    if [ -n "$c" ] && [ -x "$c" ]; then echo "$c"; return 0; fi
  done
  return 1
}

ensure_chromium() {
  if chromium_path >/dev/null; then chromium_path; return 0; fi
  [ "$(id -u)" -eq 0 ] || { log "Chromium is missing: apt-get install chromium (or set PYLON_CHROMIUM)"; exit 1; }
  log "apt-get install -y chromium (browser tests)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 </dev/null || { log "apt-get update failed"; exit 1; }
  apt-get install -y -qq -o Dpkg::Use-Pty=0 chromium >&2 </dev/null || { log "apt-get install chromium failed"; exit 1; }
  chromium_path
}

case "${1:-ensure}" in
  ensure) ensure ;;
  build) ensure_hash="$(inputs_hash)"; build "$ensure_hash" ;;
  chromium) ensure_chromium ;;
  *) echo "usage: scripts/web.sh ensure|build|chromium" >&2; exit 2 ;;
esac
