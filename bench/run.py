"""Run every benchmark and write ``bench/RESULTS.md``: ``python -m bench.run [SECTION ...]``.

Each section is a module of this package with a ``section() -> str`` function that runs its
measurements (including the named peer or baseline, in the same run) and returns Markdown.
Running only some sections rewrites only theirs: the others keep their last results.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import platform
import re
import sys
from pathlib import Path

HERE = Path(__file__).parent
RESULTS = HERE / "RESULTS.md"
SECTIONS = ["sbom_match", "intake", "similarity", "evals_harness", "evals_sandbox", "evals_throughput"]
_MARK = re.compile(r"<!-- section:(\w+) -->\n(.*?)<!-- /section:\1 -->\n", re.S)


def _previous() -> dict[str, str]:
    if not RESULTS.exists():
        return {}
    return {m.group(1): m.group(2) for m in _MARK.finditer(RESULTS.read_text())}


def main(argv: list[str] | None = None) -> None:
    """Run the chosen sections (all by default) and rewrite the results table."""
    chosen = argv if argv else SECTIONS
    unknown = [c for c in chosen if c not in SECTIONS]
    if unknown:
        raise SystemExit(f"unknown section(s) {unknown}; choose from {SECTIONS}")
    fresh: dict[str, str] = {}
    for name in chosen:
        print(f"== {name}", file=sys.stderr, flush=True)
        mod = importlib.import_module(f"bench.{name}")
        fresh[name] = mod.section().strip() + "\n"
    bodies = _previous() | fresh  # read last, so sections written meanwhile by another run are kept
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        f"""# Benchmark results

Written by `python -m bench.run` (last run {now}; sections run: {", ".join(chosen)}) on
{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}. Each section
compares against its named peer or baseline in the same run; compare rows of one section only.
"""
    ]
    for name in SECTIONS:
        if name in bodies:
            parts.append(f"<!-- section:{name} -->\n{bodies[name]}<!-- /section:{name} -->\n")
    RESULTS.write_text("\n".join(parts))
    print(RESULTS.read_text())


if __name__ == "__main__":
    main(sys.argv[1:])
