#!/usr/bin/env bash
# Starts usuarios, pagos and the gateway in the background (pid files in
# RUN_DIR, output appended to LOG_DIR/<service>.out, JSON logs in
# LOG_DIR/<service>.log), after making sure the system packages (as npm start:
# ensure_system_packages in deploy/lib.sh), npm deps, the build and RabbitMQ are
# there. Waits for each one to be ready and prints one status line per service.
# Exits non-zero if any service did not come up.
#
# Environment (all optional): USUARIOS_PORT PAGOS_PORT GATEWAY_PORT HOST
# GATEWAY_HOST USUARIOS_URL PAGOS_URL LOG_DIR DATA_DIR RUN_DIR AMQP_URL
# AMQP_PREFIX LOG_LEVEL ... (passed on to the services), START_TIMEOUT (seconds
# to wait for each service to be ready, default 60), RABBITMQ_WAIT (default 60).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=deploy/lib.sh
source deploy/lib.sh

START_TIMEOUT=${START_TIMEOUT:-60}

ensure_system_packages
ensure_deps
ensure_build
ensure_rabbitmq

mkdir -p "$RUN_DIR" "$LOG_DIR"
export_upstream_urls

# Start every service that isn't running yet; they start in parallel.
failed=()
not_started=()
for svc in "${SERVICES[@]}"; do
  if pid=$(service_pid "$svc"); then
    log_info "$svc is already running (pid $pid): not starting it again."
    continue
  fi
  rm -f "$(pid_file "$svc")"
  port=$(service_port "$svc")
  if tcp_open "$(service_host "$svc")" "$port"; then
    log_error "$svc: port $port is already in use by a program these scripts did not start (see deploy/check_status.sh); not starting $svc."
    failed+=("$svc")
    not_started+=("$svc")
    continue
  fi
  if [[ ! -f dist/$svc/server.js ]]; then
    log_error "$svc: dist/$svc/server.js does not exist (the build has no $svc service)."
    failed+=("$svc")
    not_started+=("$svc")
    continue
  fi
  log_info "Starting $svc on port $port..."
  remember_log_sizes "$svc"
  # setsid: its own session, so a Ctrl-C in this terminal doesn't reach it.
  launcher=(nohup)
  command -v setsid >/dev/null 2>&1 && launcher=(setsid nohup)
  mapfile -t flags < <(node_flags "$svc")
  "${launcher[@]}" node "${flags[@]}" "dist/$svc/server.js" </dev/null >>"$LOG_DIR/$svc.out" 2>&1 &
  echo "$!" >"$(pid_file "$svc")"
done

# Wait for each (usuarios and pagos first: the gateway's /health needs them).
status_lines=()
for svc in "${SERVICES[@]}"; do
  port=$(service_port "$svc")
  url=$(health_url "$svc")
  if [[ " ${not_started[*]} " == *" $svc "* ]]; then
    status_lines+=("$(printf '%-9s FAILED  port %-5s  not started' "$svc" "$port")")
    continue
  fi
  pid=$(tr -dc '0-9' <"$(pid_file "$svc")")
  degraded=
  if [[ $svc == gateway && ${#failed[@]} -gt 0 ]]; then
    # Its /health can't be ok without usuarios and pagos: check it runs at all.
    url=$(service_url gateway)/health/live
    degraded=${failed[*]}
  fi
  rc=0
  wait_http "$url" "$START_TIMEOUT" "$pid" || rc=$?
  if [[ $rc == 0 && -n $degraded ]]; then
    status_lines+=("$(printf '%-9s running port %-5s  pid %-7s but degraded without %s' "$svc" "$port" "$pid" "$degraded")")
    continue
  fi
  case $rc in
    0) status_lines+=("$(printf '%-9s up      port %-5s  pid %-7s %s' "$svc" "$port" "$pid" "$url")") ;;
    2)
      status_lines+=("$(printf '%-9s FAILED  port %-5s  exited during start-up' "$svc" "$port")")
      rm -f "$(pid_file "$svc")"
      failed+=("$svc")
      ;;
    *)
      read -r code status < <(health_status "$url")
      status_lines+=("$(printf '%-9s FAILED  port %-5s  pid %-7s not ready after %ss (HTTP %s, status %s)' "$svc" "$port" "$pid" "$START_TIMEOUT" "$code" "$status")")
      failed+=("$svc")
      ;;
  esac
done

printf '%s\n' "${status_lines[@]}"

if ((${#failed[@]} > 0)); then
  for svc in "${failed[@]}"; do
    # The log of a service that wasn't started is an older run's.
    [[ " ${not_started[*]} " == *" $svc "* ]] || show_log_tail "$svc" 20
  done
  log_error "not every service came up: ${failed[*]}. Logs are in $LOG_DIR/; deploy/stop_services.sh stops the ones that run."
  exit 1
fi
log_info "All services are up. Gateway: $(service_url gateway) (e.g. $(service_url gateway)/usuarios/1). Logs in $LOG_DIR/."
