"""Evals background jobs: ``evals.run`` executes (or resumes) one evaluation run."""

from __future__ import annotations

import uuid
from typing import Any

from frontiersec.evals.runs import JOB_NAME, execute_run
from frontiersec.platform.jobs import JobContext, job


@job(JOB_NAME)
def run_evaluation(ctx: JobContext) -> dict[str, Any]:
    """Run the suite for ``params["run_id"]``; progress is samples scored / samples planned.

    Idempotent: a finished run is returned as it is, a run interrupted by a crash resumes
    with the samples it has not scored yet.
    """
    return execute_run(
        ctx.sessions,
        uuid.UUID(ctx.params["run_id"]),
        box=ctx.box,
        settings=ctx.settings,
        progress=ctx.progress,
    )
