#!/usr/bin/env bash
# Smoke-check the servers started by scripts/it/up.sh with real client actions, using only the
# servers' own jars from the cache (Java source launcher: no build, no venv, no extra downloads):
#   zookeeper: create / read / conditional set / delete a znode
#   kafka:     create a topic (Admin API), produce one record (acks=all), consume it back, delete the topic
#   cassandra: keyspace + counter table, UPDATE n = n + ?, a 501-statement COUNTER BATCH, read back
#
#   scripts/it/smoke.sh                 # every server listed in $LT_IT_STATE/env (i.e. running)
#   scripts/it/smoke.sh kafka           # a subset
# Ends with the line "N passed, N failed"; exits non-zero if any check fails.
set -euo pipefail
# shellcheck source=scripts/it/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

servers=()
for a in "$@"; do
  case "$a" in
    -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) it_valid_server "$a" || { it_err "unknown server '$a' (known: ${ALL_SERVERS[*]})"; exit 2; }; servers+=("$a") ;;
  esac
done

envf="$LT_IT_STATE/env"
addr_of() { # from $LT_IT_STATE/env
  local var
  case "$1" in zookeeper) var=LT_IT_ZK ;; kafka) var=LT_IT_KAFKA ;; cassandra) var=LT_IT_CASSANDRA ;; esac
  sed -n "s/^$var=//p" "$envf" 2>/dev/null | head -1
}
if ((${#servers[@]} == 0)); then
  for s in "${ALL_SERVERS[@]}"; do [[ -n "$(addr_of "$s")" ]] && servers+=("$s"); done
  ((${#servers[@]})) || { it_err "no running servers in $envf: run scripts/it/up.sh first"; exit 1; }
fi

JAVA="${LT_IT_JAVA:-java}"
smoke_file() { case "$1" in zookeeper) echo SmokeZooKeeper.java ;; kafka) echo SmokeKafka.java ;; cassandra) echo SmokeCassandra.java ;; esac; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# one JVM per server, in parallel (each compiles its Smoke*.java in memory: ~1-2 s)
for s in "${servers[@]}"; do
  addr="$(addr_of "$s")"
  if [[ -z "$addr" ]]; then
    echo "smoke $s: FAILED: not running (no entry in $envf)" >"$tmp/$s.out"
    echo 1 >"$tmp/$s.rc"
    continue
  fi
  (
    rc=0
    timeout 120 "$JAVA" -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
      -Dlogback.configurationFile="$IT_DIR/smoke-logback.xml" \
      -Dlog4j2.configurationFile="$IT_DIR/smoke-log4j2.properties" \
      -cp "$LT_IT_CACHE/$s/lib/*" "$IT_DIR/$(smoke_file "$s")" "$addr" >"$tmp/$s.out" 2>"$tmp/$s.err" || rc=$?
    echo "$rc" >"$tmp/$s.rc"
  ) &
done
wait
passed=0
failed=0
for s in "${servers[@]}"; do
  cat "$tmp/$s.out"
  if [[ "$(cat "$tmp/$s.rc")" == 0 ]]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    [[ -s "$tmp/$s.err" ]] && tail -n 30 "$tmp/$s.err"
  fi
done
echo "$passed passed, $failed failed"
((failed == 0))
