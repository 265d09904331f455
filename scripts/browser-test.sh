#!/usr/bin/env bash
# Starts `lambda-trends up` (embedded backends, synthetic posts) on a fresh data directory and a
# free port, waits until it serves trending hashtags, then runs against it
#   - the dashboard's browser test (npm run test:browser: playwright-core + /usr/bin/chromium),
#   - the socket.io fan-out test (npm run test:fanout: hundreds of socket.io clients),
# and stops it.
#
# Env: LT_BIN      the lambda-trends binary (default: cargo build, then $CARGO_TARGET_DIR/debug/lambda-trends)
#      LT_ARTIFACTS where screenshots and the server log are kept (default $LT_ROOT/.dev/artifacts)
#      CHROMIUM_PATH (default /usr/bin/chromium; scripts/install-browser.sh installs it)
# The tests get LT_URL, LT_BIN, LT_DATA_DIR (for `recompute` while the page is open) and LT_ARTIFACTS.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$LT_ROOT"
t0=$SECONDS

if [ -z "${LT_BIN:-}" ]; then
  cargo build --bin lambda-trends
  LT_BIN="$CARGO_TARGET_DIR/debug/lambda-trends"
fi
[ -x "$LT_BIN" ] || { echo "browser-test: no lambda-trends binary at $LT_BIN" >&2; exit 1; }
chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
[ -x "$chromium" ] || { echo "browser-test: no chromium at $chromium (run scripts/install-browser.sh)" >&2; exit 1; }
scripts/build-dashboard.sh # the server serves dashboard-web/dist

LT_ARTIFACTS="${LT_ARTIFACTS:-$LT_ROOT/.dev/artifacts}"
mkdir -p "$LT_ARTIFACTS"
rm -f "$LT_ARTIFACTS"/dashboard.png "$LT_ARTIFACTS"/dashboard-narrow.png "$LT_ARTIFACTS"/up.log

# Hundreds of sockets in the fan-out test: raise the soft open-file limit as far as allowed.
hard="$(ulimit -Hn)"
if [ "$hard" = unlimited ] || [ "$hard" -gt 8192 ]; then ulimit -n 8192 2>/dev/null || true; else ulimit -n "$hard" 2>/dev/null || true; fi
echo "browser-test: open-file limit $(ulimit -n)"

work="$(mktemp -d)"
LT_DATA_DIR="$work/data"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
url="http://127.0.0.1:$port"
# No periodic recompute: the test flips the pair itself, at a known moment.
LT__RECOMPUTE__EVERY_MINUTES=0 "$LT_BIN" --data-dir "$LT_DATA_DIR" up --listen "127.0.0.1:$port" >"$work/up.log" 2>&1 &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  cp "$work/up.log" "$LT_ARTIFACTS/up.log" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 1 120); do
  if curl -fsS "$url/api/v1/trending" 2>/dev/null | grep -q '"count"'; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then echo "lambda-trends up exited:"; cat "$work/up.log"; exit 1; fi
  sleep 0.5
done
curl -fsS "$url/api/v1/trending" | grep -q '"count"' || { echo "no trending hashtags after 60 s:"; tail -50 "$work/up.log"; exit 1; }
echo "browser-test: lambda-trends up at $url ($((SECONDS - t0)) s)"

export LT_URL="$url/" LT_BIN LT_DATA_DIR LT_ARTIFACTS CHROMIUM_PATH="$chromium"
failed=()
t1=$SECONDS
(cd dashboard-web && npm run --silent test:browser) || failed+=(test:browser)
echo "browser-test: test:browser took $((SECONDS - t1)) s"
t1=$SECONDS
(cd dashboard-web && npm run --silent test:fanout) || failed+=(test:fanout)
echo "browser-test: test:fanout took $((SECONDS - t1)) s"

echo "browser-test: artifacts (screenshots, server log) in $LT_ARTIFACTS"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "browser-test: FAILED: ${failed[*]}; server log:"
  tail -50 "$work/up.log"
  exit 1
fi
echo "browser-test: passed in $((SECONDS - t0)) s"
