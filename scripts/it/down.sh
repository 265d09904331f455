#!/usr/bin/env bash
# Stop the integration-test servers started by scripts/it/up.sh.
#
#   scripts/it/down.sh                    # stop all (zookeeper, kafka, cassandra)
#   scripts/it/down.sh kafka              # stop a subset
#   scripts/it/down.sh --clean [names]    # stop, then delete their state (config, data, logs)
#
# Stops by PID only (the pid files under $LT_IT_STATE/<name>/pid, checked to be our process):
# SIGTERM to the server's process group, a bounded wait (LT_IT_STOP_TIMEOUT, default 60 s;
# Kafka's controlled shutdown and Cassandra's drain take a few seconds), then SIGKILL.
# --clean keeps $LT_IT_STATE/startup-times.txt. The jar cache ($LT_IT_CACHE) is never touched.
set -euo pipefail
# shellcheck source=scripts/it/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

clean=0
servers=()
for a in "$@"; do
  case "$a" in
    -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    --clean) clean=1 ;;
    *) it_select_server "$a" ;;
  esac
done
((${#servers[@]})) || servers=("${ALL_SERVERS[@]}")

if [[ ! -d "$LT_IT_STATE" ]]; then
  it_log "nothing to stop ($LT_IT_STATE does not exist)"
  exit 0
fi
it_lock

# SIGTERM all first (they shut down in parallel), then wait for each.
declare -A pids=()
for s in "${servers[@]}"; do
  if pid="$(it_owned_pid "$s")"; then
    pids[$s]="$pid"
    it_log "$s: stopping PID $pid"
  else
    if [[ -f "$(it_pidfile "$s")" ]]; then
      it_log "$s: not running (stale pid file removed)"
      rm -f "$(it_pidfile "$s")"
    fi
  fi
done
t0="$EPOCHREALTIME"
for s in "${!pids[@]}"; do
  it_stop_pid "${pids[$s]}" "${LT_IT_STOP_TIMEOUT:-60}" &
done
wait
for s in "${!pids[@]}"; do
  rm -f "$(it_pidfile "$s")"
done
((${#pids[@]})) && it_log "stopped ${!pids[*]} in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')s"

if ((clean)); then
  for s in "${servers[@]}"; do
    if [[ -d "$LT_IT_STATE/$s" ]]; then
      rm -rf "${LT_IT_STATE:?}/$s"
      it_log "$s: state wiped ($LT_IT_STATE/$s)"
    fi
  done
fi

it_write_env
exit 0
