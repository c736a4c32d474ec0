#!/usr/bin/env bash
# Stops the services started by deploy/start_services.sh: SIGTERM to the
# gateway first, then to usuarios and pagos; each gets SHUTDOWN_WAIT seconds
# (default 20) to finish in-flight work and exit, then SIGKILL with a warning.
# Removes the pid files. Does nothing (and succeeds) when nothing runs.
#
# Environment (all optional): RUN_DIR, SHUTDOWN_WAIT.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=deploy/lib.sh
source deploy/lib.sh

SHUTDOWN_WAIT=${SHUTDOWN_WAIT:-20}

# stop_together NAME...: SIGTERM to each, one shared wait, SIGKILL to the stragglers.
stop_together() {
  local svc pid names=() pids=() i deadline alive
  for svc in "$@"; do
    if pid=$(service_pid "$svc"); then
      log_info "Stopping $svc (pid $pid)..."
      kill -TERM "$pid" 2>/dev/null || true
      names+=("$svc")
      pids+=("$pid")
    elif [[ -e $(pid_file "$svc") ]]; then
      log_info "$svc is not running (removing its stale pid file)."
      rm -f "$(pid_file "$svc")"
    else
      log_info "$svc is not running."
    fi
  done
  ((${#pids[@]} > 0)) || return 0
  deadline=$((SECONDS + SHUTDOWN_WAIT))
  while :; do
    alive=0
    for pid in "${pids[@]}"; do
      pid_alive "$pid" && alive=1
    done
    ((alive && SECONDS < deadline)) || break
    sleep 0.2
  done
  for i in "${!pids[@]}"; do
    svc=${names[$i]}
    pid=${pids[$i]}
    if pid_alive "$pid"; then
      log_warn "$svc (pid $pid) did not exit within ${SHUTDOWN_WAIT}s; killing it (SIGKILL)."
      kill -KILL "$pid" 2>/dev/null || true
    else
      log_info "$svc stopped."
    fi
    rm -f "$(pid_file "$svc")"
  done
}

[[ -d $RUN_DIR ]] || { log_info "Nothing to stop (no $RUN_DIR/ directory)."; exit 0; }
stop_together gateway
stop_together usuarios pagos
