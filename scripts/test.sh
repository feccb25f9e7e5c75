#!/usr/bin/env bash
# Run every test, the end-to-end ones included, on a developer or fresh Debian machine.
#
#   bash scripts/test.sh [PYTEST_ARGS...]
#
# Creates .venv when missing, installs the tap, Meltano and the loaders the tests
# use, starts a throwaway PostgreSQL cluster on 127.0.0.1 (stopped on exit) and
# exits with pytest's status. As root it can install Debian's postgresql.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/setup.sh
setup_venv
install_plugins tap-zendesk-incremental target-jsonl target-duckdb target-postgres

# A name of its own, so that two test runs on one machine use two clusters.
PG_DIR="$(mktemp -u "${TMPDIR:-/tmp}/tap-zendesk-incremental-pg.XXXXXX")"
export PG_DIR
trap 'bash scripts/postgres.sh stop' EXIT
eval "$(bash scripts/postgres.sh start)"

# The end-to-end tests fail, instead of skipping, when PostgreSQL is missing.
export ZENDESK_E2E_REQUIRED=1

status=0
.venv/bin/python -m pytest "$@" || status=$?
exit "$status"
