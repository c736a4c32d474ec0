#!/usr/bin/env bash
# Brings the databases back from a snapshot of deploy/backup.sh:
#
#   deploy/restore.sh SNAPSHOT     (a snapshot folder, its name in BACKUP_DIR, or "latest")
#
#   1. verifies the snapshot (manifest, sizes, SHA-256, integrity_check)
#   2. stops the services: installed under systemd, the pagos units (and
#      waits until they are inactive); in a checkout, deploy/stop_services.sh
#   3. moves the current database files (with their -wal and -shm) aside into
#      pre-restore-<UTC timestamp>/ next to them: nothing is ever deleted
#   4. puts the snapshot's files in their place (owned by the service user)
#   5. starts the services (systemctl start pagos.target, or
#      deploy/start_services.sh) and waits until usuarios, pagos and the
#      gateway answer their health checks
# Payments left pendiente by the restore are asked again by usuarios'
# sweep (PAGO_REENVIO_SEGUNDOS) and settle by themselves.
# Exits non-zero if any step fails, saying where the set-aside files are.
# PostgreSQL databases are restored with pg_restore (README, Backups and restore).
#
# Environment (all optional): as deploy/backup.sh (BACKUP_DIR, DATA_DIR,
# *_DB_FILE, NODE), the checkout's start_services.sh settings (ports, RUN_DIR,
# LOG_DIR, AMQP_URL...), STOP_TIMEOUT (seconds to wait for the units to stop,
# default 90), START_TIMEOUT (seconds to wait for health, default 90).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=deploy/lib.sh
source deploy/lib.sh

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
case ${1:-} in
  -h | --help) usage; exit 0 ;;
  '' | -*) usage >&2; exit 2 ;;
esac
SNAPSHOT_ARG=$1
# An installed copy runs the node install.sh found (deploy/installed.env).
[[ -n ${NODE:-} || ! -r deploy/installed.env ]] || NODE=$(sed -n 's/^NODE=//p' deploy/installed.env)
NODE=${NODE:-node}
CLI=dist/lib/cli/backup.js
STOP_TIMEOUT=${STOP_TIMEOUT:-90}
START_TIMEOUT=${START_TIMEOUT:-90}
UNITS=(pagos-gateway.service pagos-usuarios.service pagos-pagos.service)
say() { printf '==> %s\n' "$*"; }
die() { log_error "$*"; exit 1; }

[[ -f $CLI ]] || die "$CLI is missing: build first (npm run build)"
resolve_backup_settings
for src in "$USUARIOS_SOURCE" "$PAGOS_SOURCE"; do
  [[ $src != postgres* ]] || die "a service runs on PostgreSQL: restore its pg_dump with pg_restore (README, Backups and restore); this script restores SQLite files only"
done

case $SNAPSHOT_ARG in
  latest)
    SNAPSHOT=$(ls -1 "$BACKUP_DIR" 2>/dev/null | grep -E '^[0-9]{8}T[0-9]{6}Z(-[0-9]+)?$' | sort -V | tail -n1 || true)
    [[ -n $SNAPSHOT ]] || die "no snapshot in $BACKUP_DIR"
    SNAPSHOT=$BACKUP_DIR/$SNAPSHOT
    ;;
  */*) SNAPSHOT=$SNAPSHOT_ARG ;;
  *) SNAPSHOT=$BACKUP_DIR/$SNAPSHOT_ARG ;;
esac
[[ -d $SNAPSHOT ]] || die "no snapshot at $SNAPSHOT"
SNAPSHOT=$(cd "$SNAPSHOT" && pwd)

SYSTEMD=0
if ((INSTALLED)); then
  [[ $(ps -p 1 -o comm= 2>/dev/null) == systemd ]] || die "this is an installed copy but systemd does not run here"
  [[ $(id -u) -eq 0 ]] || die "run as root (sudo $0 $SNAPSHOT_ARG): it stops and starts the pagos units"
  SYSTEMD=1
  conf=${PAGOS_CONFIG_DIR:-$(sed -n 's/^PAGOS_CONFIG_DIR=//p' deploy/installed.env)}
  set -a
  # shellcheck disable=SC1091
  source "$conf/common.env"
  set +a
  GATEWAY_HOST=$(env_file_value "$conf/gateway.env" GATEWAY_HOST)
fi

say "Verifying $SNAPSHOT"
"$NODE" "$CLI" verify "$SNAPSHOT" || die "not restoring from a snapshot that does not verify"
for svc in usuarios pagos; do
  [[ -f $SNAPSHOT/$svc.sqlite ]] || die "$SNAPSHOT has no $svc.sqlite"
done

mkdir -p "$BACKUP_DIR"
# No backup runs while files are swapped (the same lock as deploy/backup.sh).
exec 9>>"$BACKUP_DIR/.lock"
flock -w 600 9 || die "a backup still holds $BACKUP_DIR/.lock after 600 s"

say "Stopping the services"
if ((SYSTEMD)); then
  # Naming the services: `systemctl stop pagos.target` alone returns before they have stopped.
  systemctl stop pagos.target "${UNITS[@]}"
  deadline=$((SECONDS + STOP_TIMEOUT))
  for unit in "${UNITS[@]}"; do
    while :; do
      state=$(systemctl is-active "$unit" 2>/dev/null || true)
      [[ $state == inactive || $state == failed ]] && break
      ((SECONDS < deadline)) || die "$unit is still $state after ${STOP_TIMEOUT}s: the data files are unchanged"
      sleep 0.5
    done
    log_info "$unit: $state"
  done
else
  deploy/stop_services.sh
  for svc in usuarios pagos gateway; do
    ! service_pid "$svc" >/dev/null || die "$svc still runs: the data files are unchanged"
  done
fi

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
say "Moving the current files aside"
ASIDE=()
for svc in usuarios pagos; do
  var=${svc^^}_SOURCE
  target=${!var}
  dir=$(dirname "$target")
  mkdir -p "$dir"
  aside=$dir/pre-restore-$STAMP
  for f in "$target" "$target-wal" "$target-shm" "$target-journal"; do
    [[ -e $f ]] || continue
    mkdir -p "$aside"
    mv "$f" "$aside/"
  done
  if [[ -d $aside ]]; then
    [[ " ${ASIDE[*]} " == *" $aside "* ]] || ASIDE+=("$aside")
    log_info "$svc: $target -> $aside/"
  else
    log_info "$svc: no database at $target (a fresh data folder)"
  fi
done

say "Restoring $SNAPSHOT"
for svc in usuarios pagos; do
  var=${svc^^}_SOURCE
  target=${!var}
  dir=$(dirname "$target")
  tmp=$(mktemp "$dir/.$svc.restoring.XXXXXX")
  cp "$SNAPSHOT/$svc.sqlite" "$tmp"
  chmod 0640 "$tmp"
  # The service's own user owns what it writes: the folder tells who that is.
  [[ $(id -u) -ne 0 ]] || chown "$(stat -c %u:%g "$dir")" "$tmp"
  sync "$tmp"
  mv "$tmp" "$target"
  log_info "$svc: $target"
done
sync "$(dirname "$USUARIOS_SOURCE")" "$(dirname "$PAGOS_SOURCE")" 2>/dev/null || true

say "Starting the services"
# The files are in place: let backups run again. Closed here so that the
# services started below do not inherit (and hold) the lock.
exec 9>&-
failed=0
if ((SYSTEMD)); then
  systemctl start pagos.target "${UNITS[@]}" || failed=1
  for svc in usuarios pagos gateway; do
    if wait_http "$(health_url "$svc")" "$START_TIMEOUT"; then
      log_info "$svc: ready ($(health_url "$svc"))"
    else
      log_error "$svc did not answer $(health_url "$svc") within ${START_TIMEOUT}s: journalctl -u pagos-$svc -n 50"
      failed=1
    fi
  done
else
  START_TIMEOUT=$START_TIMEOUT deploy/start_services.sh || failed=1
fi
if ((failed)); then
  log_error "restored, but not every service came up. The previous files are in: ${ASIDE[*]:-(none)}"
  exit 1
fi
say "Restored $SNAPSHOT. The previous files are kept in: ${ASIDE[*]:-(none: the data folder was empty)}"
