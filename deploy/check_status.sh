#!/usr/bin/env bash
# Reports each service (up/down, pid, systemd unit state, port, health status),
# RabbitMQ, and the depth of each of its queues and dead-letter queues.
# Exits 0 when every service is ready and RabbitMQ answers, 1 otherwise.
# An installed copy also names its newest backup, with a warning past 26 h.
#
# Installed by deploy/install.sh it reads the settings of the installed
# services (PAGOS_CONFIG_DIR, /etc/pagos by default there) and shows the
# state of their systemd units (pagos-<service>.service).
#
# Environment (all optional): USUARIOS_PORT PAGOS_PORT GATEWAY_PORT HOST
# GATEWAY_HOST RUN_DIR AMQP_URL AMQP_PREFIX (queues shown: AMQP_PREFIX.*,
# default pagos), PAGOS_CONFIG_DIR (env files to read the settings from),
# HEALTH_TIMEOUT (seconds per health call, default 5).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# An installed copy knows where its settings are; they hold the ports and AMQP_PREFIX.
if [[ -z ${PAGOS_CONFIG_DIR:-} && -r deploy/installed.env ]]; then
  PAGOS_CONFIG_DIR=$(sed -n 's/^PAGOS_CONFIG_DIR=//p' deploy/installed.env)
fi
if [[ -n ${PAGOS_CONFIG_DIR:-} ]]; then
  for env_file in common usuarios pagos gateway; do
    if [[ -r $PAGOS_CONFIG_DIR/$env_file.env ]]; then
      set -a
      # shellcheck disable=SC1090
      source "$PAGOS_CONFIG_DIR/$env_file.env"
      set +a
    elif [[ -e $PAGOS_CONFIG_DIR/$env_file.env ]]; then
      printf 'WARNING: cannot read %s (run as root)\n' "$PAGOS_CONFIG_DIR/$env_file.env" >&2
    fi
  done
fi
# shellcheck source=deploy/lib.sh
source deploy/lib.sh
AMQP_PREFIX=${AMQP_PREFIX:-pagos}

SYSTEMD_UP=0
if [[ $(ps -p 1 -o comm= 2>/dev/null) == systemd ]] && command -v systemctl >/dev/null 2>&1; then SYSTEMD_UP=1; fi
# unit_state NAME: "active/running 1234" for an installed unit (state, main
# pid), nothing when it is not installed or systemd does not run.
unit_state() {
  ((SYSTEMD_UP)) || return 0
  local load='' active='' sub='' pid='' key value
  # KEY=value lines: systemd prints the properties in its own order, not the one asked.
  while IFS='=' read -r key value; do
    case $key in
      LoadState) load=$value ;;
      ActiveState) active=$value ;;
      SubState) sub=$value ;;
      MainPID) pid=$value ;;
    esac
  done < <(systemctl show -p LoadState,ActiveState,SubState,MainPID "pagos-$1.service" 2>/dev/null || true)
  [[ $load == loaded ]] || return 0
  printf '%s/%s %s\n' "$active" "$sub" "${pid:-0}"
}

all_up=1
printf '%-9s %-9s %-8s %-6s %-17s %s\n' SERVICE STATE PID PORT UNIT HEALTH
for svc in "${SERVICES[@]}"; do
  port=$(service_port "$svc")
  url=$(health_url "$svc")
  pid=$(service_pid "$svc") || pid=-
  unit=-
  read -r unit_active unit_pid < <(unit_state "$svc") || true
  if [[ -n ${unit_active:-} ]]; then
    unit=$unit_active
    [[ $pid != - || ${unit_pid:-0} == 0 ]] || pid=$unit_pid
  fi
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
  printf '%-9s %-9s %-8s %-6s %-17s %s%s\n' "$svc" "$state" "$pid" "$port" "$unit" "$health" "$note"
  unit_active='' unit_pid=''
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
printf '%-9s %-9s %-8s %-6s %-17s %s\n' rabbitmq "$rabbit_state" - "$amqp_port" - "$amqp_host:$amqp_port, $ping"

# amqp_vhost: the virtual host of AMQP_URL ("/" when it names none).
amqp_vhost() {
  local url=${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672} path
  path=${url#*://}
  path=${path%%\?*}
  [[ $path == */* ]] && path=${path#*/} || path=
  path=${path//%2[Ff]//}
  printf '%s\n' "${path:-/}"
}

# Queue depths (work, retry and dead-letter queues of AMQP_PREFIX), from rabbitmqctl.
queue_note=
case "$amqp_host" in
  127.* | localhost | '[::1]')
    ctl=$(command -v rabbitmqctl || echo /usr/sbin/rabbitmqctl)
    if [[ $rabbit_state != up ]]; then
      queue_note='broker down'
    elif [[ ! -x $ctl ]]; then
      queue_note='rabbitmqctl not available'
    elif queues=$(as_root timeout 30 "$ctl" -s list_queues -p "$(amqp_vhost)" name messages 2>/dev/null); then
      mine=$(awk -v p="$AMQP_PREFIX." 'index($1, p) == 1 { print $1, $2 }' <<<"$queues" | sort)
      if [[ -z $mine ]]; then
        queue_note="no queue named $AMQP_PREFIX.* yet"
      else
        printf '  %-58s %s\n' "QUEUE ($AMQP_PREFIX.* in vhost $(amqp_vhost))" MESSAGES
        dead=0
        while read -r name messages; do
          kind=
          case $name in
            *.dlq) kind='  (dead letters)'; dead=$((dead + messages)) ;;
            *.retry) kind='  (waiting to be retried)' ;;
          esac
          printf '  %-58s %s%s\n' "$name" "$messages" "$kind"
        done <<<"$mine"
        if ((dead > 0)); then
          printf 'WARNING: %s dead-lettered message(s): the reason is in their x-motivo header.\n' "$dead"
        fi
      fi
    else
      queue_note='rabbitmqctl failed (it needs root: sudo deploy/check_status.sh)'
    fi
    ;;
  *) queue_note='remote broker: see its management console' ;;
esac
[[ -z $queue_note ]] || printf '  queues: %s\n' "$queue_note"

# The newest snapshot of an installed copy (pagos-backup.timer takes one daily);
# information only: it does not change the exit code.
if [[ -r deploy/installed.env ]]; then
  backup_dir=$(env_file_value "${PAGOS_CONFIG_DIR:-/etc/pagos}/backup.env" BACKUP_DIR)
  backup_dir=${backup_dir:-/var/lib/pagos/backups}
  newest=$(ls -1 "$backup_dir" 2>/dev/null | grep -E '^[0-9]{8}T[0-9]{6}Z(-[0-9]+)?$' | sort -V | tail -n1 || true)
  if [[ -z $newest ]]; then
    printf 'WARNING: no backup in %s yet (sudo systemctl start pagos-backup.service takes one)\n' "$backup_dir"
  else
    taken=$(date -u -d "${newest:0:4}-${newest:4:2}-${newest:6:2} ${newest:9:2}:${newest:11:2}:${newest:13:2}" +%s)
    hours=$((($(date -u +%s) - taken) / 3600))
    printf 'backups: newest %s (%s h ago) in %s\n' "$newest" "$hours" "$backup_dir"
    if ((hours >= 26)); then
      printf 'WARNING: the newest backup is %s h old: journalctl -u pagos-backup; systemctl list-timers pagos-backup.timer\n' "$hours"
    fi
  fi
fi

if ((all_up)); then
  exit 0
fi
exit 1
