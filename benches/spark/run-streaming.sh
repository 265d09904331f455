#!/usr/bin/env bash
# The Spark side of the side-by-side speed-layer benchmark (see README.md beside this file).
#
#   benches/spark/run-streaming.sh [--posts N] [--smoke] [--sizes "1000 10000 30000 50000"]
#                                  [--spread-hours H] [--shuffle-partitions P] [--no-check]
#                                  [--keep-kafka]
#
#   --posts N      posts in the topic (default 200000); --smoke is --posts 20000 --sizes 1000
#   --spread-hours H   the synthetic posts re-stamped over H hours and replayed (see run.sh)
#   --sizes LIST   micro-batch caps (maxOffsetsPerTrigger) to run, one streaming query each
#   --shuffle-partitions P   spark.sql.shuffle.partitions (default 4; Spark's default is 200,
#                  and AQE, which would coalesce them, is off in streaming queries)
#   --no-check     skip the reference view and the comparisons
#   --keep-kafka   leave a Kafka this script started running
#
# 1. Kafka: $LT_IT_KAFKA, else the one in .dev/it/env.sh if it answers, else starts one with
#    scripts/it/up.sh kafka (and stops it at the end with scripts/it/down.sh kafka).
# 2. Topic <ns>.posts (ns = ${LT_SPARK_NAMESPACE:-ltspark-N[-sH]}): filled once with N synthetic
#    posts by `lambda-trends collect` (LT__BACKENDS__EVENT_LOG=kafka://<bootstrap>/<ns>; with
#    --spread-hours, `collect --file` of the re-stamped replay file), reused later.
#    `lambda-trends ingest` copies the same records into a master dataset beside it, from which
#    `lambda-trends sql` (ours, when the binary has it) and reference_view.py (plain Python)
#    compute the exact counts to check each Spark run against.
# 3. For each size: streaming.py (spark-submit --packages spark-sql-kafka-0-10 and spark-avro,
#    the pyspark version; from Maven Central, cached in ~/.cache/lambda-trends/spark-ivy),
#    from the earliest offset to the end of the topic, and compare.py on its merged counts.
# 4. Prints a JSON summary and writes benches/spark/results/streaming-N[-spread-Hh].json (every batch's
#    progress event included).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

POSTS=200000 SIZES="1000 10000 30000 50000" SHUFFLE=4 CHECK=1 KEEP_KAFKA="" SPREAD=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --posts) POSTS="$2"; shift 2 ;;
    --smoke) POSTS=20000 SIZES=1000; shift ;;
    --sizes) SIZES="$2"; shift 2 ;;
    --spread-hours) SPREAD="$2"; shift 2 ;;
    --shuffle-partitions) SHUFFLE="$2"; shift 2 ;;
    --no-check) CHECK=""; shift ;;
    --keep-kafka) KEEP_KAFKA=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
[[ "$POSTS" =~ ^[1-9][0-9]*$ ]] || die "--posts takes a positive number"
[[ -z "$SPREAD" || "$SPREAD" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--spread-hours takes a number of hours"

STARTED_KAFKA=""
cleanup() {
  stop_ingest
  if [[ -n "$STARTED_KAFKA" && -z "$KEEP_KAFKA" ]]; then
    log "stopping the Kafka this script started"
    "$REPO/scripts/it/down.sh" kafka >&2 || true
  fi
}
trap cleanup EXIT

answers() { # host:port
  local host="${1%:*}" port="${1##*:}"
  timeout 5 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$host" "$port" 2>/dev/null
}

mkdir -p "$BENCH_HOME" "$RESULTS"
setup_venv
find_lt

# 1. Kafka.
BOOT="${LT_IT_KAFKA:-}"
if [[ -z "$BOOT" && -f "$REPO/.dev/it/env.sh" ]]; then
  BOOT="$(. "$REPO/.dev/it/env.sh" && echo "${LT_IT_KAFKA:-}")"
fi
if [[ -z "$BOOT" ]] || ! answers "$BOOT"; then
  log "no Kafka answering${BOOT:+ at $BOOT}: starting one with scripts/it/up.sh kafka"
  "$REPO/scripts/it/up.sh" kafka >&2
  STARTED_KAFKA=1
  BOOT="$(. "$REPO/.dev/it/env.sh" && echo "$LT_IT_KAFKA")"
  answers "$BOOT" || die "Kafka does not answer at $BOOT"
fi
log "Kafka at $BOOT"

# 2. The topic, and the same records as a master dataset for the reference counts.
NAME="streaming-$POSTS"
NS="ltspark-$POSTS"
if [[ -n "$SPREAD" ]]; then
  NAME="streaming-$POSTS-spread-${SPREAD}h"
  NS="ltspark-$POSTS-s${SPREAD//./_}"
  replay_file "$POSTS" "$SPREAD"
fi
NS="${LT_SPARK_NAMESPACE:-$NS}"
TOPIC="$NS.posts"
DIR="$BENCH_HOME/kafka-$NS"
EVLOG="LT__BACKENDS__EVENT_LOG=kafka://$BOOT/$NS"
mkdir -p "$DIR"
have="$(lt_status "$DIR" log "$EVLOG" || echo 0)"
if [[ "$have" == 0 ]]; then
  log "writing $POSTS synthetic posts to topic $TOPIC with $LT"
  rm -rf "$DIR"; mkdir -p "$DIR"
  if [[ -n "$SPREAD" ]]; then
    src=(--file "$REPLAY" --rate 0)
  else
    src=(--source synthetic --rate 0 --max-posts "$POSTS")
  fi
  lt "$EVLOG" collect --data-dir "$DIR" "${src[@]}" \
    >"$DIR/collect.log" 2>&1 || { tail -20 "$DIR/collect.log" >&2; die "collect failed"; }
  have="$(lt_status "$DIR" log "$EVLOG")"
elif [[ "$have" != "$POSTS" ]]; then
  die "topic $TOPIC holds $have records, not $POSTS: set LT_SPARK_NAMESPACE to another namespace"
else
  log "reusing topic $TOPIC ($POSTS records)"
fi
[[ "$have" == "$POSTS" ]] || die "topic $TOPIC holds $have records after collect, not $POSTS"

OUT="$BENCH_HOME/out/$NAME"
rm -rf "$OUT"; mkdir -p "$OUT"
if [[ -n "$CHECK" ]]; then
  if [[ "$(lt_status "$DIR" master "$EVLOG" || echo 0)" -lt "$POSTS" ]]; then
    log "ingesting the topic into $DIR/master (for the reference counts)"
    ingest_until "$DIR" "$POSTS" "$EVLOG"
  fi
  "$PY" "$SPARK_DIR/reference_view.py" --master-dir "$DIR/master" --out "$OUT/reference.csv" >"$OUT/reference.json"
  # Ours over the same records, when the binary has `sql` (see run.sh).
  if lt sql --help >/dev/null 2>&1; then
    lt "$EVLOG" sql --data-dir "$DIR" --format csv \
      'SELECT hashtag, slot, count(*) AS count FROM hashtags GROUP BY hashtag, slot' \
      >"$OUT/ours.csv" 2>"$OUT/ours.log" || { tail -20 "$OUT/ours.log" >&2; die "lambda-trends sql failed"; }
  fi
fi

# 3. One streaming query per batch size.
major="${PYSPARK_VERSION%%.*}"
scala=2.12; ((major >= 4)) && scala=2.13
PACKAGES="org.apache.spark:spark-sql-kafka-0-10_$scala:$PYSPARK_VERSION,org.apache.spark:spark-avro_$scala:$PYSPARK_VERSION"
MACHINE="$(machine_json)"
for size in $SIZES; do
  log "streaming: $POSTS posts from $TOPIC, maxOffsetsPerTrigger $size, $SPARK_MASTER, shuffle partitions $SHUFFLE"
  spark_submit --packages "$PACKAGES" "$SPARK_DIR/streaming.py" \
    --bootstrap "$BOOT" --topic "$TOPIC" --schema "$REPO/schemas/avro/post.avsc" \
    --max-offsets "$size" --expect "$POSTS" --shuffle-partitions "$SHUFFLE" \
    --out "$OUT/counts-$size.csv" --report "$OUT/stream-$size.json" \
    >"$OUT/stream-$size.stdout" 2>"$OUT/stream-$size.log" \
    || { grep -v ' INFO ' "$OUT/stream-$size.log" | tail -30 >&2; die "the streaming job failed (log: $OUT/stream-$size.log)"; }
  if [[ -n "$CHECK" ]]; then
    set +e
    "$PY" "$SPARK_DIR/compare.py" --json "$OUT/reference.csv" "$OUT/counts-$size.csv" >"$OUT/compare-$size.json"
    [[ -f "$OUT/ours.csv" ]] \
      && "$PY" "$SPARK_DIR/compare.py" --json "$OUT/ours.csv" "$OUT/counts-$size.csv" >"$OUT/compare-ours-$size.json"
    set -e
  fi
done

# 4. The summary.
rc=0
# shellcheck disable=SC2086
"$PY" - "$POSTS" "$MACHINE" "$PACKAGES" "$OUT" "$RESULTS/$NAME.json" "$TOPIC" "$SPREAD" $SIZES <<'EOF' || rc=$?
import json, os, sys
posts, machine, packages, out, path, topic, spread, *sizes = sys.argv[1:]
runs, equal = [], True
for size in sizes:
    rep = json.load(open(os.path.join(out, f"stream-{size}.json")))
    cmp_path = os.path.join(out, f"compare-{size}.json")
    cmp = json.load(open(cmp_path)) if os.path.exists(cmp_path) else None
    if cmp is not None:
        equal = equal and cmp["equal"]
    cmp_ours_path = os.path.join(out, f"compare-ours-{size}.json")
    cmp_ours = json.load(open(cmp_ours_path)) if os.path.exists(cmp_ours_path) else None
    if cmp_ours is not None:
        equal = equal and cmp_ours["equal"]
    runs.append({"summary": rep["summary"], "equal_to_reference": None if cmp is None else cmp["equal"],
                 "compare": cmp, "equal_to_ours": None if cmp_ours is None else cmp_ours["equal"],
                 "compare_ours": cmp_ours, "session_startup_s": rep["session_startup_s"],
                 "shuffle_partitions": rep["shuffle_partitions"], "per_batch": rep["per_batch"]})
ref = os.path.join(out, "reference.json")
result = {
    "benchmark": "speed layer on Spark Structured Streaming (the thesis design's speed layer)",
    "posts": int(posts), "spread_hours": float(spread) if spread else None, "topic": topic, "machine": json.loads(machine),
    "spark_version": rep["spark_version"], "master": rep["master"], "packages": packages,
    "reference": json.load(open(ref)) if os.path.exists(ref) else None,
    "runs": runs,
}
open(path, "w", encoding="utf-8").write(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
table = [{"max_offsets_per_trigger": int(s), **{k: r["summary"][k] for k in (
    "batches", "steady_batches", "steady_records_per_s", "steady_batch_ms_median",
    "steady_batch_ms_p95", "records_per_s_query_wall")},
    "first_batch_ms": (r["summary"]["first_batch"] or {}).get("trigger_ms"),
    "equal_to_reference": r["equal_to_reference"], "equal_to_ours": r["equal_to_ours"]}
    for s, r in zip(sizes, runs)]
print(json.dumps({"posts": int(posts), "results": path, "runs": table}, indent=1))
sys.exit(0 if equal else 3)
EOF
log "wrote $RESULTS/$NAME.json"
((rc == 0)) || die "a streaming run's counts differ from ours or the reference (see the JSON)"
