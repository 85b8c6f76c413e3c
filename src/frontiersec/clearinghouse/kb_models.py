"""Knowledge-base feed tables: EPSS scores, the CWE catalog, and the sync state of each feed.

These are public reference data keyed by their natural ids (a CVE id, a CWE number, a feed key),
TLP:CLEAR by definition and the same for every organisation, so, like ``cluster_aliases``, they
carry no :class:`~frontiersec.platform.db.OwnedMixin` columns: there is nothing to hide from
anyone and no owner to record per row. Every load is audited (``kb.load_epss``, ``kb.load_cwe``,
``kb.sync``) with who ran it and what changed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from frontiersec.platform.db import Base, UTCDateTime

__all__ = ["CweEntry", "CweRelation", "EpssScore", "FeedState"]


class EpssScore(Base):
    """FIRST's Exploit Prediction Scoring System score of one CVE, from the daily CSV."""

    __tablename__ = "epss_scores"

    cve_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    epss: Mapped[float] = mapped_column(Float)
    percentile: Mapped[float] = mapped_column(Float)
    model_version: Mapped[str] = mapped_column(String(32))
    score_date: Mapped[dt.date] = mapped_column(Date, index=True)


class CweEntry(Base):
    """One entry of MITRE's CWE catalog: a weakness, a category or a view."""

    __tablename__ = "cwe_entries"

    cwe_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(Text)
    abstraction: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    catalog_version: Mapped[str] = mapped_column(String(16))


class CweRelation(Base):
    """A parent/child link of the CWE catalog in one view.

    ``nature`` is ``ChildOf`` (a weakness's ``Related_Weakness``) or ``MemberOf`` (a category's
    ``Has_Member``); ``view_id`` is the CWE view the link belongs to (1000 = Research Concepts).
    """

    __tablename__ = "cwe_relations"

    child_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    parent_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False, index=True)
    view_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    nature: Mapped[str] = mapped_column(String(16))


class FeedState(Base):
    """What ``kb sync`` last saw of one feed: validators for conditional requests, and the outcome.

    ``etag`` / ``last_modified`` / ``sha256`` describe the last copy that was verified and loaded;
    a failed download or verification leaves them as they were and only sets ``last_status`` /
    ``last_error``.
    """

    __tablename__ = "kb_feed_state"

    feed: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(64))
    sha256: Mapped[str | None] = mapped_column(String(64))
    last_checked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_loaded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_status: Mapped[str] = mapped_column(String(16), default="never")
    last_error: Mapped[str | None] = mapped_column(Text)
    last_result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
