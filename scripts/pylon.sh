#!/usr/bin/env bash
# Entry point behind `npm start`, `npm test`, `npm run migrate`, `npm run dev:stack`, `npm run bench`
# and `npm run fuzz`.
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

case "$cmd" in
  start)
    exec node packages/pylon/src/main.ts dev "$@"
    ;;
  migrate)
    exec node packages/pylon/src/main.ts migrate "$@"
    ;;
  dev-stack)
    started="$(bash scripts/infra.sh ensure)"
    stop_infra() {
      if [ -n "$started" ]; then bash scripts/infra.sh down $started || true; fi
    }
    trap stop_infra EXIT
    # shellcheck disable=SC1091
    source .pylon/infra/env.sh
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
  fuzz)
    # The long fuzz run (scripts/fuzz/run.ts, issue #7): `pylon dev` as a child process (PGlite, no
    # infrastructure), ≥ 100,000 cases; report in scripts/fuzz/results/latest.json.
    node scripts/fuzz/run.ts "$@"
    ;;
  test)
    step "lint (eslint)"
    eslint --max-warnings 0 .
    step "typecheck (tsc)"
    tsc -p tsconfig.json
    step "Effect diagnostics (@effect/language-service)"
    effect-language-service diagnostics --project tsconfig.json --severity error,warning --strict
    step "protobuf (buf lint, build, breaking against the original wire shape; generated code fresh)"
    bash scripts/proto.sh check
    step "infrastructure (real PostgreSQL, Redis, Kafka)"
    started="$(bash scripts/infra.sh ensure)"
    cleanup() {
      if [ -n "$started" ]; then
        step "stopping what this run started: $started"
        bash scripts/infra.sh down $started || true
      fi
    }
    trap cleanup EXIT
    # shellcheck disable=SC1091
    source .pylon/infra/env.sh
    step "unit and integration tests (vitest)"
    vitest run "$@"
    ;;
  *)
    echo "usage: scripts/pylon.sh start|test|migrate|dev-stack|bench|fuzz" >&2; exit 2 ;;
esac
