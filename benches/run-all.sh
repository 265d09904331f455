#!/usr/bin/env bash
# Runs every benchmark (release build) and regenerates benches/RESULTS.md with its plots.
#
#   benches/run-all.sh                 # embedded backends; real servers too when scripts/it is up
#   benches/run-all.sh --with-spark    # also the Apache Spark side (benches/spark, minutes more)
#   benches/run-all.sh --report-only   # rebuild RESULTS.md from the JSON already in benches/results
#
# Figures land in benches/results/*.json (one file per run), the report in benches/RESULTS.md and
# the plots in benches/plots/. Peak memory (max RSS) of each process is measured by /usr/bin/time.
# Env: LT_BENCH_POSTS (recompute sizes, default "1000000 10000000"), LT_BENCH_FANOUT (clients,
# default "1000 10000 20000"), LT_BENCH_PIPELINE_POSTS (the pipeline run on the real servers,
# default 10000000), CARGO_TARGET_DIR (default the project's shared target dir).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/env.sh"
cd "$LT_ROOT"
out=benches/results
mkdir -p "$out" benches/plots
with_spark=0 report_only=0
for a in "$@"; do
  case "$a" in
    --with-spark) with_spark=1 ;;
    --report-only) report_only=1 ;;
    -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "run-all: unknown flag $a" >&2; exit 2 ;;
  esac
done

# Python with matplotlib for the plots (a venv in the cache, made once).
venv="${XDG_CACHE_HOME:-$HOME/.cache}/lambda-trends/bench-venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import matplotlib' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'matplotlib==3.9.2'
fi

if [ "$report_only" = 0 ]; then
  step() { printf '\n==> %s\n' "$*" >&2; }
  # `time -v` of a command: its stdout to $1, its max RSS (KiB) appended as JSON to $1.rss
  measured() {
    local file="$1"; shift
    /usr/bin/time -f '%M' -o "$file.rss" "$@" >"$file"
  }
  step "Building (release)"
  cargo build --release --bin lambda-trends
  cargo bench --no-run --bench recompute --bench serving_load --bench speed_batches --bench freshness --bench micro

  step "Micro-benchmarks (criterion)"
  cargo bench --bench micro -- --noplot >"$out/micro.txt" 2>&1 || { tail -20 "$out/micro.txt"; exit 1; }

  for n in ${LT_BENCH_POSTS:-1000000 10000000}; do
    step "Recompute of $n posts"
    measured "$out/recompute-$n.json" cargo bench --bench recompute -- --posts "$n"
  done

  step "Speed layer, batches of 1,000 .. 50,000 (embedded)"
  measured "$out/speed-embedded.json" cargo bench --bench speed_batches
  if [ -f .dev/it/env.sh ]; then
    # shellcheck disable=SC1091
    source .dev/it/env.sh
    if [ -n "${LT_IT_KAFKA:-}" ] && [ -n "${LT_IT_CASSANDRA:-}" ] && [ -n "${LT_IT_ZK:-}" ]; then
      step "Speed layer on Kafka + Cassandra + ZooKeeper"
      measured "$out/speed-real.json" cargo bench --bench speed_batches -- --real
      step "The whole pipeline, one process per component, ${LT_BENCH_PIPELINE_POSTS:-10000000} posts"
      LT_BIN="$CARGO_TARGET_DIR/release/lambda-trends" python3 benches/pipeline/run.py \
        --posts "${LT_BENCH_PIPELINE_POSTS:-10000000}"
    fi
  fi

  step "Freshness at 6,000 posts/s"
  measured "$out/freshness.json" cargo bench --bench freshness

  step "Serving load"
  measured "$out/serving.json" cargo bench --bench serving_load

  step "socket.io fan-out"
  LT_BIN="$CARGO_TARGET_DIR/release/lambda-trends" benches/fanout/run.sh --clients "${LT_BENCH_FANOUT:-1000 10000 20000}"
  cp benches/fanout/results.json "$out/fanout.json"

  if [ "$with_spark" = 1 ]; then
    step "Apache Spark side by side"
    benches/spark/run.sh
  fi
fi

"$venv/bin/python" benches/report.py
echo "run-all: wrote benches/RESULTS.md and benches/plots/" >&2
