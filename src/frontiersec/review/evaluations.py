"""The review area's one door to the evaluations area: schedule runs against a submitted
model's endpoint, read their status, and purge the credentials those runs hold.

Kept in one small module so the contract with ``frontiersec.evals`` (``start_run``,
``get_run``, ``purge_credential``) is visible in one place.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.orm import Session

from frontiersec.evals.credentials import purge_credential
from frontiersec.evals.runs import get_run, start_run
from frontiersec.platform.auth.principal import SYSTEM, Principal
from frontiersec.platform.errors import NotFound

__all__ = ["RunSummary", "default_eval_model", "purge_run_credentials", "run_summaries", "schedule_run"]

log = structlog.get_logger(__name__)


def default_eval_model(model_name: str) -> str:
    """The Inspect model string used when the developer names none: an OpenAI-compatible
    endpoint (``openai/<model>`` with the submission's endpoint as base URL)."""
    return f"openai/{model_name}"


@dataclass(frozen=True)
class RunSummary:
    """What a review page shows of one evaluation run."""

    id: uuid.UUID
    suite: str
    model: str
    status: str
    progress: int
    samples_done: int
    samples_total: int
    error: str | None


def schedule_run(
    session: Session,
    principal: Principal,
    *,
    submission_id: uuid.UUID,
    eval_model: str,
    endpoint_url: str | None,
    api_key: str | None,
    model_name: str,
    model_version: str,
    suite: str,
    limit: int | None,
) -> uuid.UUID:
    """Create an evaluation run of the suite against the endpoint (the evals area encrypts the
    key and enqueues the job); returns the run id. ``principal`` is an agency analyst on the
    team, or the system when the submission itself schedules the run (developers do not run
    evaluations of their own model here)."""
    run = start_run(
        session,
        principal,
        suite=suite,
        model=eval_model,
        model_base_url=endpoint_url,
        api_key=api_key,
        limit=limit,
        model_name=model_name,
        model_version=model_version,
        review_submission_id=submission_id,
        tlp="RED",  # need-to-know: shared with the named team and the submitter (review.service)
    )
    run_id: uuid.UUID = run.id
    return run_id


def run_summaries(session: Session, run_ids: list[uuid.UUID]) -> list[RunSummary]:
    """Status of the given runs. The caller has already checked that the principal may see the
    submission they belong to, so they are read as the system (the runs belong to the developer)."""
    if not run_ids:
        return []
    out = []
    for rid in run_ids:
        try:
            run = get_run(session, SYSTEM, rid, audit_read=False)
        except NotFound:
            continue
        out.append(
            RunSummary(
                id=run.id,
                suite=run.suite,
                model=run.model,
                status=run.status,
                progress=int(run.progress or 0),
                samples_done=int(run.samples_done or 0),
                samples_total=int(run.samples_total or 0),
                error=run.error,
            )
        )
    return out


def purge_run_credentials(session: Session, run_ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    """Purge the endpoint credentials the evaluation runs of a submission hold; returns what was
    deleted (for the purge receipt)."""
    if not run_ids:
        return []
    deleted: list[dict[str, Any]] = []
    seen: set[uuid.UUID] = set()
    for rid in run_ids:
        try:
            run = get_run(session, SYSTEM, rid, audit_read=False)
        except NotFound:
            continue
        cid = run.credential_id
        if cid is None or cid in seen:
            continue
        seen.add(cid)
        cred = purge_credential(session, SYSTEM, cid)
        deleted.append(
            {
                "kind": "evaluation_credential",
                "id": str(cid),
                "run_id": str(rid),
                "purged_at": cred.purged_at.isoformat() if cred.purged_at else None,
            }
        )
    return deleted
