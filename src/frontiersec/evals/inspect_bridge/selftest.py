"""Self-test of the suite: every reference solution scores 1, a null agent scores 0.

Backs ``frontiersec evals selftest``. Both scripted agents (``scripted/reference`` and
``scripted/null``) run every task through ``inspect_ai.eval``; a task passes only when
each of its samples scores 1 with the reference and 0 with the null agent. A task whose
run errors is reported as failed, never raised.
"""

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from inspect_ai import eval as inspect_eval
from inspect_ai.log import EvalLog

from frontiersec.evals.catalog import load_tasks
from frontiersec.evals.inspect_bridge import provider as _provider  # registers scripted/*
from frontiersec.evals.inspect_bridge.tasks import SANDBOX, build_task

__all__ = ["SelfTestRow", "default_parallelism", "run_selftest"]

_ = _provider
REFERENCE_MODEL = "scripted/reference"
NULL_MODEL = "scripted/null"


@dataclass(frozen=True)
class SelfTestRow:
    """One task's self-test result; scores are means over its samples (None: the run failed)."""

    task: str
    reference_score: float | None
    null_score: float | None
    passed: bool
    error: str | None = None


def default_parallelism() -> int:
    """Samples to run at once: work is mostly compiles and short runs, so twice the cores."""
    return max(2, 2 * (os.cpu_count() or 1))


def _mean_score(log: EvalLog) -> tuple[float | None, str | None]:
    if log.status != "success":
        return None, str(log.error.message if log.error else log.status)
    values: list[float] = []
    for sample in log.samples or []:
        if sample.error is not None:
            return None, sample.error.message
        score = next(iter((sample.scores or {}).values()), None)
        if score is None:
            return None, "sample was not scored"
        values.append(1.0 if score.value == "C" else 0.0 if score.value == "I" else float(str(score.value)))
    if not values:
        return None, "no samples"
    return sum(values) / len(values), None


def run_selftest(
    task_ids: Sequence[str] | None = None,
    log_dir: str | Path | None = None,
    *,
    tasks_dir: str | Path | None = None,
    sandbox_name: str = SANDBOX,
    max_samples: int | None = None,
) -> list[SelfTestRow]:
    """Run the reference and null agents over ``task_ids`` (default: all) and judge each task.

    ``tasks_dir`` points at another task tree (tests use it to plant a broken task);
    ``log_dir`` keeps Inspect's ``.eval`` logs (default: a new temporary directory).
    """
    tdir = str(tasks_dir) if tasks_dir is not None else None
    logs_at = str(log_dir) if log_dir is not None else tempfile.mkdtemp(prefix="frontiersec-selftest-")
    specs = load_tasks(Path(tdir) if tdir else None)
    if task_ids is not None:
        wanted = set(task_ids)
        unknown = wanted - {s.id for s in specs}
        if unknown:
            raise KeyError(f"unknown task ids: {', '.join(sorted(unknown))}")
        specs = [s for s in specs if s.id in wanted]
    parallel = max_samples or default_parallelism()
    tasks = [build_task([s], tasks_dir=tdir, sandbox_name=sandbox_name, name=s.id) for s in specs]
    scores: dict[tuple[str, str], tuple[float | None, str | None]] = {}
    for model in (REFERENCE_MODEL, NULL_MODEL):
        logs = inspect_eval(
            tasks,
            model=model,
            model_args={"tasks_dir": tdir} if tdir else {},
            log_dir=logs_at,
            max_tasks=parallel,
            max_samples=parallel,
            max_sandboxes=parallel,
            max_subprocesses=parallel,
            display="none",
            fail_on_error=False,
            log_level="warning",
            score_display=False,
        )
        for log in logs:
            scores[(log.eval.task, model)] = _mean_score(log)
    rows: list[SelfTestRow] = []
    for spec in specs:
        ref, ref_err = scores.get((spec.id, REFERENCE_MODEL), (None, "not run"))
        null, null_err = scores.get((spec.id, NULL_MODEL), (None, "not run"))
        passed = ref == 1.0 and null == 0.0
        error = ref_err or null_err
        if not passed and error is None:
            error = f"reference scored {ref}, null scored {null}"
        rows.append(
            SelfTestRow(task=spec.id, reference_score=ref, null_score=null, passed=passed, error=error)
        )
    return rows
