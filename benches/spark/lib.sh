# shellcheck shell=bash
# Shared by run.sh and run-streaming.sh: paths, the venv, the lambda-trends binary, datasets.
# Sourced, not run.

SPARK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SPARK_DIR/../.." && pwd)"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/lambda-trends"
# Datasets, Spark outputs and Ivy's jar cache live outside the repo.
BENCH_HOME="${LT_SPARK_BENCH_HOME:-$CACHE/spark-bench}"
RESULTS="$SPARK_DIR/results"
SPARK_MASTER="${LT_SPARK_MASTER:-local[2]}"

log() { echo "[spark-bench] $*" >&2; }
die() { log "error: $*"; exit 1; }

# The venv (setup.sh is idempotent and quick when it is already there).
setup_venv() {
  VENV="$("$SPARK_DIR/setup.sh" | tail -1)"
  PY="$VENV/bin/python"
  export PATH="$VENV/bin:$PATH" PYSPARK_PYTHON="$VENV/bin/python" PYSPARK_DRIVER_PYTHON="$VENV/bin/python"
  PYSPARK_VERSION="$("$PY" -c 'import pyspark; print(pyspark.__version__)')"
}

# spark-submit with the benchmark's fixed settings. In local mode the driver JVM is the executor:
# its locale is pinned because Spark's lower() uses Java's default-locale toLowerCase (a Turkish
# locale would lower 'I' to a dotless 'ı'; ours, Rust's to_lowercase, is locale-free).
spark_submit() {
  spark-submit --master "$SPARK_MASTER" \
    --conf spark.ui.enabled=false \
    --conf "spark.jars.ivy=$CACHE/spark-ivy" \
    --conf spark.driver.memory="${LT_SPARK_DRIVER_MEMORY:-2g}" \
    --driver-java-options "-Duser.language=en -Duser.country=US" \
    "$@"
}

# The lambda-trends binary: $LT_BIN, else the release build, else the debug build in the shared
# target dir. Waits up to a minute when it is missing (it may be being rebuilt).
find_lt() {
  local target="${CARGO_TARGET_DIR:-$CACHE/target}" i
  for i in $(seq 60); do
    if [[ -n "${LT_BIN:-}" ]]; then
      [[ -x "$LT_BIN" ]] && { LT="$LT_BIN"; return 0; }
    else
      for LT in "$target/release/lambda-trends" "$target/debug/lambda-trends"; do
        [[ -x "$LT" ]] && return 0
      done
    fi
    ((i == 1)) && log "waiting for the lambda-trends binary (being rebuilt?)"
    sleep 1
  done
  die "no lambda-trends binary (set LT_BIN, or build it: cargo build)"
}

# Runs the binary in a clean environment: no lambda-trends.toml from the working directory, no
# LT_* overrides from the caller's environment except what is passed as NAME=VALUE arguments
# before the command.
lt() {
  local envs=()
  while [[ $# -gt 0 && "$1" == *=* ]]; do envs+=("$1"); shift; done
  (cd "$BENCH_HOME" && exec env $(lt_unset_args) "${envs[@]}" RUST_LOG="${RUST_LOG:-warn}" "$LT" "$@")
}

# `-u NAME` for every LT_* variable in the environment.
lt_unset_args() {
  env | sed -n 's/^\(LT_[A-Za-z0-9_]*\)=.*/-u \1/p'
}

# `status --json` field of a data dir: log (sum of log end offsets) or master (master rows).
lt_status() { # <data-dir> <log|master> [NAME=VALUE...]
  local dir="$1" what="$2"; shift 2
  lt "$@" status --data-dir "$dir" --json 2>/dev/null | "${PY:-python3}" -c '
import json, sys
s = json.load(sys.stdin)
print(sum(s["log_end_offsets"].values()) if sys.argv[1] == "log" else s["master_rows"])' "$what"
}

INGEST_PID=""
stop_ingest() {
  if [[ -n "$INGEST_PID" ]] && kill -0 "$INGEST_PID" 2>/dev/null; then
    kill -TERM "$INGEST_PID" 2>/dev/null || true
    local i
    for i in $(seq 100); do kill -0 "$INGEST_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$INGEST_PID" 2>/dev/null && kill -KILL "$INGEST_PID" 2>/dev/null
    wait "$INGEST_PID" 2>/dev/null || true
  fi
  INGEST_PID=""
}

# Runs `lambda-trends ingest` on a data dir until the master dataset holds N rows, then stops it.
ingest_until() { # <data-dir> <N> [NAME=VALUE...]
  local dir="$1" n="$2"; shift 2
  local rows=0 i
  # One subshell that execs the binary, so $! is the binary's pid (a backgrounded function would
  # be a subshell of its own, and stopping it would leave the binary running).
  (cd "$BENCH_HOME" && exec env $(lt_unset_args) "$@" RUST_LOG="${RUST_LOG:-warn}" "$LT" ingest \
    --data-dir "$dir") >"$dir/ingest.log" 2>&1 &
  INGEST_PID=$!
  for i in $(seq 1200); do
    sleep 0.5
    rows="$(lt_status "$dir" master "$@" || echo 0)"
    [[ "$rows" -ge "$n" ]] && break
    kill -0 "$INGEST_PID" 2>/dev/null || { tail -20 "$dir/ingest.log" >&2; die "ingest exited early"; }
  done
  stop_ingest
  [[ "$rows" -ge "$n" ]] || die "ingest did not catch up in 10 minutes ($rows of $n rows)"
}

# A master dataset of N synthetic posts (embedded event log), generated once and reused:
# <BENCH_HOME>/posts-N/master. Sets DATA_DIR.
embedded_dataset() { # <N>
  local n="$1" dir="$BENCH_HOME/posts-$1"
  DATA_DIR="$dir"
  if [[ -f "$dir/.complete" && "$(<"$dir/.complete")" == "$n" ]]; then
    log "reusing the dataset in $dir ($n posts)"
    return 0
  fi
  find_lt
  log "generating $n synthetic posts into $dir with $LT (collect, then ingest)"
  rm -rf "$dir"; mkdir -p "$dir"
  lt collect --data-dir "$dir" --source synthetic --rate 0 --max-posts "$n" >"$dir/collect.log" 2>&1 \
    || { tail -20 "$dir/collect.log" >&2; die "collect failed"; }
  [[ "$(lt_status "$dir" log)" == "$n" ]] || die "the event log does not hold $n posts"
  ingest_until "$dir" "$n"
  echo "$n" >"$dir/.complete"
}

machine_json() {
  "${PY:-python3}" - "$REPO" "${LT:-}" <<'EOF'
import json, os, platform, subprocess, sys, time
def sh(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception:
        return None
cpu = None
try:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip(); break
except OSError:
    pass
mem = None
try:
    mem = int(open("/proc/meminfo").readline().split()[1]) // 1024
except Exception:
    pass
java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()
print(json.dumps({
    "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "git_commit": sh("git", "-C", sys.argv[1], "rev-parse", "--short", "HEAD"),
    "cpus": os.cpu_count(), "cpu_model": cpu, "mem_mib": mem,
    "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    "os": platform.platform(), "java": java[0] if java else None,
    "python": platform.python_version(),
    "lambda_trends_bin": sys.argv[2] or None,
}))
EOF
}

# The posts of the N-post dataset re-stamped evenly over H hours, as an X API v2 replay file
# (make_replay.py), made once. Sets REPLAY.
replay_file() { # <N> <H>
  local n="$1" h="$2"
  REPLAY="$BENCH_HOME/replay-$n-${h}h.jsonl"
  [[ -s "$REPLAY" && -f "$REPLAY.complete" ]] && return 0
  embedded_dataset "$n"
  log "re-stamping the $n posts over $h hours into $REPLAY"
  rm -f "$REPLAY.complete"
  "$PY" "$SPARK_DIR/make_replay.py" --master-dir "$BENCH_HOME/posts-$n/master" --hours "$h" \
    --out "$REPLAY" >&2
  touch "$REPLAY.complete"
}

# A master dataset of the N synthetic posts spread over H hours (replay_file, then
# `collect --file --rate 0` and `ingest`), made once: <BENCH_HOME>/posts-N-spread-Hh. Sets DATA_DIR.
spread_dataset() { # <N> <H>
  local n="$1" h="$2" dir="$BENCH_HOME/posts-$1-spread-$2h"
  if [[ -f "$dir/.complete" && "$(<"$dir/.complete")" == "$n" ]]; then
    log "reusing the dataset in $dir ($n posts over $h hours)"
    DATA_DIR="$dir"
    return 0
  fi
  replay_file "$n" "$h"
  find_lt
  log "replaying them into $dir with $LT (collect --file, then ingest)"
  rm -rf "$dir"; mkdir -p "$dir"
  lt collect --data-dir "$dir" --file "$REPLAY" --rate 0 >"$dir/collect.log" 2>&1 \
    || { tail -20 "$dir/collect.log" >&2; die "collect --file failed"; }
  [[ "$(lt_status "$dir" log)" == "$n" ]] || die "the event log does not hold $n posts"
  ingest_until "$dir" "$n"
  echo "$n" >"$dir/.complete"
  DATA_DIR="$dir"
}
