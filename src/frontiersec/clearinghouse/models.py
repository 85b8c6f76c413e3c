"""Clearinghouse tables."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import JSON, Date, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from frontiersec.platform.db import Base, OwnedMixin, new_id

__all__ = ["KevEntry"]


class KevEntry(OwnedMixin, Base):
    """One entry of CISA's Known Exploited Vulnerabilities catalog (public: TLP:CLEAR)."""

    __tablename__ = "kev_entries"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    cve_id: Mapped[str] = mapped_column(String(32), unique=True)
    vendor_project: Mapped[str] = mapped_column(String(200), index=True)
    product: Mapped[str] = mapped_column(String(200))
    vulnerability_name: Mapped[str] = mapped_column(String(500))
    date_added: Mapped[dt.date] = mapped_column(Date, index=True)
    short_description: Mapped[str] = mapped_column(Text)
    required_action: Mapped[str] = mapped_column(Text)
    due_date: Mapped[dt.date] = mapped_column(Date, index=True)
    known_ransomware_campaign_use: Mapped[str] = mapped_column(String(16))
    notes: Mapped[str] = mapped_column(Text, default="")
    cwes: Mapped[list[str]] = mapped_column(JSON, default=list)
    catalog_version: Mapped[str] = mapped_column(String(32))
