#!/usr/bin/env bash
# The main job: the whole pipeline, embedded, with the dashboard, in one command.
#   scripts/up.sh [lambda-trends up flags...]     e.g. scripts/up.sh --listen 127.0.0.1:9090 --rate 5000
# Builds the dashboard and the binary (first time: several minutes), then runs
# `lambda-trends up` with data in ./data. Open http://127.0.0.1:8080/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$LT_ROOT"
command -v cargo >/dev/null || { echo "up: cargo not found: install Rust (https://rustup.rs)" >&2; exit 1; }
scripts/install-build-deps.sh
scripts/build-dashboard.sh
echo "up: building lambda-trends (the first build takes several minutes)..."
cargo build --bin lambda-trends
exec "$CARGO_TARGET_DIR/debug/lambda-trends" up "$@"
