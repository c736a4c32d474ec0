#!/usr/bin/env bash
# `npm test`: installs what the system lacks (RabbitMQ, PostgreSQL, build
# tools; see ensure_system_packages in deploy/lib.sh) and npm deps if needed,
# builds, makes sure RabbitMQ and PostgreSQL run (starting them if installed
# but down; PostgreSQL's tests skipped with one line if it can't be installed), then runs tap on every
# test/**/*.test.ts. Extra arguments go to tap, e.g.
#   npm test -- test/unit/money.test.ts        (only that file)
#   npm test -- --reporter=terse
#
# Environment (all optional): AMQP_URL (broker checked), RABBITMQ_WAIT,
# TEST_POSTGRES_URL (PostgreSQL checked, started if local and installed),
# SKIP_POSTGRES=1 (run without PostgreSQL), and whatever the tests read.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=deploy/lib.sh
source deploy/lib.sh

ensure_system_packages postgres
ensure_deps
run_build
ensure_rabbitmq
ensure_postgres

# --include applies only when no test file is named on the command line; it
# keeps helpers under test/ (test/helpers/*.ts) from being run as tests.
exec npx tap --include 'test/**/*.test.ts' "$@"
