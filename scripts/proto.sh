#!/usr/bin/env bash
# The protobuf checks of `npm test` and the regeneration of what is built from proto/.
# Offline: buf and protoc-gen-es come from node_modules, buf.yaml has no remote deps or plugins.
#   scripts/proto.sh check       lint, build, breaking-check against the frozen original wire
#                                shape, and fail if the frozen image or the generated code is stale
#   scripts/proto.sh generate    rewrite packages/proto-gen/src/gen from proto/ (buf.gen.yaml)
#   scripts/proto.sh freeze      rebuild proto/compat/pylon-v1.binpb from proto/compat/shape (only
#                                when CONNECT-COMPAT.md itself changes: the shape is frozen)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

COMPAT_IMAGE=proto/compat/pylon-v1.binpb
GEN_DIR=packages/proto-gen/src/gen
# The frozen shape is a module of its own (excluded from the served one in buf.yaml).
COMPAT_CONFIG='{"version":"v2","modules":[{"path":"proto/compat/shape"}]}'

build_compat_image() { buf build proto/compat/shape --config "$COMPAT_CONFIG" --exclude-source-info -o "$1"; }

case "${1:-check}" in
  generate)
    rm -rf "$GEN_DIR"
    buf generate
    ;;
  freeze)
    build_compat_image "$COMPAT_IMAGE"
    ;;
  check)
    buf lint
    buf build -o /dev/null
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    build_compat_image "$tmp/compat.binpb"
    if ! cmp -s "$tmp/compat.binpb" "$COMPAT_IMAGE"; then
      echo "$COMPAT_IMAGE is not built from proto/compat/shape: run scripts/proto.sh freeze" >&2
      exit 1
    fi
    buf breaking --against "$COMPAT_IMAGE"
    buf generate -o "$tmp/generated"
    if ! diff -r "$tmp/generated/$GEN_DIR" "$GEN_DIR"; then
      echo "$GEN_DIR is stale (it differs from what proto/ generates): run scripts/proto.sh generate" >&2
      exit 1
    fi
    ;;
  *)
    echo "usage: scripts/proto.sh check|generate|freeze" >&2; exit 2 ;;
esac
