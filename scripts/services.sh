#!/usr/bin/env bash
# Throwaway test services for frontiersec: PostgreSQL on 127.0.0.1:54329 and
# Redis on 127.0.0.1:63790, plus the Debian packages the tests need
# (PostgreSQL server, redis-server, chromium, bubblewrap, fonts).
#
# Two ways to use it:
#
#   source scripts/services.sh          # defines the services_* functions, runs nothing
#   services_install_packages           # apt-get only for what is missing
#   services_start                      # start (or reuse) PG + Redis, export the env vars
#   trap services_stop EXIT             # stops only what THIS shell started
#
#   bash scripts/services.sh [install|start|stop|status|env]
#     (no argument = install + start, then print `export ...` lines for eval)
#     `start` leaves the servers running and records them, so a later
#     `bash scripts/services.sh stop` can tear them down; scripts/test.sh reuses
#     servers that are already running and never stops servers it did not start.
#
# Exported by services_start:
#   FRONTIERSEC_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:54329/frontiersec_test
#   FRONTIERSEC_TEST_REDIS_URL=redis://127.0.0.1:63790/0
#   FRONTIERSEC_CHROMIUM=/usr/bin/chromium
#
# Overridable: FRONTIERSEC_PG_PORT, FRONTIERSEC_REDIS_PORT, FRONTIERSEC_PG_BINDIR.

FS_PG_PORT="${FRONTIERSEC_PG_PORT:-54329}"
FS_REDIS_PORT="${FRONTIERSEC_REDIS_PORT:-63790}"
FS_PG_DB="frontiersec_test"
FS_CHROMIUM="/usr/bin/chromium"
# Where `services.sh start` records what it started, for a later `services.sh stop`.
FS_STATE_DIR="${TMPDIR:-/tmp}/frontiersec-services"

# Set by services_start_* when this shell started the server (not when reused).
_FS_PG_STARTED=0
_FS_PG_DIR=""
_FS_REDIS_STARTED=0
_FS_REDIS_DIR=""

_fs_say() { printf '==> %s\n' "$*" >&2; }
_fs_err() { printf 'ERROR: %s\n' "$*" >&2; }

# Run a command as root: directly when root, through sudo otherwise.
_fs_as_root() {
    if [[ "$(id -u)" -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        _fs_err "need root (or sudo) to run: $*"
        return 1
    fi
}

_fs_pkg_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# The bin directory of the newest PostgreSQL server (15+) on this machine, or nothing.
_fs_pg_bindir() {
    if [[ -n "${FRONTIERSEC_PG_BINDIR:-}" ]]; then
        printf '%s\n' "$FRONTIERSEC_PG_BINDIR"
        return 0
    fi
    local dir best="" ver
    for dir in /usr/lib/postgresql/*/bin; do
        [[ -x "$dir/postgres" && -x "$dir/initdb" && -x "$dir/pg_ctl" ]] || continue
        ver="${dir#/usr/lib/postgresql/}"
        ver="${ver%%/*}"
        if [[ "$ver" =~ ^[0-9]+$ ]] && ((ver >= 15)); then
            best="$dir"
        fi
    done
    if [[ -z "$best" ]] && command -v postgres >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
        best="$(dirname "$(command -v postgres)")"
    fi
    [[ -n "$best" ]] && printf '%s\n' "$best"
}

# Install the Debian packages the tests need, only those that are missing;
# `apt-get update` runs only when something is missing.
services_install_packages() {
    local missing=()
    [[ -n "$(_fs_pg_bindir)" ]] || missing+=(postgresql)
    if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
        missing+=(redis-server)
    fi
    [[ -x "$FS_CHROMIUM" ]] || missing+=(chromium)
    command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
    _fs_pkg_installed fonts-dejavu-core || missing+=(fonts-dejavu-core)
    _fs_pkg_installed fonts-liberation || missing+=(fonts-liberation)
    if ((${#missing[@]} == 0)); then
        _fs_say "system packages: all present"
        return 0
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        _fs_err "missing system packages (${missing[*]}) and no apt-get to install them"
        return 1
    fi
    _fs_say "installing system packages: ${missing[*]} (apt-get)"
    # Wait for the dpkg lock rather than fail when another apt-get is running.
    local lock=(-o DPkg::Lock::Timeout=300)
    _fs_as_root env DEBIAN_FRONTEND=noninteractive apt-get "${lock[@]}" update -qq || return 1
    _fs_as_root env DEBIAN_FRONTEND=noninteractive apt-get "${lock[@]}" install -y -qq \
        --no-install-recommends "${missing[@]}" >/dev/null || return 1
    _fs_say "system packages installed"
}

# PostgreSQL ------------------------------------------------------------------

_fs_pg_ready() {
    local bindir="$1"
    "$bindir/pg_isready" -q -h 127.0.0.1 -p "$FS_PG_PORT" >/dev/null 2>&1
}

# Run a PostgreSQL tool as the `postgres` system user when root (the server
# refuses to run as root), as ourselves otherwise. Runs from / so that a
# cwd the postgres user cannot read does not produce warnings.
_fs_as_pg() {
    if [[ "$(id -u)" -eq 0 ]]; then
        (cd / && runuser -u postgres -- "$@")
    else
        (cd / && "$@")
    fi
}

_fs_pg_psql() {
    local bindir="$1"
    shift
    "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$FS_PG_PORT" -U postgres "$@"
}

services_start_postgres() {
    local bindir
    bindir="$(_fs_pg_bindir)"
    if [[ -z "$bindir" ]]; then
        _fs_err "no PostgreSQL 15+ server binaries found (run services_install_packages)"
        return 1
    fi
    if _fs_pg_ready "$bindir"; then
        _fs_say "PostgreSQL: reusing the server already on 127.0.0.1:$FS_PG_PORT"
    else
        local dir
        # Under /tmp, not $TMPDIR: the postgres user must be able to reach it.
        dir="$(mktemp -d /tmp/frontiersec-pg.XXXXXX)" || return 1
        if [[ "$(id -u)" -eq 0 ]]; then
            if ! id postgres >/dev/null 2>&1; then
                _fs_err "running as root but there is no 'postgres' system user to run the server as"
                rm -rf "$dir"
                return 1
            fi
            chown postgres: "$dir"
        fi
        chmod 700 "$dir"
        _fs_say "PostgreSQL: initdb in $dir, starting on 127.0.0.1:$FS_PG_PORT"
        if ! _fs_as_pg "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust \
            -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1; then
            _fs_err "initdb failed:"
            cat "$dir/initdb.log" >&2
            rm -rf "$dir"
            return 1
        fi
        # Durability off: the cluster is thrown away, and tests run faster.
        if ! _fs_as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
            -o "-h 127.0.0.1 -p $FS_PG_PORT -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
            start >/dev/null; then
            _fs_err "PostgreSQL failed to start; server log:"
            tail -n 30 "$dir/server.log" >&2 || true
            rm -rf "$dir"
            return 1
        fi
        _FS_PG_STARTED=1
        _FS_PG_DIR="$dir"
    fi
    if [[ "$(_fs_pg_psql "$bindir" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$FS_PG_DB'")" != "1" ]]; then
        _fs_pg_psql "$bindir" -d postgres -c "CREATE DATABASE $FS_PG_DB" || return 1
    fi
    export FRONTIERSEC_TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$FS_PG_PORT/$FS_PG_DB"
}

services_stop_postgres() {
    [[ "$_FS_PG_STARTED" == 1 && -n "$_FS_PG_DIR" ]] || return 0
    local bindir
    bindir="$(_fs_pg_bindir)"
    _fs_say "PostgreSQL: stopping the server this script started"
    if [[ -n "$bindir" && -f "$_FS_PG_DIR/data/postmaster.pid" ]]; then
        _fs_as_pg "$bindir/pg_ctl" -D "$_FS_PG_DIR/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
            _fs_err "pg_ctl stop failed (data dir $_FS_PG_DIR)"
    fi
    rm -rf "$_FS_PG_DIR"
    _FS_PG_STARTED=0
    _FS_PG_DIR=""
}

# Redis -----------------------------------------------------------------------

_fs_redis_ready() {
    [[ "$(redis-cli -h 127.0.0.1 -p "$FS_REDIS_PORT" ping 2>/dev/null)" == "PONG" ]]
}

services_start_redis() {
    if ! command -v redis-server >/dev/null 2>&1; then
        _fs_err "redis-server not installed (run services_install_packages)"
        return 1
    fi
    if _fs_redis_ready; then
        _fs_say "Redis: reusing the server already on 127.0.0.1:$FS_REDIS_PORT"
    else
        local dir i
        dir="$(mktemp -d "${TMPDIR:-/tmp}/frontiersec-redis.XXXXXX")" || return 1
        _fs_say "Redis: starting on 127.0.0.1:$FS_REDIS_PORT"
        if ! redis-server --bind 127.0.0.1 --port "$FS_REDIS_PORT" --save '' --appendonly no \
            --daemonize yes --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"; then
            _fs_err "redis-server failed to start"
            rm -rf "$dir"
            return 1
        fi
        _FS_REDIS_STARTED=1
        _FS_REDIS_DIR="$dir"
        for ((i = 0; i < 100; i++)); do
            _fs_redis_ready && break
            sleep 0.1
        done
        if ! _fs_redis_ready; then
            _fs_err "Redis did not answer PING; log:"
            tail -n 20 "$dir/redis.log" >&2 || true
            services_stop_redis
            return 1
        fi
    fi
    export FRONTIERSEC_TEST_REDIS_URL="redis://127.0.0.1:$FS_REDIS_PORT/0"
}

services_stop_redis() {
    [[ "$_FS_REDIS_STARTED" == 1 && -n "$_FS_REDIS_DIR" ]] || return 0
    _fs_say "Redis: stopping the server this script started"
    local pid="" i
    [[ -f "$_FS_REDIS_DIR/redis.pid" ]] && pid="$(cat "$_FS_REDIS_DIR/redis.pid")"
    if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
    fi
    rm -rf "$_FS_REDIS_DIR"
    _FS_REDIS_STARTED=0
    _FS_REDIS_DIR=""
}

# All together ----------------------------------------------------------------

services_export_env() {
    export FRONTIERSEC_TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$FS_PG_PORT/$FS_PG_DB"
    export FRONTIERSEC_TEST_REDIS_URL="redis://127.0.0.1:$FS_REDIS_PORT/0"
    export FRONTIERSEC_CHROMIUM="$FS_CHROMIUM"
    # Playwright must drive Debian's Chromium, never download a browser of its own.
    export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
}

# Start (or reuse) PostgreSQL and Redis and export the test env vars.
services_start() {
    services_start_postgres || return 1
    services_start_redis || return 1
    services_export_env
}

# Stop only the servers this shell started (safe to call more than once).
services_stop() {
    services_stop_redis
    services_stop_postgres
}

# Command-line use -------------------------------------------------------------

_fs_save_state() {
    mkdir -p "$FS_STATE_DIR"
    [[ "$_FS_PG_STARTED" == 1 ]] && printf '%s\n' "$_FS_PG_DIR" >"$FS_STATE_DIR/pg-$FS_PG_PORT"
    [[ "$_FS_REDIS_STARTED" == 1 ]] && printf '%s\n' "$_FS_REDIS_DIR" >"$FS_STATE_DIR/redis-$FS_REDIS_PORT"
    return 0
}

_fs_load_state() {
    local f="$FS_STATE_DIR/pg-$FS_PG_PORT"
    if [[ -f "$f" ]]; then
        _FS_PG_DIR="$(cat "$f")"
        _FS_PG_STARTED=1
        rm -f "$f"
    fi
    f="$FS_STATE_DIR/redis-$FS_REDIS_PORT"
    if [[ -f "$f" ]]; then
        _FS_REDIS_DIR="$(cat "$f")"
        _FS_REDIS_STARTED=1
        rm -f "$f"
    fi
}

_fs_print_env() {
    services_export_env
    printf 'export FRONTIERSEC_TEST_DATABASE_URL=%q\n' "$FRONTIERSEC_TEST_DATABASE_URL"
    printf 'export FRONTIERSEC_TEST_REDIS_URL=%q\n' "$FRONTIERSEC_TEST_REDIS_URL"
    printf 'export FRONTIERSEC_CHROMIUM=%q\n' "$FRONTIERSEC_CHROMIUM"
}

_fs_services_main() {
    set -euo pipefail
    local cmd="${1:-up}"
    case "$cmd" in
        install) services_install_packages ;;
        start | up)
            [[ "$cmd" == up ]] && services_install_packages
            # Record before anything can fail half-way, so `stop` finds it.
            trap '_fs_save_state' EXIT
            services_start
            _fs_print_env
            ;;
        stop)
            _fs_load_state
            if [[ "$_FS_PG_STARTED" == 0 && "$_FS_REDIS_STARTED" == 0 ]]; then
                _fs_say "nothing recorded as started by 'services.sh start' on these ports"
            fi
            services_stop
            ;;
        status)
            local bindir rc=0
            bindir="$(_fs_pg_bindir)"
            if [[ -n "$bindir" ]] && _fs_pg_ready "$bindir"; then
                echo "postgresql: up on 127.0.0.1:$FS_PG_PORT"
            else
                echo "postgresql: down"
                rc=1
            fi
            if command -v redis-cli >/dev/null 2>&1 && _fs_redis_ready; then
                echo "redis: up on 127.0.0.1:$FS_REDIS_PORT"
            else
                echo "redis: down"
                rc=1
            fi
            return "$rc"
            ;;
        env) _fs_print_env ;;
        -h | --help | help) sed -n '2,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' ;;
        *)
            _fs_err "unknown command '$cmd' (install|start|stop|status|env)"
            return 2
            ;;
    esac
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    _fs_services_main "$@"
fi
