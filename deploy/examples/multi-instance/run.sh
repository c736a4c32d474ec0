#!/usr/bin/env bash
# Runs this example's five processes on one machine, in the foreground:
# 2 usuarios, 2 pagos and the gateway, each with its env file (*.env here, or
# in ENV_DIR). Ctrl-C (or SIGTERM) stops them all cleanly.
#
# The PostgreSQL databases and the RabbitMQ user named in the files must exist
# (README: "PostgreSQL", "Several instances"). Builds first if dist/ is missing.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here/../../.."
ENV_DIR=${ENV_DIR:-$here}
[[ -f dist/gateway/server.js ]] || npm run build

pids=()
stop() {
  trap - INT TERM
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait || true
}
trap stop INT TERM

# start NAME ENV_FILE: the service with exactly the variables of its file.
start() {
  (
    set -a
    # shellcheck disable=SC1090
    source "$2"
    set +a
    exec node "dist/$1/server.js"
  ) &
  pids+=("$!")
  echo "$1 ($(basename "$2")): pid $!"
}

for f in "$ENV_DIR"/usuarios-*.env; do start usuarios "$f"; done
for f in "$ENV_DIR"/pagos-*.env; do start pagos "$f"; done
start gateway "$ENV_DIR/gateway.env"
wait
