"""Evals tables: evaluation runs, their per-sample results, and model credentials.

Run states::

    queued ──► running ──► succeeded   every planned sample scored
                  │  ├───► partial     some scored, some failed (endpoint refused, timed out...)
                  │  └───► failed      nothing scored, or the run could not start
                  └─ process killed: the job is re-queued and the run resumes, skipping the
                     samples already stored
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from frontiersec.platform.clock import utcnow
from frontiersec.platform.db import Base, OwnedMixin, new_id
from frontiersec.platform.sharing import register_shareable

__all__ = ["RUN_STATUSES", "EvalRun", "EvalSample", "ModelCredential"]

RUN_STATUSES = ("queued", "running", "succeeded", "partial", "failed")


class ModelCredential(OwnedMixin, Base):
    """An API key for a model endpoint, encrypted with the deployment secret (``SecretBox``).

    Never returned by the API, the CLI or a page after entry. Purging deletes the
    ciphertext and keeps this row as a tombstone (who purged it, when).
    """

    __tablename__ = "eval_model_credentials"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    label: Mapped[str] = mapped_column(String(200))
    base_url: Mapped[str | None] = mapped_column(String(2000))
    secret_encrypted: Mapped[str | None] = mapped_column(Text)
    purged_at: Mapped[dt.datetime | None]
    purged_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class EvalRun(OwnedMixin, Base):
    """One evaluation of one model version on the suite (``source="run"``) or an imported log."""

    __tablename__ = "eval_runs"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    source: Mapped[str] = mapped_column(String(16), default="run")
    suite: Mapped[str] = mapped_column(String(60))
    model: Mapped[str] = mapped_column(String(300))
    base_url: Mapped[str | None] = mapped_column(String(2000))
    model_name: Mapped[str] = mapped_column(String(200), index=True)
    model_version: Mapped[str] = mapped_column(String(100), index=True)
    epochs: Mapped[int] = mapped_column(Integer, default=1)
    sample_limit: Mapped[int | None] = mapped_column(Integer)
    task_ids: Mapped[list[str] | None] = mapped_column(JSON)
    max_connections: Mapped[int | None] = mapped_column(Integer)
    max_samples: Mapped[int | None] = mapped_column(Integer)
    max_retries: Mapped[int | None] = mapped_column(Integer)
    timeout_s: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    samples_total: Mapped[int] = mapped_column(Integer, default=0)
    samples_done: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    log_path: Mapped[str | None] = mapped_column(String(1000))
    log_sha256: Mapped[str | None] = mapped_column(String(64))
    logs: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    credential_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("eval_model_credentials.id", ondelete="SET NULL")
    )
    review_submission_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class EvalSample(Base):
    """One sample x epoch of a run: its score (1 solved, 0 not; None when it failed) and error."""

    __tablename__ = "eval_samples"
    __table_args__ = (UniqueConstraint("run_id", "sample_id", "epoch"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("eval_runs.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[str] = mapped_column(String(200), index=True)
    sample_id: Mapped[str] = mapped_column(String(200))
    family: Mapped[str] = mapped_column(String(120), index=True)
    epoch: Mapped[int] = mapped_column(Integer, default=1)
    score: Mapped[float | None] = mapped_column(Float)
    answer: Mapped[str | None] = mapped_column(Text)
    explanation: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[dt.datetime | None]
    completed_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


register_shareable("eval_run", EvalRun)
