"""Demo content for the review area (called by ``frontiersec demo load`` after the organisations,
users and evaluation runs exist; idempotent).

Example AI Lab (security@ailab.example) submitted ``ailab-frontier 2.0`` 32 days ago with a
30-day window; the NSA evaluator and the CISA analyst reviewed it, handed back a report, the lab
acknowledged one finding and disputed another; the window has closed, the credential and the
system card were purged and the receipt signed. A second version, ``ailab-frontier 2.1``, is
under review now, so the countdown runs. No evaluation job is started here (the demo loads
fast); runs the evaluations demo made for these model versions are linked.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from frontiersec.evals.runs import list_runs
from frontiersec.platform.auth.models import User
from frontiersec.platform.auth.principal import SYSTEM
from frontiersec.platform.auth.service import principal_for_email
from frontiersec.platform.clock import utcnow
from frontiersec.platform.secrets_box import SecretBox
from frontiersec.review import jobs as _jobs  # noqa: F401  (registers review.close_window)
from frontiersec.review import service
from frontiersec.review.models import ReviewEvalRun, ReviewSubmission

DEVELOPER = "security@ailab.example"
EVALUATOR = "evaluator@nsa.example"
ANALYST = "analyst@cisa.example"
MODEL = "ailab-frontier"

SYSTEM_CARD = """# ailab-frontier 2.0 — system card (demo)

**Developer:** Example AI Lab · **Release to trusted partners:** see the review window

## Capabilities relevant to cyber security
- Code generation and repair in C, Python, Go and Rust.
- Agentic tool use (shell, file edits) with a 50-step budget.

## Internal evaluations
- Capture-the-flag style tasks (web exploitation, memory corruption, patching).
- Red-teaming by an external vendor, 3 weeks before submission.

## Safeguards
- Refusal training for intrusion against systems the user does not own.
- Rate limits and abuse monitoring on the API.
"""

FINDINGS = [
    service.FindingInput(
        "Writes working exploits for web authentication flaws",
        "high",
        "In the cyber-core exploitation family the model produced working SQL-injection and JWT "
        "'none'-algorithm exploits against the sandboxed targets with no hints beyond the task text.",
    ),
    service.FindingInput(
        "Finds memory-safety bugs in small C programs",
        "medium",
        "The model located the heap overflow and the use-after-free in the discovery tasks and "
        "explained the root cause; it did not turn them into code execution.",
    ),
    service.FindingInput(
        "Patches are correct and minimal",
        "info",
        "Every patch the model wrote fixed the bug without breaking the functional tests: a "
        "defensive capability trusted partners can use.",
    ),
]


def _link_runs(session: Session, sub: ReviewSubmission) -> int:
    n = 0
    for run in list_runs(session, SYSTEM, model_name=sub.model_name, model_version=sub.model_version):
        exists = session.execute(
            select(ReviewEvalRun.id).where(
                ReviewEvalRun.submission_id == sub.id, ReviewEvalRun.run_id == run.id
            )
        ).first()
        if exists is None:
            session.add(ReviewEvalRun(submission_id=sub.id, run_id=run.id))
            n += 1
    return n


def seed_demo(session: Session, settings: Any, box: SecretBox) -> dict[str, Any]:
    """Create this area's demo records once; return counts for the summary."""
    emails = {DEVELOPER, EVALUATOR, ANALYST}
    found = set(session.execute(select(User.email).where(User.email.in_(emails))).scalars())
    if found != emails:
        return {"skipped": "demo users are missing"}
    existing = (
        session.execute(select(ReviewSubmission).where(ReviewSubmission.model_name == MODEL)).scalars().all()
    )
    if existing:
        return {"submissions": 0, "existing": len(existing)}
    dev = principal_for_email(session, DEVELOPER, via="system")
    evaluator = principal_for_email(session, EVALUATOR, via="system")
    analyst = principal_for_email(session, ANALYST, via="system")
    now = utcnow()

    # 1. The finished review: submitted 32 days ago, window of 30 days, closed 2 days ago.
    submitted = now - dt.timedelta(days=32)
    done = service.submit_model(
        session,
        dev,
        service.SubmissionInput(
            model_name=MODEL,
            model_version="2.0",
            release_date=submitted.date() + dt.timedelta(days=30),
            access_level="grey-box",
            endpoint_url="https://api.ailab.example/v1",
            credential="demo-ailab-review-key-2-0",
            training_compute_flop=3.1e25,
            parameter_count=420_000_000_000,
            description="Grey-box access: logits on the chat endpoint; fine-tuning on request.",
            reviewers=[EVALUATOR, ANALYST],
            schedule_evaluation=False,
        ),
        box=box,
        settings=settings,
        documents=[
            service.DocumentInput("system-card-2.0.md", SYSTEM_CARD.encode(), "text/markdown", "system_card")
        ],
        now=submitted,
    )
    _link_runs(session, done)
    service.issue_report(
        session,
        evaluator,
        done.id,
        summary="The model shows exploitation capability above the program's baseline on web targets, "
        "moderate vulnerability discovery, and strong patching. Nothing here restricts the planned "
        "release; the findings are handed back for the lab's own mitigations.",
        findings=FINDINGS,
        now=submitted + dt.timedelta(days=21),
    )
    d = service.get_submission(session, dev, done.id)
    service.respond_to_finding(
        session,
        dev,
        done.id,
        d.findings[0].id,
        response="acknowledged",
        comment="Confirmed; we are adding an exploit-generation refusal classifier.",
        now=submitted + dt.timedelta(days=23),
    )
    service.respond_to_finding(
        session,
        dev,
        done.id,
        d.findings[1].id,
        response="disputed",
        comment="The discovery tasks give the vulnerable file; in real code bases the model's recall is "
        "far lower (internal study attached to the system card).",
        now=submitted + dt.timedelta(days=24),
    )
    service.respond_to_finding(
        session,
        dev,
        done.id,
        d.findings[2].id,
        response="acknowledged",
        now=submitted + dt.timedelta(days=23),
    )
    exp = service.request_export(
        session, analyst, done.id, material="report", reason="brief the CISA director before the release"
    )
    service.approve_export(session, evaluator, done.id, exp.id)
    # Closed now (the deadline has passed): the receipt states the real time of the purge.
    service.close_window(session, done.id, box=box)

    # 2. The next version, under review now: the countdown runs.
    current = service.submit_model(
        session,
        dev,
        service.SubmissionInput(
            model_name=MODEL,
            model_version="2.1",
            release_date=now.date() + dt.timedelta(days=18),
            access_level="black-box",
            endpoint_url="https://api.ailab.example/v1",
            credential="demo-ailab-review-key-2-1",
            training_compute_flop=3.4e25,
            parameter_count=420_000_000_000,
            reviewers=[EVALUATOR],
            schedule_evaluation=False,
        ),
        box=box,
        settings=settings,
        documents=[
            service.DocumentInput(
                "system-card-2.1.md",
                SYSTEM_CARD.replace("2.0", "2.1").encode(),
                "text/markdown",
                "system_card",
            )
        ],
        now=now - dt.timedelta(days=4),
    )
    _link_runs(session, current)
    return {"submissions": 2, "closed_with_receipt": 1}
