#!/usr/bin/env bash
# A real Jaeger for local tracing (`pnpm dev`, `npm test`), without Docker: the Jaeger v2 binary built
# once from its Go module source (docs/adr/0010-local-jaeger-from-go-source.md).
#
#   bash scripts/jaeger.sh build    build jaeger once into the cache (no-op when cached); needs Go
#   bash scripts/jaeger.sh up       start it (building first if needed); idempotent
#   bash scripts/jaeger.sh down     stop what this script started
#   bash scripts/jaeger.sh status   up/down and its URLs
#   bash scripts/jaeger.sh bin      print the binary's path (built or not; builds nothing)
#   bash scripts/jaeger.sh env      print `export OTEL_EXPORTER_OTLP_ENDPOINT=… PYLON_JAEGER_URL=…` (starts nothing;
#                                   PYLON_JAEGER_OTLP_ENDPOINT repeats the OTLP endpoint for tests)
#   bash scripts/jaeger.sh ensure   start it unless something answers already; prints on stdout ONLY
#        "jaeger" when it started it (for a later `down`), and writes .pylon/infra/jaeger/env.sh
#
# Addresses (loopback only): OTLP/HTTP receiver http://127.0.0.1:4318 (the endpoint every Pylon process
# exports to), query API and UI http://127.0.0.1:16686 (/api/services, /api/traces/{id}), query gRPC
# 127.0.0.1:16685. Spans are kept in memory (100,000 traces) and are gone when it stops.
# Binary: ${XDG_CACHE_HOME:-$HOME/.cache}/pylon/jaeger-<version>/bin/jaeger, built from
# github.com/jaegertracing/jaeger@<version> (./cmd/jaeger) with `nice`; its log is build.log beside it.
# The first build takes about 12 minutes of CPU (≈ 6–7 min on 2 idle cores, 40 min measured on a loaded
# machine) and downloads the module's dependencies through the Go module proxy; after that it is instant.
# Knobs: PYLON_JAEGER_VERSION (v1.76.0 = Jaeger v2.13.0), PYLON_JAEGER_OTLP_PORT (4318),
# PYLON_JAEGER_QUERY_PORT (16686), PYLON_JAEGER_GRPC_PORT (16685), PYLON_JAEGER_TIMEOUT (seconds to
# wait for it to answer after launch, default 60), PYLON_INFRA_STATE (default .pylon/infra),
# PYLON_JAEGER_GOCACHE (reuse this Go build cache instead of a throwaway one).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${PYLON_INFRA_STATE:-$ROOT/.pylon/infra}/jaeger"
VERSION="${PYLON_JAEGER_VERSION:-v1.76.0}"
MODULE=github.com/jaegertracing/jaeger
OTLP_PORT="${PYLON_JAEGER_OTLP_PORT:-4318}"
QUERY_PORT="${PYLON_JAEGER_QUERY_PORT:-16686}"
GRPC_PORT="${PYLON_JAEGER_GRPC_PORT:-16685}"
TIMEOUT="${PYLON_JAEGER_TIMEOUT:-60}"
PYLON_CACHE="${PYLON_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pylon}"
HOME_DIR="$PYLON_CACHE/jaeger-$VERSION"
BIN="$HOME_DIR/bin/jaeger"
PID_FILE="$STATE/jaeger.pid"
LOG="$STATE/jaeger.log"
OTLP_URL="http://127.0.0.1:$OTLP_PORT"
QUERY_URL="http://127.0.0.1:$QUERY_PORT"

log() { echo "[jaeger] $*" >&2; }
die() { echo "[jaeger] ERROR: $*" >&2; exit 1; }

tcp_open() {   # tcp_open PORT: something accepts TCP connections on 127.0.0.1:PORT
  # shellcheck disable=SC2016  # $0 expands in the inner bash
  timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0"' "$1" 2>/dev/null
}

query_answers() {   # Jaeger's query API answers GET /api/services with 200 and a JSON "data" field
  # shellcheck disable=SC2016  # $0 expands in the inner bash
  timeout 3 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$0" || exit 1
    printf "GET /api/services HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" >&3
    response="$(cat <&3)"
    case "$response" in "HTTP/1."?" 200"*"\"data\""*) exit 0 ;; *) exit 1 ;; esac' "$QUERY_PORT" 2>/dev/null
}

answers() { query_answers && tcp_open "$OTLP_PORT"; }

pid_alive() {
  local pid
  [ -s "$PID_FILE" ] || return 1
  pid="$(tr -dc '0-9' <"$PID_FILE")"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$BIN"
}

# ---------------------------------------------------------------- build (once per version)

cmd_build() {
  [ -x "$BIN" ] && return 0
  mkdir -p "$HOME_DIR"
  # one build at a time per cache: `npm test` builds in the background while `ensure` may wait here
  exec 7>"$HOME_DIR/.build.lock"
  flock -w 3600 7 || die "another build holds $HOME_DIR/.build.lock"
  [ -x "$BIN" ] && return 0
  if ! command -v go >/dev/null 2>&1; then
    # A fresh machine: Debian's Go, which may be older than the module needs, so the build runs on a
    # toolchain the Go module proxy serves (GOTOOLCHAIN; override with PYLON_JAEGER_GOTOOLCHAIN).
    [ "$(id -u)" -eq 0 ] || die "Go is needed to build $MODULE@$VERSION (apt-get install golang-go, or install a jaeger binary at $BIN)"
    log "apt-get install -y golang-go (to build Jaeger once)"
    { apt-get update -qq && apt-get install -y -qq -o Dpkg::Use-Pty=0 golang-go; } >&2 </dev/null 3>&- 9>&- 7>&- \
      || die "apt-get install golang-go failed"
    export GOTOOLCHAIN="${PYLON_JAEGER_GOTOOLCHAIN:-go1.27.3}"
  fi
  local started=$SECONDS source_dir src="$HOME_DIR/src.tmp" out="$HOME_DIR/bin.tmp"
  # A build cache of its own (about 1.6 GB), deleted once the binary exists: nothing rebuilds this version.
  local gocache="${PYLON_JAEGER_GOCACHE:-$HOME_DIR/gocache.tmp}"
  log "building $MODULE@$VERSION (./cmd/jaeger) into $BIN once; log $HOME_DIR/build.log"
  {
    # The module's go.mod has a replace directive, so `go install …@version` refuses it: build it as
    # the main module from a writable copy of its source in the module cache.
    source_dir="$(go mod download -json "$MODULE@$VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
    [ -d "$source_dir" ] || { echo "go mod download gave no source directory"; exit 1; }
    rm -rf "$src" "$out"
    cp -r "$source_dir" "$src"
    chmod -R u+w "$src"
    (cd "$src" && GOCACHE="$gocache" CGO_ENABLED=0 GOFLAGS=-buildvcs=false nice -n 10 \
      go build -trimpath -ldflags "-s -w" -o "$out/jaeger" ./cmd/jaeger)
  } >"$HOME_DIR/build.log" 2>&1 </dev/null 3>&- 9>&- \
    || { tail -n 30 "$HOME_DIR/build.log" >&2; rm -rf "$src" "$out"; die "build of $MODULE@$VERSION failed (log $HOME_DIR/build.log)"; }
  rm -rf "$src" "$HOME_DIR/bin"
  [ -n "${PYLON_JAEGER_GOCACHE:-}" ] || rm -rf "$gocache"
  mv "$out" "$HOME_DIR/bin"
  log "built $BIN in $((SECONDS - started))s"
}

# ---------------------------------------------------------------- run

DID_START=0

cmd_up() {
  mkdir -p "$STATE"
  if pid_alive; then
    if answers; then log "already running (ours) at $QUERY_URL"; return 0; fi
    log "ours is starting, waiting"
    wait_ready
    return 0
  fi
  if answers; then log "a Jaeger already answers at $QUERY_URL; leaving it alone"; return 0; fi
  local port
  for port in "$OTLP_PORT" "$QUERY_PORT" "$GRPC_PORT"; do
    tcp_open "$port" && die "127.0.0.1:$port is taken by another process (set PYLON_JAEGER_*_PORT)"
  done
  cmd_build
  rm -f "$PID_FILE"
  sed -e "s/@OTLP_PORT@/$OTLP_PORT/g" -e "s/@QUERY_PORT@/$QUERY_PORT/g" -e "s/@GRPC_PORT@/$GRPC_PORT/g" \
    "$ROOT/scripts/jaeger/config.yaml" >"$STATE/config.yaml"
  log "starting on $QUERY_URL (OTLP $OTLP_URL; log $LOG)"
  : >"$LOG"
  # own session: a Ctrl-C in the caller's terminal does not reach it; `down` stops it
  nohup setsid "$BIN" --config "file:$STATE/config.yaml" >>"$LOG" 2>&1 </dev/null 3>&- 7>&- 9>&- &
  echo $! >"$PID_FILE"
  DID_START=1
  wait_ready
  log "up: UI/API $QUERY_URL, OTLP/HTTP $OTLP_URL"
}

wait_ready() {
  local start=$SECONDS
  while ((SECONDS - start < TIMEOUT)); do
    if ! pid_alive; then tail -n 30 "$LOG" >&2 || true; rm -f "$PID_FILE"; die "jaeger exited during startup (log $LOG)"; fi
    answers && return 0
    sleep 0.25
  done
  tail -n 30 "$LOG" >&2 || true
  cmd_down
  die "not answering within ${TIMEOUT}s (log $LOG)"
}

cmd_down() {
  if ! pid_alive; then
    [ -e "$PID_FILE" ] && rm -f "$PID_FILE"
    log "not running (ours)"; return 0
  fi
  local pid i
  pid="$(tr -dc '0-9' <"$PID_FILE")"
  log "stopping pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  rm -f "$PID_FILE"
  log "stopped"
}

cmd_env() {
  printf 'export OTEL_EXPORTER_OTLP_ENDPOINT=%q PYLON_JAEGER_OTLP_ENDPOINT=%q PYLON_JAEGER_URL=%q\n' "$OTLP_URL" "$OTLP_URL" "$QUERY_URL"
}

cmd_status() {
  local ours=""
  pid_alive && ours=" (started by jaeger.sh, pid $(cat "$PID_FILE"))"
  if answers; then echo "jaeger   up   $QUERY_URL (OTLP $OTLP_URL)$ours"; else echo "jaeger   down $QUERY_URL"; fi
  if [ -x "$BIN" ]; then echo "binary   $BIN"; else echo "binary   not built yet ($BIN)"; fi
}

cmd_ensure() {
  mkdir -p "$STATE"
  if answers; then log "answers at $QUERY_URL"
  else cmd_up; fi
  cmd_env >"$STATE/env.sh"
  log "wrote $STATE/env.sh"
  if [ "$DID_START" = 1 ]; then echo jaeger >&3; fi
}

lock() {   # serialize concurrent up/down/ensure runs (the build has a lock of its own)
  mkdir -p "$STATE"
  exec 9>"$STATE/.lock"
  flock -w 3600 9 || die "another scripts/jaeger.sh run holds $STATE/.lock"
}

case "${1:-}" in
  build) cmd_build ;;
  up) lock; cmd_up ;;
  down) lock; cmd_down ;;
  status) cmd_status ;;
  env) cmd_env ;;
  bin) echo "$BIN" ;;
  ensure)
    # stdout carries only "jaeger" when started (fd 3); everything else goes to stderr
    exec 3>&1 1>&2
    lock; cmd_ensure
    ;;
  *) sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
