#!/usr/bin/env bash
# Build the analyst dashboard (dashboard-web/dist), which the `serving` crate serves at `/`.
# Idempotent and quick on re-runs: npm ci runs only when package-lock.json (or node) changed
# since the last install, and the build runs only when its inputs changed.
# FORCE=1 rebuilds regardless.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT/dashboard-web"

if ! command -v npm >/dev/null 2>&1; then
  echo "build-dashboard: npm not found (Node.js >= 20.19 is required)" >&2
  exit 1
fi

hash_of() { sha256sum "$@" | sha256sum | cut -d' ' -f1; }

# 1. dependencies
if [ -f package-lock.json ]; then
  deps_key="$(node --version) $(hash_of package.json package-lock.json)"
  deps_stamp=node_modules/.lt-deps-stamp
  if [ "${FORCE:-0}" != 1 ] && [ -f "$deps_stamp" ] && [ "$(cat "$deps_stamp")" = "$deps_key" ]; then
    echo "build-dashboard: node_modules up to date"
  else
    npm ci --no-audit --no-fund
    echo "$deps_key" > "$deps_stamp"
  fi
else
  npm install --no-audit --no-fund
fi

# 2. build
inputs=(package.json index.html tsconfig.json vite.config.ts)
[ -f package-lock.json ] && inputs+=(package-lock.json)
while IFS= read -r -d '' f; do inputs+=("$f"); done < <(find src public -type f -print0 2>/dev/null | sort -z)
build_key="$(node --version) $(hash_of "${inputs[@]}")"
build_stamp=node_modules/.lt-build-stamp
if [ "${FORCE:-0}" != 1 ] && [ -f dist/index.html ] && [ -f "$build_stamp" ] && [ "$(cat "$build_stamp")" = "$build_key" ]; then
  echo "build-dashboard: dist/ up to date"
else
  npm run build
  echo "$build_key" > "$build_stamp"
fi
echo "build-dashboard: $ROOT/dashboard-web/dist ready"
