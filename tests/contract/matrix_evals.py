"""Authorization-matrix rows for the evals area (see ``matrix_common``).

Runs and their profiles are AMBER records of organisation A: other organisations get 404.
Starting runs and importing logs is for analysts and admins of government agencies (every
organisation of the matrix is one) and operators. The world's job queue is not consumed, so
a started run stays queued.
"""

from __future__ import annotations

import datetime as dt

from frontiersec.evals.models import EvalRun, EvalSample
from tests.contract.matrix_common import (
    ANALYST_A,
    ANALYSTS,
    CSRF,
    OWNERS_A,
    Row,
    SeedContext,
    next_n,
    only,
    signed_in,
)

MODEL_NAME = "matrix-eval-model"


def seed(ctx: SeedContext) -> dict[str, str]:
    """A finished run of organisation A with one scored sample (what a profile needs)."""
    version = f"v{next_n()}"
    now = dt.datetime.now(dt.UTC)
    run = EvalRun(
        source="run",
        suite="cyber-core",
        model="scripted/reference",
        model_name=MODEL_NAME,
        model_version=version,
        epochs=1,
        status="succeeded",
        progress=100,
        samples_total=1,
        samples_done=1,
        logs=[],
        log_sha256="0" * 64,
        owner_org_id=ctx.org_a.id,
        tlp="AMBER",
        created_by=ctx.users[ANALYST_A].id,
        started_at=now,
        finished_at=now,
    )
    ctx.session.add(run)
    ctx.session.flush()
    ctx.session.add(
        EvalSample(
            run_id=run.id,
            task_id="discovery_sqli_search",
            sample_id="discovery_sqli_search",
            family="discovery",
            epoch=1,
            score=1.0,
            attempt=1,
        )
    )
    ctx.session.flush()
    return {"run_id": str(run.id), "profile_name": MODEL_NAME, "profile_version": version}


def _run_body() -> dict[str, object]:
    return {"model": "scripted/null", "limit": 1}


ROWS: list[Row] = [
    Row("POST", "/api/v1/evals/runs", only(ANALYSTS, 202, 403), json=_run_body),
    Row("GET", "/api/v1/evals/runs", signed_in(200)),
    Row("GET", "/api/v1/evals/runs/{run_id}", only(OWNERS_A, 200, 404)),
    Row("GET", "/api/v1/evals/runs/{run_id}/samples", only(OWNERS_A, 200, 404)),
    # The role check runs before the (multipart) body is read; the matrix sends no file, so
    # those allowed get 422 for the missing `file` (imports are exercised in tests/integration/evals).
    Row(
        "POST",
        "/api/v1/evals/imports",
        only(ANALYSTS, 422, 403),
        notes={"422": "allowed callers: the required multipart field `file` is missing"},
    ),
    Row("GET", "/api/v1/evals/profiles", signed_in(200)),
    Row("GET", "/api/v1/evals/profiles/{profile_name}/{profile_version}", only(OWNERS_A, 200, 404)),
    # `a` and `b` are required query parameters and a matrix path carries no query: 422 for
    # every signed-in caller; who sees which comparison is tested with the profiles above.
    Row("GET", "/api/v1/evals/compare", signed_in(422)),
    Row("GET", "/evals", signed_in(200)),
    Row(
        "POST",
        "/evals/runs",
        only(ANALYSTS, 303, 403),
        form=lambda: {"model": "scripted/null", "limit": "1", "epochs": "1", "csrf_token": CSRF},
    ),
    Row("GET", "/evals/runs/{run_id}", only(OWNERS_A, 200, 404)),
    Row("GET", "/evals/profiles", signed_in(200)),
    Row("GET", "/evals/profiles/{profile_name}/{profile_version}", only(OWNERS_A, 200, 404)),
    Row("GET", "/evals/compare", signed_in(200)),
]
