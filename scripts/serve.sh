#!/usr/bin/env bash
# Install everything (scripts/setup.sh) and run the web app on 127.0.0.1:8000.
# `frontiersec serve` migrates and loads the demo data itself on an empty
# database. Extra arguments pass through to `frontiersec serve`; a later
# --host/--port overrides the defaults given here, e.g.
#   ./scripts/serve.sh --port 8080
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/setup.sh
source scripts/setup.sh
printf '==> frontiersec serve on http://127.0.0.1:8000 (Ctrl-C stops)\n' >&2
exec frontiersec serve --host 127.0.0.1 --port 8000 "$@"
