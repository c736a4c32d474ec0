#!/usr/bin/env bash
# `npm start`: installs what the system lacks (RabbitMQ, build tools; see
# ensure_system_packages in deploy/lib.sh) and npm deps if needed, builds,
# makes sure RabbitMQ runs,
# then runs usuarios, pagos and the gateway in the foreground as children of
# this script (readable logs on a terminal). Ctrl-C or SIGTERM stops all three
# cleanly (gateway first); if one of them dies, the others are stopped and the
# script exits non-zero. package.json starts it with `exec`, so a SIGINT or
# SIGTERM that npm forwards from its own pid reaches this script, not an
# intermediate `sh -c` (test/deploy/npm-start-signals.test.ts).
#
# Environment (all optional): USUARIOS_PORT PAGOS_PORT GATEWAY_PORT HOST
# GATEWAY_HOST USUARIOS_URL PAGOS_URL LOG_DIR LOG_STDOUT DATA_DIR AMQP_URL
# AMQP_PREFIX ... (passed on to the services), START_TIMEOUT (seconds to wait
# for each service to be ready, default 60), SHUTDOWN_WAIT (seconds each
# service gets to exit before SIGKILL, default 20), RABBITMQ_WAIT, RUN_DIR.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=deploy/lib.sh
source deploy/lib.sh

START_TIMEOUT=${START_TIMEOUT:-60}
SHUTDOWN_WAIT=${SHUTDOWN_WAIT:-20}

ensure_system_packages
ensure_deps
ensure_build
ensure_rabbitmq

for svc in "${SERVICES[@]}"; do
  if pid=$(service_pid "$svc"); then
    log_error "$svc is already running in the background (pid $pid); stop it first with deploy/stop_services.sh."
    exit 1
  fi
  if tcp_open "$(service_host "$svc")" "$(service_port "$svc")"; then
    log_error "port $(service_port "$svc") ($svc) is already in use; is another copy running? (deploy/check_status.sh)"
    exit 1
  fi
  if [[ ! -f dist/$svc/server.js ]]; then
    log_error "dist/$svc/server.js does not exist (the build has no $svc service)."
    exit 1
  fi
done

mkdir -p "$LOG_DIR"
export_upstream_urls
if [[ -z ${LOG_STDOUT:-} && -t 1 ]]; then
  export LOG_STDOUT=pretty
fi

# Signals: the first one asks for a clean stop. The services run in their own
# session, so they get exactly one SIGTERM from here (a second signal would
# make them exit at once); a repeated Ctrl-C 2 s or more after the first one
# kills them. A copy of the same signal arriving together (npm forwards the
# terminal's Ctrl-C) is ignored.
STOP_REQUESTED=
FORCE=0
first_signal_at=0
on_signal() {
  if [[ -z $STOP_REQUESTED ]]; then
    STOP_REQUESTED=$1
    first_signal_at=$SECONDS
    printf '\n%s received: stopping the services (Ctrl-C again to kill them)...\n' "$1" >&2
  elif ((SECONDS - first_signal_at >= 2)); then
    FORCE=1
  fi
}
trap 'on_signal SIGINT' INT
trap 'on_signal SIGTERM' TERM
trap 'on_signal SIGHUP' HUP

declare -A PIDS=()
# Safety net: whatever way this script ends, no service is left behind.
cleanup() {
  local svc pid
  for svc in "${!PIDS[@]}"; do
    pid=${PIDS[$svc]}
    if pid_alive "$pid"; then
      log_warn "$svc (pid $pid) still running as this script exits; sending SIGTERM."
      kill -TERM "$pid" 2>/dev/null || true
    fi
  done
}
trap cleanup EXIT
launcher=()
command -v setsid >/dev/null 2>&1 && launcher=(setsid)
for svc in "${SERVICES[@]}"; do
  log_info "Starting $svc on port $(service_port "$svc")..."
  remember_log_sizes "$svc"
  mapfile -t flags < <(node_flags "$svc")
  "${launcher[@]}" node "${flags[@]}" "dist/$svc/server.js" </dev/null &
  PIDS[$svc]=$!
done

# stop_group NAME...: SIGTERM to those still running, wait (bounded), SIGKILL
# the rest. Prints how each one ended; returns 1 if any did not end cleanly.
stop_group() {
  local svc pid rc=0 code deadline alive
  for svc in "$@"; do
    pid=${PIDS[$svc]}
    pid_alive "$pid" && kill -TERM "$pid" 2>/dev/null || true
  done
  deadline=$((SECONDS + SHUTDOWN_WAIT))
  while :; do
    alive=0
    for svc in "$@"; do
      pid_alive "${PIDS[$svc]}" && alive=1
    done
    ((alive)) || break
    if ((FORCE)) || ((SECONDS >= deadline)); then
      for svc in "$@"; do
        pid=${PIDS[$svc]}
        if pid_alive "$pid"; then
          if ((FORCE)); then
            log_warn "killing $svc (pid $pid)."
          else
            log_warn "$svc (pid $pid) did not exit within ${SHUTDOWN_WAIT}s; killing it (SIGKILL)."
          fi
          kill -KILL "$pid" 2>/dev/null || true
        fi
      done
      break
    fi
    sleep 0.2
  done
  for svc in "$@"; do
    code=0
    wait "${PIDS[$svc]}" 2>/dev/null || code=$?
    if ((code == 0)); then
      log_info "$svc stopped."
    else
      log_warn "$svc exited with code $code."
      rc=1
    fi
  done
  return "$rc"
}

stop_all() {
  local rc=0
  stop_group gateway || rc=1
  stop_group usuarios pagos || rc=1
  return "$rc"
}

# Wait until each one is ready (the gateway's /health needs usuarios and pagos).
startup_failed=
for svc in "${SERVICES[@]}"; do
  rc=0
  wait_http "$(health_url "$svc")" "$START_TIMEOUT" "${PIDS[$svc]}" || rc=$?
  case $rc in
    0) ;;
    2) log_error "$svc exited during start-up."; startup_failed=$svc ;;
    3) ;;
    *) log_error "$svc was not ready after ${START_TIMEOUT}s ($(health_url "$svc"))."; startup_failed=$svc ;;
  esac
  [[ -z $startup_failed && -z $STOP_REQUESTED ]] || break
done

if [[ -n $startup_failed ]]; then
  show_log_tail "$startup_failed" 20
  stop_all || true
  exit 1
fi

if [[ -z $STOP_REQUESTED ]]; then
  gw=$(service_url gateway)
  gw=${gw/127.0.0.1/localhost}
  cat <<EOF

All services are up:
  gateway   $gw          health: $gw/health
  usuarios  $gw/usuarios/1    (direct: $(service_url usuarios))
  pagos     $gw/pagos/status  (direct: $(service_url pagos))
  try:      curl -X POST $gw/usuarios/1/pagar
Logs: $LOG_DIR/<service>.log. Press Ctrl-C to stop.

EOF
fi

# Run until a signal or until one of them exits.
died=
while [[ -z $STOP_REQUESTED ]]; do
  done_pid=
  rc=0
  wait -n -p done_pid "${PIDS[@]}" || rc=$?
  [[ -n ${done_pid:-} ]] || continue # interrupted by a signal
  for svc in "${SERVICES[@]}"; do
    if [[ ${PIDS[$svc]} == "$done_pid" ]]; then died=$svc; fi
  done
  log_error "$died (pid $done_pid) exited unexpectedly with code $rc; stopping the others."
  show_log_tail "$died" 20
  # Already reaped by `wait -n`: stop_group must not wait for it again.
  unset "PIDS[$died]"
  break
done

if [[ -n $died ]]; then
  if [[ -n ${PIDS[gateway]:-} ]]; then stop_group gateway || true; fi
  rest=()
  for svc in usuarios pagos; do
    if [[ -n ${PIDS[$svc]:-} ]]; then rest+=("$svc"); fi
  done
  if ((${#rest[@]} > 0)); then stop_group "${rest[@]}" || true; fi
  exit 1
fi

if stop_all; then
  log_info "All services stopped."
  exit 0
fi
exit 1
