#!/usr/bin/env bash
# Real PostgreSQL, Redis and Apache Kafka for Pylon's development and tests, without Docker.
#
#   bash scripts/infra.sh up     [postgres|redis|kafka ...]   start (default: all); idempotent
#   bash scripts/infra.sh down   [postgres|redis|kafka ...]   stop what this script started (default: all)
#   bash scripts/infra.sh status                              up/down and URL of each service
#   bash scripts/infra.sh ensure                              start only what does not answer yet;
#        prints on stdout ONLY the names of the services it started (for a later `down $started`)
#        and writes .pylon/infra/env.sh (export DATABASE_URL=... REDIS_URL=... KAFKA_BROKERS=...)
#
# Addresses (loopback only):
#   PostgreSQL 15 (Debian package)  postgres://pylon:pylon@127.0.0.1:5433/pylon  role pylon has CREATEDB
#   Redis (Debian redis-server)     redis://127.0.0.1:6380                       no persistence
#   Apache Kafka 4.1.2 (KRaft)      127.0.0.1:9092 (controller 127.0.0.1:9093)   jars from Maven Central
#
# State and logs live in .pylon/infra/<svc>/ (git-ignored). The Kafka jars are cached outside the repo
# in ${XDG_CACHE_HOME:-$HOME/.cache}/pylon/kafka-<version>/lib (Maven's ~/.m2 too).
# Missing system packages (postgresql, redis-server, default-jdk-headless, maven) are installed with
# apt-get when running as root; `apt-get update` runs at most once per invocation.
#
# PostgreSQL refuses to run as root: as root the data dir is owned by the `postgres` system user and
# initdb/pg_ctl run through `runuser -u postgres --`. If that user cannot reach .pylon/infra/postgres
# (a parent dir without o+x), or the socket path would be too long, the cluster lives in
# /tmp/pylon-pg-<hash of the repo path> instead; .pylon/infra/postgres/location says where.
#
# Environment knobs: PYLON_KAFKA_VERSION (default 4.1.2; 3.9.x uses the pom's kafka3 profile),
# PYLON_INFRA_TIMEOUT (seconds to wait for Kafka, default 90).
# A second, private set (the chaos suite, scripts/chaos/) runs beside the shared one with:
#   PYLON_INFRA_STATE (default .pylon/infra), PYLON_PG_PORT (5433), PYLON_REDIS_PORT (6380),
#   PYLON_KAFKA_PORT (9092), PYLON_KAFKA_CONTROLLER_PORT (9093), and PYLON_KAFKA_KEEP_DATA=1
#   (an `up` after a `down` keeps the broker's log dir, so a restart loses no topic or offset).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${PYLON_INFRA_STATE:-$ROOT/.pylon/infra}"
KAFKA_CONF_DIR="$ROOT/scripts/kafka"

PG_PORT="${PYLON_PG_PORT:-5433}"
REDIS_PORT="${PYLON_REDIS_PORT:-6380}"
KAFKA_PORT="${PYLON_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${PYLON_KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_KEEP_DATA="${PYLON_KAFKA_KEEP_DATA:-0}"
DEFAULT_DATABASE_URL="postgres://pylon:pylon@127.0.0.1:$PG_PORT/pylon"
DEFAULT_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
DEFAULT_KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT"

KAFKA_VERSION="${PYLON_KAFKA_VERSION:-4.1.2}"
KAFKA_CLUSTER_ID="4L6g3nShT-eMCtK--X86sw"   # fixed id is fine: the log dir is fresh on every `up`
KAFKA_TIMEOUT="${PYLON_INFRA_TIMEOUT:-90}"
PYLON_CACHE="${PYLON_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pylon}"
KAFKA_HOME="$PYLON_CACHE/kafka-$KAFKA_VERSION"
KAFKA_LIB="$KAFKA_HOME/lib"

ALL_SERVICES=(postgres redis kafka)
APT_UPDATED=0
DID_START=0   # set to 1 by up_<svc> when it really launched the service (ensure reports only those)

log() { echo "[infra] $*" >&2; }
die() { echo "[infra] ERROR: $*" >&2; exit 1; }
is_root() { [ "$(id -u)" -eq 0 ]; }

# ---------------------------------------------------------------- helpers

apt_install() {   # apt_install PKG... (root only; `apt-get update` at most once per run)
  is_root || die "missing packages: $*; install them (apt-get install $*) or run this script as root"
  export DEBIAN_FRONTEND=noninteractive
  if [ "$APT_UPDATED" -eq 0 ]; then
    log "apt-get update"
    apt-get update -qq >&2 </dev/null 3>&- 9>&- || die "apt-get update failed"
    APT_UPDATED=1
  fi
  log "apt-get install -y $*"
  # fds 3/9 closed: a package's postinst may start a daemon, which must not inherit ensure's stdout or the lock
  apt-get install -y -qq -o Dpkg::Use-Pty=0 "$@" >&2 </dev/null 3>&- 9>&- || die "apt-get install $* failed"
}

tcp_open() {   # tcp_open HOST PORT: something accepts TCP connections there
  local host="$1" port="$2"
  # shellcheck disable=SC2016  # $0/$1 expand in the inner bash
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$host" "$port" 2>/dev/null
}

redis_answers() {   # redis_answers HOST PORT: PING gets +PONG (also with requirepass: -NOAUTH = answering)
  local host="$1" port="$2"
  # shellcheck disable=SC2016  # $0/$1 expand in the inner bash
  timeout 2 bash -c '
    exec 3<>"/dev/tcp/$0/$1" || exit 1
    printf "PING\r\n" >&3
    IFS= read -r line <&3 || exit 1
    case "$line" in "+PONG"*|"-NOAUTH"*) exit 0 ;; *) exit 1 ;; esac' "$host" "$port" 2>/dev/null
}

pid_alive() {   # pid_alive PIDFILE PATTERN: the pid in PIDFILE runs a command line containing PATTERN
  local file="$1" pattern="$2" pid
  [ -s "$file" ] || return 1
  pid="$(tr -dc '0-9' <"$file")"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$pattern"
}

stop_pid() {   # stop_pid PIDFILE PATTERN NAME GRACE_SECONDS
  local file="$1" pattern="$2" name="$3" grace="$4" pid i
  if ! pid_alive "$file" "$pattern"; then
    if [ -e "$file" ]; then log "$name: not running; stale pid file removed"; rm -f "$file"
    else log "$name: not running (ours)"; fi
    return 0
  fi
  pid="$(tr -dc '0-9' <"$file")"
  log "$name: stopping pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 5; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name: still running after ${grace}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$file"
  log "$name: stopped"
}

hostport_of_url() {   # hostport_of_url URL DEFAULT_PORT -> "host port"
  local rest="${1#*://}" default_port="$2" host port
  rest="${rest##*@}"; rest="${rest%%/*}"; rest="${rest%%\?*}"
  host="${rest%%:*}"; port="${rest##*:}"
  [ "$port" = "$rest" ] && port="$default_port"
  [ -n "$host" ] || host=127.0.0.1
  echo "$host $port"
}

is_local_addr() {   # is_local_addr HOST PORT WANT_PORT: HOST:PORT is where this script serves
  case "$1" in 127.0.0.1|localhost) [ "$2" = "$3" ] ;; *) return 1 ;; esac
}

# ---------------------------------------------------------------- PostgreSQL

PG_BIN=""
PG_BASE=""

pg_find_bin() {
  if [ -x /usr/lib/postgresql/15/bin/pg_ctl ]; then PG_BIN=/usr/lib/postgresql/15/bin; return 0; fi
  local d found=""
  for d in /usr/lib/postgresql/*/bin; do   # newest major version installed
    [ -x "$d/pg_ctl" ] && found="$(printf '%s\n%s\n' "$found" "$d" | sed '/^$/d' | sort -V | tail -n 1)"
  done
  [ -n "$found" ] || return 1
  PG_BIN="$found"
}

pg_as() {   # run a PostgreSQL binary as the cluster owner (from /, which that user can always enter)
  if is_root; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

pg_resolve_base() {   # where the cluster lives (see header comment); $1 = "quiet" to not explain
  local preferred="$STATE/postgres" fallback quiet="${1:-}"
  # a private state dir (PYLON_INFRA_STATE) gets a fallback of its own
  fallback="/tmp/pylon-pg-$(printf '%s' "${PYLON_INFRA_STATE:-$ROOT}" | sha256sum | cut -c1-12)"
  mkdir -p "$preferred"
  PG_BASE="$preferred"
  if is_root; then
    chown postgres:postgres "$preferred"
    chmod 0755 "$preferred"
    if ! runuser -u postgres -- test -w "$preferred" -a -x "$preferred" 2>/dev/null; then
      [ -n "$quiet" ] || log "postgres: the postgres user cannot reach $preferred (a parent dir lacks o+x); using $fallback"
      PG_BASE="$fallback"
    fi
  fi
  # unix socket paths are limited to 107 bytes
  if [ "$PG_BASE" = "$preferred" ] && [ "${#preferred}" -gt 90 ]; then
    [ -n "$quiet" ] || log "postgres: $preferred is too long for a unix socket path; using $fallback"
    PG_BASE="$fallback"
  fi
  if [ "$PG_BASE" = "$fallback" ]; then
    mkdir -p "$fallback"
    if is_root; then chown postgres:postgres "$fallback"; fi
    chmod 0755 "$fallback"
    ln -sfn "$fallback/postgres.log" "$preferred/postgres.log"
  fi
  echo "$PG_BASE" >"$preferred/location" 2>/dev/null || true
}

pg_answers() { tcp_open 127.0.0.1 "$PG_PORT" && { [ -z "$PG_BIN" ] || "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; }; }

pg_ours_running() {
  [ -n "$PG_BIN" ] && [ -n "$PG_BASE" ] && [ -f "$PG_BASE/data/PG_VERSION" ] \
    && pg_as "$PG_BIN/pg_ctl" status -D "$PG_BASE/data" >/dev/null 2>&1
}

pg_psql() {   # superuser SQL over our unix socket
  pg_as "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_BASE" -p "$PG_PORT" -U postgres -d postgres "$@"
}

pg_ensure_role_db() {
  log "postgres: ensuring role pylon (CREATEDB) and database pylon"
  pg_psql >&2 <<'SQL'
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pylon') THEN
    CREATE ROLE pylon LOGIN PASSWORD 'pylon' CREATEDB;
  ELSE
    ALTER ROLE pylon LOGIN PASSWORD 'pylon' CREATEDB;
  END IF;
END
$$;
SQL
  if [ "$(pg_psql -tAc "SELECT 1 FROM pg_database WHERE datname = 'pylon'")" != "1" ]; then
    pg_psql -c "CREATE DATABASE pylon OWNER pylon" >&2
  fi
}

up_postgres() {
  if ! pg_find_bin; then
    apt_install postgresql
    pg_find_bin || die "postgres: no /usr/lib/postgresql/*/bin after installing postgresql"
  fi
  pg_resolve_base
  local data="$PG_BASE/data" logfile="$PG_BASE/postgres.log"
  if pg_ours_running; then
    log "postgres: already running (ours, $data)"
    pg_ensure_role_db
    return 0
  fi
  if pg_answers; then
    log "postgres: something else already answers on 127.0.0.1:$PG_PORT; leaving it alone"
    return 0
  fi
  if [ ! -f "$data/PG_VERSION" ]; then
    log "postgres: initdb $data"
    rm -rf "$data"
    mkdir -p "$data"
    if is_root; then chown postgres:postgres "$data"; fi
    chmod 0700 "$data"
    pg_as "$PG_BIN/initdb" -D "$data" -U postgres -E UTF8 --locale=C.UTF-8 \
      --auth-local=trust --auth-host=scram-sha-256 >"$PG_BASE/initdb.log" 2>&1 \
      || { tail -n 30 "$PG_BASE/initdb.log" >&2; die "postgres: initdb failed"; }
    cat >>"$data/postgresql.conf" <<EOF

# --- scripts/infra.sh ---
port = $PG_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PG_BASE'
max_connections = 200
EOF
  fi
  touch "$logfile"
  if is_root; then chown postgres:postgres "$logfile"; fi
  log "postgres: starting on 127.0.0.1:$PG_PORT (log $logfile)"
  DID_START=1
  pg_as "$PG_BIN/pg_ctl" start -D "$data" -l "$logfile" -w -t 60 -s >&2 3>&- 9>&- </dev/null \
    || { tail -n 30 "$logfile" >&2; die "postgres: pg_ctl start failed"; }
  local i
  for ((i = 0; i < 60; i++)); do
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" && break
    sleep 0.5
  done
  "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" || { tail -n 30 "$logfile" >&2; die "postgres: not ready"; }
  pg_ensure_role_db
  log "postgres: up at $DEFAULT_DATABASE_URL"
}

down_postgres() {
  pg_find_bin || { log "postgres: not installed, nothing to stop"; return 0; }
  pg_resolve_base quiet
  if pg_ours_running; then
    log "postgres: pg_ctl stop -m fast ($PG_BASE/data)"
    pg_as "$PG_BIN/pg_ctl" stop -D "$PG_BASE/data" -m fast -w -s >&2 3>&- 9>&- </dev/null
  else
    log "postgres: not running (ours)"
  fi
}

# ---------------------------------------------------------------- Redis

REDIS_DIR="$STATE/redis"
REDIS_PID="$REDIS_DIR/redis.pid"

up_redis() {
  if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
    apt_install redis-server
  fi
  mkdir -p "$REDIS_DIR"
  if redis_answers 127.0.0.1 "$REDIS_PORT"; then
    if pid_alive "$REDIS_PID" redis-server; then log "redis: already running (ours)"
    else log "redis: something else already answers on 127.0.0.1:$REDIS_PORT; leaving it alone"; fi
    return 0
  fi
  pid_alive "$REDIS_PID" redis-server || rm -f "$REDIS_PID"
  log "redis: starting on 127.0.0.1:$REDIS_PORT (log $REDIS_DIR/redis.log)"
  DID_START=1
  # shellcheck disable=SC2094  # redis-server writes its log itself; our redirect only catches early errors
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
    --pidfile "$REDIS_PID" --logfile "$REDIS_DIR/redis.log" --dir "$REDIS_DIR" \
    </dev/null >>"$REDIS_DIR/redis.log" 2>&1 3>&- 9>&- \
    || { tail -n 30 "$REDIS_DIR/redis.log" >&2; die "redis: redis-server failed"; }
  local i
  for ((i = 0; i < 60; i++)); do
    [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ] && break
    sleep 0.25
  done
  [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ] \
    || { tail -n 30 "$REDIS_DIR/redis.log" >&2; die "redis: no PONG on 127.0.0.1:$REDIS_PORT"; }
  log "redis: up at $DEFAULT_REDIS_URL"
}

down_redis() {
  stop_pid "$REDIS_PID" redis-server redis 15
}

# ---------------------------------------------------------------- Kafka

KAFKA_DIR="$STATE/kafka"
KAFKA_PID="$KAFKA_DIR/kafka.pid"
KAFKA_LOG="$KAFKA_DIR/kafka.log"
JAVA=""

java_major() {   # java_major JAVA_BIN -> major version or 0
  local v
  v="$("$1" -version 2>&1 | sed -n 's/.*version "\([0-9][0-9.]*\).*/\1/p' | head -n 1)"
  v="${v#1.}"; v="${v%%.*}"
  echo "${v:-0}"
}

kafka_find_java() {
  local c
  for c in ${JAVA_HOME:+"$JAVA_HOME/bin/java"} "$(command -v java || true)" /usr/lib/jvm/*/bin/java; do
    if [ -z "$c" ] || [ ! -x "$c" ]; then continue; fi
    if [ "$(java_major "$c")" -ge 17 ]; then JAVA="$c"; return 0; fi
  done
  return 1
}

kafka_ensure_tools() {
  local pkgs=()
  kafka_find_java || pkgs+=(default-jdk-headless)
  if ! kafka_jars_ok && ! command -v mvn >/dev/null 2>&1; then pkgs+=(maven); fi
  if [ "${#pkgs[@]}" -gt 0 ]; then apt_install "${pkgs[@]}"; fi
  kafka_find_java || die "kafka: needs Java 17+ (apt-get install default-jdk-headless)"
}

kafka_pom_hash() { sha256sum "$KAFKA_CONF_DIR/pom.xml" | cut -c1-16; }

kafka_jars_ok() {   # cached jars exist and were resolved from the current pom.xml
  [ -f "$KAFKA_LIB/.complete" ] && [ "$(cat "$KAFKA_LIB/.complete")" = "$(kafka_pom_hash)" ]
}

kafka_ensure_jars() {
  kafka_jars_ok && return 0
  local profile=() tmp
  case "$KAFKA_VERSION" in 3.*) profile=(-P kafka3) ;; esac
  tmp="$KAFKA_HOME/lib.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$KAFKA_HOME"
  log "kafka: resolving kafka_2.13:$KAFKA_VERSION and its runtime classpath from Maven Central into $KAFKA_LIB"
  mvn -B -Dstyle.color=never -f "$KAFKA_CONF_DIR/pom.xml" "${profile[@]}" dependency:copy-dependencies \
    "-Dkafka.version=$KAFKA_VERSION" "-Dkafka.lib.dir=$tmp" >"$KAFKA_DIR/maven.log" 2>&1 </dev/null 3>&- 9>&- \
    || { tail -n 40 "$KAFKA_DIR/maven.log" >&2; rm -rf "$tmp"; die "kafka: mvn dependency:copy-dependencies failed (log $KAFKA_DIR/maven.log)"; }
  ls "$tmp"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null 2>&1 \
    || { rm -rf "$tmp"; die "kafka: kafka_2.13-$KAFKA_VERSION.jar missing after Maven"; }
  kafka_pom_hash >"$tmp/.complete"
  rm -rf "$KAFKA_LIB"
  mv "$tmp" "$KAFKA_LIB"
}

kafka_ready_in_log() {
  [ -f "$KAFKA_LOG" ] && grep -qE 'Kafka Server started|Transitioning from RECOVERY to RUNNING' "$KAFKA_LOG"
}

# Seen once on a loaded fresh machine: the pid check failed while the broker we launched was
# alive and became ready. Before declaring the broker dead, look for it by its own config file
# (unique to this checkout) and record its pid again.
kafka_recover_pid() {
  local pid
  sleep 0.5
  pid_alive "$KAFKA_PID" kafka.Kafka && return 0
  pid="$(pgrep -f -- "kafka.Kafka $KAFKA_DIR/server.properties" | head -n 1 || true)"
  [ -n "$pid" ] || return 1
  log "kafka: broker found as pid $pid (the recorded pid did not match); continuing"
  echo "$pid" >"$KAFKA_PID"
}

kafka_wait_ready() {   # wait for the broker whose pid is in KAFKA_PID
  local start=$SECONDS
  while ((SECONDS - start < KAFKA_TIMEOUT)); do
    if ! pid_alive "$KAFKA_PID" kafka.Kafka && ! kafka_recover_pid; then
      tail -n 60 "$KAFKA_LOG" >&2 || true
      rm -f "$KAFKA_PID"
      die "kafka: the broker exited during startup (log $KAFKA_LOG)"
    fi
    if kafka_ready_in_log && tcp_open 127.0.0.1 "$KAFKA_PORT"; then return 0; fi
    sleep 0.25
  done
  tail -n 60 "$KAFKA_LOG" >&2 || true
  stop_pid "$KAFKA_PID" kafka.Kafka kafka 10
  die "kafka: not ready within ${KAFKA_TIMEOUT}s (log $KAFKA_LOG)"
}

kafka_java_opts() {
  KAFKA_JOPTS=(-Xms256m -Xmx512m -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=$KAFKA_CONF_DIR/log4j2.properties"
    "-Dlog4j.configuration=file:$KAFKA_CONF_DIR/log4j.properties")
}

up_kafka() {
  mkdir -p "$KAFKA_DIR"
  if pid_alive "$KAFKA_PID" kafka.Kafka; then
    if tcp_open 127.0.0.1 "$KAFKA_PORT" && kafka_ready_in_log; then
      log "kafka: already running (ours)"; return 0
    fi
    log "kafka: ours is starting, waiting"
    kafka_wait_ready
    log "kafka: up at $DEFAULT_KAFKA_BROKERS"
    return 0
  fi
  if tcp_open 127.0.0.1 "$KAFKA_PORT"; then
    log "kafka: something else already answers on 127.0.0.1:$KAFKA_PORT; leaving it alone"
    return 0
  fi
  if tcp_open 127.0.0.1 "$KAFKA_CONTROLLER_PORT"; then
    die "kafka: 127.0.0.1:$KAFKA_CONTROLLER_PORT (controller port) is taken by another process"
  fi
  rm -f "$KAFKA_PID"
  kafka_ensure_tools
  kafka_ensure_jars
  kafka_java_opts

  # fresh log dir on every start, unless PYLON_KAFKA_KEEP_DATA=1 (a restart that keeps the topics)
  if [ "$KAFKA_KEEP_DATA" != 1 ]; then rm -rf "$KAFKA_DIR/data"; fi
  mkdir -p "$KAFKA_DIR/data"
  sed -e "s#@LOG_DIRS@#$KAFKA_DIR/data#" -e "s#127.0.0.1:9092#127.0.0.1:$KAFKA_PORT#g" \
    -e "s#127.0.0.1:9093#127.0.0.1:$KAFKA_CONTROLLER_PORT#g" "$KAFKA_CONF_DIR/server.properties" >"$KAFKA_DIR/server.properties"

  log "kafka: formatting $KAFKA_DIR/data (Kafka $KAFKA_VERSION, cluster id $KAFKA_CLUSTER_ID)"
  "$JAVA" "${KAFKA_JOPTS[@]}" -cp "$KAFKA_LIB/*" kafka.tools.StorageTool format --ignore-formatted \
    -t "$KAFKA_CLUSTER_ID" -c "$KAFKA_DIR/server.properties" >"$KAFKA_DIR/format.log" 2>&1 </dev/null 3>&- 9>&- \
    || { tail -n 40 "$KAFKA_DIR/format.log" >&2; die "kafka: StorageTool format failed"; }

  log "kafka: starting on 127.0.0.1:$KAFKA_PORT (log $KAFKA_LOG)"
  : >"$KAFKA_LOG"
  # own session (setsid): a Ctrl-C in the caller's terminal does not reach the broker; `down` stops it.
  nohup setsid "$JAVA" "${KAFKA_JOPTS[@]}" -cp "$KAFKA_LIB/*" kafka.Kafka "$KAFKA_DIR/server.properties" \
    >>"$KAFKA_LOG" 2>&1 </dev/null 3>&- 9>&- &
  echo $! >"$KAFKA_PID"
  DID_START=1
  local t0=$SECONDS
  kafka_wait_ready
  log "kafka: up at $DEFAULT_KAFKA_BROKERS (ready $((SECONDS - t0))s after launch)"
}

down_kafka() {
  stop_pid "$KAFKA_PID" kafka.Kafka kafka 30
}

# ---------------------------------------------------------------- commands

check_services() {
  local s
  for s in "$@"; do
    case "$s" in postgres|redis|kafka) ;; *) die "unknown service '$s' (postgres, redis, kafka)" ;; esac
  done
}

lock() {   # serialize concurrent up/down/ensure runs; daemons get fds 3 and 9 closed (3>&- 9>&-)
  mkdir -p "$STATE"
  exec 9>"$STATE/.lock"
  flock -w 300 9 || die "another scripts/infra.sh run holds $STATE/.lock"
}

cmd_up() {
  local svcs=("$@") s
  [ "${#svcs[@]}" -gt 0 ] || svcs=("${ALL_SERVICES[@]}")
  check_services "${svcs[@]}"
  for s in "${svcs[@]}"; do "up_$s"; done
}

cmd_down() {
  local svcs=("$@") s
  [ "${#svcs[@]}" -gt 0 ] || svcs=(kafka redis postgres)
  check_services "${svcs[@]}"
  for s in "${svcs[@]}"; do "down_$s"; done
}

cmd_status() {
  local ours
  if pg_find_bin; then pg_resolve_base quiet; fi
  ours=""; pg_ours_running && ours=" (started by infra.sh, data $PG_BASE/data)"
  if pg_answers; then echo "postgres up   $DEFAULT_DATABASE_URL$ours"; else echo "postgres down $DEFAULT_DATABASE_URL"; fi
  ours=""; pid_alive "$REDIS_PID" redis-server && ours=" (started by infra.sh, pid $(cat "$REDIS_PID"))"
  if redis_answers 127.0.0.1 "$REDIS_PORT"; then echo "redis    up   $DEFAULT_REDIS_URL$ours"; else echo "redis    down $DEFAULT_REDIS_URL"; fi
  ours=""; pid_alive "$KAFKA_PID" kafka.Kafka && ours=" (started by infra.sh, Kafka $KAFKA_VERSION, pid $(cat "$KAFKA_PID"))"
  if tcp_open 127.0.0.1 "$KAFKA_PORT"; then echo "kafka    up   $DEFAULT_KAFKA_BROKERS$ours"; else echo "kafka    down $DEFAULT_KAFKA_BROKERS"; fi
}

cmd_ensure() {
  local db="${DATABASE_URL:-$DEFAULT_DATABASE_URL}" redis="${REDIS_URL:-$DEFAULT_REDIS_URL}"
  local kafka="${KAFKA_BROKERS:-$DEFAULT_KAFKA_BROKERS}" started=() current="" hp s
  local -a h
  ensure_one() {   # ensure_one NAME ANSWERS(0/1) HOST PORT WANT_PORT VAR
    local name="$1" answers="$2" host="$3" port="$4" want="$5" var="$6"
    if [ "$answers" = 1 ]; then log "$name: answers at $host:$port"; return 0; fi
    if ! is_local_addr "$host" "$port" "$want"; then
      log "$name: nothing answers at the configured $host:$port; starting ours on 127.0.0.1:$want and using that"
      printf -v "$var" '%s' "$(default_for "$name")"
    fi
    DID_START=0
    current="$name"
    "up_$name"
    if [ "$DID_START" = 1 ]; then started+=("$name"); DID_START=0; fi
  }
  default_for() {
    case "$1" in postgres) echo "$DEFAULT_DATABASE_URL" ;; redis) echo "$DEFAULT_REDIS_URL" ;; kafka) echo "$DEFAULT_KAFKA_BROKERS" ;; esac
  }
  on_fail() {   # a failed ensure stops what it started, so the caller (which got no names) leaks nothing
    local rc=$?
    if [ "$rc" -ne 0 ] && [ "$DID_START" = 1 ] && [ -n "$current" ]; then started+=("$current"); fi
    if [ "$rc" -ne 0 ] && [ "${#started[@]}" -gt 0 ]; then
      log "ensure failed; stopping what it started: ${started[*]}"
      for s in "${started[@]}"; do "down_$s" || true; done
    fi
  }
  trap on_fail EXIT

  pg_find_bin || true
  read -r -a h <<<"$(hostport_of_url "$db" 5432)"
  if tcp_open "${h[0]}" "${h[1]}" && { [ -z "$PG_BIN" ] || "$PG_BIN/pg_isready" -q -h "${h[0]}" -p "${h[1]}"; }; then
    ensure_one postgres 1 "${h[0]}" "${h[1]}" "$PG_PORT" db
  else ensure_one postgres 0 "${h[0]}" "${h[1]}" "$PG_PORT" db; fi

  read -r -a h <<<"$(hostport_of_url "$redis" 6379)"
  if redis_answers "${h[0]}" "${h[1]}"; then ensure_one redis 1 "${h[0]}" "${h[1]}" "$REDIS_PORT" redis
  else ensure_one redis 0 "${h[0]}" "${h[1]}" "$REDIS_PORT" redis; fi

  hp="${kafka%%,*}"; hp="${hp#*://}"
  h=("${hp%:*}" "${hp##*:}")
  if tcp_open "${h[0]}" "${h[1]}"; then ensure_one kafka 1 "${h[0]}" "${h[1]}" "$KAFKA_PORT" kafka
  else ensure_one kafka 0 "${h[0]}" "${h[1]}" "$KAFKA_PORT" kafka; fi

  mkdir -p "$STATE"
  printf 'export DATABASE_URL=%q REDIS_URL=%q KAFKA_BROKERS=%q\n' "$db" "$redis" "$kafka" >"$STATE/env.sh"
  log "wrote $STATE/env.sh"
  trap - EXIT
  [ "${#started[@]}" -eq 0 ] || echo "${started[*]}" >&3
}

usage() {
  sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

main() {
  local cmd="${1:-}"
  [ $# -gt 0 ] && shift
  case "$cmd" in
    up) lock; cmd_up "$@" ;;
    down) lock; cmd_down "$@" ;;
    status) cmd_status ;;
    ensure)
      # stdout carries only the started names (fd 3); everything else, children included, goes to stderr
      exec 3>&1 1>&2
      lock; cmd_ensure
      ;;
    -h|--help|help) usage ;;
    *) usage ;;
  esac
}

main "$@"
