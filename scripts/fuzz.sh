#!/usr/bin/env bash
# Fuzzes the parsers with cargo-fuzz and libFuzzer (fuzz/, see fuzz/README.md): builds the fuzz
# targets, then runs each for a few seconds from its seed corpus (fuzz/corpus/<target>/).
#
#   scripts/fuzz.sh [--seconds N] [target...]     (default: 15 s for every target)
#
# Prints each target's executions; a crash fails the run and names the crashing input, which
# libFuzzer writes to fuzz/artifacts/<target>/ (not committed). New corpus entries go to a
# temporary copy of the corpus, so the committed seeds stay as they are.
#
# Stable Rust only: cargo-fuzz wants nightly for -Zsanitizer, so the targets are built without
# a sanitizer (--sanitizer none; Rust is memory-safe, the targets look for panics and broken
# properties) and RUSTC_BOOTSTRAP=1 lets stable rustc take the -Z flags cargo-fuzz still
# passes. Debug assertions are on, so an integer overflow is a crash too.
#
# Installs cargo-fuzz (crates.io) into ${XDG_CACHE_HOME:-~/.cache}/lambda-trends/tools on first
# use, and builds in its own target directory (…/lambda-trends/target-fuzz, or
# $LT_FUZZ_TARGET_DIR): the instrumented build shares nothing with the normal one. libFuzzer is
# C++: it needs a C++ compiler (build-essential, scripts/install-build-deps.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$LT_ROOT"

LT_CARGO_FUZZ_VERSION=0.13.2
LT_TOOLS="${XDG_CACHE_HOME:-$HOME/.cache}/lambda-trends/tools"
export CARGO_TARGET_DIR="${LT_FUZZ_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/lambda-trends/target-fuzz}"
export RUSTC_BOOTSTRAP=1
FUZZ=("$LT_TOOLS/bin/cargo-fuzz" fuzz)
# The same flags for build and run, so a run does not rebuild.
FLAGS=(--fuzz-dir fuzz --sanitizer none --debug-assertions)

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; }
seconds=15
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=${2:?--seconds needs a number}; shift 2 ;;
    --seconds=*) seconds=${1#--seconds=}; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: --seconds must be a positive number, not $seconds" >&2; exit 2; }

if [ "$("$LT_TOOLS/bin/cargo-fuzz" --version 2>/dev/null)" = "cargo-fuzz $LT_CARGO_FUZZ_VERSION" ]; then
  echo "cargo-fuzz $LT_CARGO_FUZZ_VERSION: cached"
else
  echo "cargo-fuzz $LT_CARGO_FUZZ_VERSION: installing from crates.io (about a minute the first time)"
  # cargo install builds in a temporary directory of its own when CARGO_TARGET_DIR is unset.
  env -u CARGO_TARGET_DIR -u RUSTC_BOOTSTRAP cargo install cargo-fuzz \
    --version "$LT_CARGO_FUZZ_VERSION" --locked --root "$LT_TOOLS" --quiet
fi

all=$("${FUZZ[@]}" list --fuzz-dir fuzz)
if [ "${#targets[@]}" -eq 0 ]; then
  read -r -d '' -a targets <<<"$all" || true
fi
for t in "${targets[@]}"; do
  grep -qx "$t" <<<"$all" || { echo "fuzz.sh: no fuzz target $t (there are: $(echo $all))" >&2; exit 2; }
done

started=$(date +%s)
echo "Building the fuzz targets (in $CARGO_TARGET_DIR)"
if [ "${#targets[@]}" -eq "$(wc -w <<<"$all")" ]; then
  "${FUZZ[@]}" build "${FLAGS[@]}"
else
  for t in "${targets[@]}"; do "${FUZZ[@]}" build "${FLAGS[@]}" "$t"; done
fi
echo "Built in $(( $(date +%s) - started )) s."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=()
for t in "${targets[@]}"; do
  mkdir -p "$work/$t" "fuzz/artifacts/$t"
  seeds=$(find "fuzz/corpus/$t" -type f 2>/dev/null | wc -l)
  [ "$seeds" -gt 0 ] && cp "fuzz/corpus/$t"/* "$work/$t/"
  log="$work/$t.log"
  status=0
  "${FUZZ[@]}" run "${FLAGS[@]}" "$t" "$work/$t" -- \
    -max_total_time="$seconds" -timeout=10 -print_final_stats=1 >"$log" 2>&1 || status=$?
  runs=$(awk '/^stat::number_of_executed_units/ { print $2 }' "$log" | tail -n 1)
  grown=$(find "$work/$t" -type f | wc -l)
  if [ "$status" -eq 0 ]; then
    printf '%-12s %10s executions in %s s, corpus %s -> %s inputs, no crash\n' \
      "$t" "${runs:-?}" "$seconds" "$seeds" "$grown"
  else
    failed+=("$t")
    crash=$(grep -o 'Test unit written to [^ ]*' "$log" | tail -n 1 | sed 's/^Test unit written to //')
    echo "$t: FAILED after ${runs:-?} executions (exit $status). What went wrong:"
    # The panic (message and the first frames of its backtrace), or libFuzzer's own report
    # (a timeout, running out of memory, a leak); else the end of the log.
    if grep -q -e 'panicked at' -e '^==[0-9]*== ERROR' "$log"; then
      grep -m 1 -A 14 -e 'panicked at' -e '^==[0-9]*== ERROR' "$log" | sed 's/^/    /'
    else
      grep -v '^#[0-9]' "$log" | tail -n 30 | sed 's/^/    /'
    fi
    if [ -n "$crash" ]; then
      echo "$t: the crashing input is $crash"
      echo "$t: reproduce it with: RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR=$CARGO_TARGET_DIR ${FUZZ[*]} run ${FLAGS[*]} $t $crash"
    fi
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "Fuzzing failed: ${failed[*]} (crashing inputs in fuzz/artifacts/)."
  exit 1
fi
echo "Fuzzing passed: ${#targets[@]} targets, ${seconds} s each, $(( $(date +%s) - started )) s in all."
