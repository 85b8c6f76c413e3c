"""Sandbox life cycle: create + run ``true`` + destroy, our ``bwrap`` against Inspect's ``local``.

Both go through Inspect's ``SandboxEnvironment`` interface exactly as an eval does
(``sample_init`` → ``exec(["true"])`` → ``sample_cleanup``), 200 runs each, interleaved
run by run so both see the same machine load. ``local`` isolates nothing (a temporary
directory and a plain subprocess), so it is the floor any real sandbox pays on top of.
For ``bwrap`` the three phases are also timed on their own, and N sandboxes are driven
at once (N = 1, 10, 100) to show how the life cycle scales with concurrency. The
once-per-task isolation self-test (``task_init``) is timed separately.

Target (issue 5): p50 <= 50 ms for ``bwrap``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from inspect_ai.util import SandboxEnvironment
from inspect_ai.util._sandbox.local import LocalSandboxEnvironment

from frontiersec.evals.inspect_bridge.sandbox import BwrapEnvironmentConfig, BwrapSandboxEnvironment
from frontiersec.evals.sandbox import BwrapSandbox

RUNS = 200
WARMUP = 5
TARGET_P50_MS = 50.0
Phases = tuple[float, float, float]


def _pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


async def _cycle(cls: type[SandboxEnvironment], config: BwrapEnvironmentConfig | None) -> Phases:
    t0 = time.perf_counter()
    envs = await cls.sample_init("bench", config, {})
    t1 = time.perf_counter()
    result = await envs["default"].exec(["true"])
    t2 = time.perf_counter()
    await cls.sample_cleanup("bench", config, envs, False)
    t3 = time.perf_counter()
    if not result.success:
        raise RuntimeError(f"`true` failed in {cls.__name__}: {result.stderr}")
    return t1 - t0, t2 - t1, t3 - t2


async def _concurrent(n: int, config: BwrapEnvironmentConfig) -> float:
    """Wall seconds for n full life cycles run at once."""
    t0 = time.perf_counter()
    await asyncio.gather(*(_cycle(BwrapSandboxEnvironment, config) for _ in range(n)))
    return time.perf_counter() - t0


def _row(name: str, totals: list[float]) -> str:
    ms = [t * 1000 for t in totals]
    return (
        f"| {name} | {len(ms)} | {statistics.median(ms):.1f} | {_pct(ms, 0.95):.1f} | "
        f"{statistics.fmean(ms):.1f} | {min(ms):.1f} |"
    )


def run() -> dict[str, object]:
    """Measure both sandboxes and the bwrap phases; return the raw figures."""
    parent = Path(tempfile.mkdtemp(prefix="fs-bench-sbx-"))
    parent.chmod(0o711)
    config = BwrapEnvironmentConfig(parent_dir=str(parent))
    try:

        async def main() -> dict[str, object]:
            t0 = time.perf_counter()
            await BwrapSandboxEnvironment.task_init("bench", config)
            selftest_s = time.perf_counter() - t0
            runners: list[tuple[str, Callable[[], Awaitable[Phases]]]] = [
                ("bwrap", lambda: _cycle(BwrapSandboxEnvironment, config)),
                ("local", lambda: _cycle(LocalSandboxEnvironment, None)),
            ]
            phases: dict[str, list[Phases]] = {name: [] for name, _ in runners}
            for _ in range(WARMUP):
                for _name, fn in runners:
                    await fn()
            for _ in range(RUNS):
                for name, fn in runners:
                    phases[name].append(await fn())
            concurrency = {n: await _concurrent(n, config) for n in (1, 10, 100)}
            return {"selftest_s": selftest_s, "phases": phases, "concurrency": concurrency}

        out = asyncio.run(main())
        with BwrapSandbox(parent, config.sandbox_config()) as box:
            out["memory_limit"] = box.memory_limit
        out["leftovers"] = len(os.listdir(parent))
        return out
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def section() -> str:
    """Run the measurements and render the Markdown section."""
    load_before = os.getloadavg()[0]
    r = run()
    load_after = os.getloadavg()[0]
    phases: dict[str, list[Phases]] = r["phases"]  # type: ignore[assignment]
    totals = {name: [sum(p) for p in ps] for name, ps in phases.items()}
    bw = phases["bwrap"]
    create, execute, destroy = ([p[i] * 1000 for p in bw] for i in range(3))
    p50 = statistics.median(totals["bwrap"]) * 1000
    conc: dict[int, float] = r["concurrency"]  # type: ignore[assignment]
    lines = [
        "## Sandbox life cycle: `bwrap` (ours) vs Inspect's `local`",
        "",
        (__doc__ or "").strip(),
        "",
        "| sandbox | runs | p50 (ms) | p95 (ms) | mean (ms) | min (ms) |",
        "|---|---:|---:|---:|---:|---:|",
        _row("bwrap (ours)", totals["bwrap"]),
        _row("local (Inspect, no isolation)", totals["local"]),
        "",
        "bwrap phases, p50 / p95 (ms): "
        f"create {statistics.median(create):.1f} / {_pct(create, 0.95):.1f}, "
        f"exec `true` {statistics.median(execute):.1f} / {_pct(execute, 0.95):.1f}, "
        f"destroy {statistics.median(destroy):.1f} / {_pct(destroy, 0.95):.1f}.",
        "",
        "| bwrap sandboxes at once | wall (s) | ms per sandbox |",
        "|---:|---:|---:|",
        *(f"| {n} | {s:.3f} | {s * 1000 / n:.1f} |" for n, s in conc.items()),
        "",
        f"Memory limit enforced by: `{r['memory_limit']}`. Isolation self-test (once per task, "
        f"`task_init`): {r['selftest_s']:.2f} s. Sandbox directories left behind: {r['leftovers']}. "
        f"Machine load (1-minute average) before / after: {load_before:.1f} / {load_after:.1f} on "
        f"{os.cpu_count()} cores (other work on the machine inflates every figure here).",
        "",
        f"Target p50 <= {TARGET_P50_MS:.0f} ms: **{'met' if p50 <= TARGET_P50_MS else 'NOT met'}** "
        f"(p50 {p50:.1f} ms).",
    ]
    return "\n".join(lines)
