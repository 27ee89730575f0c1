#!/usr/bin/env bash
# Local single-node Apache Kafka broker (KRaft, combined broker+controller) without Docker.
# The broker jars come from Maven (see pom.xml next to this script).
#
# Usage: infra/kafka/kafka.sh <fetch|start|run|wait|stop|reset|status|help>
# Settings are environment variables; see README.md next to this script or `kafka.sh help`.
set -euo pipefail

SCRIPT_PATH="$(readlink -f -- "${BASH_SOURCE[0]}")"
SCRIPT_DIR="$(cd -- "$(dirname -- "${SCRIPT_PATH}")" && pwd -P)"
REPO_ROOT="$(cd -- "${SCRIPT_DIR}/../.." && pwd -P)"

KAFKA_VERSION="${KAFKA_VERSION:-4.3.1}"
KAFKA_DATA_DIR="${KAFKA_DATA_DIR:-${REPO_ROOT}/.kizuna/kafka}"
KAFKA_HOST="${KAFKA_HOST:-127.0.0.1}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
# Address used to reach the broker locally (checks, controller quorum): loopback when binding all.
case "${KAFKA_HOST}" in
  0.0.0.0 | "") CONNECT_HOST="127.0.0.1" ;;
  *) CONNECT_HOST="${KAFKA_HOST}" ;;
esac
KAFKA_ADVERTISED_HOST="${KAFKA_ADVERTISED_HOST:-${CONNECT_HOST}}"
KAFKA_NUM_PARTITIONS="${KAFKA_NUM_PARTITIONS:-6}"
KAFKA_LOG_RETENTION_HOURS="${KAFKA_LOG_RETENTION_HOURS:-24}"
KAFKA_LOG_RETENTION_BYTES="${KAFKA_LOG_RETENTION_BYTES:-1073741824}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g}"
KAFKA_JVM_PERFORMANCE_OPTS="${KAFKA_JVM_PERFORMANCE_OPTS:--server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:G1HeapRegionSize=16M -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true}"
KAFKA_OPTS="${KAFKA_OPTS:-}"
KAFKA_WAIT_TIMEOUT="${KAFKA_WAIT_TIMEOUT:-90}"
KAFKA_STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"
KAFKA_MVN="${KAFKA_MVN:-mvn}"

if [[ -n "${JAVA_HOME:-}" && -x "${JAVA_HOME}/bin/java" ]]; then
  JAVA_BIN="${JAVA_HOME}/bin/java"
else
  JAVA_BIN="java"
fi

# Jars are shared by every data dir (the dev broker and the test broker), one folder per version.
KAFKA_LIBS_ROOT="${KAFKA_LIBS_ROOT:-${REPO_ROOT}/.kizuna/kafka-libs}"
LIBS_DIR="${KAFKA_LIBS_ROOT}/${KAFKA_VERSION}"
LIBS_MARKER="${LIBS_DIR}/.fetched"
CONFIG_DIR="${KAFKA_DATA_DIR}/config"
SERVER_PROPS="${CONFIG_DIR}/server.properties"
TOOLS_PROPS="${CONFIG_DIR}/tools.properties"
STORAGE_DIR="${KAFKA_DATA_DIR}/data"
LOG_DIR="${KAFKA_DATA_DIR}/logs"
CLUSTER_ID_FILE="${KAFKA_DATA_DIR}/cluster.id"
PID_FILE="${KAFKA_DATA_DIR}/kafka.pid"
BROKER_LOG="${LOG_DIR}/server.log"
BROKER_OUT="${LOG_DIR}/kafka.out"

log() { printf '[kafka] %s\n' "$*"; }
err() { printf '[kafka] ERROR: %s\n' "$*" >&2; }
die() {
  err "$*"
  exit 1
}

usage() {
  cat <<EOF
Usage: $(basename -- "$0") <command>

Commands:
  fetch    download the Kafka ${KAFKA_VERSION} jars with Maven into ${LIBS_DIR} (once per version)
  start    start the broker in the background (idempotent) and wait until it is ready
  run      start the broker in the foreground (for a supervisor; stops on Ctrl-C / SIGTERM)
  wait     block until the broker on ${CONNECT_HOST}:${KAFKA_PORT} answers metadata requests
  stop     stop the broker started by this script (never touches other brokers)
  reset    stop, then delete the broker's data, config and logs (keeps the fetched jars)
  status   print whether the broker is running (exit 0 running, 3 not running)

Data dir: ${KAFKA_DATA_DIR}
EOF
}

require_uint() {
  local name="$1" value="$2"
  [[ "${value}" =~ ^[0-9]+$ ]] || die "${name} must be a non-negative integer, got '${value}'"
}

validate_env() {
  require_uint KAFKA_PORT "${KAFKA_PORT}"
  require_uint KAFKA_CONTROLLER_PORT "${KAFKA_CONTROLLER_PORT}"
  require_uint KAFKA_NUM_PARTITIONS "${KAFKA_NUM_PARTITIONS}"
  require_uint KAFKA_WAIT_TIMEOUT "${KAFKA_WAIT_TIMEOUT}"
  require_uint KAFKA_STOP_TIMEOUT "${KAFKA_STOP_TIMEOUT}"
  [[ "${KAFKA_VERSION}" =~ ^[0-9A-Za-z._-]+$ ]] || die "invalid KAFKA_VERSION '${KAFKA_VERSION}'"
  [[ "${KAFKA_PORT}" != "${KAFKA_CONTROLLER_PORT}" ]] || die "KAFKA_PORT and KAFKA_CONTROLLER_PORT must differ"
}

# --- jars ---------------------------------------------------------------------------------------

pom_hash() { sha256sum "${SCRIPT_DIR}/pom.xml" | cut -d' ' -f1; }

libs_ready() {
  [[ -f "${LIBS_MARKER}" ]] && [[ "$(cat "${LIBS_MARKER}")" == "${KAFKA_VERSION} $(pom_hash)" ]]
}

cmd_fetch() {
  if libs_ready; then
    log "Kafka ${KAFKA_VERSION} jars already present in ${LIBS_DIR}"
    return 0
  fi
  command -v "${KAFKA_MVN}" >/dev/null 2>&1 || die "Maven ('${KAFKA_MVN}') not found; it is needed once to fetch the Kafka jars"
  mkdir -p "${KAFKA_LIBS_ROOT}"
  local tmp
  tmp="$(mktemp -d "${KAFKA_LIBS_ROOT}/.fetch-${KAFKA_VERSION}.XXXXXX")"
  log "fetching Kafka ${KAFKA_VERSION} jars with Maven into ${LIBS_DIR} ..."
  local start=${SECONDS}
  local mvn_log="${KAFKA_LIBS_ROOT}/fetch-${KAFKA_VERSION}.log"
  if ! "${KAFKA_MVN}" -B -Dstyle.color=never -f "${SCRIPT_DIR}/pom.xml" \
    -Dkafka.version="${KAFKA_VERSION}" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="${tmp}" >"${mvn_log}" 2>&1; then
    rm -rf -- "${tmp}"
    tail -n 30 -- "${mvn_log}" >&2
    die "Maven could not fetch Kafka ${KAFKA_VERSION} (full log: ${mvn_log})"
  fi
  [[ -f "${tmp}/kafka_2.13-${KAFKA_VERSION}.jar" ]] || {
    rm -rf -- "${tmp}"
    die "kafka_2.13-${KAFKA_VERSION}.jar missing after Maven fetch"
  }
  rm -rf -- "${LIBS_DIR}"
  mv -- "${tmp}" "${LIBS_DIR}"
  printf '%s %s\n' "${KAFKA_VERSION}" "$(pom_hash)" >"${LIBS_MARKER}"
  log "fetched $(find "${LIBS_DIR}" -name '*.jar' | wc -l) jars in $((SECONDS - start))s"
}

# One fetch at a time per jar folder: on a fresh clone `npm start` runs `run` and `wait` side by side,
# and a second fetch replacing the folder under a starting broker made it miss its classes.
ensure_libs() {
  libs_ready && return 0
  mkdir -p "${KAFKA_LIBS_ROOT}"
  (
    exec 8>"${KAFKA_LIBS_ROOT}/.fetch-${KAFKA_VERSION}.lock"
    flock -w 900 8 || die "another kafka.sh is still fetching into ${LIBS_DIR}"
    libs_ready || cmd_fetch
  ) || exit 1
}

# Serialises start/run/stop/reset of the same data dir (e.g. two `start`s launched in parallel).
take_lock() {
  mkdir -p "${KAFKA_DATA_DIR}"
  exec 9>"${KAFKA_DATA_DIR}/.lock"
  flock -w "$((KAFKA_WAIT_TIMEOUT + 60))" 9 || die "another kafka.sh holds ${KAFKA_DATA_DIR}/.lock"
}

# --- process helpers ----------------------------------------------------------------------------

# The process exists and is not a zombie (a `run` broker killed under a supervisor stays a zombie
# until the supervisor reaps it).
pid_alive() {
  local pid="$1" state=""
  kill -0 "${pid}" 2>/dev/null || return 1
  state="$(awk '{print $3}' "/proc/${pid}/stat" 2>/dev/null || true)"
  [[ "${state}" != "Z" ]]
}

# Prints the PID from the pid file if that process is alive and is our broker (guards against
# stale files and PID reuse). Returns 1 otherwise.
our_pid() {
  [[ -f "${PID_FILE}" ]] || return 1
  local pid
  pid="$(tr -dc '0-9' <"${PID_FILE}")"
  [[ -n "${pid}" ]] || return 1
  pid_alive "${pid}" || return 1
  local cmdline
  cmdline="$(tr '\0' ' ' <"/proc/${pid}/cmdline" 2>/dev/null || true)"
  [[ "${cmdline}" == *"kafka.Kafka ${SERVER_PROPS}"* ]] || return 1
  printf '%s\n' "${pid}"
}

clear_stale_pid() {
  if [[ -f "${PID_FILE}" ]] && ! our_pid >/dev/null; then
    rm -f -- "${PID_FILE}"
  fi
}

# Something accepts TCP connections on host:port.
port_open() {
  local host="$1" port="$2"
  # shellcheck disable=SC2016 # expanded by the inner bash, on purpose
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "${host}" "${port}" 2>/dev/null
}

write_tools_props() {
  mkdir -p "${CONFIG_DIR}"
  cat >"${TOOLS_PROPS}" <<EOF
# Client settings for the readiness check run by kafka.sh (generated, do not edit).
request.timeout.ms=5000
default.api.timeout.ms=10000
socket.connection.setup.timeout.ms=3000
socket.connection.setup.timeout.max.ms=5000
EOF
}

# JVM command line for the short-lived Kafka CLI tools (small heap, fast startup, quiet logging).
TOOL_JAVA=(
  "${JAVA_BIN}" -Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1
  -Dlog4j2.configurationFile="${SCRIPT_DIR}/log4j2-tools.properties"
  -cp "${LIBS_DIR}/*"
)

# A real Kafka check (needs the jars): TCP connect, then the Admin client fetches metadata
# (lists topics) from the broker.
broker_answers() {
  port_open "${CONNECT_HOST}" "${KAFKA_PORT}" || return 1
  [[ -f "${TOOLS_PROPS}" ]] || write_tools_props
  timeout 30 "${TOOL_JAVA[@]}" org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "${CONNECT_HOST}:${KAFKA_PORT}" \
    --command-config "${TOOLS_PROPS}" --list >/dev/null 2>&1
}

tail_log() {
  if [[ -s "${BROKER_OUT}" ]]; then
    printf -- '----- last lines of %s -----\n' "${BROKER_OUT}" >&2
    tail -n 10 -- "${BROKER_OUT}" >&2
  fi
  if [[ -s "${BROKER_LOG}" ]]; then
    printf -- '----- last lines of %s -----\n' "${BROKER_LOG}" >&2
    tail -n 40 -- "${BROKER_LOG}" >&2
  fi
}

# wait_ready [pid]: poll until the broker answers; fail early if the given broker process dies.
wait_ready() {
  local pid="${1:-}"
  local deadline=$((SECONDS + KAFKA_WAIT_TIMEOUT))
  while ((SECONDS < deadline)); do
    if [[ -n "${pid}" ]] && ! pid_alive "${pid}"; then
      err "broker process ${pid} exited before becoming ready"
      tail_log
      return 1
    fi
    if broker_answers; then
      return 0
    fi
    sleep 0.5
  done
  err "broker on ${CONNECT_HOST}:${KAFKA_PORT} not ready after ${KAFKA_WAIT_TIMEOUT}s"
  tail_log
  return 1
}

# --- configuration / storage --------------------------------------------------------------------

write_server_props() {
  mkdir -p "${CONFIG_DIR}" "${STORAGE_DIR}" "${LOG_DIR}"
  cat >"${SERVER_PROPS}" <<EOF
# Generated by infra/kafka/kafka.sh on every start; edit the env vars, not this file.
process.roles=broker,controller
node.id=1
# Static single-voter quorum: survives a change of host/port between restarts.
controller.quorum.voters=1@${CONNECT_HOST}:${KAFKA_CONTROLLER_PORT}
listeners=PLAINTEXT://${KAFKA_HOST}:${KAFKA_PORT},CONTROLLER://${CONNECT_HOST}:${KAFKA_CONTROLLER_PORT}
advertised.listeners=PLAINTEXT://${KAFKA_ADVERTISED_HOST}:${KAFKA_PORT}
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT

log.dirs=${STORAGE_DIR}
num.partitions=${KAFKA_NUM_PARTITIONS}
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=${KAFKA_NUM_PARTITIONS}
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=${KAFKA_NUM_PARTITIONS}
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
auto.create.topics.enable=false
delete.topic.enable=true
group.initial.rebalance.delay.ms=0

# Dev retention: small segments, a day or 1 GiB per partition, whichever comes first.
log.retention.hours=${KAFKA_LOG_RETENTION_HOURS}
log.retention.bytes=${KAFKA_LOG_RETENTION_BYTES}
log.segment.bytes=67108864
log.retention.check.interval.ms=300000

num.network.threads=3
num.io.threads=4
num.recovery.threads.per.data.dir=1
EOF
}

new_cluster_id() {
  # Kafka cluster ids are 16 random bytes, URL-safe base64 without padding (22 chars).
  local id=""
  while [[ -z "${id}" || "${id}" == -* ]]; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
  done
  printf '%s\n' "${id}"
}

format_storage_if_needed() {
  if [[ -f "${STORAGE_DIR}/meta.properties" ]]; then
    return 0
  fi
  [[ -s "${CLUSTER_ID_FILE}" ]] || new_cluster_id >"${CLUSTER_ID_FILE}"
  local cluster_id
  cluster_id="$(cat "${CLUSTER_ID_FILE}")"
  log "formatting KRaft storage in ${STORAGE_DIR} (cluster id ${cluster_id})"
  "${TOOL_JAVA[@]}" kafka.tools.StorageTool format --cluster-id "${cluster_id}" --config "${SERVER_PROPS}" \
    --ignore-formatted >/dev/null || die "kafka-storage format failed"
}

broker_java_args() {
  local -a heap perf extra
  read -r -a heap <<<"${KAFKA_HEAP_OPTS}"
  read -r -a perf <<<"${KAFKA_JVM_PERFORMANCE_OPTS}"
  read -r -a extra <<<"${KAFKA_OPTS}"
  JAVA_ARGS=(
    "${heap[@]}" "${perf[@]}"
    -Dkafka.logs.dir="${LOG_DIR}"
    -Dlog4j2.configurationFile="${SCRIPT_DIR}/log4j2.properties"
    "${extra[@]}"
    -cp "${LIBS_DIR}/*"
    kafka.Kafka "${SERVER_PROPS}"
  )
}

# Common preamble of start/run. Sets ALREADY_RUNNING=1 if a broker already answers (the caller
# then exits 0), otherwise prepares config + storage and fills JAVA_ARGS.
ALREADY_RUNNING=0
prepare() {
  validate_env
  take_lock
  ensure_libs
  clear_stale_pid
  local pid
  if pid="$(our_pid)"; then
    log "broker already running (pid ${pid}, ${CONNECT_HOST}:${KAFKA_PORT})"
    wait_ready "${pid}" || exit 1
    log "broker ready on ${CONNECT_HOST}:${KAFKA_PORT}"
    ALREADY_RUNNING=1
    return 0
  fi
  if port_open "${CONNECT_HOST}" "${KAFKA_PORT}"; then
    if broker_answers; then
      log "broker already running on ${CONNECT_HOST}:${KAFKA_PORT} (not started by this script; using it)"
      ALREADY_RUNNING=1
      return 0
    fi
    die "port ${CONNECT_HOST}:${KAFKA_PORT} is in use by something that is not an answering Kafka broker"
  fi
  if port_open "${CONNECT_HOST}" "${KAFKA_CONTROLLER_PORT}"; then
    die "controller port ${CONNECT_HOST}:${KAFKA_CONTROLLER_PORT} is already in use"
  fi
  write_server_props
  write_tools_props
  format_storage_if_needed
  broker_java_args
}

cmd_start() {
  prepare
  ((ALREADY_RUNNING == 0)) || return 0
  local t0=${SECONDS}
  printf '\n===== %s starting Kafka %s =====\n' "$(date -Is)" "${KAFKA_VERSION}" >>"${BROKER_OUT}"
  rm -f -- "${PID_FILE}"
  # New session (setsid) + nohup: the broker outlives this shell and its terminal. The inner
  # bash records its own PID, which `exec` hands over to java.
  # shellcheck disable=SC2016 # expanded by the inner bash, on purpose
  setsid nohup bash -c 'echo "$$" >"$1"; shift; exec "$@"' _ "${PID_FILE}" \
    "${JAVA_BIN}" "${JAVA_ARGS[@]}" >>"${BROKER_OUT}" 2>&1 </dev/null 9>&- &
  local i pid=""
  for ((i = 0; i < 50; i++)); do
    if [[ -s "${PID_FILE}" ]]; then
      pid="$(tr -dc '0-9' <"${PID_FILE}")"
      [[ -n "${pid}" ]] && break
    fi
    sleep 0.1
  done
  [[ -n "${pid}" ]] || die "broker did not start (no pid file)"
  log "started Kafka ${KAFKA_VERSION} broker (pid ${pid}), waiting for ${CONNECT_HOST}:${KAFKA_PORT} ..."
  if ! wait_ready "${pid}"; then
    if pid_alive "${pid}"; then
      err "broker (pid ${pid}) is still running but not ready; inspect ${LOG_DIR} or run '$(basename -- "$0") stop'"
    fi
    exit 1
  fi
  log "broker ready on ${CONNECT_HOST}:${KAFKA_PORT} after $((SECONDS - t0))s (logs: ${LOG_DIR})"
}

cmd_run() {
  prepare
  ((ALREADY_RUNNING == 0)) || return 0
  printf '%s\n' "$$" >"${PID_FILE}"
  log "running Kafka ${KAFKA_VERSION} in the foreground (pid $$), logs: ${LOG_DIR}"
  # Announce readiness from a helper that stops as soon as the broker (this PID after exec) exits.
  (
    exec 9>&-
    if wait_ready "$$" >/dev/null 2>&1; then
      log "broker ready on ${CONNECT_HOST}:${KAFKA_PORT}"
    fi
  ) &
  exec "${JAVA_BIN}" "${JAVA_ARGS[@]}" 9>&-
}

cmd_wait() {
  validate_env
  ensure_libs
  log "waiting up to ${KAFKA_WAIT_TIMEOUT}s for ${CONNECT_HOST}:${KAFKA_PORT} ..."
  local pid=""
  pid="$(our_pid || true)"
  wait_ready "${pid}" || exit 1
  log "broker ready on ${CONNECT_HOST}:${KAFKA_PORT}"
}

cmd_stop() {
  take_lock
  local pid
  if ! pid="$(our_pid)"; then
    clear_stale_pid
    if port_open "${CONNECT_HOST}" "${KAFKA_PORT}"; then
      log "no broker started by this script; something else listens on ${CONNECT_HOST}:${KAFKA_PORT} and is left alone"
    else
      log "broker not running"
    fi
    return 0
  fi
  log "stopping broker (pid ${pid}) ..."
  kill -TERM "${pid}" 2>/dev/null || true
  local deadline=$((SECONDS + KAFKA_STOP_TIMEOUT))
  while pid_alive "${pid}" && ((SECONDS < deadline)); do
    sleep 0.5
  done
  if pid_alive "${pid}"; then
    err "broker did not stop within ${KAFKA_STOP_TIMEOUT}s; sending SIGKILL"
    kill -KILL "${pid}" 2>/dev/null || true
    deadline=$((SECONDS + 10))
    while pid_alive "${pid}" && ((SECONDS < deadline)); do sleep 0.2; done
  fi
  rm -f -- "${PID_FILE}"
  log "broker stopped"
}

cmd_reset() {
  cmd_stop
  local pid
  if pid="$(our_pid)"; then
    die "broker (pid ${pid}) still running; not deleting its data"
  fi
  log "deleting ${STORAGE_DIR}, ${LOG_DIR}, ${CONFIG_DIR} and the cluster id (jars in ${KAFKA_LIBS_ROOT} are kept)"
  rm -rf -- "${STORAGE_DIR}" "${LOG_DIR}" "${CONFIG_DIR}" "${CLUSTER_ID_FILE}" "${PID_FILE}"
}

cmd_status() {
  local pid
  if pid="$(our_pid)"; then
    local rss
    rss="$(awk '/^VmRSS:/ {printf "%d MiB", $2 / 1024}' "/proc/${pid}/status" 2>/dev/null || true)"
    if port_open "${CONNECT_HOST}" "${KAFKA_PORT}"; then
      log "running: pid ${pid}, ${CONNECT_HOST}:${KAFKA_PORT} (controller ${KAFKA_CONTROLLER_PORT}), Kafka ${KAFKA_VERSION}, RSS ${rss:-?}, data ${KAFKA_DATA_DIR}"
    else
      log "starting: pid ${pid}, port ${CONNECT_HOST}:${KAFKA_PORT} not open yet, data ${KAFKA_DATA_DIR}"
    fi
    return 0
  fi
  clear_stale_pid
  if port_open "${CONNECT_HOST}" "${KAFKA_PORT}"; then
    log "running (not started by this script): something listens on ${CONNECT_HOST}:${KAFKA_PORT}"
    return 0
  fi
  log "not running (port ${CONNECT_HOST}:${KAFKA_PORT}, data ${KAFKA_DATA_DIR})"
  return 3
}

main() {
  local cmd="${1:-help}"
  case "${cmd}" in
    fetch)
      validate_env
      cmd_fetch
      ;;
    start) cmd_start ;;
    run) cmd_run ;;
    wait) cmd_wait ;;
    stop) cmd_stop ;;
    reset) cmd_reset ;;
    status) cmd_status ;;
    help | -h | --help) usage ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
