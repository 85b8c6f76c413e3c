"""Pre-release review tables.

A submission is confidential to the developer organisation that made it and to the review
team's named officials (need-to-know); ``service`` enforces that on every read. Its life::

    open ──► reported ──► closed                (report issued before the deadline)
      │                                        (window end: credential purged, receipt signed)
      └────────────────► closed_without_report  (deadline passed without a report)

Nothing here records, approves or blocks the release itself: the planned release date is the
developer's, set once at submission and never changed by the system.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from frontiersec.platform.clock import utcnow
from frontiersec.platform.db import Base, OwnedMixin, new_id

__all__ = [
    "ReviewCredential",
    "ReviewDocument",
    "ReviewEvalRun",
    "ReviewExport",
    "ReviewFinding",
    "ReviewPurgeReceipt",
    "ReviewReport",
    "ReviewSubmission",
    "ReviewTeamMember",
]


class ReviewSubmission(OwnedMixin, Base):
    """A model a developer submitted for voluntary pre-release review (owner: the developer)."""

    __tablename__ = "review_submissions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    model_name: Mapped[str] = mapped_column(String(200), index=True)
    model_version: Mapped[str] = mapped_column(String(100))
    access_level: Mapped[str] = mapped_column(String(20))
    release_date: Mapped[dt.date]
    window_opened_at: Mapped[dt.datetime]
    window_closes_at: Mapped[dt.datetime] = mapped_column(index=True)
    endpoint_url: Mapped[str | None] = mapped_column(String(2000))
    eval_model: Mapped[str | None] = mapped_column(String(300))
    training_compute_flop: Mapped[float | None] = mapped_column(Float)
    parameter_count: Mapped[int | None] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(32), default="open", index=True)
    closed_at: Mapped[dt.datetime | None]


class ReviewTeamMember(Base):
    """One named official on a submission's review team."""

    __tablename__ = "review_team_members"
    __table_args__ = (UniqueConstraint("submission_id", "user_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    submission_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("review_submissions.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    added_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    added_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ReviewCredential(Base):
    """The encrypted endpoint credential; the row is deleted (not flagged) when purged."""

    __tablename__ = "review_credentials"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    submission_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("review_submissions.id", ondelete="CASCADE"), unique=True
    )
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ReviewDocument(Base):
    """A system card or other document, encrypted at rest; its content is deleted at purge."""

    __tablename__ = "review_documents"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    submission_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("review_submissions.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    uploaded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    purged_at: Mapped[dt.datetime | None]


class ReviewEvalRun(Base):
    """An evaluation run (evals area, linked by id) scheduled for a submission."""

    __tablename__ = "review_eval_runs"
    __table_args__ = (UniqueConstraint("submission_id", "run_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    submission_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("review_submissions.id", ondelete="CASCADE"), index=True
    )
    run_id: Mapped[uuid.UUID]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ReviewReport(Base):
    """The report the review team hands back to the developer (at most one per submission)."""

    __tablename__ = "review_reports"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    submission_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("review_submissions.id", ondelete="CASCADE"), unique=True
    )
    summary: Mapped[str] = mapped_column(Text)
    issued_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ReviewFinding(Base):
    """One finding of a report, with the developer's response (acknowledged or disputed)."""

    __tablename__ = "review_findings"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    report_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("review_reports.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    severity: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text)
    response: Mapped[str | None] = mapped_column(String(16))
    response_comment: Mapped[str | None] = mapped_column(Text)
    responded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    responded_at: Mapped[dt.datetime | None]


class ReviewExport(Base):
    """A request to export one material: approved by a second team member, downloaded once."""

    __tablename__ = "review_exports"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    submission_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("review_submissions.id", ondelete="CASCADE"), index=True
    )
    material: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="requested")
    requested_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    recipient_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    approved_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    approved_at: Mapped[dt.datetime | None]
    downloaded_at: Mapped[dt.datetime | None]
    content_sha256: Mapped[str | None] = mapped_column(String(64))


class ReviewPurgeReceipt(Base):
    """The signed receipt of what was deleted at window end."""

    __tablename__ = "review_purge_receipts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    submission_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("review_submissions.id", ondelete="CASCADE"), unique=True
    )
    kid: Mapped[str] = mapped_column(String(32))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
