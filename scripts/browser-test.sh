#!/usr/bin/env bash
# Starts `lambda-trends up` (embedded backends, synthetic posts) on a fresh data directory and a
# free port, a second serving replica (`lambda-trends serve`, same data directory, another free
# port) and a third one with a read token (LT__SERVING__READ_TOKEN), waits until they serve
# trending hashtags, then runs against them
#   - the dashboard's browser test (npm run test:browser: playwright-core + /usr/bin/chromium),
#   - the socket.io fan-out test (npm run test:fanout: hundreds of socket.io clients),
#   - the replicas test (npm run test:replicas: two replicas, no sticky sessions),
#   - the read-token test (npm run test:access: the token form and #access_token= links),
# and stops them.
#
# Env: LT_BIN      the lambda-trends binary (default: cargo build, then $CARGO_TARGET_DIR/debug/lambda-trends)
#      LT_ARTIFACTS where screenshots and the server log are kept (default $LT_ROOT/.dev/artifacts)
#      CHROMIUM_PATH (default /usr/bin/chromium; scripts/install-browser.sh installs it)
# The tests get LT_URL (the `up`), LT_URL_2 (the second replica), LT_URL_TOKEN and LT_READ_TOKEN
# (the third replica and its token), LT_BIN, LT_DATA_DIR (for `recompute` while the page is open)
# and LT_ARTIFACTS.
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
rm -f "$LT_ARTIFACTS"/dashboard.png "$LT_ARTIFACTS"/dashboard-narrow.png "$LT_ARTIFACTS"/up.log "$LT_ARTIFACTS"/serve.log \
  "$LT_ARTIFACTS"/dashboard-token.png "$LT_ARTIFACTS"/dashboard-token-narrow.png "$LT_ARTIFACTS"/serve-token.log

# Hundreds of sockets in the fan-out test: raise the soft open-file limit as far as allowed.
hard="$(ulimit -Hn)"
if [ "$hard" = unlimited ] || [ "$hard" -gt 8192 ]; then ulimit -n 8192 2>/dev/null || true; else ulimit -n "$hard" 2>/dev/null || true; fi
echo "browser-test: open-file limit $(ulimit -n)"

work="$(mktemp -d)"
LT_DATA_DIR="$work/data"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port="$(free_port)"
url="http://127.0.0.1:$port"
# No periodic recompute: the test flips the pair itself, at a known moment.
LT__RECOMPUTE__EVERY_MINUTES=0 "$LT_BIN" --data-dir "$LT_DATA_DIR" up --listen "127.0.0.1:$port" >"$work/up.log" 2>&1 &
pid=$!
pid2=""
pid3=""
cleanup() {
  for p in "$pid3" "$pid2"; do
    if [ -n "$p" ]; then
      kill "$p" 2>/dev/null || true
      wait "$p" 2>/dev/null || true
    fi
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  cp "$work/up.log" "$LT_ARTIFACTS/up.log" 2>/dev/null || true
  cp "$work/serve.log" "$LT_ARTIFACTS/serve.log" 2>/dev/null || true
  cp "$work/serve-token.log" "$LT_ARTIFACTS/serve-token.log" 2>/dev/null || true
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

# A second serving replica on the same data directory (the embedded backends allow several
# processes; it sees the `up`'s writes and flips by polling the store).
port2="$(free_port)"
while [ "$port2" = "$port" ]; do port2="$(free_port)"; done
url2="http://127.0.0.1:$port2"
"$LT_BIN" --data-dir "$LT_DATA_DIR" serve --listen "127.0.0.1:$port2" >"$work/serve.log" 2>&1 &
pid2=$!
for _ in $(seq 1 120); do
  if curl -fsS "$url2/api/v1/trending" 2>/dev/null | grep -q '"count"'; then break; fi
  if ! kill -0 "$pid2" 2>/dev/null; then echo "lambda-trends serve exited:"; cat "$work/serve.log"; exit 1; fi
  sleep 0.5
done
curl -fsS "$url2/api/v1/trending" | grep -q '"count"' || { echo "the second replica serves no trending hashtags after 60 s:"; tail -50 "$work/serve.log"; exit 1; }
echo "browser-test: lambda-trends serve (second replica) at $url2 ($((SECONDS - t0)) s)"

# A third replica that needs a read token (serving.read-token), for the dashboard's token form.
LT_READ_TOKEN="$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')"
port3="$(free_port)"
while [ "$port3" = "$port" ] || [ "$port3" = "$port2" ]; do port3="$(free_port)"; done
url3="http://127.0.0.1:$port3"
LT__SERVING__READ_TOKEN="$LT_READ_TOKEN" "$LT_BIN" --data-dir "$LT_DATA_DIR" serve --listen "127.0.0.1:$port3" >"$work/serve-token.log" 2>&1 &
pid3=$!
for _ in $(seq 1 120); do
  if curl -fsS -H "Authorization: Bearer $LT_READ_TOKEN" "$url3/api/v1/trending" 2>/dev/null | grep -q '"count"'; then break; fi
  if ! kill -0 "$pid3" 2>/dev/null; then echo "lambda-trends serve (read token) exited:"; cat "$work/serve-token.log"; exit 1; fi
  sleep 0.5
done
curl -fsS -H "Authorization: Bearer $LT_READ_TOKEN" "$url3/api/v1/trending" | grep -q '"count"' || { echo "the read-token replica serves no trending hashtags after 60 s:"; tail -50 "$work/serve-token.log"; exit 1; }
code="$(curl -s -o /dev/null -w '%{http_code}' "$url3/api/v1/trending")"
[ "$code" = 401 ] || { echo "the read-token replica answered $code without the token, not 401" >&2; exit 1; }
echo "browser-test: lambda-trends serve (read token) at $url3 ($((SECONDS - t0)) s)"

export LT_URL="$url/" LT_URL_2="$url2/" LT_URL_TOKEN="$url3/" LT_READ_TOKEN LT_BIN LT_DATA_DIR LT_ARTIFACTS CHROMIUM_PATH="$chromium"
failed=()
t1=$SECONDS
(cd dashboard-web && npm run --silent test:browser) || failed+=(test:browser)
echo "browser-test: test:browser took $((SECONDS - t1)) s"
t1=$SECONDS
(cd dashboard-web && npm run --silent test:fanout) || failed+=(test:fanout)
echo "browser-test: test:fanout took $((SECONDS - t1)) s"
t1=$SECONDS
(cd dashboard-web && npm run --silent test:replicas) || failed+=(test:replicas)
echo "browser-test: test:replicas took $((SECONDS - t1)) s"
t1=$SECONDS
(cd dashboard-web && npm run --silent test:access) || failed+=(test:access)
echo "browser-test: test:access took $((SECONDS - t1)) s"

echo "browser-test: artifacts (screenshots, server logs) in $LT_ARTIFACTS"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "browser-test: FAILED: ${failed[*]}; server log:"
  tail -50 "$work/up.log"
  echo "browser-test: second replica's log:"
  tail -20 "$work/serve.log"
  echo "browser-test: read-token replica's log:"
  tail -20 "$work/serve-token.log"
  exit 1
fi
echo "browser-test: passed in $((SECONDS - t0)) s"
