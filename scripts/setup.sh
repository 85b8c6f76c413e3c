#!/usr/bin/env bash
# Install everything frontiersec needs to run from this checkout; idempotent,
# and near-instant when nothing changed.
#
#   ./scripts/setup.sh              # run it
#   source scripts/setup.sh         # run it AND activate .venv in this shell
#                                   # (what serve.sh and test.sh do)
#
# Steps:
#   1. find Python 3.11+ (FRONTIERSEC_PYTHON overrides)
#   2. create .venv when missing (or when it no longer runs)
#   3. `pip install torch==2.13.0` (CPU wheel) then `pip install -e '.[dev,embeddings]'`, only
#      when pyproject.toml (or these specs) changed since the last install (sha256 stamp in
#      .venv/.frontiersec-install-stamp); FRONTIERSEC_NO_EMBEDDINGS=1 skips the embeddings extra
#   4. htmx 2.x into src/frontiersec/platform/static/vendor/htmx.min.js (gitignored),
#      from the npm registry with `npm pack htmx.org@2`, never a CDN; the tarball
#      is cached under ~/.cache/frontiersec so later setups need no network.
#      FRONTIERSEC_HTMX_SPEC overrides the npm spec (default: htmx.org@2).
#
# Progress goes to stderr as `==> ...` lines.

_fs_setup_say() { printf '==> %s\n' "$*" >&2; }
_fs_setup_err() { printf 'ERROR: %s\n' "$*" >&2; }

# Print the path of a Python >= 3.11 interpreter that actually runs (pyenv shims
# exist for versions that are not active, so each candidate is executed).
_fs_find_python() {
    local cand
    for cand in "${FRONTIERSEC_PYTHON:-}" python3.11 python3.12 python3.13 python3.14 python3; do
        [[ -n "$cand" ]] || continue
        command -v "$cand" >/dev/null 2>&1 || continue
        if "$cand" -c 'import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
            >/dev/null 2>&1; then
            command -v "$cand"
            return 0
        fi
    done
    return 1
}

_fs_setup_venv() {
    local root="$1" venv="$1/.venv" py
    if [[ -x "$venv/bin/python" ]] &&
        "$venv/bin/python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1; then
        return 0
    fi
    if ! py="$(_fs_find_python)"; then
        _fs_setup_err "no Python 3.11+ found (tried python3.11, python3.12, python3.13, python3; set FRONTIERSEC_PYTHON)"
        return 1
    fi
    if [[ -e "$venv" ]]; then
        _fs_setup_say "removing broken virtual environment $venv"
        rm -rf "$venv"
    fi
    _fs_setup_say "creating virtual environment .venv with $("$py" -V 2>&1) ($py)"
    "$py" -m venv "$venv" || return 1
}

_fs_setup_pip() {
    local root="$1" venv="$1/.venv" stamp want have=""
    # The optional `embeddings` extra (dedup layer 4) pulls in PyTorch: torch is installed first,
    # pinned, so pip takes the CPU wheel these machines carry (pip find-links) instead of the
    # multi-GB CUDA build. FRONTIERSEC_TORCH_INDEX_URL (e.g. https://download.pytorch.org/whl/cpu)
    # picks an index elsewhere; FRONTIERSEC_NO_EMBEDDINGS=1 leaves the extra out.
    local torch_spec="torch==2.13.0" extras=".[dev,embeddings]"
    [[ -n "${FRONTIERSEC_NO_EMBEDDINGS:-}" ]] && extras=".[dev]"
    stamp="$venv/.frontiersec-install-stamp"
    want="$(cat "$root/pyproject.toml" <("$venv/bin/python" -c 'import sys; print(sys.version)') \
        <(printf '%s %s %s\n' "$extras" "$torch_spec" "${FRONTIERSEC_TORCH_INDEX_URL:-}") |
        sha256sum | cut -d' ' -f1)" || return 1
    [[ -f "$stamp" ]] && have="$(cat "$stamp")"
    if [[ "$want" == "$have" && -x "$venv/bin/frontiersec" && -x "$venv/bin/pytest" ]]; then
        return 0
    fi
    rm -f "$stamp"
    if [[ "$extras" == *embeddings* ]]; then
        _fs_setup_say "pip install $torch_spec (CPU build, first: the embeddings extra needs it)"
        (cd "$root" && PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/python" -m pip install \
            --quiet --progress-bar off ${FRONTIERSEC_TORCH_INDEX_URL:+--index-url "$FRONTIERSEC_TORCH_INDEX_URL"} \
            "$torch_spec") || return 1
    fi
    _fs_setup_say "pip install -e '$extras' (pyproject.toml changed or first install; minutes on a fresh machine)"
    (cd "$root" && PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/python" -m pip install \
        --quiet --progress-bar off -e "$extras") || return 1
    printf '%s\n' "$want" >"$stamp"
}

_fs_setup_htmx() {
    local root="$1"
    local dest="$root/src/frontiersec/platform/static/vendor/htmx.min.js"
    local cache="${XDG_CACHE_HOME:-$HOME/.cache}/frontiersec"
    local spec="${FRONTIERSEC_HTMX_SPEC:-htmx.org@2}"
    local tgz="" version tmp
    [[ -s "$dest" ]] && return 0

    mkdir -p "$cache" "$(dirname "$dest")" || return 1
    # A tarball cached by an earlier setup: newest 2.x, no network needed.
    tgz="$(find "$cache" -maxdepth 1 -name 'htmx.org-2.*.tgz' -printf '%f\n' 2>/dev/null |
        sort -V | tail -n 1)"
    if [[ -z "$tgz" ]]; then
        if ! command -v npm >/dev/null 2>&1; then
            _fs_setup_err "npm is needed once to fetch htmx (Debian: apt-get install npm)"
            return 1
        fi
        _fs_setup_say "fetching $spec from the npm registry (npm pack, cached in $cache)"
        tgz="$(cd "$cache" && npm pack --silent "$spec" | tail -n 1)" || {
            _fs_setup_err "npm pack $spec failed"
            return 1
        }
        if [[ ! -s "$cache/$tgz" ]]; then
            _fs_setup_err "npm pack $spec produced no tarball"
            return 1
        fi
    fi
    version="$(tar -xzOf "$cache/$tgz" package/package.json |
        "$root/.venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["version"])')" || {
        _fs_setup_err "cannot read package.json in $cache/$tgz"
        return 1
    }
    if [[ "$version" != 2.* ]]; then
        _fs_setup_err "$tgz holds htmx $version, not 2.x"
        return 1
    fi
    tmp="$dest.tmp.$$"
    if ! tar -xzOf "$cache/$tgz" package/dist/htmx.min.js >"$tmp" || [[ ! -s "$tmp" ]]; then
        rm -f "$tmp"
        _fs_setup_err "no package/dist/htmx.min.js in $cache/$tgz"
        return 1
    fi
    mv -f "$tmp" "$dest"
    _fs_setup_say "htmx $version -> ${dest#"$root"/}"
}

# Swagger UI for /api/v1/docs, from the npm registry (swagger-ui-dist 5.x), cached like htmx.
# Optional: without it the OpenAPI JSON still works, only the interactive page is blank.
_fs_setup_swagger() {
    local root="$1"
    local vendor="$root/src/frontiersec/platform/static/vendor"
    local cache="${XDG_CACHE_HOME:-$HOME/.cache}/frontiersec"
    local tgz
    [[ -s "$vendor/swagger-ui-bundle.js" && -s "$vendor/swagger-ui.css" ]] && return 0
    mkdir -p "$cache" "$vendor" || return 1
    tgz="$(find "$cache" -maxdepth 1 -name 'swagger-ui-dist-5.*.tgz' -printf '%f\n' 2>/dev/null | sort -V | tail -n 1)"
    if [[ -z "$tgz" ]]; then
        command -v npm >/dev/null 2>&1 || { _fs_setup_err "npm missing: /api/v1/docs will be blank"; return 0; }
        tgz="$(cd "$cache" && npm pack --silent swagger-ui-dist@5 | tail -n 1)" ||
            { _fs_setup_err "npm pack swagger-ui-dist failed: /api/v1/docs will be blank"; return 0; }
    fi
    tar -xzOf "$cache/$tgz" package/swagger-ui-bundle.js >"$vendor/swagger-ui-bundle.js" &&
        tar -xzOf "$cache/$tgz" package/swagger-ui.css >"$vendor/swagger-ui.css" &&
        _fs_setup_say "swagger-ui ${tgz#swagger-ui-dist-} -> ${vendor#"$root"/}"
}

frontiersec_setup() {
    local root
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)" || return 1
    _fs_setup_venv "$root" || return 1
    _fs_setup_pip "$root" || return 1
    _fs_setup_htmx "$root" || return 1
    _fs_setup_swagger "$root" || return 1
    # Activate the venv for whoever sourced us (serve.sh, test.sh, a developer).
    export VIRTUAL_ENV="$root/.venv"
    case ":$PATH:" in
        *":$VIRTUAL_ENV/bin:"*) ;;
        *) export PATH="$VIRTUAL_ENV/bin:$PATH" ;;
    esac
    _fs_setup_say "setup done ($("$VIRTUAL_ENV/bin/python" -V 2>&1), .venv ready)"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    frontiersec_setup
else
    frontiersec_setup || return 1
fi
