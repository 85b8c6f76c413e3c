"""Trusted-partner tables: nominations, the two sides' decisions, the vetting checklist, access
grants and their usage ledger.

A nomination is owned by the model's developer organisation and shared (TLP:AMBER) with the
agency that co-decides and with the nominated organisation. Its life::

    pending ──(developer approves + agency approves, checklist done)──► approved ──► grants
       └──(either side declines, with a reason)──────────────────────► declined

A grant's state is computed from its columns at the moment it is asked (``rules.grant_status``)::

    awaiting_terms ──(partner accepts)──► not_yet_active ──(starts_at)──► active ──(ends_at)──► expired
          any state ──(developer or agency revokes, with a reason)──► revoked  (final, at once)
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from frontiersec.platform.clock import utcnow
from frontiersec.platform.db import Base, OwnedMixin, new_id

__all__ = ["PartnerApproval", "PartnerChecklistItem", "PartnerGrant", "PartnerNomination", "PartnerUsage"]


class PartnerNomination(OwnedMixin, Base):
    """An organisation nominated as trusted partner for one model version (owner: the developer)."""

    __tablename__ = "partner_nominations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    model_name: Mapped[str] = mapped_column(String(200), index=True)
    model_version: Mapped[str] = mapped_column(String(100))
    agency_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    partner_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    purpose: Mapped[str] = mapped_column(Text)
    nominated_side: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    decided_at: Mapped[dt.datetime | None]


class PartnerApproval(Base):
    """One side's decision on a nomination: approved, or declined with a reason (once per side)."""

    __tablename__ = "partner_approvals"
    __table_args__ = (UniqueConstraint("nomination_id", "side"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    nomination_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("partner_nominations.id", ondelete="CASCADE"), index=True
    )
    side: Mapped[str] = mapped_column(String(16))
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PartnerChecklistItem(Base):
    """One vetting check of a nomination, with who checked it and when."""

    __tablename__ = "partner_checklist_items"
    __table_args__ = (UniqueConstraint("nomination_id", "key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    nomination_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("partner_nominations.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(300))
    required: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(Integer)
    checked_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    checked_at: Mapped[dt.datetime | None]
    note: Mapped[str] = mapped_column(Text, default="")


class PartnerGrant(OwnedMixin, Base):
    """A scoped, signed, time-limited access grant of a model version to an approved partner."""

    __tablename__ = "partner_grants"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    nomination_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("partner_nominations.id", ondelete="CASCADE"), index=True
    )
    partner_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    model_name: Mapped[str] = mapped_column(String(200))
    model_version: Mapped[str] = mapped_column(String(100))
    purpose: Mapped[str] = mapped_column(Text)
    access_level: Mapped[str] = mapped_column(String(20))
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime] = mapped_column(index=True)
    usage_cap: Mapped[int] = mapped_column(BigInteger)
    usage_unit: Mapped[str] = mapped_column(String(16))
    used_units: Mapped[int] = mapped_column(BigInteger, default=0)
    review_window_closes_at: Mapped[dt.datetime | None]
    window_waived: Mapped[bool] = mapped_column(default=False)
    waiver_reason: Mapped[str | None] = mapped_column(Text)
    waived_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    terms_version: Mapped[str] = mapped_column(String(40))
    terms_text: Mapped[str] = mapped_column(Text)
    terms_sha256: Mapped[str] = mapped_column(String(64))
    accepted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    accepted_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    revoked_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoked_side: Mapped[str | None] = mapped_column(String(16))
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    kid: Mapped[str] = mapped_column(String(32))
    signed: Mapped[dict[str, Any]] = mapped_column(JSON)


class PartnerUsage(Base):
    """One entry of a grant's usage ledger: reported by the partner or counted by a gateway check."""

    __tablename__ = "partner_usage"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    grant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("partner_grants.id", ondelete="CASCADE"), index=True
    )
    units: Mapped[int] = mapped_column(BigInteger)
    period_start: Mapped[dt.datetime]
    period_end: Mapped[dt.datetime]
    source: Mapped[str] = mapped_column(String(16))
    reported_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
