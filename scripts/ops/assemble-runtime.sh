#!/usr/bin/env bash
# Assembles the runtime image's /app from a source tree: exactly the files the processes read at run
# time (root manifests, every workspace package's package.json and src/, and its dist/ when built —
# the web client's bundle, which the gateway serves; build it first —, migrations/) and production
# dependencies only (pnpm install --prod: no TypeScript, vitest, eslint, buf ...). Every directory
# under packages/ with a package.json is taken, so a new workspace package needs no Dockerfile edit.
# The Dockerfile's build stage runs this, and packages/pylon/test/RuntimeImage.test.ts runs it into a
# temporary directory and starts the roles from there, so the image's file list is tested without Docker.
#   bash scripts/ops/assemble-runtime.sh <source dir> <target dir> [--offline]
# --offline: install from the pnpm store only (tests: no network; the image: after `pnpm fetch`).
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: assemble-runtime.sh <source dir> <target dir> [--offline]" >&2; exit 2; }
src="$(cd "$1" && pwd)"
dest="$2"
offline="${3:-}"

mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"
cp "$src/package.json" "$src/pnpm-lock.yaml" "$src/pnpm-workspace.yaml" "$dest/"
[ ! -f "$src/.npmrc" ] || cp "$src/.npmrc" "$dest/"
cp -R "$src/migrations" "$dest/migrations"
for pkg in "$src"/packages/*/; do
  [ -f "$pkg/package.json" ] || continue
  name="$(basename "$pkg")"
  mkdir -p "$dest/packages/$name"
  cp "$pkg/package.json" "$dest/packages/$name/"
  [ ! -d "$pkg/src" ] || cp -R "$pkg/src" "$dest/packages/$name/src"
  [ ! -d "$pkg/dist" ] || cp -R "$pkg/dist" "$dest/packages/$name/dist"
done

cd "$dest"
flags=(--frozen-lockfile --prod --ignore-scripts --config.confirmModulesPurge=false)
if [ "$offline" = "--offline" ]; then flags+=(--offline); fi
# PNPM_STORE_DIR: the store to install from (the Dockerfile's cache mount); default: pnpm's own.
if [ -n "${PNPM_STORE_DIR:-}" ]; then flags+=(--store-dir "$PNPM_STORE_DIR"); fi
CI=true pnpm install "${flags[@]}" --reporter=append-only >&2
