#!/usr/bin/env bash
# Every test: formatting, lints, unit/property/conformance/end-to-end tests (the conformance and
# integration tests against real ZooKeeper, Kafka and Cassandra, which scripts/it/up.sh installs
# from Maven Central and starts), and the browser test of the dashboard against a real
# `lambda-trends up`, the Helm chart (lint, render, offline schema validation, render tests), and a
# short fuzz run of the parsers (fuzz/).
# Installs what it needs (npm packages, Debian's chromium, server jars, helm and kubeconform,
# cargo-fuzz, cargo-deny).
# Used by .ci/run.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$LT_ROOT"
step() { printf '\n==> %s\n' "$*"; }
started=$(date +%s)

step "Installing build packages and the browser, building the dashboard"
scripts/install-build-deps.sh
scripts/install-browser.sh
scripts/build-dashboard.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "Starting real ZooKeeper, Kafka, Cassandra (scripts/it/up.sh) and S3 (moto, scripts/it/s3.sh)"
scripts/it/up.sh
trap 'scripts/it/down.sh || true; scripts/it/s3.sh stop || true' EXIT
scripts/it/s3.sh start
# LT_IT_ZK, LT_IT_KAFKA, LT_IT_CASSANDRA, LT_IT_S3 for the integration tests (with CI set, a
# missing one fails).
source .dev/it/env.sh
source .dev/it/s3.env.sh

step "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test (unit, property, conformance, end-to-end)"
cargo test --workspace

step "Benchmark smoke: every criterion benchmark once, the recompute bench on 20,000 posts, serving load for 1 s, speed-layer batches, freshness, the whole pipeline on 50,000 posts"
cargo test --bench micro
cargo test --bench recompute
cargo test --bench serving_load
cargo test --bench speed_batches
cargo test --bench freshness
# The whole pipeline in separate processes on the real servers (the binary cargo test built).
LT_BIN="$CARGO_TARGET_DIR/debug/lambda-trends" python3 benches/pipeline/run.py --posts 50000 --smoke \
  --out "$LT_ROOT/.dev/pipeline-smoke.json"

step "Fuzzing: every fuzz target for 15 s from its seeds (scripts/fuzz.sh, its own target directory)"
scripts/fuzz.sh

step "Dependencies: licences, sources, duplicates (scripts/deny.sh, cargo-deny offline)"
scripts/deny.sh

step "Helm chart and Kubernetes manifests (scripts/test-helm.sh)"
scripts/test-helm.sh

step "Browser test: the dashboard against a running lambda-trends up"
# The binary `cargo test --workspace` just built (a plain `cargo build --bin` would unify features
# differently and build DataFusion a second time).
LT_BIN="$CARGO_TARGET_DIR/debug/lambda-trends" scripts/browser-test.sh

echo "All tests passed in $(( $(date +%s) - started )) s."
