#!/usr/bin/env bash
# Entry point behind `npm start`, `npm test`, `npm run migrate`, `pnpm dev` / `npm run dev`,
# `npm run dev:stack`, `npm run seed`, `npm run bench`, `npm run chaos` and `npm run fuzz`.
# Bootstraps Node 24, pnpm and dependencies first (scripts/bootstrap.sh), then runs the command.
set -euo pipefail
PYLON_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PYLON_ROOT
cd "$PYLON_ROOT"
# shellcheck source=scripts/bootstrap.sh
source "$PYLON_ROOT/scripts/bootstrap.sh"
export PATH="$PYLON_ROOT/node_modules/.bin:$PATH"

cmd="${1:-start}"; shift || true

step() { echo; echo "==> $*"; }

# The chaos suite (scripts/chaos/README.md) on a private PostgreSQL, Redis and Kafka (own ports and
# state dir), which it stops and restarts at will; the shared instances are never touched. One chaos
# run at a time per checkout (lock); the infrastructure is stopped again at the end. Runs in a
# subshell so the caller's DATABASE_URL/REDIS_URL/KAFKA_BROKERS stay as they were.
run_chaos() (
  export PYLON_INFRA_STATE="$PYLON_ROOT/.pylon/chaos-infra"
  export PYLON_PG_PORT="${PYLON_CHAOS_PG_PORT:-5443}" PYLON_REDIS_PORT="${PYLON_CHAOS_REDIS_PORT:-6390}"
  export PYLON_KAFKA_PORT="${PYLON_CHAOS_KAFKA_PORT:-9192}" PYLON_KAFKA_CONTROLLER_PORT="${PYLON_CHAOS_KAFKA_CONTROLLER_PORT:-9193}"
  export DATABASE_URL="postgres://pylon:pylon@127.0.0.1:$PYLON_PG_PORT/pylon"
  export REDIS_URL="redis://127.0.0.1:$PYLON_REDIS_PORT" KAFKA_BROKERS="127.0.0.1:$PYLON_KAFKA_PORT"
  mkdir -p "$PYLON_INFRA_STATE"
  # fd 8 holds the lock; nothing started below may inherit it (daemons would keep it forever)
  exec 8>"$PYLON_INFRA_STATE/.chaos-run.lock"
  flock -w 900 8 || { echo "another chaos run holds $PYLON_INFRA_STATE/.chaos-run.lock" >&2; exit 1; }
  bash scripts/infra.sh down 8>&- || true   # leftovers of an interrupted run; a fresh Kafka log dir below
  trap 'bash scripts/infra.sh down 8>&- || true' EXIT
  bash scripts/infra.sh up 8>&-
  # PYLON_CHAOS_TIMEOUT (seconds, 0 = none): a hard cap; SIGTERM lets the run stop its processes first
  timeout --kill-after=30 "${PYLON_CHAOS_TIMEOUT:-0}" node scripts/chaos/run.ts "$@" 8>&-
)

case "$cmd" in
  start)
    # The web client served at / (scripts/web.sh: rebuilt only when its sources changed, a few seconds)
    bash scripts/web.sh ensure
    exec node packages/pylon/src/main.ts dev "$@"
    ;;
  migrate)
    exec node packages/pylon/src/main.ts migrate "$@"
    ;;
  dev)
    # The topology of dev-stack plus a real Jaeger (scripts/jaeger.sh: built once from its Go module
    # source, docs/adr/0010) that every process exports its traces to; sources are watched and the
    # processes running changed code restarted. Stops what it started (infrastructure, Jaeger) on exit.
    started="$(bash scripts/infra.sh ensure)"
    jaeger_started=""
    stop_dev() {
      if [ -n "$jaeger_started" ]; then bash scripts/jaeger.sh down || true; fi
      if [ -n "$started" ]; then bash scripts/infra.sh down $started || true; fi
    }
    trap stop_dev EXIT
    jaeger_started="$(bash scripts/jaeger.sh ensure)"
    # shellcheck disable=SC1091
    source .pylon/infra/env.sh
    # shellcheck disable=SC1091
    source .pylon/infra/jaeger/env.sh
    node packages/pylon/src/main.ts watch "$@" || true
    ;;
  seed)
    # Demo users, rooms and conversations through the public API of a running Pylon (default the
    # `pnpm dev` gateway, http://127.0.0.1:8080; `npm run seed -- URL` or PYLON_SEED_URL for another).
    exec node packages/pylon/src/main.ts seed "$@"
    ;;
  dev-stack)
    started="$(bash scripts/infra.sh ensure)"
    stop_infra() {
      if [ -n "$started" ]; then bash scripts/infra.sh down $started || true; fi
    }
    trap stop_infra EXIT
    # shellcheck disable=SC1091
    source .pylon/infra/env.sh
    bash scripts/web.sh ensure
    node packages/pylon/src/main.ts stack "$@" || true
    ;;
  bench)
    started="$(bash scripts/infra.sh ensure)"
    stop_infra() {
      if [ -n "$started" ]; then bash scripts/infra.sh down $started || true; fi
    }
    trap stop_infra EXIT
    # shellcheck disable=SC1091
    source .pylon/infra/env.sh
    # Every socket is a file descriptor in the load generator and in the gateway (which inherits this).
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    node scripts/bench/run.ts "$@"
    ;;
  chaos)
    run_chaos "$@"
    ;;
  fuzz)
    # The long fuzz run (scripts/fuzz/run.ts, issue #7): `pylon dev` as a child process (PGlite, no
    # infrastructure), ≥ 100,000 cases; report in scripts/fuzz/results/latest.json.
    node scripts/fuzz/run.ts "$@"
    ;;
  test)
    # Jaeger for the trace test (packages/pylon/test/JaegerTrace.test.ts): built from source on a fresh
    # machine (minutes of CPU, docs/adr/0010), so it builds and starts in the background from here
    # while the static checks run; the test waits for it (and fails with this log if the job failed).
    # Only the trace test's processes export (it passes the endpoint itself), so it is not exported here.
    step "Jaeger for the trace test: built once and started in the background (log .pylon/infra/jaeger/ensure.log)"
    mkdir -p .pylon/infra/jaeger
    eval "$(bash scripts/jaeger.sh env)"
    unset OTEL_EXPORTER_OTLP_ENDPOINT
    export PYLON_JAEGER_URL PYLON_JAEGER_OTLP_ENDPOINT
    export PYLON_JAEGER_ENSURE_LOG="$PYLON_ROOT/.pylon/infra/jaeger/ensure.log"
    : >.pylon/infra/jaeger/ensure.out
    setsid bash scripts/jaeger.sh ensure >.pylon/infra/jaeger/ensure.out 2>"$PYLON_JAEGER_ENSURE_LOG" </dev/null &
    jaeger_pid=$!
    export PYLON_JAEGER_ENSURE_PID="$jaeger_pid"
    stop_jaeger() {
      local interrupted=0
      if kill -0 "$jaeger_pid" 2>/dev/null; then
        interrupted=1
        kill -TERM -- "-$jaeger_pid" 2>/dev/null || kill -TERM "$jaeger_pid" 2>/dev/null || true
        wait "$jaeger_pid" 2>/dev/null || true
      fi
      if [ "$interrupted" = 1 ] || [ "$(cat .pylon/infra/jaeger/ensure.out 2>/dev/null)" = "jaeger" ]; then
        bash scripts/jaeger.sh down || true
      fi
    }
    trap stop_jaeger EXIT
    step "lint (eslint)"
    eslint --max-warnings 0 .
    step "typecheck (tsc)"
    tsc -p tsconfig.json
    step "Effect diagnostics (@effect/language-service)"
    effect-language-service diagnostics --project tsconfig.json --severity error,warning --strict
    step "protobuf (buf lint, build, breaking against the original wire shape; generated code fresh)"
    bash scripts/proto.sh check
    step "deployment files (kustomize build, kubeconform strict, promtool, metric names; tools pinned + cached by scripts/ops/tools.sh)"
    bash scripts/ops/validate-infra.sh
    step "infrastructure (real PostgreSQL, Redis, Kafka)"
    started="$(bash scripts/infra.sh ensure)"
    cleanup() {
      stop_jaeger
      if [ -n "$started" ]; then
        step "stopping what this run started: $started"
        bash scripts/infra.sh down $started || true
      fi
    }
    trap cleanup EXIT
    # shellcheck disable=SC1091
    source .pylon/infra/env.sh
    step "web client bundle (built when stale) and Debian's Chromium for the browser tests"
    bash scripts/web.sh ensure
    PYLON_CHROMIUM="$(bash scripts/web.sh chromium)"
    export PYLON_CHROMIUM
    step "unit and integration tests (vitest; browser tests in packages/web/test drive Chromium)"
    vitest run "$@"
    step "chaos: bounded fault-injection run on private infrastructure (gateway kill -9, Redis and Kafka restarts; scripts/chaos/README.md)"
    PYLON_CHAOS_TIMEOUT=420 run_chaos --duration 20s --faults gateway-kill,redis-restart,kafka-restart --gap 2-4 --users 8
    ;;
  *)
    echo "usage: scripts/pylon.sh start|test|migrate|dev|dev-stack|seed|bench|chaos|fuzz" >&2; exit 2 ;;
esac
