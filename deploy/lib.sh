#!/usr/bin/env bash
# Helpers shared by the deploy scripts. Source it after `cd` to the repo root:
#
#   cd "$(dirname "${BASH_SOURCE[0]}")/.." && source deploy/lib.sh
#
# Safe under `set -euo pipefail`. Every wait is bounded.
#
# Environment read here (all optional):
#   RUN_DIR          pid files                        (default: run)
#   LOG_DIR          service logs, also read by the services (default: logs)
#   USUARIOS_PORT    5004     PAGOS_PORT 5001     GATEWAY_PORT 5002
#   HOST             where usuarios and pagos listen (default 127.0.0.1)
#   GATEWAY_HOST     where the gateway listens (default 0.0.0.0)
#   AMQP_URL         broker checked and started     (default amqp://guest:guest@127.0.0.1:5672)
#   RABBITMQ_WAIT    seconds to wait for RabbitMQ to start (default 60)
#   POSTGRES_ETC     Debian's PostgreSQL cluster configs (default /etc/postgresql)
#   APT_LOG          where apt-get's output goes when a missing package is
#                    installed (default: $LOG_DIR/apt-get.log)

# V8 flags per service, as in deploy/systemd/*.service (and bench/services.ts).
# usuarios and pagos: a young generation of 2 x 8 MB instead of Node's
# 2 x 16 MB; measured with npm run bench, RSS at the end of a run about 16 MB
# lower per service. The gateway keeps Node's 2 x 16 MB: every proxied request
# allocates and almost nothing outlives it, so a larger young generation means
# fewer scavenges for the same garbage (issue 16: 4-9 % less CPU per proxied
# GET against a trivial upstream; RSS at the end of npm run bench still under
# 150 MB, see bench/FINDINGS.md).
# node_flags SVC: the flags, one per line (mapfile -t flags < <(node_flags "$svc")).
node_flags() {
  case "$1" in
    gateway) echo --max-semi-space-size=16 ;;
    *) echo --max-semi-space-size=8 ;;
  esac
}

# The services in start order; stop order is the reverse of the gateway first.
SERVICES=(usuarios pagos gateway)

RUN_DIR=${RUN_DIR:-run}
LOG_DIR=${LOG_DIR:-logs}
POSTGRES_ETC=${POSTGRES_ETC:-/etc/postgresql}

log_info() { printf '%s\n' "$*"; }
log_warn() { printf 'WARNING: %s\n' "$*" >&2; }
log_error() { printf 'ERROR: %s\n' "$*" >&2; }

# ---------------------------------------------------------------- services

# service_port NAME: the port the service listens on, from the same env vars it reads.
service_port() {
  case "$1" in
    usuarios) printf '%s\n' "${USUARIOS_PORT:-5004}" ;;
    pagos) printf '%s\n' "${PAGOS_PORT:-5001}" ;;
    gateway) printf '%s\n' "${GATEWAY_PORT:-5002}" ;;
    *) log_error "unknown service: $1"; return 1 ;;
  esac
}

# connect_host BIND_ADDRESS: an address to reach a server bound to it.
connect_host() {
  case "$1" in
    '' | 0.0.0.0 | '::' | '[::]') printf '127.0.0.1\n' ;;
    *:*)
      local h=${1#[}
      printf '[%s]\n' "${h%]}"
      ;;
    *) printf '%s\n' "$1" ;;
  esac
}

# service_host NAME: the address to reach the service at.
service_host() {
  if [[ $1 == gateway ]]; then
    connect_host "${GATEWAY_HOST:-0.0.0.0}"
  else
    connect_host "${HOST:-127.0.0.1}"
  fi
}

# service_url NAME: base URL of the service, e.g. http://127.0.0.1:5004
service_url() {
  printf 'http://%s:%s\n' "$(service_host "$1")" "$(service_port "$1")"
}

# health_url NAME: what says the service is ready (the gateway's aggregate /health).
health_url() {
  if [[ $1 == gateway ]]; then
    printf '%s/health\n' "$(service_url gateway)"
  else
    printf '%s/health/ready\n' "$(service_url "$1")"
  fi
}

# The gateway finds usuarios and pagos through USUARIOS_URL and PAGOS_URL; unless
# they are set, point them at the ports chosen for this run.
export_upstream_urls() {
  USUARIOS_URL=${USUARIOS_URL:-$(service_url usuarios)}
  PAGOS_URL=${PAGOS_URL:-$(service_url pagos)}
  export USUARIOS_URL PAGOS_URL
}

pid_file() { printf '%s/%s.pid\n' "$RUN_DIR" "$1"; }

# service_pid NAME: prints the pid of the running service started by these
# scripts and returns 0; returns 1 when it does not run. A pid file left by a
# process that is gone, or whose pid now belongs to another program, doesn't count.
service_pid() {
  local file pid
  file=$(pid_file "$1")
  [[ -r $file ]] || return 1
  pid=$(tr -dc '0-9' <"$file")
  [[ -n $pid ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  if [[ -r /proc/$pid/cmdline ]]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "dist/$1/server.js" || return 1
  fi
  printf '%s\n' "$pid"
}

# pid_alive PID: the process exists (and is not a zombie).
pid_alive() {
  kill -0 "$1" 2>/dev/null || return 1
  if [[ -r /proc/$1/stat ]]; then
    local state
    state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [[ $state != Z ]] || return 1
  fi
  return 0
}

# tcp_open HOST PORT [SECONDS]: something accepts connections there.
tcp_open() {
  local host=${1#[}
  host=${host%]}
  timeout "${3:-2}" bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$host" "$2" 2>/dev/null
}

# http_ok URL: URL answers 2xx within 5 s. curl when installed, else Node's
# fetch (a fresh box has Node but not always curl).
http_ok() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsS -o /dev/null --max-time 5 "$1" 2>/dev/null
  else
    node -e 'fetch(process.argv[1], { signal: AbortSignal.timeout(5000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "$1" 2>/dev/null
  fi
}

# wait_http URL TIMEOUT [PID]: polls URL until it answers 2xx (0), the time is
# up (1), when PID is given, that process exits (2), or a signal trap of the
# caller sets STOP_REQUESTED (3).
wait_http() {
  local url=$1 timeout=$2 pid=${3:-}
  local deadline=$((SECONDS + timeout))
  while :; do
    [[ -z ${STOP_REQUESTED:-} ]] || return 3
    if http_ok "$url"; then
      return 0
    fi
    if [[ -n $pid ]] && ! pid_alive "$pid"; then
      return 2
    fi
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}

# health_status URL: prints "HTTP_CODE STATUS" (STATUS = the top-level "status"
# field of the JSON body, or "-"); HTTP_CODE is 000 when nothing answered.
health_status() {
  local body code status
  if command -v curl >/dev/null 2>&1; then
    body=$(curl -sS --max-time "${HEALTH_TIMEOUT:-5}" -w '\n%{http_code}' "$1" 2>/dev/null) || true
  else
    body=$(node -e 'fetch(process.argv[1], { signal: AbortSignal.timeout(Number(process.argv[2]) * 1000) }).then(async (r) => process.stdout.write((await r.text()) + "\n" + r.status), () => process.stdout.write("\n000"))' "$1" "${HEALTH_TIMEOUT:-5}" 2>/dev/null) || true
  fi
  code=${body##*$'\n'}
  body=${body%$'\n'*}
  [[ $code =~ ^[0-9]{3}$ ]] || code=000
  # The first "status" key: Fastify writes the top-level one first.
  status=$(printf '%s' "$body" | sed -n 's/^[^"]*"status"[[:space:]]*:[[:space:]]*"\([^"]*\)".*$/\1/p' | head -n1)
  printf '%s %s\n' "$code" "${status:--}"
}

# Sizes of the log files when this run started them (see remember_log_sizes),
# so that a failure report shows only what this run wrote.
declare -A LOG_START_SIZE=()

remember_log_sizes() {
  local file
  for file in "$LOG_DIR/$1.out" "$LOG_DIR/$1.log"; do
    LOG_START_SIZE[$file]=$(stat -c %s "$file" 2>/dev/null || echo 0)
  done
}

# show_log_tail NAME [LINES]: the end of the service's log files (of this run
# only, when remember_log_sizes was called), for a failure report.
show_log_tail() {
  local name=$1 lines=${2:-20} file from
  for file in "$LOG_DIR/$name.out" "$LOG_DIR/$name.log"; do
    [[ -s $file ]] || continue
    from=$((${LOG_START_SIZE[$file]:-0} + 1))
    if [[ -n $(tail -c "+$from" "$file" | head -c 1) ]]; then
      printf -- '--- last lines of %s ---\n' "$file" >&2
      tail -c "+$from" "$file" | tail -n "$lines" >&2
    fi
  done
}

# --------------------------------------------------------- system packages
# One place for "install it if it is missing": npm start, npm test and .ci/run
# install what they need from the distribution's packages when this user may
# (root, or sudo without a password), saying so in one line; otherwise they
# print the one command to run.

# can_install_packages: apt-get exists and this user is root or may `sudo -n`.
can_install_packages() {
  command -v apt-get >/dev/null 2>&1 || return 1
  [[ $(id -u) -eq 0 ]] && return 0
  command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null
}

APT_UPDATED=0

# install_packages WHY PACKAGE...: apt-get install -y PACKAGE... (after one
# apt-get update per run), announced in one line with WHY. apt-get's own
# output goes to APT_LOG; on failure its last lines are shown and this
# returns 1.
install_packages() {
  local why=$1 log
  shift
  log=${APT_LOG:-$LOG_DIR/apt-get.log}
  mkdir -p "$(dirname "$log")"
  log_info "Installing $* ($why): apt-get install -y $* (output in $log)..."
  if ((!APT_UPDATED)); then
    if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get update >>"$log" 2>&1; then
      log_error "apt-get update failed; last lines of $log:"
      tail -n 15 "$log" >&2
      return 1
    fi
    APT_UPDATED=1
  fi
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" >>"$log" 2>&1; then
    log_error "apt-get install -y $* failed; last lines of $log:"
    tail -n 15 "$log" >&2
    return 1
  fi
}

# build_tools_missing: prints the packages among python3, make and g++ whose
# command is missing (better-sqlite3 compiles from source with them when
# there is no prebuilt binary for this Node and platform).
build_tools_missing() {
  local missing=()
  command -v python3 >/dev/null 2>&1 || missing+=(python3)
  command -v make >/dev/null 2>&1 || missing+=(make)
  command -v g++ >/dev/null 2>&1 || command -v c++ >/dev/null 2>&1 || missing+=(g++)
  if ((${#missing[@]} > 0)); then printf '%s\n' "${missing[@]}"; fi
}

# ensure_build_tools: installs the missing build tools when it may; otherwise
# a warning with the command (npm ci still works where a prebuilt
# better-sqlite3 can be downloaded).
ensure_build_tools() {
  local missing
  mapfile -t missing < <(build_tools_missing)
  ((${#missing[@]} > 0)) || return 0
  if can_install_packages; then
    install_packages "to compile better-sqlite3, a native module" "${missing[@]}"
  else
    log_warn "${missing[*]} missing: npm ci fails if better-sqlite3 has to be compiled here: sudo apt-get install -y ${missing[*]}"
  fi
}

# ensure_system_packages [postgres]: what the system lacks for npm start (with
# `postgres`: for npm test), checked before anything else and installed in one
# apt-get run when this user may, announced in one line: rabbitmq-server (a
# local AMQP_URL with nothing answering and no RabbitMQ), python3 make g++
# (npm ci is due and they are missing), postgresql (a local
# TEST_POSTGRES_URL, not installed; then trusted for local TCP logins).
# When it may not: RabbitMQ missing is the one line with the whole command
# and returns 1; build tools only, a warning (a prebuilt better-sqlite3 may do);
# PostgreSQL is left to ensure_postgres, which skips its tests.
ensure_system_packages() {
  local pkgs=() why=() tools=() host port local_rabbit=0 local_pg=0
  read -r host port < <(amqp_host_port)
  case "$host" in 127.* | localhost | '[::1]') local_rabbit=1 ;; esac
  if ((local_rabbit)) && ! rabbitmq_installed && ! rabbitmq_up; then
    pkgs+=(rabbitmq-server)
    why+=("RabbitMQ, the message broker")
  fi
  if deps_need_install; then
    mapfile -t tools < <(build_tools_missing)
    if ((${#tools[@]} > 0)); then
      pkgs+=("${tools[@]}")
      why+=("to compile better-sqlite3, a native module")
    fi
  fi
  if [[ ${1:-} == postgres && ${SKIP_POSTGRES:-} != 1 ]]; then
    read -r host port < <(postgres_host_port)
    case "$host" in 127.* | localhost) local_pg=1 ;; esac
    if ((local_pg)) && ! postgres_installed && ! tcp_open "$host" "$port" 2 && can_install_packages; then
      pkgs+=(postgresql)
      why+=("PostgreSQL, for the tests' PostgreSQL half")
    fi
  fi
  ((${#pkgs[@]} > 0)) || return 0
  if can_install_packages; then
    local joined
    joined=$(printf '%s; ' "${why[@]}")
    install_packages "${joined%; }" "${pkgs[@]}" || return 1
    if [[ " ${pkgs[*]} " == *" postgresql "* ]]; then postgres_trust_local || return 1; fi
    return 0
  fi
  if [[ ${pkgs[0]} == rabbitmq-server ]]; then
    if ((${#tools[@]} > 0)); then
      echo "RabbitMQ is not installed (and better-sqlite3 needs a compiler): sudo apt-get install -y ${pkgs[*]}" >&2
    else
      echo "RabbitMQ is not installed: sudo apt-get install -y rabbitmq-server" >&2
    fi
    return 1
  fi
  log_warn "${tools[*]} missing: npm ci fails if better-sqlite3 has to be compiled here: sudo apt-get install -y ${tools[*]}"
}

# ------------------------------------------------------------ deps and build

# deps_need_install: node_modules is missing or older than package-lock.json.
deps_need_install() {
  local marker=node_modules/.package-lock.json
  [[ ! -d node_modules || ! -e $marker || package-lock.json -nt $marker ]]
}

# ensure_deps: `npm ci` when node_modules is missing or older than
# package-lock.json (the build tools it may need installed first).
ensure_deps() {
  if deps_need_install; then
    ensure_build_tools
    log_info "Installing npm dependencies (npm ci)..."
    npm ci
  fi
}

BUILD_STAMP=dist/.build-stamp
SOURCE_DIRS=(contracts lib usuarios pagos gateway)

# run_build: `npm run build`, then records when the sources were compiled.
run_build() {
  local started
  started=$(date +%s)
  log_info "Building (npm run build)..."
  npm run build
  mkdir -p dist
  # Stamp with the start time: a file saved during the build is rebuilt next time.
  touch -d "@$started" "$BUILD_STAMP"
}

# ensure_build: builds when dist/ is missing, a service's server.js is missing,
# or a .ts file (or tsconfig.json) changed since the last build made here.
ensure_build() {
  local dirs=() dir svc
  for dir in "${SOURCE_DIRS[@]}"; do
    [[ -d $dir ]] && dirs+=("$dir")
  done
  if [[ ! -e $BUILD_STAMP ]]; then
    run_build
    return
  fi
  for svc in "${SERVICES[@]}"; do
    if [[ -e $svc/server.ts && ! -e dist/$svc/server.js ]]; then
      run_build
      return
    fi
  done
  if [[ tsconfig.json -nt $BUILD_STAMP ]] ||
    [[ -n $(find "${dirs[@]}" -name '*.ts' -newer "$BUILD_STAMP" -print -quit 2>/dev/null) ]]; then
    run_build
  fi
}

# ------------------------------------------------------------------ RabbitMQ

# amqp_host_port: "HOST PORT" of AMQP_URL (amqp://user:pass@host:port/vhost);
# of its first host when it lists a cluster (amqp://user:pass@h1:5672,h2:5672).
amqp_host_port() {
  local url=${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672}
  local scheme=${url%%://*} rest=${url#*://} host port
  rest=${rest%%/*}
  rest=${rest%%\?*}
  rest=${rest##*@}
  rest=${rest%%,*}
  if [[ $rest == \[* ]]; then
    host=${rest%%]*}]
    port=${rest#"$host"}
    port=${port#:}
  else
    host=${rest%%:*}
    port=${rest#"$host"}
    port=${port#:}
  fi
  if [[ -z $port ]]; then
    if [[ $scheme == amqps ]]; then port=5671; else port=5672; fi
  fi
  printf '%s %s\n' "${host:-127.0.0.1}" "$port"
}

# rabbitmq_up: the broker of AMQP_URL accepts TCP connections.
rabbitmq_up() {
  local host port
  read -r host port < <(amqp_host_port)
  tcp_open "$host" "$port" 3
}

rabbitmq_installed() {
  command -v rabbitmq-server >/dev/null 2>&1 || [[ -x /usr/sbin/rabbitmq-server ]]
}

# as_root CMD...: runs CMD as root (directly, or through sudo without a prompt).
as_root() {
  if [[ $(id -u) -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -n "$@"
  else
    log_error "needs root: $*"
    return 1
  fi
}

# pid1_is_systemd: the machine runs systemd (services are started with systemctl).
pid1_is_systemd() {
  [[ $(cat /proc/1/comm 2>/dev/null) == systemd ]]
}

# ensure_rabbitmq: makes sure the broker answers, installing (when it may) and
# starting a local one if needed. Not installable: prints the command, returns 1.
ensure_rabbitmq() {
  local host port wait=${RABBITMQ_WAIT:-60}
  read -r host port < <(amqp_host_port)
  if rabbitmq_up; then
    return 0
  fi
  case "$host" in
    127.* | localhost | '[::1]') ;;
    *)
      log_error "RabbitMQ at $host:$port (AMQP_URL) is not reachable; it is not on this machine, so it can't be started from here."
      return 1
      ;;
  esac
  if ! rabbitmq_installed; then
    if ! can_install_packages; then
      echo "RabbitMQ is not installed: sudo apt-get install -y rabbitmq-server" >&2
      return 1
    fi
    install_packages "RabbitMQ, the message broker" rabbitmq-server || return 1
    # Under systemd the package starts it; elsewhere it is started below.
    if pid1_is_systemd && rabbitmq_wait_up "$wait"; then return 0; fi
  fi
  log_info "RabbitMQ is not answering on $host:$port; starting it..."
  if pid1_is_systemd; then
    as_root systemctl start rabbitmq-server || true
  else
    local server
    server=$(command -v rabbitmq-server || echo /usr/sbin/rabbitmq-server)
    as_root "$server" -detached || true
  fi
  if ! rabbitmq_wait_up "$wait"; then
    log_error "RabbitMQ did not start listening on $host:$port within ${wait}s (see /var/log/rabbitmq/)."
    return 1
  fi
}

# rabbitmq_wait_up SECONDS: polls until the broker of AMQP_URL accepts
# connections (0, and says so) or SECONDS pass (1).
rabbitmq_wait_up() {
  local deadline=$((SECONDS + $1)) host port
  read -r host port < <(amqp_host_port)
  until rabbitmq_up; do
    ((SECONDS < deadline)) || return 1
    sleep 1
  done
  log_info "RabbitMQ is up on $host:$port."
}

# ---------------------------------------------------------------- PostgreSQL

# postgres_host_port: "HOST PORT" of TEST_POSTGRES_URL, where the tests create
# their databases (default postgres://postgres@127.0.0.1:5432/postgres).
postgres_host_port() {
  local url=${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
  local rest=${url#*://} host port
  rest=${rest%%/*}
  rest=${rest%%\?*}
  rest=${rest##*@}
  host=${rest%%:*}
  port=${rest#"$host"}
  port=${port#:}
  printf '%s %s\n' "${host:-127.0.0.1}" "${port:-5432}"
}

# postgres_installed: a local PostgreSQL cluster exists (Debian's layout).
postgres_installed() {
  command -v pg_ctlcluster >/dev/null 2>&1 && compgen -G "$POSTGRES_ETC/*/main" >/dev/null
}

# postgres_version: the newest local cluster's version, e.g. 15.
postgres_version() {
  find "$POSTGRES_ETC" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' 2>/dev/null | sort -V | tail -n1
}

# postgres_trust_local: lets TCP connections from this machine (127.0.0.1/32,
# ::1/128) log in to the newest cluster without a password, as the tests'
# default TEST_POSTGRES_URL (postgres://postgres@127.0.0.1:5432/postgres)
# expects. Called only for a cluster that ensure_postgres has just installed.
postgres_trust_local() {
  local version conf
  version=$(postgres_version)
  conf=$POSTGRES_ETC/$version/main/pg_hba.conf
  log_info "PostgreSQL $version: local TCP logins (127.0.0.1, ::1) without a password (trust) for the tests, in $conf."
  as_root sed -i -E 's#^(host[[:space:]]+all[[:space:]]+all[[:space:]]+(127\.0\.0\.1/32|::1/128)[[:space:]]+)[^[:space:]]+#\1trust#' "$conf" || return 1
  as_root pg_ctlcluster "$version" main reload >/dev/null 2>&1 || true
}

# ensure_postgres: the tests' PostgreSQL answers, installing it (when this
# user may; then with trust for local TCP logins) and starting the local
# cluster if needed. Not installable: one SKIP line, and SKIP_POSTGRES=1 is
# exported so the tests skip their PostgreSQL half. SKIP_POSTGRES=1: nothing
# to do. Returns 1 when PostgreSQL is remote and down, or does not start.
ensure_postgres() {
  [[ ${SKIP_POSTGRES:-} == 1 ]] && return 0
  local host port version deadline
  read -r host port < <(postgres_host_port)
  tcp_open "$host" "$port" 2 && return 0
  case "$host" in
    127.* | localhost) ;;
    *)
      log_error "PostgreSQL at $host:$port (TEST_POSTGRES_URL) is not reachable."
      return 1
      ;;
  esac
  if ! postgres_installed; then
    if ! can_install_packages; then
      log_info "SKIP PostgreSQL tests: PostgreSQL is not installed and this user may not install it (sudo apt-get install -y postgresql); running with SKIP_POSTGRES=1."
      export SKIP_POSTGRES=1
      return 0
    fi
    install_packages "PostgreSQL, for the tests' PostgreSQL half" postgresql || return 1
    postgres_trust_local || return 1
    # Under systemd the package starts the cluster; elsewhere it is started below.
    tcp_open "$host" "$port" 2 && return 0
  fi
  log_info "PostgreSQL is not answering on $host:$port; starting it..."
  version=$(postgres_version)
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  deadline=$((SECONDS + 60))
  until tcp_open "$host" "$port" 2; do
    if ((SECONDS >= deadline)); then
      log_error "PostgreSQL did not start listening on $host:$port within 60s (see /var/log/postgresql/)."
      return 1
    fi
    sleep 1
  done
  log_info "PostgreSQL is up on $host:$port."
}

# ------------------------------------------------------------------ backups

# env_file_value FILE NAME: the value of NAME= in an env file (empty when absent or unreadable).
env_file_value() { if [[ -r $1 ]]; then sed -n "s/^$2=//p" "$1" | tail -n1; fi; }

# resolve_backup_settings: sets what deploy/backup.sh and deploy/restore.sh
# work on, the way the services find their databases:
#   INSTALLED (1: an install of deploy/install.sh, read CONFIG_DIR/*.env),
#   USUARIOS_SOURCE / PAGOS_SOURCE (a SQLite file, or a postgres:// URL),
#   BACKUP_DIR, BACKUP_KEEP.
# Variables already set in the environment win over the env files.
resolve_backup_settings() {
  local conf svc var file url dir name
  INSTALLED=0
  if [[ -r deploy/installed.env ]]; then
    INSTALLED=1
    conf=${PAGOS_CONFIG_DIR:-$(sed -n 's/^PAGOS_CONFIG_DIR=//p' deploy/installed.env)}
    BACKUP_DIR=${BACKUP_DIR:-$(env_file_value "$conf/backup.env" BACKUP_DIR)}
    BACKUP_KEEP=${BACKUP_KEEP:-$(env_file_value "$conf/backup.env" BACKUP_KEEP)}
    BACKUP_DIR=${BACKUP_DIR:-/var/lib/pagos/backups}
  fi
  BACKUP_DIR=${BACKUP_DIR:-backups}
  BACKUP_KEEP=${BACKUP_KEEP:-14}
  for svc in usuarios pagos; do
    var=${svc^^}
    name=${var}_DATABASE_URL
    url=${!name:-}
    name=${var}_DB_FILE
    file=${!name:-}
    dir=${DATA_DIR:-}
    if ((INSTALLED)); then
      # Each installed service has a DATA_DIR of its own, in its env file.
      [[ -n $url ]] || url=$(env_file_value "$conf/$svc.env" "${var}_DATABASE_URL")
      [[ -n $file ]] || file=$(env_file_value "$conf/$svc.env" "${var}_DB_FILE")
      dir=$(env_file_value "$conf/$svc.env" DATA_DIR)
      if [[ -z $url && -z $file && -z $dir && ! -r $conf/$svc.env ]]; then
        log_error "cannot read $conf/$svc.env: run as root or as the service user"
        return 1
      fi
    fi
    if [[ -n $url ]]; then
      printf -v "${var}_SOURCE" '%s' "$url"
    else
      printf -v "${var}_SOURCE" '%s' "${file:-${dir:-data}/$svc.sqlite}"
    fi
  done
}
