"""Designation tables: officials, policy versions, determinations, notices, reconsiderations.

Who sees what (enforced in ``service``):

* a policy's document (thresholds, rationales) is encrypted at rest and readable by
  designation officials (and platform operators) only; its version, commitment and public
  summary are public;
* a determination, its notice and its reconsiderations belong to the developer
  organisation whose model they concern (``owner_org_id``, TLP AMBER): that organisation and
  designation officials see them, every other organisation gets *not found*.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from frontiersec.platform.clock import utcnow
from frontiersec.platform.db import Base, OwnedMixin, new_id

__all__ = [
    "DesignationOfficial",
    "DesignationPolicy",
    "Determination",
    "Notice",
    "Reconsideration",
]


class DesignationOfficial(Base):
    """Membership of the designation officials group: users of government agencies who may
    read confidential policies, issue determinations and decide reconsiderations."""

    __tablename__ = "designation_officials"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    granted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DesignationPolicy(OwnedMixin, Base):
    """One immutable policy version: the encrypted document, its commitment and public summary."""

    __tablename__ = "designation_policies"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    version: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    effective: Mapped[str | None] = mapped_column(String(10))
    commitment: Mapped[str] = mapped_column(String(64))
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    confidential_thresholds: Mapped[bool] = mapped_column(default=True)
    document_encrypted: Mapped[str] = mapped_column(Text)


class Determination(OwnedMixin, Base):
    """A policy version applied to a model version's evidence, signed by the deployment key."""

    __tablename__ = "designation_determinations"
    __table_args__ = (Index("ix_designation_determinations_model", "model_name", "model_version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    model_name: Mapped[str] = mapped_column(String(200))
    model_version: Mapped[str] = mapped_column(String(100))
    issuer_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    policy_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("designation_policies.id"), index=True)
    policy_version: Mapped[str] = mapped_column(String(32))
    policy_commitment: Mapped[str] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(String(32), index=True)
    basis: Mapped[str] = mapped_column(String(20), default="policy")
    # Criteria as the developer may see them (confidential thresholds left out) ...
    criteria: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # ... and the thresholds themselves, encrypted, for officials (None when published).
    thresholds_encrypted: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    signature_kid: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    submission_id: Mapped[uuid.UUID | None]
    submitted_at: Mapped[dt.datetime | None]
    status: Mapped[str] = mapped_column(String(20), default="current", index=True)
    supersedes_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("designation_determinations.id", ondelete="SET NULL")
    )
    superseded_by_id: Mapped[uuid.UUID | None]
    reevaluation_due_at: Mapped[dt.datetime | None]
    reevaluation_reason: Mapped[str | None] = mapped_column(String(300))
    # Set when a new model version calls for a determination of that version.
    reevaluation_version: Mapped[str | None] = mapped_column(String(100))


class Notice(OwnedMixin, Base):
    """What the developer is told: the result, each criterion's reason and the public summary."""

    __tablename__ = "designation_notices"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    determination_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("designation_determinations.id", ondelete="CASCADE"), index=True
    )
    headline: Mapped[str] = mapped_column(String(300))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    policy_summary: Mapped[dict[str, Any]] = mapped_column(JSON)


class Reconsideration(OwnedMixin, Base):
    """A developer's request to reconsider a determination, its clock and the officials' decision.

    ::

        requested ──► under_review ──► upheld | reversed | modified
            └──────────────────────────►┘
    """

    __tablename__ = "designation_reconsiderations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    determination_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("designation_determinations.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="requested", index=True)
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    request_deadline: Mapped[dt.datetime]
    decision_due: Mapped[dt.datetime]
    review_started_at: Mapped[dt.datetime | None]
    review_started_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[dt.datetime | None]
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decision_rationale: Mapped[str | None] = mapped_column(Text)
    new_determination_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("designation_determinations.id", ondelete="SET NULL")
    )
