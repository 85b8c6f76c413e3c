"""The audit log: an append-only hash chain."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from frontiersec.platform.db import Base

__all__ = ["AuditEntry", "AuditHead"]


class AuditEntry(Base):
    """One audited action. ``entry_hash`` = SHA-256 over the entry's canonical JSON, which
    includes ``prev_hash`` (the previous entry's ``entry_hash``)."""

    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[dt.datetime]
    actor_user_id: Mapped[uuid.UUID | None]
    actor_email: Mapped[str] = mapped_column(String(320))
    actor_org_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    via: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(80), index=True)
    object_type: Mapped[str | None] = mapped_column(String(60))
    object_id: Mapped[str | None] = mapped_column(String(80), index=True)
    tlp: Mapped[str | None] = mapped_column(String(16))
    ip: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """A single row holding the chain's head; updating it serialises writers on every backend."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    last_hash: Mapped[str] = mapped_column(String(64))
