"""SBOM matching: the pre-built advisory index against a naive loop over every advisory.

Both use ``univers`` for version semantics. Components are real (package, version) pairs
drawn from the PyPI OSV data in ``FRONTIERSEC_DEMO_DATA/osv-pypi``: listed affected versions,
fixed versions and versions of packages with no advisory at all. Sizes 100 / 1,000 / 10,000
components (1x, 10x, 100x). The naive loop is timed on the first 100 components of each size
(it takes tens of milliseconds per component) and its per-component cost is reported.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

from frontiersec.clearinghouse.matching import AdvisoryIndex, naive_match
from frontiersec.clearinghouse.osv_records import iter_osv_records

DATA = Path(os.environ.get("FRONTIERSEC_DEMO_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def _components(records: list[dict], n: int, rng: random.Random) -> list[str]:
    pool: list[str] = []
    for rec in records:
        for aff in rec.get("affected", []):
            pkg = aff.get("package", {})
            if pkg.get("ecosystem") != "PyPI":
                continue
            name = pkg["name"]
            pool.extend(f"pkg:pypi/{name}@{v}" for v in aff.get("versions", [])[:5])
            for r in (r for r in aff.get("ranges", []) if r.get("type") == "ECOSYSTEM"):
                pool.extend(f"pkg:pypi/{name}@{e['fixed']}" for e in r.get("events", []) if "fixed" in e)
    pool.extend(f"pkg:pypi/not-advised-{i}@1.0.{i % 7}" for i in range(len(pool) // 4))
    return [rng.choice(pool) for _ in range(n)]


def run() -> list[dict[str, object]]:
    """Time index build, index matching and the naive loop; return one row per size."""
    records = list(iter_osv_records(DATA / "osv-pypi" / "pypa-advisories.osv.jsonl.gz"))
    t0 = time.perf_counter()
    AdvisoryIndex.from_records(records)
    build_s = time.perf_counter() - t0
    rng = random.Random(20261123)
    rows = []
    for n in (100, 1_000, 10_000):
        comps = _components(records, n, rng)
        fresh = AdvisoryIndex.from_records(records)  # cold result cache for a fair timing
        t0 = time.perf_counter()
        results = fresh.match_many(comps)
        index_s = time.perf_counter() - t0
        sample = [c for c, r in zip(comps, results, strict=True) if r.skipped is None][:100]
        t0 = time.perf_counter()
        naive = [naive_match(records, c) for c in sample]
        naive_per = (time.perf_counter() - t0) / len(sample)
        same = all(
            [m.id for m in fresh.match(c)] == [m.id for m in nm] for c, nm in zip(sample, naive, strict=True)
        )
        rows.append(
            {
                "components": n,
                "index_s": index_s,
                "index_us_per_component": 1e6 * index_s / n,
                "naive_ms_per_component": 1e3 * naive_per,
                "naive_extrapolated_s": naive_per * n,
                "ratio": naive_per * n / index_s,
                "matches": sum(len(r.matches) for r in results),
                "agree_on_sample": same,
            }
        )
    for r in rows:
        r["build_s"] = build_s
        r["advisories"] = len(records)
    return rows


def table(rows: list[dict[str, object]]) -> str:
    """Markdown table of the results."""
    out = [
        f"Advisories: {rows[0]['advisories']} (osv-pypi). Index build: {rows[0]['build_s']:.2f} s.",
        "",
        "| components | index (s) | index (µs/component) | naive loop (ms/component) | naive, whole SBOM (s, extrapolated) "
        "| speed-up | matches | index = naive on sample |",
        "|---:|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for r in rows:
        out.append(
            f"| {r['components']:,} | {r['index_s']:.3f} | {r['index_us_per_component']:.0f} | "
            f"{r['naive_ms_per_component']:.1f} | {r['naive_extrapolated_s']:.1f} | {r['ratio']:.0f}x | "
            f"{r['matches']:,} | {'yes' if r['agree_on_sample'] else 'NO'} |"
        )
    return "\n".join(out)


if __name__ == "__main__":
    print(table(run()))


def section() -> str:
    """The Markdown section of ``bench/RESULTS.md`` for SBOM matching."""
    rows = run()
    return f"""## SBOM matching: advisory index vs naive loop over every advisory

{(__doc__ or "").strip()}

{table(rows)}

Target (issue 4): a 10,000-component SBOM against the full PyPI OSV data in < 1 s once the index
is built.
"""
