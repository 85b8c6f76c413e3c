"""Demo content for the evals area (called by ``frontiersec demo load`` after the organisations,
users and KEV catalog exist; must be idempotent).

Nothing here is invented: the whole cyber-core suite really runs, in the bubblewrap sandbox,
with the two offline scripted agents (``scripted/reference`` replays every task's reference
solution, ``scripted/null`` submits nothing), so the profile and compare pages show real
per-sample results, real Inspect logs and their SHA-256. It takes about 25 seconds on two
cores. When the sandbox cannot run here (no bubblewrap), the runs are skipped and said so.
"""

from __future__ import annotations

import time
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from frontiersec.evals.models import EvalRun
from frontiersec.evals.runs import RunFailed, run_now
from frontiersec.platform.auth.models import User
from frontiersec.platform.auth.principal import SYSTEM, Principal
from frontiersec.platform.auth.service import principal_for_email
from frontiersec.platform.secrets_box import SecretBox

log = structlog.get_logger(__name__)
EVALUATOR = "evaluator@nsa.example"
# (Inspect model, model name, model version) of the demo profiles.
DEMO_MODELS = [
    ("scripted/reference", "reference-agent", "1.0"),
    ("scripted/null", "null-agent", "1.0"),
]


def _evaluator(session: Session) -> Principal:
    user = session.execute(select(User).where(User.email == EVALUATOR)).scalars().first()
    return principal_for_email(session, EVALUATOR, via="system") if user is not None else SYSTEM


def seed_demo(session: Session, settings: Any, box: SecretBox) -> dict[str, Any]:
    """Run the suite with the reference and the null agent once (skipped if already there)."""
    from frontiersec.evals.sandbox import SandboxError

    principal = _evaluator(session)
    created: list[dict[str, Any]] = []
    started = time.monotonic()
    for model, name, version in DEMO_MODELS:
        exists = session.execute(
            select(EvalRun.id).where(EvalRun.model_name == name, EvalRun.model_version == version)
        ).first()
        if exists is not None:
            continue
        try:
            # GREEN: the reference agents are no one's secret; every demo user sees their profiles.
            run = run_now(
                session, principal, settings, model=model, model_name=name, model_version=version, tlp="GREEN"
            )
        except (RunFailed, SandboxError) as exc:
            log.warning("evals.demo.skipped", reason=str(exc))
            return {"eval_runs": created, "skipped": f"evaluation runs skipped: {exc}"}
        created.append(
            {"model": model, "status": run.status, "samples": run.samples_done, "sha256": run.log_sha256}
        )
    return {"eval_runs": created, "seconds": round(time.monotonic() - started, 1)}
