#!/usr/bin/env bash
# Checks the dependency graph with cargo-deny's offline checks (deny.toml): every licence is one
# of the permissive ones listed, no crate comes from anywhere but crates.io, no dependency is a
# wildcard, and the big crates (arrow, parquet, DataFusion, object_store, tokio, rdkafka, scylla,
# axum) are there in one version only (other duplicates are listed as warnings).
#
#   scripts/deny.sh            (what scripts/test.sh runs)
#
# Advisories are not checked here: the RustSec database lives on GitHub, which CI cannot reach.
# Where it can, run `cargo deny check advisories` too.
#
# Installs cargo-deny (crates.io) into ${XDG_CACHE_HOME:-~/.cache}/lambda-trends/tools on first
# use (a few minutes to build, once).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$LT_ROOT"

LT_CARGO_DENY_VERSION=0.20.2
LT_TOOLS="${XDG_CACHE_HOME:-$HOME/.cache}/lambda-trends/tools"
DENY="$LT_TOOLS/bin/cargo-deny"

if [ "$("$DENY" --version 2>/dev/null)" = "cargo-deny $LT_CARGO_DENY_VERSION" ]; then
  echo "cargo-deny $LT_CARGO_DENY_VERSION: cached"
else
  echo "cargo-deny $LT_CARGO_DENY_VERSION: installing from crates.io (a few minutes the first time)"
  # cargo install builds in a temporary directory of its own when CARGO_TARGET_DIR is unset.
  env -u CARGO_TARGET_DIR cargo install cargo-deny \
    --version "$LT_CARGO_DENY_VERSION" --locked --root "$LT_TOOLS" --quiet
fi
"$DENY" --offline --locked check licenses bans sources
