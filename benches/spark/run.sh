#!/usr/bin/env bash
# The Spark side of the side-by-side batch benchmark (see README.md beside this file).
#
#   benches/spark/run.sh [--posts N] [--smoke] [--spread-hours H] [--repeat R]
#                        [--shuffle-partitions P] [--nfkc] [--no-check]
#
#   --posts N      dataset size (default 200000); --smoke is --posts 20000
#   --spread-hours H   the same posts re-stamped evenly over H hours (make_replay.py) and replayed
#                  with `collect --file`, half of them with the source's hashtag list: many slots
#                  and both tag paths (default: as generated, a few seconds of wall time)
#   --repeat R     timed runs of the job in one Spark session (default 5)
#   --shuffle-partitions P   spark.sql.shuffle.partitions (default Spark's: 200, coalesced by AQE)
#   --nfkc         exact NFKC normalisation of non-ASCII tags in a Python UDF (see README)
#   --no-check     skip our view, the reference view and the comparisons
#
# 1. Generates (once; reused later) a master dataset of N synthetic posts with the lambda-trends
#    binary (`collect --source synthetic --rate 0 --max-posts N`, then `ingest` until the master
#    holds N rows) under ${LT_SPARK_BENCH_HOME:-~/.cache/lambda-trends/spark-bench}/posts-N
#    (posts-N-spread-Hh with --spread-hours).
# 2. Runs batch_view.py with spark-submit --master local[2] (LT_SPARK_MASTER to change).
# 3. Checks the Spark view (compare.py) against ours, `lambda-trends sql` over the same dataset
#    (its `hashtags` table uses the UDFs batch_view uses; skipped when the binary has no `sql`),
#    and against the reference view in plain Python (reference_view.py).
# 4. Prints one JSON object and writes it to benches/spark/results/batch-N[-spread-Hh].json.
# Exits non-zero if a step fails or the Spark view differs from the reference.
#
# Environment: LT_BIN (the lambda-trends binary; default: the release, else the debug build in
# $CARGO_TARGET_DIR or ~/.cache/lambda-trends/target), LT_SPARK_DRIVER_MEMORY (default 2g).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

POSTS=200000 REPEAT=5 SHUFFLE="" NFKC="" CHECK=1 SPREAD=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --posts) POSTS="$2"; shift 2 ;;
    --smoke) POSTS=20000; shift ;;
    --repeat) REPEAT="$2"; shift 2 ;;
    --spread-hours) SPREAD="$2"; shift 2 ;;
    --shuffle-partitions) SHUFFLE="$2"; shift 2 ;;
    --nfkc) NFKC=1; shift ;;
    --no-check) CHECK=""; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
[[ "$POSTS" =~ ^[1-9][0-9]*$ ]] || die "--posts takes a positive number"

trap stop_ingest EXIT
mkdir -p "$BENCH_HOME" "$RESULTS"
setup_venv
NAME="batch-$POSTS"
if [[ -n "$SPREAD" ]]; then
  [[ "$SPREAD" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--spread-hours takes a number of hours"
  spread_dataset "$POSTS" "$SPREAD"
  NAME="batch-$POSTS-spread-${SPREAD}h"
else
  embedded_dataset "$POSTS"
fi
MASTER="$DATA_DIR/master"
OUT="$BENCH_HOME/out/$NAME"
mkdir -p "$BENCH_HOME/out"
MACHINE="$(machine_json)"

log "spark batch view: $POSTS posts, $SPARK_MASTER, pyspark $PYSPARK_VERSION"
args=(--master-dir "$MASTER" --out "$OUT/spark" --format csv --repeat "$REPEAT")
[[ -n "$SHUFFLE" ]] && args+=(--shuffle-partitions "$SHUFFLE")
[[ -n "$NFKC" ]] && args+=(--nfkc)
rm -rf "$OUT"; mkdir -p "$OUT"
spark_submit "$SPARK_DIR/batch_view.py" "${args[@]}" >"$OUT/spark.json" 2>"$OUT/spark.log" \
  || { grep -v ' INFO ' "$OUT/spark.log" | tail -30 >&2; die "the Spark job failed (log: $OUT/spark.log)"; }
SPARK_REPORT="$(grep '^{' "$OUT/spark.json" | tail -1)"

REF_REPORT=null COMPARE=null OURS_REPORT=null COMPARE_OURS=null
if [[ -n "$CHECK" ]]; then
  # Ours: the same rows through lambda-trends' own UDFs (lt_hashtag_keys, lt_slot: the `hashtags`
  # table of `lambda-trends sql`, which batch_view's SQL also uses), when the binary has `sql`.
  find_lt
  if lt sql --help >/dev/null 2>&1; then
    log "our view: lambda-trends sql over the same dataset"
    t0=$EPOCHREALTIME
    lt sql --data-dir "$DATA_DIR" --format csv \
      'SELECT hashtag, slot, count(*) AS count FROM hashtags GROUP BY hashtag, slot' \
      >"$OUT/ours.csv" 2>"$OUT/ours.log" || { tail -20 "$OUT/ours.log" >&2; die "lambda-trends sql failed"; }
    t1=$EPOCHREALTIME
    # Warm, like Spark's warm runs: the same query REPEAT more times in one process (its first
    # run, with the files read cold, is not counted), each writing its CSV (to a sink).
    lt sql --data-dir "$DATA_DIR" --format csv --repeat "$((REPEAT + 1))" \
      'SELECT hashtag, slot, count(*) AS count FROM hashtags GROUP BY hashtag, slot' \
      >/dev/null 2>"$OUT/ours-warm.log" || { tail -20 "$OUT/ours-warm.log" >&2; die "lambda-trends sql --repeat failed"; }
    OURS_REPORT="$("$PY" -c '
import json, re, statistics, sys
rows = sum(1 for _ in open(sys.argv[1], encoding="utf-8")) - 1
runs = [float(m.group(1)) for m in re.finditer(r"^run \d+/\d+: \d+ rows in ([0-9.]+) s$", open(sys.argv[5]).read(), re.M)]
warm = runs[1:]
print(json.dumps({"engine": "lambda-trends sql (DataFusion)", "bin": sys.argv[2],
                  "wall_s_including_process_start": round(float(sys.argv[4]) - float(sys.argv[3]), 3),
                  "first_run_s": runs[0] if runs else None,
                  "warm_runs_s": warm,
                  "warm_median_s": round(statistics.median(warm), 3) if warm else None,
                  "rows_out": rows, "output": sys.argv[1]}))' "$OUT/ours.csv" "$LT" "$t0" "$t1" "$OUT/ours-warm.log")"
    set +e
    COMPARE_OURS="$("$PY" "$SPARK_DIR/compare.py" --json "$OUT/ours.csv" "$OUT/spark")"
    set -e
  else
    log "$LT has no 'sql' command: checking against the Python reference only"
  fi
  log "reference view (plain Python) and comparison"
  REF_REPORT="$("$PY" "$SPARK_DIR/reference_view.py" --master-dir "$MASTER" --out "$OUT/reference.csv")"
  set +e
  COMPARE="$("$PY" "$SPARK_DIR/compare.py" --json "$OUT/reference.csv" "$OUT/spark")"
  set -e
fi

"$PY" - "$POSTS" "$MACHINE" "$SPARK_REPORT" "$REF_REPORT" "$COMPARE" "$PYSPARK_VERSION" \
  "$RESULTS/$NAME.json" "$SPREAD" "$OURS_REPORT" "$COMPARE_OURS" <<'EOF'
import json, sys
posts, machine, spark, ref, cmp, pyspark, path, spread, ours, cmp_ours = sys.argv[1:]
cmp, cmp_ours = json.loads(cmp), json.loads(cmp_ours)
result = {
    "benchmark": "batch view on Spark (the thesis design's batch layer)",
    "posts": int(posts),
    "spread_hours": float(spread) if spread else None,
    "machine": json.loads(machine),
    "pyspark": pyspark,
    "spark": json.loads(spark),
    "ours": json.loads(ours),
    "equal_to_ours": None if cmp_ours is None else cmp_ours["equal"],
    "compare_ours": cmp_ours,
    "reference": json.loads(ref),
    "equal_to_reference": None if cmp is None else cmp["equal"],
    "compare": cmp,
}
text = json.dumps(result, indent=1, ensure_ascii=False)
open(path, "w", encoding="utf-8").write(text + "\n")
print(text)
EOF
log "wrote $RESULTS/$NAME.json"
if [[ -n "$CHECK" ]]; then
  if [[ "$COMPARE_OURS" != null ]]; then
    "$PY" -c 'import json,sys; sys.exit(0 if json.loads(sys.argv[1])["equal"] else 1)' "$COMPARE_OURS" \
      || die "the Spark view differs from ours (see compare_ours in the JSON)"
    log "the Spark view equals ours (lambda-trends sql)"
  fi
  "$PY" -c 'import json,sys; sys.exit(0 if json.loads(sys.argv[1])["equal"] else 1)' "$COMPARE" \
    || die "the Spark view differs from the reference (see compare in the JSON)"
  log "the Spark view equals the reference view"
fi
