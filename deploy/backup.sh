#!/usr/bin/env bash
# Takes a verified snapshot of both databases while the services run, and
# keeps the newest BACKUP_KEEP of them in BACKUP_DIR:
#
#   deploy/backup.sh            (npm run backup in a checkout)
#
# The snapshot is BACKUP_DIR/<UTC timestamp, e.g. 20261129T031500Z>/ with
# usuarios.sqlite, pagos.sqlite and manifest.json. Each SQLite file is copied
# online with VACUUM INTO (consistent, writers keep writing), then checked
# with PRAGMA integrity_check. A service on PostgreSQL (*_DATABASE_URL) is
# dumped with pg_dump (custom format) instead; restore those with pg_restore
# (README, Backups and restore). Installed by deploy/install.sh it runs daily
# as pagos-backup.service (pagos-backup.timer) and reads the databases'
# places from CONFIG_DIR/{usuarios,pagos}.env and BACKUP_DIR/BACKUP_KEEP from
# CONFIG_DIR/backup.env. Prints the snapshot's path on its last line; exits
# non-zero, and keeps no partial snapshot, when anything fails.
#
# Environment (all optional; set ones win over the env files):
#   BACKUP_DIR   where snapshots go (default: backups in a checkout,
#                /var/lib/pagos/backups when installed)
#   BACKUP_KEEP  snapshots kept, newest first (default 14)
#   DATA_DIR, USUARIOS_DB_FILE, PAGOS_DB_FILE, USUARIOS_DATABASE_URL,
#   PAGOS_DATABASE_URL  as for the services (checkout only)
#   NODE         the node binary (default: node in PATH)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=deploy/lib.sh
source deploy/lib.sh

[[ ${1:-} == -h || ${1:-} == --help ]] && { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0; }
# An installed copy runs the node install.sh found (deploy/installed.env).
[[ -n ${NODE:-} || ! -r deploy/installed.env ]] || NODE=$(sed -n 's/^NODE=//p' deploy/installed.env)
NODE=${NODE:-node}
CLI=dist/lib/cli/backup.js
[[ -f $CLI ]] || { log_error "$CLI is missing: build first (npm run build)"; exit 1; }
resolve_backup_settings
[[ $BACKUP_KEEP =~ ^[1-9][0-9]*$ ]] || { log_error "BACKUP_KEEP must be a whole number, 1 or more (got '$BACKUP_KEEP')"; exit 1; }
for src in "$USUARIOS_SOURCE" "$PAGOS_SOURCE"; do
  if [[ $src == postgres* ]] && ! command -v pg_dump >/dev/null 2>&1; then
    log_error "a service runs on PostgreSQL ($(printf '%s' "$src" | sed 's|//[^@]*@|//***@|')): its backup is pg_dump, which is not installed (apt-get install -y postgresql-client); see README, Backups and restore"
    exit 1
  fi
done

# Installed, root runs it as the folder's owner (the service user), like the
# timer does: a snapshot root owned could not be pruned by the next one.
if ((INSTALLED)) && [[ $(id -u) -eq 0 && -d $BACKUP_DIR ]]; then
  owner=$(stat -c %U "$BACKUP_DIR")
  if [[ $owner != root ]] && getent passwd "$owner" >/dev/null; then
    exec runuser -u "$owner" -- "$0" "$@"
  fi
fi

mkdir -p "$BACKUP_DIR"
# One backup or restore at a time (the timer and a person may meet).
exec 9>>"$BACKUP_DIR/.lock"
if ! flock -w 600 9; then
  log_error "another backup or restore holds $BACKUP_DIR/.lock"
  exit 1
fi
umask 027
exec "$NODE" "$CLI" take --dir "$BACKUP_DIR" --keep "$BACKUP_KEEP" --usuarios "$USUARIOS_SOURCE" --pagos "$PAGOS_SOURCE"
