#!/usr/bin/env bash
# socket.io fan-out: lambda-trends' serving layer (socketioxide, inside `lambda-trends up`) against
# a Node socket.io 4 server broadcasting the same `trending` payload every 2 s, measured by one
# client harness (harness.mjs). Writes results.json and prints a markdown table.
#
#   benches/fanout/run.sh                       # N = 1000 10000 20000, 10 broadcasts each
#   benches/fanout/run.sh --clients "1000"      # or FANOUT_CLIENTS="1000"
#   benches/fanout/run.sh --smoke               # N = 50, 3 broadcasts: a pass/fail check for CI
#
# Flags (and environment): --clients LIST (FANOUT_CLIENTS), --broadcasts K (FANOUT_BROADCASTS),
# --servers "ours node" (FANOUT_SERVERS), --rate POSTS_PER_S for ours' synthetic source
# (FANOUT_RATE; default: the product default, 2000), --connect-rate PER_S (FANOUT_CONNECT_RATE,
# 1000), --workers auto|W (FANOUT_WORKERS), --out FILE (FANOUT_OUT, default results.json here;
# results-smoke.json with --smoke).
# The binary is $LT_BIN, else ${CARGO_TARGET_DIR:-~/.cache/lambda-trends/target}/release/
# lambda-trends, else debug/ (with a warning: debug numbers are not representative).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

clients="${FANOUT_CLIENTS:-1000 10000 20000}"
broadcasts="${FANOUT_BROADCASTS:-10}"
servers="${FANOUT_SERVERS:-ours node}"
rate="${FANOUT_RATE:-}"
connect_rate="${FANOUT_CONNECT_RATE:-1000}"
workers="${FANOUT_WORKERS:-auto}"
out="${FANOUT_OUT:-}"
smoke=0
interval_ms=2000
items=20

while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) smoke=1 ;;
    --clients) clients="$2"; shift ;;
    --broadcasts) broadcasts="$2"; shift ;;
    --servers) servers="$2"; shift ;;
    --rate) rate="$2"; shift ;;
    --connect-rate) connect_rate="$2"; shift ;;
    --workers) workers="$2"; shift ;;
    --out) out="$2"; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
if [ "$smoke" = 1 ]; then
  clients=50
  broadcasts=3
  out="${out:-$here/results-smoke.json}" # not the committed results.json
fi
out="${out:-$here/results.json}"

log() { printf '[fanout] %s\n' "$*" >&2; }

# One socket per client on each side: raise the open-file limit to the hard limit. It is per
# process: the server holds N sockets plus its own files, each harness worker its share.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
cores="$(nproc)"
log "machine: $cores cores, open-file limit $(ulimit -n) per process, load average $(cut -d' ' -f1-3 /proc/loadavg)"
log "clients and servers share these $cores cores: the delays include client-side processing"

if [ ! -d node_modules/socket.io ] || [ ! -d node_modules/socket.io-client ]; then
  log "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

# --- our binary ---------------------------------------------------------------------------------
target="${CARGO_TARGET_DIR:-$HOME/.cache/lambda-trends/target}"
profile=custom
if [ -n "${LT_BIN:-}" ]; then
  bin="$LT_BIN"
elif [ -x "$target/release/lambda-trends" ]; then
  bin="$target/release/lambda-trends"
  profile=release
else
  bin="$target/debug/lambda-trends"
  profile=debug
fi
need_ours=0
case " $servers " in *" ours "*) need_ours=1 ;; esac
if [ "$need_ours" = 1 ]; then
  # A build elsewhere may be replacing the binary at this moment: wait a little for it.
  for _ in $(seq 60); do [ -x "$bin" ] && break; sleep 1; done
  if [ ! -x "$bin" ]; then
    log "no lambda-trends binary at $bin (build it: cargo build --release, or set LT_BIN)"
    exit 1
  fi
  if [ "$profile" = debug ]; then
    log "WARNING: no release build in $target/release; using the DEBUG binary $bin."
    log "WARNING: debug numbers for lambda-trends are not representative (cargo build --release)."
  fi
fi

# --- process bookkeeping ------------------------------------------------------------------------
server_pid=""
feeder_pid=""
tmp="$(mktemp -d -t fanout.XXXXXX)"
stop_server() {
  if [ -n "$feeder_pid" ] && kill -0 "$feeder_pid" 2>/dev/null; then
    kill "$feeder_pid" 2>/dev/null || true
    wait "$feeder_pid" 2>/dev/null || true
  fi
  feeder_pid=""
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
}
cleanup() {
  stop_server
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

start_ours() { # port -> sets server_pid
  local port="$1" dir="$tmp/ours-$1"
  mkdir -p "$dir/data"
  local extra=()
  [ -n "$rate" ] && extra+=(--rate "$rate")
  # From the temp dir, so that no lambda-trends.toml of the caller's directory is picked up.
  # The pipeline (collector, speed layer, ingest) runs in a feeder process of its own (`up` on
  # another port, no clients), and the measured server is `serve` alone on the same data, as
  # operators deploy it: its RSS and CPU are serving's, not the pipeline's.
  local feeder_port
  feeder_port="$(free_port)"
  (
    cd "$dir"
    exec "$bin" up --listen "127.0.0.1:$feeder_port" --data-dir "$dir/data" --recompute-every 0 "${extra[@]}"
  ) >"$dir/feeder.log" 2>&1 &
  feeder_pid=$!
  for _ in $(seq 120); do
    curl -sf "http://127.0.0.1:$feeder_port/readyz" >/dev/null 2>&1 && break
    kill -0 "$feeder_pid" 2>/dev/null || { log "the feeder exited; its log:"; tail -20 "$dir/feeder.log" >&2; return 1; }
    sleep 0.5
  done
  (
    cd "$dir"
    export LT__SERVING__PUSH_INTERVAL_MS="$interval_ms" LT__SERVING__TRENDING_LIMIT="$items"
    exec "$bin" serve --listen "127.0.0.1:$port" --data-dir "$dir/data"
  ) >"$dir/server.log" 2>&1 &
  server_pid=$!
  # Ready, and the trending list full (the synthetic source needs a few seconds for 20 hashtags).
  local n=0
  for _ in $(seq 120); do
    if ! kill -0 "$server_pid" 2>/dev/null; then
      log "lambda-trends exited; its log:"; tail -20 "$dir/server.log" >&2; return 1
    fi
    if curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then
      n="$(curl -sf "http://127.0.0.1:$port/api/v1/trending?limit=$items" 2>/dev/null \
        | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{console.log(JSON.parse(s).hashtags.length)}catch{console.log(0)}})')"
      [ "${n:-0}" -ge "$items" ] && return 0
    fi
    sleep 0.5
  done
  if curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then
    log "lambda-trends is ready but lists only ${n:-0} of $items hashtags; measuring anyway"
    return 0
  fi
  log "lambda-trends did not become ready in 60 s; its log:"; tail -20 "$dir/server.log" >&2
  return 1
}

start_node() { # port -> sets server_pid
  local port="$1" logf="$tmp/node-$1.log"
  node node-server.mjs --port "$port" --interval-ms "$interval_ms" --items "$items" >"$logf" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do
    grep -q '^listening' "$logf" 2>/dev/null && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  log "the Node server did not start; its log:"; cat "$logf" >&2
  return 1
}

# --- runs ---------------------------------------------------------------------------------------
lines="$tmp/runs.jsonl"
: >"$lines"
status=0
for n in $clients; do
  for s in $servers; do
    port="$(free_port)"
    log "N=$n: $s on port $port"
    case "$s" in
      ours) start_ours "$port" || { status=1; stop_server; continue; } ;;
      node) start_node "$port" || { status=1; stop_server; continue; } ;;
      *) log "unknown server $s (ours, node)"; exit 2 ;;
    esac
    if ! node harness.mjs --url "http://127.0.0.1:$port" --clients "$n" --broadcasts "$broadcasts" \
      --server-pid "$server_pid" --label "$s" --workers "$workers" --connect-rate "$connect_rate" \
      --interval-ms "$interval_ms" $([ "$smoke" = 1 ] && echo "--idle-secs 1") >>"$lines"; then
      log "the harness failed for $s at N=$n"
      status=1
    fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
      log "WARNING: the $s server was no longer running at the end of the run"
      status=1
    fi
    stop_server
    sleep 2 # let the closed connections drain
  done
done

node report.mjs --assemble "$lines" --out "$out" --profile "$profile" --bin "${bin:-}" \
  --interval-ms "$interval_ms" --items "$items" --rate "${rate:-default}" --smoke "$smoke" || status=1
log "results: $out"
exit "$status"
