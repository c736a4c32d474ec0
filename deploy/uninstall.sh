#!/usr/bin/env bash
# Removes what deploy/install.sh installed: stops and disables the units,
# removes them, the logrotate config and the code (PREFIX). Keeps the data,
# the logs, the settings (with their secrets), the system user and the
# RabbitMQ user, virtual host and queues, so that installing again carries on where it was.
#
#   sudo deploy/uninstall.sh            # keeps data, logs and settings
#   sudo deploy/uninstall.sh --purge    # removes those too: DATA IS LOST
#
# --purge also removes CONFIG_DIR, DATA_DIR, LOG_DIR, the system user, and on
# the local RabbitMQ the user and the virtual host (with its queues) of AMQP_URL.
#
# Options: --purge, --destdir DIR (undo an install staged with --destdir;
# RabbitMQ is only touched there with DESTDIR_RABBITMQ=1), --help.
# Environment: PREFIX CONFIG_DIR DATA_DIR LOG_DIR SERVICE_USER DESTDIR
# DESTDIR_RABBITMQ, as for install.sh.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

PURGE=0
while (($#)); do
  case $1 in
    --purge) PURGE=1 ;;
    --destdir) DESTDIR=${2:?--destdir needs a directory}; shift ;;
    --destdir=*) DESTDIR=${1#*=} ;;
    -h | --help) usage; exit 0 ;;
    *) echo "uninstall.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

DESTDIR=${DESTDIR:-}
[[ -z $DESTDIR ]] || DESTDIR=$(cd "$DESTDIR" && pwd)
PREFIX=${PREFIX:-/opt/pagos}
CONFIG_DIR=${CONFIG_DIR:-/etc/pagos}
DATA_DIR=${DATA_DIR:-/var/lib/pagos}
LOG_DIR=${LOG_DIR:-/var/log/pagos}
SERVICE_USER=${SERVICE_USER:-pagos}
UNIT_DIR=/etc/systemd/system
UNITS=(pagos-backup.timer pagos-backup.service pagos-gateway.service pagos-usuarios.service pagos-pagos.service pagos.target)

say() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() { printf 'uninstall.sh: ERROR: %s\n' "$*" >&2; exit 1; }
root() { printf '%s%s\n' "$DESTDIR" "$1"; }
for dir in "$PREFIX" "$CONFIG_DIR" "$DATA_DIR" "$LOG_DIR"; do
  [[ $dir == /?* && $dir != *' '* && $dir != / ]] || die "refusing an unusual path: $dir"
done
if [[ -z $DESTDIR ]]; then
  [[ $(id -u) -eq 0 ]] || die "run as root (sudo deploy/uninstall.sh)"
fi
SYSTEMD_UP=0
[[ -z $DESTDIR && $(ps -p 1 -o comm= 2>/dev/null) == systemd ]] && SYSTEMD_UP=1

say "Units"
if ((SYSTEMD_UP)); then
  systemctl disable --now "${UNITS[@]}" 2>/dev/null || true
  note "stopped and disabled"
elif [[ -n $DESTDIR ]]; then
  systemctl --root="$DESTDIR" --quiet disable "${UNITS[@]}" 2>/dev/null || true
  note "disabled under $DESTDIR"
fi
for unit in "${UNITS[@]}"; do
  rm -f "$(root "$UNIT_DIR/$unit")"
  rm -rf "$(root "$UNIT_DIR/$unit.d")"
done
rmdir "$(root "$UNIT_DIR/pagos.target.wants")" 2>/dev/null || true
rm -f "$(root /etc/logrotate.d/pagos)"
((SYSTEMD_UP)) && systemctl daemon-reload
note "unit files and /etc/logrotate.d/pagos removed"

say "Code"
rm -rf "$(root "$PREFIX")"
note "$PREFIX removed"

if ((!PURGE)); then
  say "Kept: $DATA_DIR (data), $LOG_DIR (logs), $CONFIG_DIR (settings and secrets), user $SERVICE_USER, RabbitMQ user, vhost and queues"
  note "deploy/uninstall.sh --purge removes them"
  exit 0
fi

say "Purge"
conf=$(root "$CONFIG_DIR")
amqp_url=$(sed -n 's/^AMQP_URL=//p' "$conf/usuarios.env" 2>/dev/null | tail -n1 || true)
amqp_prefix=$(sed -n 's/^AMQP_PREFIX=//p' "$conf/common.env" 2>/dev/null | tail -n1 || true)
if [[ $amqp_url == amqp://*@127.0.0.1:* ]] && { [[ -z $DESTDIR ]] || [[ ${DESTDIR_RABBITMQ:-} == 1 ]]; } && command -v rabbitmqctl >/dev/null 2>&1; then
  rmq_user=${amqp_url#amqp://}
  rmq_user=${rmq_user%%:*}
  rmq_vhost=${amqp_url#amqp://*/}
  if [[ $rmq_vhost != "$amqp_url" && -n $rmq_vhost && $rmq_vhost != *[/%?]* ]]; then
    # install.sh made this virtual host for the services: its queues go with it.
    if rabbitmqctl -s list_vhosts name | grep -qxF "$rmq_vhost"; then
      rabbitmqctl -q delete_vhost "$rmq_vhost" >/dev/null
      note "RabbitMQ virtual host $rmq_vhost deleted, with its queues"
    fi
  elif [[ $amqp_prefix =~ ^[A-Za-z0-9_.-]+$ ]]; then
    rabbitmqctl -s list_queues name | while read -r queue; do
      if [[ $queue == "$amqp_prefix".* ]]; then rabbitmqctl -q delete_queue "$queue" >/dev/null || true; fi
    done
    note "RabbitMQ queues $amqp_prefix.* deleted"
  fi
  if rabbitmqctl -s list_users | awk '{ print $1 }' | grep -qxF "$rmq_user"; then
    rabbitmqctl -q delete_user "$rmq_user" >/dev/null
    note "RabbitMQ user $rmq_user deleted"
  fi
else
  note "RabbitMQ left as it is (no local broker user in the settings)"
fi
rm -rf "$(root "$CONFIG_DIR")" "$(root "$DATA_DIR")" "$(root "$LOG_DIR")"
note "$CONFIG_DIR, $DATA_DIR and $LOG_DIR removed"
if [[ -n $DESTDIR ]]; then
  if grep -q "^$SERVICE_USER:" "$(root /etc/passwd)" 2>/dev/null; then userdel --prefix "$DESTDIR" "$SERVICE_USER"; fi
elif getent passwd "$SERVICE_USER" >/dev/null; then
  userdel "$SERVICE_USER"
fi
note "user $SERVICE_USER removed"
