"""Harness overhead: the same evaluation through ``frontiersec evals run`` and bare ``inspect eval``.

Same task, same model, same sandbox, same parallelism, each in a fresh process (interpreter
start-up and imports count on both sides):

* **ours**: ``frontiersec evals run --model scripted/null --task A --task B --epochs E`` on a
  fresh SQLite database — the run record and its audit entry, the ``evals.run`` job
  (immediate mode), the isolation self-test, Inspect, every sample committed to the
  database as it ends, the log hashed;
* **bare**: ``inspect eval bench/evals_harness.py@harness_task --model scripted/null
  --epochs E`` — Inspect alone, on the identical ``Task`` (``build_task`` over the same
  two catalog tasks; the ``bwrap`` sandbox's own once-per-task self-test runs on both sides).

The two tasks (``discovery_cmd_injection``, ``discovery_path_traversal``) are the cheapest of
the suite (no compile step, no service) and the model is the offline scripted agent that
submits nothing at once, so what is left is per-sample harness work: the sandbox life
cycle, staging the task files, one model turn, the oracle. 2 tasks x E epochs = 2, 20,
200 samples (1x, 10x, 100x); at 200 samples both sides run twice, alternating, and the
better run of each counts.

Target (issue 5): ours within 1.1x of bare at 200 samples.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from inspect_ai import Task, task

from frontiersec.evals.catalog import load_tasks
from frontiersec.evals.inspect_bridge.tasks import build_task

TASK_IDS = ("discovery_cmd_injection", "discovery_path_traversal")
MODEL = "scripted/null"
PARALLEL = max(2, 2 * (os.cpu_count() or 1))  # what `frontiersec evals run` uses by default
EPOCHS = (1, 10, 100)
REPEATS_AT_LARGEST = 2
TARGET_RATIO = 1.1
ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@task
def harness_task() -> Task:
    """The task ``frontiersec evals run --task A --task B`` builds, for bare ``inspect eval``."""
    return build_task([s for s in load_tasks() if s.id in TASK_IDS], name="cyber_core")


def _ours(env: dict[str, str], epochs: int) -> tuple[float, dict[str, Any]]:
    args = [str(BIN / "frontiersec"), "evals", "run", "--model", MODEL, "--epochs", str(epochs)]
    for t in TASK_IDS:
        args += ["--task", t]
    args += ["--max-samples", str(PARALLEL), "--json"]
    t0 = time.perf_counter()
    proc = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"frontiersec evals run failed: {proc.stdout[-1000:]} {proc.stderr[-2000:]}")
    # the JSON document is the last thing printed (log lines may come before it)
    out = proc.stdout
    start = out.index("{") if out.startswith("{") else out.index("\n{") + 1
    row: dict[str, Any] = json.loads(out[start:])
    if row["status"] != "succeeded" or row["samples_done"] != len(TASK_IDS) * epochs:
        raise RuntimeError(f"frontiersec evals run ended {row['status']}: {row}")
    return wall, row


def _bare(env: dict[str, str], epochs: int, log_dir: Path) -> float:
    args = [
        str(BIN / "inspect"), "eval", f"{Path(__file__).resolve()}@harness_task",
        "--model", MODEL, "--epochs", str(epochs),
        "--max-samples", str(PARALLEL), "--max-sandboxes", str(PARALLEL),
        "--max-subprocesses", str(PARALLEL),
        "--log-dir", str(log_dir), "--display", "none", "--log-level", "warning", "--no-score-display",
    ]  # fmt: skip
    t0 = time.perf_counter()
    proc = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"inspect eval failed: {proc.stdout[-1000:]} {proc.stderr[-2000:]}")
    logs = sorted(log_dir.glob("*.eval"), key=lambda p: p.stat().st_mtime)
    if not logs:
        raise RuntimeError("inspect eval wrote no log")
    from inspect_ai.log import read_eval_log

    log = read_eval_log(str(logs[-1]), header_only=True)
    done = log.results.completed_samples if log.results is not None else 0
    if log.status != "success" or done != len(TASK_IDS) * epochs:
        raise RuntimeError(f"inspect eval ended {log.status} with {done} samples")
    return wall


def run() -> list[dict[str, Any]]:
    """Time both sides at every size; return one row per size."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="fs-bench-harness-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        env = {
            **os.environ,
            "FRONTIERSEC_DATA_DIR": str(data),
            "FRONTIERSEC_DATABASE_URL": f"sqlite:///{data / 'frontiersec.db'}",
            "PYTHONPATH": str(ROOT),
        }
        env.pop("FRONTIERSEC_REDIS_URL", None)
        subprocess.run(
            [str(BIN / "frontiersec"), "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True
        )
        for epochs in EPOCHS:
            repeats = REPEATS_AT_LARGEST if epochs == EPOCHS[-1] else 1
            ours, bare = [], []
            for i in range(repeats):
                ours.append(_ours(env, epochs)[0])
                bare.append(_bare(env, epochs, Path(tmp) / f"bare-{epochs}-{i}"))
            rows.append({"samples": len(TASK_IDS) * epochs, "ours": ours, "bare": bare})
    return rows


def section() -> str:
    """Run the measurements and render the Markdown section."""
    rows = run()
    lines = [
        "## Harness overhead: `frontiersec evals run` vs bare `inspect eval`",
        "",
        (__doc__ or "").strip(),
        "",
        "| samples | ours (s) | bare inspect eval (s) | ours / bare | ours per sample (ms) | bare per sample (ms) |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        ours, bare = min(r["ours"]), min(r["bare"])
        lines.append(
            f"| {r['samples']} | {ours:.2f} | {bare:.2f} | {ours / bare:.2f}x | "
            f"{1000 * ours / r['samples']:.0f} | {1000 * bare / r['samples']:.0f} |"
        )
    big = rows[-1]
    ratio = min(big["ours"]) / min(big["bare"])
    runs = ", ".join(f"{o:.2f}/{b:.2f}" for o, b in zip(big["ours"], big["bare"], strict=True))
    lines += [
        "",
        f"All runs at {big['samples']} samples (ours/bare, s): {runs}.",
        "",
        f"Target ours <= {TARGET_RATIO}x bare at {big['samples']} samples: "
        f"**{'met' if ratio <= TARGET_RATIO else 'NOT met'}** ({ratio:.2f}x).",
    ]
    return "\n".join(lines)
