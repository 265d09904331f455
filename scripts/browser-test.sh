#!/usr/bin/env bash
# Starts `lambda-trends up` on a fresh data directory and a free port, waits until it serves
# trending hashtags, runs the dashboard's browser test against it, and stops it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$LT_ROOT"
cargo build --bin lambda-trends
work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
url="http://127.0.0.1:$port"
"$CARGO_TARGET_DIR/debug/lambda-trends" --data-dir "$work/data" up --listen "127.0.0.1:$port" >"$work/up.log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 1 120); do
  if curl -fsS "$url/api/v1/trending" 2>/dev/null | grep -q '"count"'; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then echo "lambda-trends up exited:"; cat "$work/up.log"; exit 1; fi
  sleep 0.5
done
curl -fsS "$url/api/v1/trending" | grep -q '"count"' || { echo "no trending hashtags after 60 s:"; tail -50 "$work/up.log"; exit 1; }
export LT_URL="$url/" LT_ARTIFACTS="${LT_ARTIFACTS:-$work}"
if ! (cd dashboard-web && npm run --silent test:browser); then
  echo "browser test failed; server log:"; tail -50 "$work/up.log"; exit 1
fi
echo "browser test: screenshots in $LT_ARTIFACTS"
