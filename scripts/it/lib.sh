# shellcheck shell=bash
# Shared helpers for scripts/it/up.sh and scripts/it/down.sh (sourced, not run).
#
# Layout:
#   dev/servers/<name>/           checked-in poms and config templates
#   $LT_IT_CACHE/<name>/lib/      jars resolved from Maven Central (default ~/.cache/lambda-trends/it)
#   $LT_IT_STATE/<name>/          generated config, data/, logs/, pid, run.sh (default <repo>/.dev/it)
#   $LT_IT_STATE/env, env.sh      addresses of the running servers
#   $LT_IT_STATE/startup-times.txt  one line per install / start, appended

IT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LT_ROOT="$(cd "$IT_DIR/../.." && pwd)"
# shellcheck disable=SC2034 # used by up.sh
SERVERS_SRC="$LT_ROOT/dev/servers"
# absolute paths: they end up in run.sh, in the JVM command lines and in the pid ownership check
LT_IT_CACHE="$(realpath -m "${LT_IT_CACHE:-$HOME/.cache/lambda-trends/it}")"
LT_IT_STATE="$(realpath -m "${LT_IT_STATE:-$LT_ROOT/.dev/it}")"
IT_HOST=127.0.0.1
ALL_SERVERS=(zookeeper kafka cassandra)
# Ports (the defaults are the standard ones; override only to dodge a clash on a shared machine).
IT_PORT_ZK="${LT_IT_ZK_PORT:-2181}"
IT_PORT_KAFKA="${LT_IT_KAFKA_PORT:-9092}"
IT_PORT_KAFKA_CONTROLLER="${LT_IT_KAFKA_CONTROLLER_PORT:-9093}"
# Kafka's second client listener: SASL_SSL (TLS with a test CA, SCRAM-SHA-512 user below).
IT_PORT_KAFKA_SASL_SSL="${LT_IT_KAFKA_SASL_SSL_PORT:-9094}"
# shellcheck disable=SC2034 # used by up.sh
IT_KAFKA_SCRAM_USER=lambda-trends-it
# shellcheck disable=SC2034 # used by up.sh
IT_KAFKA_SCRAM_PASSWORD=it-scram-secret
IT_PORT_CASSANDRA="${LT_IT_CASSANDRA_PORT:-9042}"
IT_PORT_CASSANDRA_STORAGE="${LT_IT_CASSANDRA_STORAGE_PORT:-7000}"

it_log() { echo "$(basename "$0" .sh): $*"; }
it_err() { echo "$(basename "$0" .sh): $*" >&2; }

# Main (client) port of a server, and every port it binds.
it_port() {
  case "$1" in
    zookeeper) echo "$IT_PORT_ZK" ;;
    kafka) echo "$IT_PORT_KAFKA" ;;
    cassandra) echo "$IT_PORT_CASSANDRA" ;;
  esac
}
it_all_ports() {
  case "$1" in
    zookeeper) echo "$IT_PORT_ZK" ;;
    kafka) echo "$IT_PORT_KAFKA" "$IT_PORT_KAFKA_CONTROLLER" "$IT_PORT_KAFKA_SASL_SSL" ;;
    cassandra) echo "$IT_PORT_CASSANDRA" "$IT_PORT_CASSANDRA_STORAGE" ;;
  esac
}

it_valid_server() {
  local s
  for s in "${ALL_SERVERS[@]}"; do [[ "$1" == "$s" ]] && return 0; done
  return 1
}

# Adds a server named on the command line to the caller's `servers` array (`all`: every one);
# an unknown name is an error (exit 2).
it_select_server() {
  case "$1" in
    all) servers=("${ALL_SERVERS[@]}") ;;
    *)
      it_valid_server "$1" || { it_err "unknown server '$1' (known: ${ALL_SERVERS[*]})"; exit 2; }
      [[ " ${servers[*]-} " == *" $1 "* ]] || servers+=("$1")
      ;;
  esac
}

it_pidfile() { echo "$LT_IT_STATE/$1/pid"; }

# Prints the PID from the server's pid file if that process is alive AND is ours (its command line
# mentions this server's state dir). Never matches by process name.
it_owned_pid() {
  local f pid
  f="$(it_pidfile "$1")"
  [[ -f "$f" ]] || return 1
  pid="$(<"$f")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$LT_IT_STATE/$1/" || return 1
  echo "$pid"
}

# True if something accepts TCP connections on 127.0.0.1:$1.
it_tcp_open() {
  timeout 2 bash -c "exec 3<>/dev/tcp/$IT_HOST/$1" 2>/dev/null
}

# The ports a running server was started with ($LT_IT_STATE/<name>/ports, written by up.sh).
it_started_ports() { cat "$LT_IT_STATE/$1/ports" 2>/dev/null || true; }

# Protocol-level probes (bash + coreutils only; no client libraries):
#  zookeeper: four-letter word srvr -> "Mode: standalone"
#  kafka:     ApiVersions v0 request -> response with our correlation id and error_code 0
#  cassandra: native protocol v4 OPTIONS frame -> SUPPORTED (opcode 0x06) response frame
it_probe() {
  local r port="${2:-$(it_port "$1")}"
  case "$1" in
    zookeeper)
      # not 'ruok': it answers imok as soon as the port is open, even if the server then failed to
      # load its database. 'srvr' prints "Mode: standalone" only once the server is serving.
      r="$(timeout 3 bash -c "exec 3<>/dev/tcp/$IT_HOST/$port; printf srvr >&3; cat <&3" 2>/dev/null)" || true
      [[ "$r" == *"Mode: "* ]]
      ;;
    kafka)
      # size=12 | api_key=18 | api_version=0 | correlation_id="LTIT" | client_id="lt"
      r="$(timeout 3 bash -c "exec 3<>/dev/tcp/$IT_HOST/$port
        printf '\\x00\\x00\\x00\\x0c\\x00\\x12\\x00\\x00LTIT\\x00\\x02lt' >&3
        head -c 10 <&3" 2>/dev/null | od -An -tx1 | tr -d ' \n')" || true
      [[ "${r:8:12}" == 4c5449540000 ]]
      ;;
    cassandra)
      # version=0x04 flags=0 stream=1 opcode=OPTIONS(0x05) length=0
      r="$(timeout 3 bash -c "exec 3<>/dev/tcp/$IT_HOST/$port
        printf '\\x04\\x00\\x00\\x01\\x05\\x00\\x00\\x00\\x00' >&3
        head -c 9 <&3" 2>/dev/null | od -An -tx1 | tr -d ' \n')" || true
      [[ "${r:0:2}" == 84 && "${r:8:2}" == 06 ]]
      ;;
    *) return 1 ;;
  esac
}

# Print the last lines of a server's log to stderr.
it_tail_log() {
  local log="$LT_IT_STATE/$1/logs/stdout.log" n="${2:-60}"
  if [[ -s "$log" ]]; then
    if grep -q -E '(ERROR|Exception|Error:)' "$log"; then
      echo "----- first errors in $log -----" >&2
      grep -n -m 8 -E '(ERROR|Exception|Error:)' "$log" | cut -c1-400 >&2
    fi
    echo "----- last $n lines of $log -----" >&2
    tail -n "$n" "$log" >&2
    echo "----- end of $1 log -----" >&2
  else
    echo "(no log at $log)" >&2
  fi
}

# Stop our process: SIGTERM to its process group (up.sh starts each server with setsid, so the
# group id is the server's PID), wait up to $2 seconds, then SIGKILL. Returns once it is gone.
it_stop_pid() {
  local pid="$1" wait_s="${2:-60}" target i pgid
  pgid="$(awk '{print $5}' "/proc/$pid/stat" 2>/dev/null || true)"
  if [[ "$pgid" == "$pid" ]]; then target="-$pid"; else target="$pid"; fi
  kill -TERM -- "$target" 2>/dev/null || return 0
  for ((i = 0; i < wait_s * 5; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    # a zombie (already exited, not yet reaped by its parent) counts as gone
    [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" == Z ]] && return 0
    sleep 0.2
  done
  it_err "PID $pid did not stop within ${wait_s}s: sending SIGKILL"
  kill -KILL -- "$target" 2>/dev/null || true
  sleep 0.5
}

# Serialise concurrent up.sh / down.sh runs on the same state dir (fd 9; closed for the servers).
it_lock() {
  mkdir -p "$LT_IT_STATE"
  exec 9>"$LT_IT_STATE/.lock"
  if ! flock -w 600 9; then
    it_err "another scripts/it run holds $LT_IT_STATE/.lock for 10 min: giving up"
    exit 1
  fi
}

# (Re)write $LT_IT_STATE/env (KEY=VALUE lines) and env.sh (export lines) for the servers that are
# up right now (ours and answering).
it_write_env() {
  local s var lines=() tmp
  mkdir -p "$LT_IT_STATE"
  for s in "${ALL_SERVERS[@]}"; do
    case "$s" in zookeeper) var=LT_IT_ZK ;; kafka) var=LT_IT_KAFKA ;; cassandra) var=LT_IT_CASSANDRA ;; esac
    local port
    port="$(it_started_ports "$s" | awk '{print $1}')"
    port="${port:-$(it_port "$s")}"
    if it_owned_pid "$s" >/dev/null && it_probe "$s" "$port"; then
      lines+=("$var=$IT_HOST:$port")
      if [[ "$s" == kafka && -f "$LT_IT_STATE/kafka/tls/ca.pem" ]]; then
        # The SASL_SSL listener: third port of the started set; TLS trust and SCRAM credentials.
        lines+=("LT_IT_KAFKA_SASL_SSL=$IT_HOST:$(it_started_ports kafka | awk '{print $3}')"
          "LT_IT_KAFKA_CA=$LT_IT_STATE/kafka/tls/ca.pem"
          "LT_IT_KAFKA_USER=$IT_KAFKA_SCRAM_USER" "LT_IT_KAFKA_PASSWORD=$IT_KAFKA_SCRAM_PASSWORD")
      fi
    fi
  done
  tmp="$LT_IT_STATE/env.tmp"
  { printf '%s\n' "${lines[@]+"${lines[@]}"}"; } | sed '/^$/d' >"$tmp"
  mv -f "$tmp" "$LT_IT_STATE/env"
  {
    echo "# source me: written by scripts/it/$(basename "$0") at $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    sed 's/^/export /' "$LT_IT_STATE/env"
  } >"$tmp"
  mv -f "$tmp" "$LT_IT_STATE/env.sh"
}
