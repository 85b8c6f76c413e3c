"""The designation area's one door to the review area: what a pre-release submission declares
about a model version (developer, training compute, parameter count, when it was submitted),
and how many submissions there are (for the transparency page).

Only these non-confidential facts are read; the submission's materials, credential and team
stay behind the review area's own access rules.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from frontiersec.review.models import ReviewSubmission

__all__ = ["SubmissionFacts", "submission_count", "submission_facts", "submissions_of"]


@dataclass(frozen=True)
class SubmissionFacts:
    """What a pre-release review submission declares about a model version."""

    submission_id: uuid.UUID
    model_name: str
    model_version: str
    submitted_at: dt.datetime
    developer_org_id: uuid.UUID
    training_compute_flop: float | None
    parameter_count: int | None


def submission_facts(session: Session, model_name: str, model_version: str) -> SubmissionFacts | None:
    """The newest submission of ``model_name`` ``model_version``, or None."""
    row = (
        session.execute(
            select(ReviewSubmission)
            .where(ReviewSubmission.model_name == model_name, ReviewSubmission.model_version == model_version)
            .order_by(ReviewSubmission.created_at.desc())
        )
        .scalars()
        .first()
    )
    return None if row is None else _facts(row)


def _facts(row: ReviewSubmission) -> SubmissionFacts:
    return SubmissionFacts(
        submission_id=row.id,
        model_name=row.model_name,
        model_version=row.model_version,
        submitted_at=row.window_opened_at or row.created_at,
        developer_org_id=row.owner_org_id,
        training_compute_flop=row.training_compute_flop,
        parameter_count=row.parameter_count,
    )


def submission_count(session: Session) -> int:
    """How many models were submitted for pre-release review."""
    return int(session.execute(select(func.count()).select_from(ReviewSubmission)).scalar_one())


def submissions_of(session: Session, developer_org_id: uuid.UUID) -> list[SubmissionFacts]:
    """Every submission of one developer organisation, oldest first (used by the demo)."""
    rows = session.execute(
        select(ReviewSubmission)
        .where(ReviewSubmission.owner_org_id == developer_org_id)
        .order_by(ReviewSubmission.created_at)
    ).scalars()
    return [_facts(r) for r in rows]
