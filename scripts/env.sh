# Shared settings for the project's scripts (sourced, not run).
# One cargo target directory outside the clone, shared by every crate and every script, so the
# heavy dependencies (DataFusion, arrow, parquet) are built once per machine.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/lambda-trends/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
LT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export LT_ROOT
