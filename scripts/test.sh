#!/usr/bin/env bash
# Install everything and run ALL checks and tests; exits non-zero on the first failure.
#
#   ./scripts/test.sh              full run, in this order (what CI runs, via .ci/run):
#     1. ruff check src tests bench
#     2. ruff format --check src tests bench
#     3. mypy                                   (config in pyproject.toml)
#     4. lint-imports                           (import-linter contracts in pyproject.toml)
#     5. pytest -m "not browser"                on SQLite, with SmolLM2 served by scripts/llm.sh
#                                               (built in the background during steps 1-4)
#     6. pytest tests/integration tests/contract -m "not browser and not llm"   on PostgreSQL
#     7. pytest -m browser                      Playwright + Debian Chromium (SQLite)
#   Browser tests are left out of step 5 so they run once, in step 7.
#
#   ./scripts/test.sh ARGS...      quick run: setup + services as above, then ONLY
#                                  `pytest ARGS...` (no ruff/mypy/lint-imports), on SQLite;
#                                  FRONTIERSEC_TEST_DB=postgres runs it on PostgreSQL instead.
#                                  e.g.  ./scripts/test.sh -k audit
#                                        FRONTIERSEC_TEST_DB=postgres ./scripts/test.sh tests/integration -x
#
# pytest's exit code 5 ("no tests collected") counts as a FAILURE in every pytest step.
# Each step runs under a time limit, FRONTIERSEC_STEP_TIMEOUT seconds (default 1200; 0 = none),
# so a hung test fails the run instead of eating CI's time.
# PostgreSQL (127.0.0.1:54329) and Redis (127.0.0.1:63790) are started for the run and
# stopped at exit; servers that were already running there are reused and left running.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

_t_say() { printf '==> %s\n' "$*" >&2; }

T0=$SECONDS
STEP_TIMEOUT="${FRONTIERSEC_STEP_TIMEOUT:-1200}"
STEP_NO=0
STEP_TOTAL=0
SUMMARY=()

# shellcheck source=scripts/setup.sh
source scripts/setup.sh
# shellcheck source=scripts/services.sh
source scripts/services.sh

# The real-model test needs llama-cpp-python, which compiles from source the first time
# (minutes; cached in ~/.cache/frontiersec/wheels afterwards): build it in the background while
# the linters and type checker run.
LLM_BUILD_LOG="${TMPDIR:-/tmp}/frontiersec-llm-build.log"
LLM_BUILD_PID=""
if (($# == 0)); then
    bash scripts/llm.sh build >"$LLM_BUILD_LOG" 2>&1 &
    LLM_BUILD_PID=$!
fi

_t_on_exit() {
    local rc=$?
    bash scripts/llm.sh stop >/dev/null 2>&1 || true
    services_stop || true
    exit "$rc"
}
trap _t_on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

services_install_packages
services_start
PG_URL="$FRONTIERSEC_TEST_DATABASE_URL"
# SQLite is the default database; only the PostgreSQL step sets the URL.
unset FRONTIERSEC_TEST_DATABASE_URL

_t_finish_failed() {
    local name="$1" rc="$2" why="$3"
    local line
    for line in "${SUMMARY[@]}"; do printf '    %s\n' "$line" >&2; done
    _t_say "test.sh FAILED at step $STEP_NO/$STEP_TOTAL ($name): $why, after $((SECONDS - T0))s"
    exit "$rc"
}

# step KIND NAME CMD...   KIND is `pytest` (exit 5 = failure) or `tool`.
step() {
    local kind="$1" name="$2"
    shift 2
    STEP_NO=$((STEP_NO + 1))
    local shown
    printf -v shown '%q ' "$@"
    _t_say "[$STEP_NO/$STEP_TOTAL] $name: ${shown% }"
    local start=$SECONDS rc=0
    if [[ "$STEP_TIMEOUT" != 0 ]]; then
        timeout --foreground -k 30 "$STEP_TIMEOUT" "$@" || rc=$?
    else
        "$@" || rc=$?
    fi
    local took=$((SECONDS - start))
    if [[ "$rc" == 0 ]]; then
        SUMMARY+=("ok      $name (${took}s)")
        _t_say "[$STEP_NO/$STEP_TOTAL] $name: ok (${took}s)"
        return 0
    fi
    SUMMARY+=("FAILED  $name (${took}s)")
    if [[ "$STEP_TIMEOUT" != 0 && ("$rc" == 124 || "$rc" == 137) ]]; then
        _t_finish_failed "$name" 1 "timed out after ${STEP_TIMEOUT}s (FRONTIERSEC_STEP_TIMEOUT)"
    elif [[ "$kind" == pytest && "$rc" == 5 ]]; then
        _t_finish_failed "$name" 1 "pytest collected no tests (exit 5), which counts as a failure"
    else
        _t_finish_failed "$name" "$rc" "exit code $rc"
    fi
}

if (($# > 0)); then
    STEP_TOTAL=1
    if [[ "${FRONTIERSEC_TEST_DB:-sqlite}" == postgres ]]; then
        step pytest "pytest (PostgreSQL)" env FRONTIERSEC_TEST_DATABASE_URL="$PG_URL" pytest "$@"
    else
        step pytest "pytest (SQLite)" pytest "$@"
    fi
else
    STEP_TOTAL=7
    step tool "ruff check" ruff check src tests bench
    step tool "ruff format" ruff format --check src tests bench
    step tool "mypy" mypy
    step tool "import contracts" lint-imports
    _t_say "waiting for the llama-cpp-python build (log: $LLM_BUILD_LOG)"
    if ! wait "$LLM_BUILD_PID"; then
        cat "$LLM_BUILD_LOG" >&2
        _t_finish_failed "llama-cpp-python build" 1 "scripts/llm.sh build failed"
    fi
    FRONTIERSEC_TEST_LLM_BASE_URL="$(bash scripts/llm.sh start)"
    export FRONTIERSEC_TEST_LLM_BASE_URL
    step pytest "pytest (SQLite, with the real-model run)" pytest -m "not browser" --durations=15
    step pytest "pytest integration+contract (PostgreSQL)" \
        env FRONTIERSEC_TEST_DATABASE_URL="$PG_URL" pytest tests/integration tests/contract \
        -m "not browser and not llm" --durations=15
    step pytest "pytest browser (Chromium)" pytest -m browser --durations=15
fi

for line in "${SUMMARY[@]}"; do printf '    %s\n' "$line" >&2; done
_t_say "test.sh PASSED: all $STEP_TOTAL steps ok in $((SECONDS - T0))s"
