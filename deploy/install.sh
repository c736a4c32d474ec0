#!/usr/bin/env bash
# Installs (or upgrades in place) the three services on this machine as systemd
# units, from this source tree. Run as root on a Debian/Ubuntu or Amazon Linux
# EC2 box with Node.js 20+:
#
#   sudo deploy/install.sh
#
# What it does, each step safe to repeat (data, settings and secrets are kept):
#   1. installs RabbitMQ if missing (when AMQP_URL is not given), and logrotate
#   2. creates the system user SERVICE_USER (no login, no home of its own)
#   3. builds (npm ci + npm run build here), copies the build to PREFIX and
#      installs production npm deps there (`npm ci --omit=dev`, only when
#      package-lock.json changed)
#   4. creates a RabbitMQ virtual host and a user of its own (not guest) with
#      rights on that vhost only
#   5. writes CONFIG_DIR/{common,usuarios,pagos,gateway}.env with generated
#      secrets (API key, RabbitMQ password); an existing file is never rewritten
#   6. installs the units (deploy/systemd) and the logrotate config, enables
#      them, (re)starts pagos.target, waits for /health and runs check_status.sh;
#      enables pagos-backup.timer: a verified snapshot of the databases every
#      day into DATA_DIR/backups (BACKUP_DIR, BACKUP_KEEP in CONFIG_DIR/backup.env)
#
# Options:
#   --destdir DIR  stage everything under DIR instead of / (for tests and
#                  packaging): the user goes into DIR/etc/passwd (useradd
#                  --prefix), the units are enabled with systemctl --root=DIR,
#                  nothing is started, RabbitMQ is not touched (unless
#                  DESTDIR_RABBITMQ=1), and files are owned by the user's ids
#                  of DIR/etc/passwd (when run as root). Paths written inside the
#                  files are the final ones (/opt/pagos...), as with `make install DESTDIR=`.
#   --no-start     install and enable, but do not (re)start the services
#   --help
#
# Environment (all optional):
#   PREFIX=/opt/pagos  CONFIG_DIR=/etc/pagos  DATA_DIR=/var/lib/pagos
#   LOG_DIR=/var/log/pagos  SERVICE_USER=pagos  NODE=$(command -v node)  NPM=$(command -v npm)
#   AMQP_PREFIX=pagos  RABBITMQ_USER=pagos  RABBITMQ_VHOST=pagos
#   AMQP_URL       use this broker (e.g. Amazon MQ) instead of a local RabbitMQ;
#                  written to the env files as is, no RabbitMQ user is created
#   USUARIOS_DATABASE_URL, PAGOS_DATABASE_URL  PostgreSQL instead of SQLite
#   GATEWAY_PORT=5002  USUARIOS_PORT=5004  PAGOS_PORT=5001
#   RATE_LIMIT_MAX=1200  RATE_LIMIT_WINDOW_MS=60000
#   SKIP_BUILD=1   use the existing dist/ as it is
#   DESTDIR        same as --destdir
#   DESTDIR_RABBITMQ=1  in DESTDIR mode, still create the RabbitMQ user (tests)
#   START_TIMEOUT=90    seconds to wait for the gateway's /health
set -euo pipefail
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$SRC"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

NO_START=0
while (($#)); do
  case $1 in
    --destdir) DESTDIR=${2:?--destdir needs a directory}; shift ;;
    --destdir=*) DESTDIR=${1#*=} ;;
    --no-start) NO_START=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/opt/pagos}
CONFIG_DIR=${CONFIG_DIR:-/etc/pagos}
DATA_DIR=${DATA_DIR:-/var/lib/pagos}
LOG_DIR=${LOG_DIR:-/var/log/pagos}
SERVICE_USER=${SERVICE_USER:-pagos}
AMQP_PREFIX=${AMQP_PREFIX:-pagos}
RABBITMQ_USER=${RABBITMQ_USER:-pagos}
RABBITMQ_VHOST=${RABBITMQ_VHOST:-pagos}
START_TIMEOUT=${START_TIMEOUT:-90}
UNIT_DIR=/etc/systemd/system
UNITS=(pagos-usuarios.service pagos-pagos.service pagos-gateway.service pagos.target)
# The daily backup: the service has no [Install] section, the timer starts it.
BACKUP_UNITS=(pagos-backup.service pagos-backup.timer)

say() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() { printf 'install.sh: ERROR: %s\n' "$*" >&2; exit 1; }
# skipped WHAT: a step that DESTDIR mode records instead of doing.
skipped() { printf '    skipped (DESTDIR mode): %s\n' "$*"; }
# The path of a final location in the staging root.
root() { printf '%s%s\n' "$DESTDIR" "$1"; }

[[ $AMQP_PREFIX =~ ^[A-Za-z0-9_.-]{1,100}$ ]] || die "AMQP_PREFIX must match [A-Za-z0-9_.-]{1,100}"
[[ $RABBITMQ_USER =~ ^[A-Za-z0-9_.-]{1,64}$ ]] || die "RABBITMQ_USER must match [A-Za-z0-9_.-]{1,64}"
[[ $RABBITMQ_VHOST =~ ^[A-Za-z0-9_.-]{1,64}$ ]] || die "RABBITMQ_VHOST must match [A-Za-z0-9_.-]{1,64}"
[[ $SERVICE_USER =~ ^[a-z_][a-z0-9_-]{0,30}$ ]] || die "SERVICE_USER must be a valid user name"
for dir in "$PREFIX" "$CONFIG_DIR" "$DATA_DIR" "$LOG_DIR"; do
  [[ $dir == /?* && $dir != *' '* ]] || die "install paths must be absolute, without spaces: $dir"
done
if [[ -n $DESTDIR ]]; then
  mkdir -p "$DESTDIR"
  DESTDIR=$(cd "$DESTDIR" && pwd)
fi

# ------------------------------------------------------------------ checks
IS_ROOT=0
[[ $(id -u) -eq 0 ]] && IS_ROOT=1
if [[ -z $DESTDIR ]]; then
  ((IS_ROOT)) || die "run as root (sudo deploy/install.sh), or stage into a folder with --destdir DIR"
  [[ $(ps -p 1 -o comm= 2>/dev/null) == systemd ]] ||
    die "systemd is not running on this machine (PID 1 is $(ps -p 1 -o comm= 2>/dev/null || echo unknown)); use deploy/start_services.sh instead"
fi

NODE=${NODE:-$(command -v node || true)}
[[ -n $NODE && -x $NODE ]] || die "Node.js 20+ is needed: Debian/Ubuntu: NodeSource's nodejs 20 package; Amazon Linux 2023: dnf install -y nodejs20 (then NODE=/usr/bin/node-20)"
NODE=$(readlink -f "$NODE")
node_major=$("$NODE" -p 'process.versions.node.split(".")[0]')
((node_major >= 20)) || die "Node.js $("$NODE" -v) at $NODE is too old: 20 or newer is needed"
case $NODE in
  /home/* | /root/* | /run/user/*)
    msg="node at $NODE is under a home directory, which the units hide (ProtectHome=yes): install Node.js system-wide"
    if [[ -z $DESTDIR ]]; then die "$msg"; else note "WARNING: $msg"; fi
    ;;
esac
NPM=${NPM:-$(command -v npm || true)}
[[ -n $NPM ]] || die "npm is needed (it comes with Node.js)"

# pkg_install PACKAGE...: with the system's package manager.
pkg_install() {
  if command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"
  elif command -v dnf >/dev/null 2>&1; then
    dnf install -y "$@"
  elif command -v yum >/dev/null 2>&1; then
    yum install -y "$@"
  else
    die "no apt-get, dnf or yum to install $*"
  fi
}

# ------------------------------------------------------------------ 1. packages
LOCAL_BROKER=1
[[ -n ${AMQP_URL:-} ]] && LOCAL_BROKER=0
say "System packages"
if [[ -n $DESTDIR ]]; then
  skipped "install rabbitmq-server and logrotate if missing, enable rabbitmq-server"
else
  command -v logrotate >/dev/null 2>&1 || pkg_install logrotate
  command -v curl >/dev/null 2>&1 || pkg_install curl
  if ((LOCAL_BROKER)); then
    if ! command -v rabbitmq-server >/dev/null 2>&1 && [[ ! -x /usr/sbin/rabbitmq-server ]]; then
      if command -v apt-get >/dev/null 2>&1; then
        apt-get update
        pkg_install rabbitmq-server
      else
        die "RabbitMQ is not installed and this system has no package for it (Amazon Linux: add the RabbitMQ and Erlang repositories from rabbitmq.com, then dnf install -y rabbitmq-server; or use Amazon MQ and run again with AMQP_URL=amqps://user:password@host:5671)"
      fi
    fi
    systemctl enable --now rabbitmq-server
    timeout 120 rabbitmqctl -q await_startup --timeout 100 || die "RabbitMQ did not start (journalctl -u rabbitmq-server)"
    note "rabbitmq-server enabled and running"
  else
    note "AMQP_URL given: using that broker, no local RabbitMQ"
  fi
fi

# ------------------------------------------------------------------ 2. user
say "System user $SERVICE_USER"
if [[ -n $DESTDIR ]]; then
  mkdir -p "$(root /etc)"
  [[ -e $(root /etc/passwd) ]] || printf 'root:x:0:0:root:/root:/bin/bash\n' >"$(root /etc/passwd)"
  [[ -e $(root /etc/group) ]] || printf 'root:x:0:\n' >"$(root /etc/group)"
  [[ -e $(root /etc/shadow) ]] || (umask 077 && printf 'root:*:19000:0:99999:7:::\n' >"$(root /etc/shadow)")
  [[ -e $(root /etc/gshadow) ]] || (umask 077 && printf 'root:*::\n' >"$(root /etc/gshadow)")
  USERADD=(useradd --prefix "$DESTDIR")
  user_exists() { grep -q "^$SERVICE_USER:" "$(root /etc/passwd)"; }
else
  USERADD=(useradd)
  user_exists() { getent passwd "$SERVICE_USER" >/dev/null; }
fi
if user_exists; then
  note "exists"
else
  nologin=/usr/sbin/nologin
  [[ -x $nologin ]] || nologin=/sbin/nologin
  "${USERADD[@]}" --system --user-group --home-dir "$DATA_DIR" --no-create-home \
    --shell "$nologin" --comment "Pagos services" "$SERVICE_USER"
  note "created"
fi
if [[ -n $DESTDIR ]]; then
  SERVICE_UID=$(awk -F: -v u="$SERVICE_USER" '$1 == u { print $3 }' "$(root /etc/passwd)")
  SERVICE_GID=$(awk -F: -v u="$SERVICE_USER" '$1 == u { print $4 }' "$(root /etc/passwd)")
else
  SERVICE_UID=$(id -u "$SERVICE_USER")
  SERVICE_GID=$(id -g "$SERVICE_USER")
fi

# own MODE OWNER PATH...: chmod, and chown when we can (OWNER: user, group, root or root:group).
own() {
  local mode=$1 who=$2 ids
  shift 2
  chmod "$mode" "$@"
  case $who in
    user) ids=$SERVICE_UID:$SERVICE_GID ;;
    group) ids=0:$SERVICE_GID ;;
    *) ids=0:0 ;;
  esac
  if ((IS_ROOT)); then chown "$ids" "$@"; fi
}

# ------------------------------------------------------------------ directories
say "Directories"
mkdir -p "$(root "$PREFIX")" "$(root "$CONFIG_DIR")" "$(root "$DATA_DIR")/usuarios" "$(root "$DATA_DIR")/pagos" "$(root "$DATA_DIR")/backups" "$(root "$LOG_DIR")"
own 0755 root "$(root "$PREFIX")"
own 0750 group "$(root "$CONFIG_DIR")"
own 0750 user "$(root "$DATA_DIR")" "$(root "$DATA_DIR")/usuarios" "$(root "$DATA_DIR")/pagos" "$(root "$DATA_DIR")/backups" "$(root "$LOG_DIR")"
note "code $PREFIX (root, read-only to the services), settings $CONFIG_DIR, data $DATA_DIR, backups $DATA_DIR/backups, logs $LOG_DIR"

# ------------------------------------------------------------------ 3. code
say "Build"
# shellcheck source=deploy/lib.sh
source deploy/lib.sh
if [[ ${SKIP_BUILD:-} == 1 ]]; then
  note "SKIP_BUILD=1: using dist/ as it is"
else
  ensure_deps
  # Always a clean build, never "only if a .ts is newer than the last one":
  # a tree copied with its times kept (tar, rsync -a, scp -p) looks older than
  # the build it replaces, and the upgrade would install the old code.
  rm -rf dist
  run_build
fi
for svc in usuarios pagos gateway; do
  [[ -f dist/$svc/server.js ]] || die "dist/$svc/server.js is missing: build first (npm run build)"
done

say "Code in $PREFIX"
app=$(root "$PREFIX")
# dist is swapped as a whole: a re-run upgrades in place and leaves no stale file.
rm -rf "$app/dist.new" "$app/dist.old"
cp -R dist "$app/dist.new"
rm -f "$app/dist.new/.build-stamp"
[[ ! -d $app/dist ]] || mv "$app/dist" "$app/dist.old"
mv "$app/dist.new" "$app/dist"
rm -rf "$app/dist.old" "$app/deploy"
mkdir -p "$app/deploy"
cp deploy/*.sh "$app/deploy/"
cp -R deploy/systemd deploy/logrotate "$app/deploy/"
cp package.json package-lock.json README.md "$app/"
printf 'PAGOS_CONFIG_DIR=%s\nNODE=%s\n' "$CONFIG_DIR" "$NODE" >"$app/deploy/installed.env"
if ((IS_ROOT)); then chown -R 0:0 "$app/dist" "$app/deploy" "$app/package.json" "$app/package-lock.json" "$app/README.md"; fi
chmod -R u=rwX,go=rX "$app/dist" "$app/deploy"
note "dist/, deploy/, package.json, package-lock.json, README.md"

lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)-node$node_major
stamp=$app/node_modules/.installed-lock
if [[ -d $app/node_modules && -r $stamp && $(cat "$stamp") == "$lock_sum" ]]; then
  note "production npm deps unchanged (package-lock.json is the same)"
else
  # A service still running (or restarting) would load modules while they are
  # replaced. `systemctl stop pagos.target` alone returns before the services
  # After= it have stopped: naming them makes systemctl wait for each one.
  unit_states=
  [[ -n $DESTDIR ]] || unit_states=$(systemctl is-active "${UNITS[@]}" 2>/dev/null || true)
  if grep -qvxE 'inactive|failed|unknown|' <<<"$unit_states"; then
    note "stopping pagos.target and its services while their npm deps are replaced"
    systemctl stop "${UNITS[@]}"
  fi
  say "Production npm deps (npm ci --omit=dev)"
  (cd "$app" && "$NPM" ci --omit=dev --no-audit --no-fund)
  printf '%s\n' "$lock_sum" >"$stamp"
fi

# ------------------------------------------------------------------ 4. RabbitMQ user
# env_value FILE NAME: the value of NAME= in an env file (empty when absent).
env_value() { if [[ -r $1 ]]; then sed -n "s/^$2=//p" "$1" | tail -n1; fi; }
# random_token BYTES: URL-safe random text.
random_token() { head -c "$1" /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'; }

conf=$(root "$CONFIG_DIR")
amqp_url=$(env_value "$conf/usuarios.env" AMQP_URL)
[[ -n $amqp_url ]] || amqp_url=$(env_value "$conf/pagos.env" AMQP_URL)
if [[ -z $amqp_url ]]; then
  if ((LOCAL_BROKER)); then
    amqp_url="amqp://$RABBITMQ_USER:$(random_token 24)@127.0.0.1:5672/$RABBITMQ_VHOST"
  else
    amqp_url=$AMQP_URL
  fi
fi

say "RabbitMQ user"
if ! ((LOCAL_BROKER)); then
  note "AMQP_URL given: the broker's users are managed there"
elif [[ $amqp_url != amqp://*@127.0.0.1:* ]]; then
  note "the env files point at another broker: nothing to do here"
elif [[ -n $DESTDIR && ${DESTDIR_RABBITMQ:-} != 1 ]]; then
  skipped "rabbitmqctl add_vhost $RABBITMQ_VHOST, add_user $RABBITMQ_USER, set_permissions on that vhost"
else
  rmq_userinfo=${amqp_url#amqp://}
  rmq_userinfo=${rmq_userinfo%%@*}
  rmq_user=${rmq_userinfo%%:*}
  rmq_password=${rmq_userinfo#*:}
  rmq_vhost=${amqp_url#amqp://*/}
  [[ $rmq_vhost != "$amqp_url" && -n $rmq_vhost && $rmq_vhost != *[/%?]* ]] ||
    die "$CONFIG_DIR/usuarios.env: AMQP_URL names no virtual host of its own (amqp://user:password@127.0.0.1:5672/VHOST)"
  # A virtual host of its own: its queues, exchanges and amq.default are
  # invisible to other users of the broker, and theirs to it.
  if ! rabbitmqctl -s list_vhosts name | grep -qxF "$rmq_vhost"; then
    rabbitmqctl -q add_vhost "$rmq_vhost" >/dev/null
    note "virtual host $rmq_vhost created"
  fi
  # The password goes through stdin, never on a command line.
  if rabbitmqctl -s list_users | awk '{ print $1 }' | grep -qxF "$rmq_user"; then
    printf '%s' "$rmq_password" | rabbitmqctl -q change_password "$rmq_user" >/dev/null
    note "$rmq_user exists (password set from the env files)"
  else
    printf '%s' "$rmq_password" | rabbitmqctl -q add_user "$rmq_user" >/dev/null
    note "$rmq_user created"
  fi
  rabbitmqctl -q set_permissions -p "$rmq_vhost" "$rmq_user" '.*' '.*' '.*' >/dev/null
  note "$rmq_user may use the virtual host $rmq_vhost, and nothing else"
fi

# ------------------------------------------------------------------ 5. env files
say "Settings in $CONFIG_DIR"
# write_env NAME: writes CONFIG_DIR/NAME.env from stdin unless it exists.
write_env() {
  local file=$conf/$1.env tmp
  if [[ -e $file ]]; then
    cat >/dev/null
    note "$1.env kept"
    return
  fi
  tmp=$(mktemp "$conf/.$1.env.XXXXXX")
  cat >"$tmp"
  own 0640 group "$tmp"
  mv "$tmp" "$file"
  note "$1.env written"
}
db_line() { [[ -z ${2:-} ]] && printf '# %s=postgres://user:password@127.0.0.1:5432/db\n' "$1" || printf '%s=%s\n' "$1" "$2"; }

write_env common <<EOF
# Read by pagos-usuarios, pagos-pagos and pagos-gateway (systemd EnvironmentFile).
# Written once by deploy/install.sh; it never rewrites it. After a change:
#   systemctl restart pagos.target
NODE_ENV=production
# usuarios and pagos listen on the loopback only: the gateway is the way in.
HOST=127.0.0.1
USUARIOS_PORT=${USUARIOS_PORT:-5004}
PAGOS_PORT=${PAGOS_PORT:-5001}
GATEWAY_PORT=${GATEWAY_PORT:-5002}
AMQP_PREFIX=$AMQP_PREFIX
# JSON lines to the journal (journalctl -u pagos-gateway) and to LOG_DIR/<service>.log.
LOG_STDOUT=json
LOG_DIR=$LOG_DIR
LOG_LEVEL=info
# The units' TimeoutStopSec (30 s) must stay above it.
SHUTDOWN_TIMEOUT_MS=10000
EOF

write_env usuarios <<EOF
# pagos-usuarios: users and balances. Secret: RabbitMQ credentials.
DATA_DIR=$DATA_DIR/usuarios
AMQP_URL=$amqp_url
$(db_line USUARIOS_DATABASE_URL "${USUARIOS_DATABASE_URL:-}")
# PAGO_MONTO_DEFECTO=100
EOF

write_env pagos <<EOF
# pagos-pagos: payment processing. Secret: RabbitMQ credentials.
DATA_DIR=$DATA_DIR/pagos
AMQP_URL=$amqp_url
$(db_line PAGOS_DATABASE_URL "${PAGOS_DATABASE_URL:-}")
# PROCESADOR_LATENCIA_MS=0
# PROCESADOR_TASA_FALLO=0
EOF

write_env backup <<EOF
# pagos-backup.service (daily, pagos-backup.timer) and deploy/backup.sh, restore.sh.
# Mount a separate volume at BACKUP_DIR, or point it at one; a path outside
# $DATA_DIR also needs: systemctl edit pagos-backup.service
#   [Service]
#   ReadWritePaths=/that/path
BACKUP_DIR=$DATA_DIR/backups
# Snapshots kept, newest first.
BACKUP_KEEP=14
EOF

write_env gateway <<EOF
# pagos-gateway: the only service that faces the network (open port 5002 only).
GATEWAY_HOST=0.0.0.0
USUARIOS_URL=http://127.0.0.1:${USUARIOS_PORT:-5004}
PAGOS_URL=http://127.0.0.1:${PAGOS_PORT:-5001}
# Every /usuarios and /pagos call needs "Authorization: Bearer <key>".
# Several keys, comma-separated, let a key be replaced without downtime.
GATEWAY_API_KEYS=$(random_token 32)
# Requests per client (API key, or IP without one) per window.
RATE_LIMIT_MAX=${RATE_LIMIT_MAX:-1200}
RATE_LIMIT_WINDOW_MS=${RATE_LIMIT_WINDOW_MS:-60000}
GATEWAY_BODY_LIMIT=65536
EOF

# ------------------------------------------------------------------ 6. units
say "systemd units and log rotation"
units=$(root "$UNIT_DIR")
mkdir -p "$units" "$(root /etc/logrotate.d)"
# The files name the default locations; these become the ones chosen here.
render() {
  sed -e "s|/opt/pagos|$PREFIX|g" -e "s|/etc/pagos|$CONFIG_DIR|g" \
    -e "s|/var/lib/pagos|$DATA_DIR|g" -e "s|/var/log/pagos|$LOG_DIR|g" \
    -e "s|^ExecStart=/usr/bin/node |ExecStart=$NODE |" -e "s|^Environment=NODE=/usr/bin/node$|Environment=NODE=$NODE|" \
    -e "s|^User=pagos$|User=$SERVICE_USER|" -e "s|^Group=pagos$|Group=$SERVICE_USER|" \
    -e "s|^\( *su\) pagos pagos$|\1 $SERVICE_USER $SERVICE_USER|" "$1"
}
# install_file SRC DEST: only when the content differs, so a re-run changes nothing.
install_file() {
  local tmp
  tmp=$(mktemp "$(dirname "$2")/.install.XXXXXX")
  render "$1" >"$tmp"
  if [[ -f $2 ]] && cmp -s "$tmp" "$2"; then
    rm -f "$tmp"
  else
    own 0644 root "$tmp"
    mv "$tmp" "$2"
    note "$(basename "$2") installed"
  fi
}
for unit in "${UNITS[@]}" "${BACKUP_UNITS[@]}"; do
  install_file "deploy/systemd/$unit" "$units/$unit"
done
install_file deploy/logrotate/pagos "$(root /etc/logrotate.d/pagos)"

# A PostgreSQL on this machine is started before the service that uses it.
for svc in usuarios pagos; do
  var=${svc^^}_DATABASE_URL
  dropin=$units/pagos-$svc.service.d
  url=$(env_value "$conf/$svc.env" "$var")
  if [[ $url =~ ^postgres(ql)?://([^@/]*@)?(127\.0\.0\.1|localhost|\[::1\])[:/] ]]; then
    mkdir -p "$dropin"
    printf '[Unit]\nWants=postgresql.service\n' >"$dropin/postgresql.conf.new"
    if cmp -s "$dropin/postgresql.conf.new" "$dropin/postgresql.conf"; then rm -f "$dropin/postgresql.conf.new"; else mv "$dropin/postgresql.conf.new" "$dropin/postgresql.conf"; note "pagos-$svc waits for the local PostgreSQL"; fi
  elif [[ -e $dropin/postgresql.conf ]]; then
    rm -f "$dropin/postgresql.conf"
    rmdir "$dropin" 2>/dev/null || true
  fi
done

if [[ -n $DESTDIR ]]; then
  systemctl --root="$DESTDIR" --quiet enable "${UNITS[@]}" pagos-backup.timer
  note "enabled under $DESTDIR (systemctl --root)"
  skipped "systemctl daemon-reload; systemctl restart pagos.target; deploy/check_status.sh"
  say "Staged in $DESTDIR"
  exit 0
fi
systemctl daemon-reload
systemctl --quiet enable "${UNITS[@]}" pagos-backup.timer
note "enabled: they start at boot; pagos-backup.timer takes a snapshot daily"

# ------------------------------------------------------------------ start
if ((NO_START)); then
  say "Not started (--no-start): systemctl restart pagos.target"
  exit 0
fi
say "Starting pagos.target"
# The installed code starts with a clean record: systemd keeps a service's
# restart counter (NRestarts) across a stop made while it waited to restart
# (a previous release that crash-looped), and reset-failed clears it.
systemctl reset-failed "${UNITS[@]}" 2>/dev/null || true
systemctl start pagos-backup.timer
# restart: a first install starts it, an upgrade runs the new code.
systemctl restart pagos.target
set -a
# shellcheck disable=SC1091
source "$CONFIG_DIR/common.env"
set +a
gateway_health="http://127.0.0.1:${GATEWAY_PORT:-5002}/health"
if ! wait_http "$gateway_health" "$START_TIMEOUT"; then
  log_warn "the gateway's /health did not answer 200 within ${START_TIMEOUT}s: journalctl -u 'pagos-*' -n 50"
fi
say "Status"
status_rc=0
PAGOS_CONFIG_DIR=$CONFIG_DIR "$PREFIX/deploy/check_status.sh" || status_rc=$?
if ((status_rc == 0)); then
  say "Installed. The API key is GATEWAY_API_KEYS in $CONFIG_DIR/gateway.env:"
  note "curl -H \"Authorization: Bearer \$(sudo sed -n 's/^GATEWAY_API_KEYS=//p' $CONFIG_DIR/gateway.env | cut -d, -f1)\" http://localhost:${GATEWAY_PORT:-5002}/usuarios/1"
fi
exit "$status_rc"
