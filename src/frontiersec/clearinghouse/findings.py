"""Findings use cases: import scanner output, deduplicate across finders, credit the first finder."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from frontiersec.clearinghouse import dedup
from frontiersec.clearinghouse.intake import IntakeError, NormalizedFinding, ParseOptions, parse_file
from frontiersec.clearinghouse.models import ClusterAlias, ClusterMerge, Finding, ImportBatch, VulnCluster
from frontiersec.platform.audit.service import record
from frontiersec.platform.auth.models import Organization
from frontiersec.platform.auth.principal import Principal
from frontiersec.platform.clock import utcnow
from frontiersec.platform.db import new_id
from frontiersec.platform.errors import FieldError, InvalidInput

__all__ = ["FindingsImportResult", "finding_counts", "import_findings"]

BATCH = 1000
CHUNK = 500  # IN-list size for lookups


@dataclass(frozen=True)
class FindingsImportResult:
    """What one import did (``warnings`` as ``"<json path>: <message>"`` strings)."""

    batch_id: uuid.UUID
    format: str
    received: int
    new: int
    duplicates: int
    rejected: int
    clusters_created: int
    clusters_joined: int
    warnings: list[str] = field(default_factory=list)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    if path.is_dir():
        for p in sorted(path.rglob("*")):
            if p.is_file():
                h.update(p.read_bytes())
        return h.hexdigest()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


def _parse(
    path: Path, fmt: str, options: ParseOptions, schemas_dir: Path | None
) -> tuple[Any, list[NormalizedFinding]]:
    try:
        result = parse_file(path, fmt, options, schemas_dir=schemas_dir)
        findings = result.collect()
    except IntakeError as exc:
        raise InvalidInput(
            f"{path.name}: {exc.pointer}: {exc.reason}", errors=[FieldError(exc.pointer, exc.reason)]
        ) from exc
    return result, findings


def _finder(org_id: uuid.UUID, org_name: str, at: dt.datetime) -> dict[str, str]:
    return {"org_id": str(org_id), "org": org_name, "found_at": at.isoformat()}


def _recredit(finders: list[dict[str, str]]) -> tuple[list[dict[str, str]], dict[str, str] | None]:
    by_org = {f["org_id"]: f for f in finders}
    first, co = dedup.credit(
        dedup.Finder(f["org_id"], dt.datetime.fromisoformat(f["found_at"])) for f in finders
    )
    if first is None:
        return [], None
    ordered = [first, *co]
    out = [{**by_org[f.org], "found_at": f.found_at.isoformat()} for f in ordered]
    return out, out[0]


def import_findings(
    session: Session,
    principal: Principal,
    path: Path,
    *,
    org: Organization,
    fmt: str = "auto",
    model_id: str | None = None,
    schemas_dir: Path | None = None,
) -> FindingsImportResult:
    """Import one scanner-output file as findings of ``org``, deduplicated into clusters.

    Layer 1: a fingerprint already stored (or seen earlier in the file) is a duplicate, counted and
    not inserted. Layer 2: a finding sharing a vulnerability id with a cluster joins it (merge row,
    layer 2, reason "shared alias ..."); a finding linking several clusters merges them into the
    oldest. The first finder of a cluster is the organisation with the earliest finding date.
    Parsing happens before any write; an unusable file raises :class:`InvalidInput` naming the JSON
    path, and the caller's transaction keeps the import all-or-nothing.
    """
    options = ParseOptions(model_id=model_id)
    parsed, findings = _parse(path, fmt, options, schemas_dir)
    now = utcnow()

    # Load only the state this file can touch: its fingerprints and its aliases.
    fps = list({f.fingerprint for f in findings})
    aliases = sorted({a for f in findings for a in dedup.vuln_aliases(f.aliases)})
    state = dedup.DedupState()
    for chunk in _chunks(fps):
        state.fingerprints.update(
            session.execute(select(Finding.fingerprint).where(Finding.fingerprint.in_(chunk))).scalars()
        )
    clusters: dict[uuid.UUID, VulnCluster] = {}
    for chunk in _chunks(aliases):
        for alias, alias_cid in session.execute(
            select(ClusterAlias.alias, ClusterAlias.cluster_id).where(ClusterAlias.alias.in_(chunk))
        ).all():
            state.alias_cluster[alias] = alias_cid
    cids = list(set(state.alias_cluster.values()))
    for i in range(0, len(cids), CHUNK):
        for c in session.execute(
            select(VulnCluster).where(VulnCluster.id.in_(cids[i : i + CHUNK]))
        ).scalars():
            clusters[c.id] = c
    for rank, c in enumerate(sorted(clusters.values(), key=lambda c: (c.created_at, str(c.id)))):
        state.cluster_rank[c.id] = rank

    batch = ImportBatch(
        id=new_id(),
        owner_org_id=org.id,
        tlp="AMBER",
        created_by=principal.user_id,
        filename=path.name[:500],
        sha256=_sha256(path),
        format=str(parsed.format),
        model_id=model_id,
    )
    session.add(batch)
    session.flush()

    # New clusters and changes to existing ones, kept in memory and written in bulk at the end.
    new_clusters: dict[uuid.UUID, dict[str, Any]] = {}
    touched: set[uuid.UUID] = set()
    cluster_aliases: dict[uuid.UUID, list[str]] = {}
    cluster_finders: dict[uuid.UUID, list[dict[str, str]]] = {}
    alias_rows_new: dict[str, uuid.UUID] = {}
    alias_rows_moved: dict[str, uuid.UUID] = {}
    merged_away: dict[uuid.UUID, uuid.UUID] = {}
    finding_rows: list[dict[str, Any]] = []
    merge_rows: list[dict[str, Any]] = []
    new = duplicates = created = joined = 0

    def aliases_of(cid: uuid.UUID) -> list[str]:
        if cid not in cluster_aliases:
            cluster_aliases[cid] = list(clusters[cid].aliases) if cid in clusters else []
        return cluster_aliases[cid]

    def finders_of(cid: uuid.UUID) -> list[dict[str, str]]:
        if cid not in cluster_finders:
            cluster_finders[cid] = list(clusters[cid].finders) if cid in clusters else []
        return cluster_finders[cid]

    for f in findings:
        decision = dedup.decide(state, f.fingerprint, f.aliases)
        if decision.kind == "duplicate":
            duplicates += 1
            continue
        found_at = f.published or now
        fid = new_id()
        vids = dedup.vuln_aliases(f.aliases)
        if decision.kind == "new":
            cid: uuid.UUID = new_id()
            new_clusters[cid] = {
                "id": cid,
                "owner_org_id": org.id,
                "tlp": "AMBER",
                "created_by": principal.user_id,
                "created_at": now,
                "title": (f.title or f.rule_id or (vids[0] if vids else "") or "")[:2000],
                "status": "new",
            }
            created += 1
        else:
            assert isinstance(decision.cluster, uuid.UUID)
            cid = decision.cluster
            joined += 1
            merge_rows.append(
                {
                    "id": new_id(),
                    "cluster_id": cid,
                    "finding_id": fid,
                    "merged_cluster_id": None,
                    "layer": 2,
                    "score": 1.0,
                    "reason": decision.reason,
                    "created_at": now,
                }
            )
            for other, alias in decision.merge:
                assert isinstance(other, uuid.UUID)
                merged_away[other] = cid
                merge_rows.append(
                    {
                        "id": new_id(),
                        "cluster_id": cid,
                        "finding_id": None,
                        "merged_cluster_id": other,
                        "layer": 2,
                        "score": 1.0,
                        "reason": f"shared alias {alias}",
                        "created_at": now,
                    }
                )
                for a in aliases_of(other):
                    if a not in aliases_of(cid):
                        aliases_of(cid).append(a)
                finders_of(cid).extend(finders_of(other))
                for a, owner in list(alias_rows_new.items()):
                    if owner == other:
                        alias_rows_new[a] = cid
                for a, held_by in state.alias_cluster.items():
                    if held_by == other and a not in alias_rows_new:
                        alias_rows_moved[a] = cid
                touched.add(other)
        known = aliases_of(cid)
        for a in vids:
            if a not in known:
                known.append(a)
            if state.alias_cluster.get(a) is None:
                alias_rows_new[a] = cid
        finders_of(cid).append(_finder(org.id, org.name, found_at))
        touched.add(cid)
        dedup.apply(state, decision, f.fingerprint, f.aliases, cid)
        finding_rows.append(
            {
                "id": fid,
                "owner_org_id": org.id,
                "tlp": "AMBER",
                "created_by": principal.user_id,
                "created_at": now,
                "fingerprint": f.fingerprint,
                "batch_id": batch.id,
                "cluster_id": cid,
                "source_format": f.source_format,
                "source_pointer": f.source_pointer,
                "tool_name": (f.tool_name or "")[:200] or None,
                "tool_version": (f.tool_version or "")[:100] or None,
                "model_id": (f.model_id or model_id or "")[:200] or None,
                "model_version": (f.model_version or "")[:100] or None,
                "rule_id": f.rule_id,
                "cwe_ids": list(f.cwe_ids),
                "severity": str(f.severity),
                "title": f.title,
                "message": f.message,
                "target_purl": f.target_purl,
                "target_repo": f.target_repo,
                "target_commit": (f.target_commit or "")[:64] or None,
                "path": f.path,
                "start_line": f.start_line,
                "end_line": f.end_line,
                "aliases": list(f.aliases),
                "status": (f.status or "")[:32] or None,
                "found_at": found_at,
            }
        )
        new += 1

    # Clusters first (findings and merges reference them), then findings, then merges and aliases.
    for cid, row in new_clusters.items():
        finders, first = _recredit(finders_of(cid))
        row["aliases"] = aliases_of(cid)
        row["finders"] = finders
        row["first_finder_org_id"] = uuid.UUID(first["org_id"]) if first else None
        row["first_found_at"] = dt.datetime.fromisoformat(first["found_at"]) if first else None
    rows = list(new_clusters.values())
    for i in range(0, len(rows), BATCH):
        session.execute(insert(VulnCluster), rows[i : i + BATCH])
    for i in range(0, len(finding_rows), BATCH):
        session.execute(insert(Finding), finding_rows[i : i + BATCH])
    if merge_rows:
        session.execute(insert(ClusterMerge), merge_rows)
    if alias_rows_new:
        session.execute(
            insert(ClusterAlias), [{"alias": a, "cluster_id": c} for a, c in alias_rows_new.items()]
        )
    if alias_rows_moved:
        session.execute(
            update(ClusterAlias), [{"alias": a, "cluster_id": c} for a, c in alias_rows_moved.items()]
        )
    existing_updates: list[dict[str, Any]] = []
    for cid in touched:
        if cid in merged_away:
            existing_updates.append({"id": cid, "status": "merged", "merged_into_id": merged_away[cid]})
            continue
        if cid in new_clusters:
            continue
        finders, first = _recredit(finders_of(cid))
        existing_updates.append(
            {
                "id": cid,
                "aliases": aliases_of(cid),
                "finders": finders,
                "first_finder_org_id": uuid.UUID(first["org_id"]) if first else None,
                "first_found_at": dt.datetime.fromisoformat(first["found_at"]) if first else None,
            }
        )
    if existing_updates:
        session.execute(update(VulnCluster), existing_updates)
    for old, target in merged_away.items():
        session.execute(update(Finding).where(Finding.cluster_id == old).values(cluster_id=target))

    warnings = [f"{w.pointer}: {w.message}" for w in parsed.warnings]
    batch.received = parsed.received
    batch.new = new
    batch.duplicates = duplicates
    batch.rejected = parsed.rejected
    batch.warnings = [{"pointer": w.pointer, "message": w.message} for w in parsed.warnings]
    session.flush()
    result = FindingsImportResult(
        batch.id, batch.format, parsed.received, new, duplicates, parsed.rejected, created, joined, warnings
    )
    record(
        session,
        principal,
        "findings.import",
        object_type="import_batch",
        object_id=batch.id,
        tlp="AMBER",
        details={
            "file": path.name,
            "sha256": batch.sha256,
            "org": org.slug,
            "format": batch.format,
            "received": parsed.received,
            "new": new,
            "duplicates": duplicates,
            "rejected": parsed.rejected,
        },
    )
    return result


def finding_counts(session: Session) -> dict[str, int]:
    """Row counts of the findings tables (for tests and status pages)."""
    return {
        name: int(session.execute(select(func.count()).select_from(model)).scalar_one())
        for name, model in (
            ("findings", Finding),
            ("vuln_clusters", VulnCluster),
            ("import_batches", ImportBatch),
            ("cluster_merges", ClusterMerge),
        )
    }
