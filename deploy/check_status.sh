#!/usr/bin/env bash
# Reports each service (up/down, pid, port, health status) and RabbitMQ.
# Exits 0 when every service is ready and RabbitMQ answers, 1 otherwise.
#
# Environment (all optional): USUARIOS_PORT PAGOS_PORT GATEWAY_PORT HOST
# GATEWAY_HOST RUN_DIR AMQP_URL, HEALTH_TIMEOUT (seconds per health call, default 5).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=deploy/lib.sh
source deploy/lib.sh

all_up=1
printf '%-9s %-9s %-8s %-6s %s\n' SERVICE STATE PID PORT HEALTH
for svc in "${SERVICES[@]}"; do
  port=$(service_port "$svc")
  url=$(health_url "$svc")
  pid=$(service_pid "$svc") || pid=-
  read -r code status < <(health_status "$url")
  if [[ $code == 200 && $status == ok ]]; then
    state=up
  elif [[ $code != 000 ]]; then
    state=degraded
    all_up=0
  elif [[ $pid != - ]]; then
    state=starting
    all_up=0
  else
    state=down
    all_up=0
  fi
  if [[ $code == 000 ]]; then
    health="no answer from $url"
  else
    health="HTTP $code status=$status ($url)"
  fi
  note=
  if [[ $pid == - && $code != 000 ]]; then
    note=' [not started by deploy/start_services.sh]'
  fi
  printf '%-9s %-9s %-8s %-6s %s%s\n' "$svc" "$state" "$pid" "$port" "$health" "$note"
done

read -r amqp_host amqp_port < <(amqp_host_port)
if rabbitmq_up; then
  rabbit_state=up
else
  rabbit_state=down
  all_up=0
fi
ping=
case "$amqp_host" in
  127.* | localhost | '[::1]')
    if command -v rabbitmq-diagnostics >/dev/null 2>&1 || [[ -x /usr/sbin/rabbitmq-diagnostics ]]; then
      diag=$(command -v rabbitmq-diagnostics || echo /usr/sbin/rabbitmq-diagnostics)
      if timeout 30 "$diag" -q ping >/dev/null 2>&1; then
        ping='ping ok'
      else
        ping='ping failed'
      fi
    else
      ping='rabbitmq-diagnostics not available'
    fi
    ;;
  *) ping='remote broker (no ping)' ;;
esac
printf '%-9s %-9s %-8s %-6s %s\n' rabbitmq "$rabbit_state" - "$amqp_port" "$amqp_host:$amqp_port, $ping"

if ((all_up)); then
  exit 0
fi
exit 1
