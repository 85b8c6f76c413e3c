"""Run every benchmark and write ``bench/RESULTS.md``: ``python -m bench.run``."""

from __future__ import annotations

import datetime as dt
import os
import platform
from pathlib import Path

from bench import sbom_match

HERE = Path(__file__).parent


def main() -> None:
    """Run the benchmarks in one process and write the results table."""
    rows = sbom_match.run()
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = f"""# Benchmark results

Written by `python -m bench.run` ({now}) on {platform.machine()}, {os.cpu_count()} cores,
Python {platform.python_version()}. Timings are wall-clock seconds of one run; compare rows of
the same run only.

## SBOM matching: advisory index vs naive loop over every advisory

{sbom_match.__doc__.strip()}

{sbom_match.table(rows)}

Target (issue 4): a 10,000-component SBOM against the full PyPI OSV data in < 1 s once the index
is built.
"""
    (HERE / "RESULTS.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
