"""Clearinghouse tables."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from frontiersec.platform.clock import utcnow
from frontiersec.platform.db import Base, OwnedMixin, UTCDateTime, new_id
from frontiersec.platform.sharing import register_shareable

__all__ = [
    "Advisory",
    "ClusterAlias",
    "ClusterMerge",
    "Finding",
    "FindingEmbedding",
    "ImportBatch",
    "KevEntry",
    "VulnCluster",
]


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


class Advisory(OwnedMixin, Base):
    """One OSV advisory of the knowledge base (public reference data: TLP:CLEAR).

    ``record`` keeps the raw OSV JSON, which the matcher compiles; the other columns are for lists
    and for the upsert (by ``osv_id`` + ``modified``).
    """

    __tablename__ = "advisories"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    osv_id: Mapped[str] = mapped_column(String(128), unique=True)
    modified: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    published: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    withdrawn: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    summary: Mapped[str] = mapped_column(Text, default="")
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    ecosystems: Mapped[list[str]] = mapped_column(JSON, default=list)
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(500), default="")


class ImportBatch(OwnedMixin, Base):
    """One scanner-output file imported into the clearinghouse, with what the import did."""

    __tablename__ = "import_batches"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    filename: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    format: Mapped[str] = mapped_column(String(16))
    model_id: Mapped[str | None] = mapped_column(String(200))
    received: Mapped[int] = mapped_column(Integer, default=0)
    new: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)


class VulnCluster(OwnedMixin, Base):
    """Findings that are the same vulnerability, with finder credit.

    ``first_finder_org_id`` / ``first_found_at`` are the earliest finding's; ``finders`` lists every
    finder organisation with its first date (earliest first; all but the first are co-finders).
    """

    __tablename__ = "vuln_clusters"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    title: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(32), default="new", index=True)
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    first_finder_org_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organizations.id"))
    first_found_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finders: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("vuln_clusters.id"))


class ClusterAlias(Base):
    """Index of vulnerability ids (CVE, GHSA, OSV...) to the cluster that holds them (dedup layer 2)."""

    __tablename__ = "cluster_aliases"

    alias: Mapped[str] = mapped_column(String(128), primary_key=True)
    cluster_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vuln_clusters.id"), index=True)


class ClusterMerge(Base):
    """Why a finding joined a cluster, or a cluster was merged into another: layer, score, reason."""

    __tablename__ = "cluster_merges"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    cluster_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vuln_clusters.id"), index=True)
    finding_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("findings.id"))
    merged_cluster_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("vuln_clusters.id"), index=True)
    layer: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float, default=1.0)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Manual decisions (layer 0): ``kind`` is ``merge`` (``merged_cluster_id`` folded into
    # ``cluster_id``), ``split`` (``finding_ids`` moved out of ``merged_cluster_id`` into the new
    # ``cluster_id``) or ``restore`` (a split that revives a merged cluster); NULL for automatic
    # rows, whose kind follows from ``finding_id`` / ``merged_cluster_id``.
    kind: Mapped[str | None] = mapped_column(String(16))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    finding_ids: Mapped[list[str] | None] = mapped_column(JSON)


class Finding(OwnedMixin, Base):
    """One normalized finding from a scanner, model or advisory feed (owned by the finder org)."""

    __tablename__ = "findings"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    fingerprint: Mapped[str] = mapped_column(String(128), unique=True)
    batch_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("import_batches.id"), index=True)
    cluster_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vuln_clusters.id"), index=True)
    source_format: Mapped[str] = mapped_column(String(16))
    source_pointer: Mapped[str] = mapped_column(Text, default="")
    tool_name: Mapped[str | None] = mapped_column(String(200))
    tool_version: Mapped[str | None] = mapped_column(String(100))
    model_id: Mapped[str | None] = mapped_column(String(200))
    model_version: Mapped[str | None] = mapped_column(String(100))
    rule_id: Mapped[str | None] = mapped_column(Text)
    cwe_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    severity: Mapped[str] = mapped_column(String(16), default="unknown", index=True)
    title: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str | None] = mapped_column(Text)
    target_purl: Mapped[str | None] = mapped_column(Text)
    target_repo: Mapped[str | None] = mapped_column(Text)
    target_commit: Mapped[str | None] = mapped_column(String(64))
    path: Mapped[str | None] = mapped_column(Text)
    start_line: Mapped[int | None] = mapped_column(Integer)
    end_line: Mapped[int | None] = mapped_column(Integer)
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str | None] = mapped_column(String(32))
    found_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    dedup_locus: Mapped[str | None] = mapped_column(String(32), index=True)
    """Dedup layer 3 blocking key: hash of (target, path); see ``clearinghouse.dedup.locus``."""


register_shareable("finding", Finding)
register_shareable("vuln_cluster", VulnCluster)
register_shareable("import_batch", ImportBatch)


class FindingEmbedding(Base):
    """Dedup layer 4: the text embedding of one finding (``clearinghouse.similarity``), so each
    finding is embedded once. ``vector`` holds ``dim`` little-endian float32 values, L2-normalised;
    ``model`` and ``text_sha256`` say what was embedded (a change of either embeds it again)."""

    __tablename__ = "finding_embeddings"

    finding_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("findings.id", ondelete="CASCADE"), primary_key=True
    )
    model: Mapped[str] = mapped_column(String(100))
    text_sha256: Mapped[str] = mapped_column(String(64))
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
