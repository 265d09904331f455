#!/usr/bin/env bash
# An S3-compatible server for the integration tests: moto in server mode, from PyPI (no Docker).
#
#   scripts/it/s3.sh start     # install (first run, into a venv in the cache) and start it on
#                              # 127.0.0.1:$LT_IT_S3_PORT (default 5055), create the bucket
#                              # `lambda-trends-it`, write .dev/it/s3.env.sh (exports LT_IT_S3)
#   scripts/it/s3.sh stop
#
# Environment knobs: LT_IT_S3_PORT, LT_IT_CACHE (default ~/.cache/lambda-trends/it),
# LT_IT_STATE (default <repo>/.dev/it), LT_IT_MOTO_VERSION (default below).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache="${LT_IT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lambda-trends/it}"
state="${LT_IT_STATE:-$root/.dev/it}"
port="${LT_IT_S3_PORT:-5055}"
version="${LT_IT_MOTO_VERSION:-5.1.22}"
venv="$cache/moto-$version"
dir="$state/s3"
log() { echo "s3: $*"; }

stop() {
  if [[ -f "$dir/pid" ]]; then
    local pid
    pid="$(<"$dir/pid")"
    # Only our process: its command line names our venv.
    if kill -0 "$pid" 2>/dev/null && grep -qF "$venv" "/proc/$pid/cmdline" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      log "stopped (pid $pid)"
    fi
    rm -f "$dir/pid"
  fi
  rm -f "$state/s3.env.sh"
}

start() {
  mkdir -p "$dir" "$cache"
  if [[ ! -x "$venv/bin/moto_server" ]]; then
    log "installing moto[server]==$version from PyPI into $venv (first run only)..."
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "moto[server]==$version" >"$cache/moto-install.log" 2>&1 || {
      echo "s3: pip install failed:" >&2; tail -20 "$cache/moto-install.log" >&2; exit 1; }
  fi
  stop
  setsid "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$dir/server.log" 2>&1 < /dev/null &
  echo $! >"$dir/pid"
  local url="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    if curl -fsS -o /dev/null "$url/moto-api/" 2>/dev/null; then break; fi
    if ! kill -0 "$(<"$dir/pid")" 2>/dev/null; then
      echo "s3: moto exited:" >&2; tail -20 "$dir/server.log" >&2; exit 1
    fi
    sleep 0.2
  done
  curl -fsS -o /dev/null "$url/moto-api/" || { echo "s3: moto did not answer on $url" >&2; exit 1; }
  curl -fsS -o /dev/null -X PUT "$url/lambda-trends-it" || { echo "s3: cannot create the bucket" >&2; exit 1; }
  echo "export LT_IT_S3=$url" >"$state/s3.env.sh"
  log "moto $version on $url, bucket lambda-trends-it"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
