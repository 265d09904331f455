#!/usr/bin/env bash
# Start real single-node servers for integration tests, from Maven Central jars (no Docker):
#   ZooKeeper 127.0.0.1:2181 | Kafka (KRaft) 127.0.0.1:9092 (controller :9093, SASL_SSL :9094)
#   | Cassandra CQL 127.0.0.1:9042
#
#   scripts/it/up.sh                      # all three
#   scripts/it/up.sh zookeeper kafka      # a subset
#   source .dev/it/env.sh                 # exports LT_IT_ZK, LT_IT_KAFKA, LT_IT_CASSANDRA (and for
#                                         # Kafka's SASL_SSL listener LT_IT_KAFKA_SASL_SSL, _CA, _USER, _PASSWORD)
#   scripts/it/smoke.sh                   # real client round trips against each running server
#   scripts/it/down.sh [--clean]          # stop (and wipe data)
#
# First run: resolves the jars with `mvn dependency:copy-dependencies` (dev/servers/<name>/pom.xml)
# into $LT_IT_CACHE (default ~/.cache/lambda-trends/it); later runs reuse them (re-resolved only
# when a pom changes). State (config, data, logs, pids) goes to $LT_IT_STATE (default <repo>/.dev/it).
# Idempotent: a server from an earlier run that is still up (live pid file + answering port) is reused.
# Servers start in parallel; each readiness wait is bounded (LT_IT_TIMEOUT_<NAME> seconds).
# Exits non-zero (after printing the tail of the failing server's log) if any server does not come up.
#
# Environment knobs (all optional):
#   LT_IT_CACHE, LT_IT_STATE         see above
#   LT_IT_JAVA                       java binary (default: java on PATH; must be 17+)
#   LT_IT_TIMEOUT_ZOOKEEPER/_KAFKA/_CASSANDRA   readiness timeouts in s (default 60 / 120 / 240)
#   LT_IT_HEAP_ZOOKEEPER/_KAFKA/_CASSANDRA      e.g. "-Xms64m -Xmx256m" (defaults below)
#   LT_IT_JAVA_OPTS_ZOOKEEPER/_KAFKA/_CASSANDRA extra JVM flags
#   LT_IT_MVN_OPTS                   extra flags for mvn (e.g. -Dmaven.repo.local=...)
#   LT_IT_ZK_PORT, LT_IT_KAFKA_PORT, LT_IT_KAFKA_CONTROLLER_PORT, LT_IT_KAFKA_SASL_SSL_PORT,
#   LT_IT_CASSANDRA_PORT, LT_IT_CASSANDRA_STORAGE_PORT   ports (default 2181, 9092, 9093, 9094, 9042, 7000)
set -euo pipefail
# shellcheck source=scripts/it/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

servers=()
for a in "$@"; do
  case "$a" in
    -h | --help) usage; exit 0 ;;
    *) it_select_server "$a" ;;
  esac
done
((${#servers[@]})) || servers=("${ALL_SERVERS[@]}")

JAVA="${LT_IT_JAVA:-java}"
command -v "$JAVA" >/dev/null || { it_err "java not found (need Java 17+; set LT_IT_JAVA)"; exit 1; }
java_major="$("$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
if [[ ! "$java_major" =~ ^[0-9]+$ ]] || ((java_major < 17)); then
  it_err "need Java 17+ (Kafka 4 and Cassandra 5.0), found '${java_major:-?}' from $JAVA"
  exit 1
fi
if [[ "$java_major" != 17 ]] && [[ " ${servers[*]} " == *" cassandra "* ]]; then
  it_err "warning: Cassandra 5.0 supports Java 11/17 only; running it on Java $java_major may fail"
fi

mkdir -p "$LT_IT_STATE" "$LT_IT_CACHE"
it_lock
TIMES="$LT_IT_STATE/startup-times.txt"
now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
stamp() { date -u +%Y-%m-%dT%H:%M:%SZ; }
record() { echo "$(stamp) $*" >>"$TIMES"; }

pom_version() { # <server> <property>: a version property from the server's pom
  sed -n "s:.*<$2>\\(.*\\)</$2>.*:\\1:p" "$SERVERS_SRC/$1/pom.xml" | head -1
}

# ---------------------------------------------------------------------------------------------
# Install: jars from Maven Central into $LT_IT_CACHE/<name>/lib, keyed by a hash of the pom.
install_server() {
  local name="$1" src="$SERVERS_SRC/$1" lib="$LT_IT_CACHE/$1/lib" key t0
  key="$(sha256sum "$src/pom.xml" | cut -c1-16)"
  if [[ -f "$lib/.stamp" && "$(<"$lib/.stamp")" == "$key" ]]; then
    return 0
  fi
  command -v mvn >/dev/null || { it_err "mvn not found: needed once to fetch the $name jars"; return 1; }
  it_log "$name: resolving jars from Maven Central into $lib (first run only)..."
  t0="$(now)"
  rm -rf "$lib.tmp"
  mkdir -p "$lib.tmp"
  # shellcheck disable=SC2086
  if ! (cd "$src" && mvn -B -q -ntp ${LT_IT_MVN_OPTS:-} dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$lib.tmp" >"$LT_IT_CACHE/$name.mvn.log" 2>&1); then
    it_err "$name: mvn dependency:copy-dependencies failed; its output:"
    tail -n 40 "$LT_IT_CACHE/$name.mvn.log" >&2
    rm -rf "$lib.tmp"
    return 1
  fi
  echo "$key" >"$lib.tmp/.stamp"
  rm -rf "$lib"
  mv "$lib.tmp" "$lib"
  local dt
  dt="$(elapsed "$t0" "$(now)")"
  it_log "$name: $(find "$lib" -name '*.jar' | wc -l) jars ($(du -sh "$lib" | cut -f1)) in ${dt}s"
  record "install $name ${dt}s"
}

check_libs() {
  local name="$1" lib="$LT_IT_CACHE/$1/lib"
  case "$name" in
    kafka)
      # Kafka 4.x is on slf4j 1.7 + log4j-slf4j-impl. If a future version brings slf4j 2, the
      # binding in dev/servers/kafka/pom.xml must become log4j-slf4j2-impl, or the broker logs nothing
      # (and the "Kafka Server started" readiness check never passes).
      if compgen -G "$lib/slf4j-api-2.*.jar" >/dev/null && ! compgen -G "$lib/log4j-slf4j2-impl-*.jar" >/dev/null; then
        it_err "kafka: slf4j-api 2.x on the classpath: switch dev/servers/kafka/pom.xml to log4j-slf4j2-impl"
        return 1
      fi
      ;;
    cassandra)
      compgen -G "$lib/jamm-*.jar" >/dev/null || { it_err "cassandra: no jamm jar in $lib"; return 1; }
      ;;
  esac
}

# ---------------------------------------------------------------------------------------------
# Per-server config + the command line. Each writes $LT_IT_STATE/<name>/run.sh, which records its
# own PID, (kafka: formats the storage once,) and execs the JVM.
q() { printf '%q ' "$@"; }

prepare_zookeeper() {
  local d="$1" lib="$2" src="$SERVERS_SRC/zookeeper"
  mkdir -p "$d/data"
  sed -e "s#@DATA_DIR@#$d/data#g" -e "s#@PORT@#$IT_PORT_ZK#g" "$src/zoo.cfg.in" >"$d/zoo.cfg"
  # shellcheck disable=SC2206
  local cmd=("$JAVA" ${LT_IT_HEAP_ZOOKEEPER:--Xms64m -Xmx256m} -XX:+UseSerialGC -XX:TieredStopAtLevel=1
    -Djava.awt.headless=true -Dzookeeper.log.dir="$d/logs" -Dzookeeper.jmx.log4j.disable=true
    -Dlogback.configurationFile="$src/logback.xml" ${LT_IT_JAVA_OPTS_ZOOKEEPER:-}
    -cp "$lib/*" org.apache.zookeeper.server.quorum.QuorumPeerMain "$d/zoo.cfg")
  echo "exec $(q "${cmd[@]}")" >>"$d/run.sh"
}

# TLS material for Kafka's SASL_SSL listener, made once per state dir with the JDK's keytool: a
# test CA (tls/ca.pem, what clients trust) and the broker's key pair in a PKCS12 keystore, its
# certificate signed by the CA for 127.0.0.1 and localhost (clients verify the host name).
kafka_tls() {
  local t="$1/tls" kt pass=it-keystore-secret
  [[ -f "$t/server.p12" && -f "$t/ca.pem" ]] && return 0
  kt="$(dirname "$JAVA")/keytool"
  [[ -x "$kt" ]] || kt=keytool
  rm -rf "$t" && mkdir -p "$t"
  "$kt" -genkeypair -keystore "$t/ca.p12" -storetype PKCS12 -storepass "$pass" -alias ca \
    -dname "CN=lambda-trends test CA" -keyalg RSA -keysize 2048 -validity 3650 \
    -ext bc:c -noprompt >/dev/null 2>&1
  "$kt" -exportcert -rfc -keystore "$t/ca.p12" -storepass "$pass" -alias ca -file "$t/ca.pem" >/dev/null 2>&1
  "$kt" -genkeypair -keystore "$t/server.p12" -storetype PKCS12 -storepass "$pass" -alias broker \
    -dname "CN=localhost" -keyalg RSA -keysize 2048 -validity 3650 -noprompt >/dev/null 2>&1
  "$kt" -certreq -keystore "$t/server.p12" -storepass "$pass" -alias broker -file "$t/server.csr" >/dev/null 2>&1
  "$kt" -gencert -keystore "$t/ca.p12" -storepass "$pass" -alias ca -infile "$t/server.csr" \
    -outfile "$t/server.pem" -rfc -validity 3650 \
    -ext "SAN=ip:127.0.0.1,dns:localhost" -ext "KU=digitalSignature,keyEncipherment" -ext "EKU=serverAuth" >/dev/null 2>&1
  "$kt" -importcert -keystore "$t/server.p12" -storepass "$pass" -alias ca -file "$t/ca.pem" -noprompt >/dev/null 2>&1
  "$kt" -importcert -keystore "$t/server.p12" -storepass "$pass" -alias broker -file "$t/server.pem" >/dev/null 2>&1
  [[ -f "$t/ca.pem" && -s "$t/server.pem" ]] || { it_err "kafka: keytool could not make the TLS material in $t"; return 1; }
}

prepare_kafka() {
  local d="$1" lib="$2" src="$SERVERS_SRC/kafka" cid=""
  mkdir -p "$d/data"
  kafka_tls "$d" || return 1
  sed -e "s#@DATA_DIR@#$d/data#g" -e "s#@PORT@#$IT_PORT_KAFKA#g" -e "s#@CONTROLLER_PORT@#$IT_PORT_KAFKA_CONTROLLER#g" \
    -e "s#@SASL_SSL_PORT@#$IT_PORT_KAFKA_SASL_SSL#g" -e "s#@TLS_DIR@#$d/tls#g" \
    "$src/server.properties.in" >"$d/server.properties"
  # shellcheck disable=SC2206
  local common=(-Djava.awt.headless=true -Dlog4j2.configurationFile="$src/log4j2.properties"
    -Dkafka.logs.dir="$d/logs" -cp "$lib/*")
  if [[ ! -f "$d/data/meta.properties" ]]; then
    # A Kafka cluster id: 16 random bytes, url-safe base64 without padding, not starting with '-'.
    while [[ -z "$cid" || "$cid" == -* ]]; do
      cid="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    done
    local fmt=("$JAVA" -Xms64m -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC "${common[@]}"
      kafka.tools.StorageTool format -t "$cid" -c "$d/server.properties" --ignore-formatted
      --add-scram "SCRAM-SHA-512=[name=$IT_KAFKA_SCRAM_USER,password=$IT_KAFKA_SCRAM_PASSWORD]")
    echo "$(q "${fmt[@]}") || exit 1" >>"$d/run.sh"
  fi
  # shellcheck disable=SC2206
  local cmd=("$JAVA" ${LT_IT_HEAP_KAFKA:--Xms256m -Xmx512m} -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15
    ${LT_IT_JAVA_OPTS_KAFKA:-} "${common[@]}" kafka.Kafka "$d/server.properties")
  echo "exec $(q "${cmd[@]}")" >>"$d/run.sh"
}

prepare_cassandra() {
  local d="$1" lib="$2" src="$SERVERS_SRC/cassandra" jamm j17=() line
  mkdir -p "$d/data" "$d/tmp" "$d/triggers"
  sed -e "s#@DATA_DIR@#$d/data#g" -e "s#@PORT@#$IT_PORT_CASSANDRA#g" -e "s#@STORAGE_PORT@#$IT_PORT_CASSANDRA_STORAGE#g" \
    "$src/cassandra.yaml.in" >"$d/cassandra.yaml"
  jamm="$(compgen -G "$lib/jamm-*.jar" | head -1)"
  while IFS= read -r line || [[ -n "$line" ]]; do
    line="${line%%#*}"
    line="${line//[[:space:]]/}"
    [[ -n "$line" ]] && j17+=("$line")
  done <"$src/jvm17.options"
  # shellcheck disable=SC2206
  local cmd=("$JAVA" ${LT_IT_HEAP_CASSANDRA:--Xms512m -Xmx1g} -Xss256k -XX:+PerfDisableSharedMem -XX:+ExitOnOutOfMemoryError
    -Djava.net.preferIPv4Stack=true -Djava.awt.headless=true "-javaagent:$jamm" "${j17[@]}"
    -Dcassandra-foreground=yes
    -Dcassandra.config="file://$d/cassandra.yaml" -Dcassandra.storagedir="$d/data"
    -Dcassandra.logdir="$d/logs" -Dlogback.configurationFile="$src/logback.xml"
    -Djna.tmpdir="$d/tmp" -Djava.io.tmpdir="$d/tmp" -Dcassandra.triggers_dir="$d/triggers"
    # startup speed / single node (tests only: unsafesystem skips fsync of system tables)
    -Dcassandra.skip_wait_for_gossip_to_settle=0 -Dcassandra.ring_delay_ms=1000
    -Dcassandra.superuser_setup_delay_ms=0
    -Dcassandra.system_distributed.default_rf=1 -Dcassandra.system_traces.default_rf=1
    -Dcassandra.system_auth.default_rf=1
    -Dcassandra.unsafesystem=true -Dcassandra.test.flush_local_schema_changes=false
    -Dcassandra.ignore_kernel_bug_1057843_check=true
    ${LT_IT_JAVA_OPTS_CASSANDRA:-}
    -cp "$src:$lib/*" org.apache.cassandra.service.CassandraDaemon)
  echo "exec $(q "${cmd[@]}")" >>"$d/run.sh"
}

# Readiness: protocol probe, plus the "ready" log line for Kafka and Cassandra.
ready_line() {
  case "$1" in
    kafka) echo "Kafka Server started" ;;
    cassandra) echo "Starting listening for CQL clients" ;;
    *) echo "" ;;
  esac
}
is_ready() {
  local line
  line="$(ready_line "$1")"
  if [[ -n "$line" ]]; then
    grep -qF "$line" "$LT_IT_STATE/$1/logs/stdout.log" 2>/dev/null || return 1
  fi
  it_probe "$1"
}

timeout_of() {
  local v
  case "$1" in
    zookeeper) v="${LT_IT_TIMEOUT_ZOOKEEPER:-60}" ;;
    kafka) v="${LT_IT_TIMEOUT_KAFKA:-120}" ;;
    cassandra) v="${LT_IT_TIMEOUT_CASSANDRA:-240}" ;;
  esac
  echo "$v"
}

version_of() {
  case "$1" in
    zookeeper) echo "ZooKeeper $(pom_version zookeeper zookeeper.version)" ;;
    kafka) echo "Kafka $(pom_version kafka kafka.version)" ;;
    cassandra) echo "Cassandra $(pom_version cassandra cassandra.version)" ;;
  esac
}

# ---------------------------------------------------------------------------------------------
declare -A t_start=() mode=() result=()
pending=()
failed=0

# 1. Reuse what is already up; detect foreign processes on our ports.
to_launch=()
for s in "${servers[@]}"; do
  if pid="$(it_owned_pid "$s")"; then
    if [[ "$(it_started_ports "$s")" != "$(it_all_ports "$s")" ]]; then
      it_err "$s: PID $pid is running on port(s) $(it_started_ports "$s"), not the requested $(it_all_ports "$s"): run scripts/it/down.sh $s first"
      result[$s]="FAILED: running on other ports"
      failed=1
      continue
    fi
    if it_probe "$s"; then
      mode[$s]=reused
      result[$s]="already running (PID $pid), reused"
      record "$s 0.0s reused"
      continue
    fi
    # ours, alive, not answering yet: an earlier up.sh's server still booting. Wait for it.
    it_log "$s: PID $pid from an earlier run is alive but not ready yet: waiting for it"
    mode[$s]=waited
    t_start[$s]="$(now)"
    pending+=("$s")
    continue
  fi
  rm -f "$(it_pidfile "$s")"
  busy=""
  for p in $(it_all_ports "$s"); do
    it_tcp_open "$p" && busy+=" $p"
  done
  if [[ -n "$busy" ]]; then
    it_err "$s: port(s)$busy on $IT_HOST already in use by a process not started by scripts/it (or whose state dir is not $LT_IT_STATE/$s); not starting it"
    result[$s]="FAILED: port(s)$busy in use"
    failed=1
    continue
  fi
  to_launch+=("$s")
done

# 2. Install the jars (sequentially: concurrent mvn runs would race on ~/.m2).
for s in "${to_launch[@]+"${to_launch[@]}"}"; do
  install_server "$s" || exit 1
  check_libs "$s" || exit 1
done

# 3. Launch in parallel.
for s in "${to_launch[@]+"${to_launch[@]}"}"; do
  d="$LT_IT_STATE/$s"
  lib="$LT_IT_CACHE/$s/lib"
  mkdir -p "$d/logs"
  fresh="existing data"
  [[ -n "$(ls -A "$d/data" 2>/dev/null)" ]] || fresh="fresh data"
  {
    echo "#!/usr/bin/env bash"
    echo "# generated by scripts/it/up.sh: starts $s in the foreground (PID written to $d/pid)"
    echo "echo \$\$ > $(q "$d/pid")"
    echo "cd $(q "$d")"
  } >"$d/run.sh"
  "prepare_$s" "$d" "$lib"
  chmod +x "$d/run.sh"
  it_all_ports "$s" >"$d/ports"
  [[ -f "$d/logs/stdout.log" ]] && mv -f "$d/logs/stdout.log" "$d/logs/stdout.log.1"
  rm -f "$d/pid"
  t_start[$s]="$(now)"
  # setsid: own session and process group (Ctrl-C on this script does not reach the server; down.sh
  # signals the group by its PID). run.sh writes its PID and execs the JVM, so the PID is the JVM's.
  setsid bash "$d/run.sh" >"$d/logs/stdout.log" 2>&1 </dev/null 9>&- &
  mode[$s]="started, $fresh"
  pending+=("$s")
  it_log "$s: starting $(version_of "$s") (log: $d/logs/stdout.log)"
done

# 4. Wait for all of them, bounded per server.
while ((${#pending[@]})); do
  still=()
  for s in "${pending[@]}"; do
    t="$(elapsed "${t_start[$s]}" "$(now)")"
    if is_ready "$s"; then
      result[$s]="ready in ${t}s (${mode[$s]})"
      record "$s ${t}s ${mode[$s]}"
      it_log "$s: ready in ${t}s"
      continue
    fi
    pid="$(it_owned_pid "$s" || true)"
    if [[ -z "$pid" ]] && [[ ! -f "$LT_IT_STATE/$s/pid" ]] && awk -v t="$t" 'BEGIN { exit !(t < 5) }'; then
      still+=("$s") # run.sh has not written its pid yet
      continue
    fi
    if [[ -z "$pid" ]]; then
      it_err "$s: the process exited before it was ready (after ${t}s)"
      it_tail_log "$s"
      result[$s]="FAILED: exited after ${t}s"
      record "$s ${t}s FAILED-exited"
      failed=1
      continue
    fi
    if awk -v t="$t" -v m="$(timeout_of "$s")" 'BEGIN { exit !(t > m) }'; then
      it_err "$s: not ready after ${t}s (timeout $(timeout_of "$s")s): stopping PID $pid"
      it_tail_log "$s"
      it_stop_pid "$pid" 20
      rm -f "$(it_pidfile "$s")"
      result[$s]="FAILED: timeout after ${t}s"
      record "$s ${t}s FAILED-timeout"
      failed=1
      continue
    fi
    still+=("$s")
  done
  pending=("${still[@]+"${still[@]}"}")
  ((${#pending[@]})) && sleep 0.2
done

it_write_env

echo
for s in "${servers[@]}"; do
  printf '  %-10s %-16s %-17s %s\n' "$s" "$IT_HOST:$(it_port "$s")" "$(version_of "$s")" "${result[$s]:-?}"
done
echo "  env: $LT_IT_STATE/env (KEY=VALUE) and $LT_IT_STATE/env.sh (source it); times: $TIMES"
echo "  stop: scripts/it/down.sh [--clean]"
if ((failed)); then
  it_err "some servers failed to start (see above)"
  exit 1
fi
