#!/usr/bin/env bash
# Run the benchmarks with the test services up (PostgreSQL for the intake section):
#   bench/run.sh [SECTION ...]      e.g. bench/run.sh intake
# Starts (or reuses) the throwaway PostgreSQL of scripts/services.sh, which exports
# FRONTIERSEC_TEST_DATABASE_URL; the intake bench creates and drops its own scratch databases
# on that server. Servers this script started are stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=../scripts/services.sh
source scripts/services.sh
services_start
trap services_stop EXIT
PY="${PYTHON:-.venv/bin/python}"
"$PY" -m bench.run "$@"
