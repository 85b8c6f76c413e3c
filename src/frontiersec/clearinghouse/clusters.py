"""Findings and vulnerability clusters: filtered lists, one cluster with its credit and history,
and the manual decisions an analyst takes on top of automatic dedup (merge, split).

Visibility (TLP, :mod:`frontiersec.platform.auth.visibility`):

* a **finding** is visible by its own labels (the finder organisation's AMBER by default);
* a **cluster** is visible when its own labels allow it *or* it holds a finding the principal may
  see: a finder always sees the cluster its finding joined, with the cluster's credit (who found it
  first and when: that is what deconfliction is for), but never another organisation's findings;
* filters on clusters (target, CWE, finder, ...) look only at findings the principal may see, so a
  filter cannot be used to probe other organisations' findings;
* everything else is *not found* (404), never *forbidden*.

Manual decisions, each one transaction with an audit entry and a :class:`ClusterMerge` row of
layer 0 ("manual") naming the analyst and the reason::

    merge B into A   B's findings and aliases move to A; B becomes ``merged`` (merged_into A);
                     A's credit is recomputed.               Undone by: split with restore=B.
    split A          chosen findings move to a new cluster C (or, with ``restore``, back into a
                     cluster that was merged into A, which is revived); credit and aliases are
                     recomputed for both.                    Undone by: merge C (or B) into A.

Every merge of two live clusters goes through :func:`fold_clusters`, whoever decides it: the
analyst's merge above (layer 0) and text similarity (layer 4, :mod:`.similarity`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import shutil
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    case,
    cast,
    distinct,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from frontiersec.clearinghouse import dedup
from frontiersec.clearinghouse.feeds import cwe_names
from frontiersec.clearinghouse.models import (
    ClusterAlias,
    ClusterMerge,
    Finding,
    ImportBatch,
    KevEntry,
    VulnCluster,
)
from frontiersec.platform.audit.service import record, record_read
from frontiersec.platform.auth.models import Organization, Role, User
from frontiersec.platform.auth.principal import Principal
from frontiersec.platform.auth.visibility import visible_clause
from frontiersec.platform.clock import utcnow
from frontiersec.platform.db import new_id
from frontiersec.platform.errors import Conflict, FieldError, InvalidInput, NotFound, PermissionDenied
from frontiersec.platform.jobs import enqueue
from frontiersec.platform.models import JobRecord
from frontiersec.platform.pagination import decode_cursor, encode_cursor

__all__ = [
    "CLUSTER_SORTS",
    "CLUSTER_STATUSES",
    "FINDING_SORTS",
    "IMPORT_FORMATS",
    "IMPORT_JOB",
    "LAYER_NAMES",
    "SEVERITIES",
    "ClusterDetail",
    "ClusterEvent",
    "ClusterFilters",
    "ClusterRow",
    "FindingFilters",
    "FindingRow",
    "clearinghouse_counts",
    "cluster_facets",
    "discard_upload",
    "find_cluster",
    "finding_facets",
    "fold_clusters",
    "get_batch",
    "get_cluster",
    "list_batches",
    "list_clusters",
    "list_findings",
    "merge_cluster_ref",
    "merge_clusters",
    "request_import",
    "require_importer",
    "split_cluster",
    "visible_batch",
]

SEVERITIES = ("critical", "high", "medium", "low", "info", "unknown")
SEVERITY_RANK = {s: len(SEVERITIES) - 1 - i for i, s in enumerate(SEVERITIES)}  # critical=5 .. unknown=0
RANK_SEVERITY = {v: k for k, v in SEVERITY_RANK.items()}
LAYER_NAMES = {0: "manual", 1: "fingerprint", 2: "shared alias", 3: "same location", 4: "text similarity"}
CLUSTER_STATUSES = ("new", "merged")
MAX_REASON = 2000

_sev_rank = case(SEVERITY_RANK, value=Finding.severity, else_=0)


def _normalize_cwe(value: str) -> str:
    text = value.strip().upper()
    if text.isdigit():
        text = f"CWE-{text}"
    if not (text.startswith("CWE-") and text[4:].isdigit()):
        raise InvalidInput.on("cwe", "must be a CWE id such as CWE-79 (or 79)")
    return text


def _finding_visible(principal: Principal) -> ColumnElement[bool]:
    return visible_clause(Finding, "finding", principal)


def _cluster_visible(principal: Principal) -> ColumnElement[bool]:
    return or_(
        visible_clause(VulnCluster, "vuln_cluster", principal),
        exists(select(Finding.id).where(Finding.cluster_id == VulnCluster.id, _finding_visible(principal))),
    )


def _kev_of_cluster(cluster_col: Any) -> ColumnElement[bool]:
    return exists(
        select(ClusterAlias.alias)
        .join(KevEntry, KevEntry.cve_id == ClusterAlias.alias)
        .where(ClusterAlias.cluster_id == cluster_col)
    )


def _resolve_finder(session: Session, ref: str) -> uuid.UUID:
    stmt = select(Organization.id).where(or_(Organization.slug == ref, Organization.name == ref))
    found = session.execute(stmt).scalars().first()
    if found is None:
        try:
            as_id = uuid.UUID(ref)
        except ValueError:
            as_id = None
        if as_id is not None and session.get(Organization, as_id) is not None:
            found = as_id
    if found is None:
        raise InvalidInput.on("finder", f"no organisation {ref!r} (give its id, slug or name)")
    return found


# ------------------------------------------------------------------------------------ filters


@dataclass(frozen=True, kw_only=True)
class _ListFilters:
    """What both lists filter on (all optional; combined with AND), and their keyset paging."""

    target: str | None = None
    """Substring of the target: package URL, repository, or file path."""
    severity: str | None = None
    cwe: str | None = None
    """A CWE id such as ``CWE-79`` (or ``79``)."""
    finder: str | None = None
    """Finder organisation: id, slug or name."""
    status: str | None = None
    kev: bool | None = None
    """True: only what belongs to a cluster with a CVE in CISA's KEV catalog; False: only without."""
    q: str | None = None
    descending: bool = True
    cursor: str | None = None
    limit: int = 50


@dataclass(frozen=True, kw_only=True)
class FindingFilters(_ListFilters):
    """Filters of the findings list. ``severity`` and ``status`` are the finding's own (status is
    VEX-style: affected, not_affected, fixed, ... or suppressed; ``none`` for findings without one);
    ``q`` is free text in title, message, rule id and path."""

    cluster_id: uuid.UUID | None = None
    batch_id: uuid.UUID | None = None
    tool: str | None = None
    sort: str = "found_at"


@dataclass(frozen=True, kw_only=True)
class ClusterFilters(_ListFilters):
    """Filters of the vulnerability list; finding-level filters (target, CWE, finder) match a
    visible finding of the cluster. ``severity`` is the cluster's: the worst among its findings;
    ``status`` is the cluster status (merged clusters are left out unless asked for: ``merged``);
    ``q`` is free text in the title, or a vulnerability id (CVE, GHSA, ...) the cluster holds."""

    sort: str = "first_found_at"


def _check_common(f: _ListFilters) -> None:
    if f.severity is not None and f.severity not in SEVERITIES:
        raise InvalidInput.on("severity", f"must be one of {', '.join(SEVERITIES)}")
    if not 1 <= f.limit <= 500:
        raise InvalidInput.on("limit", "must be between 1 and 500")


def _target_like(text: str) -> ColumnElement[bool]:
    like = f"%{text.lower()}%"
    return or_(
        func.lower(Finding.target_purl).like(like),
        func.lower(Finding.target_repo).like(like),
        func.lower(Finding.path).like(like),
    )


def _finding_conditions(session: Session, f: _ListFilters) -> list[ColumnElement[bool]]:
    """Conditions on Finding columns shared by both lists."""
    conds: list[ColumnElement[bool]] = []
    if f.target:
        conds.append(_target_like(f.target))
    if f.cwe:
        conds.append(cast(Finding.cwe_ids, String).like(f'%"{_normalize_cwe(f.cwe)}"%'))
    if f.finder:
        conds.append(Finding.owner_org_id == _resolve_finder(session, f.finder))
    return conds


# ------------------------------------------------------------------------------------ keyset paging


def _keyset(
    stmt: Select[Any],
    key: Any,
    id_col: Any,
    cursor: str | None,
    descending: bool,
    kind: str,
) -> Select[Any]:
    if not cursor:
        return stmt
    vals = decode_cursor(cursor)
    if len(vals) != 2:
        raise InvalidInput.on("cursor", "is not a cursor this server issued")
    raw, last = vals
    try:
        last_id = uuid.UUID(str(last))
        value: Any
        if kind == "datetime":
            value = dt.datetime.fromisoformat(str(raw))
        elif kind == "int":
            value = int(raw)
        else:
            value = str(raw)
    except (ValueError, TypeError) as exc:
        raise InvalidInput.on("cursor", "is not a cursor this server issued") from exc
    if descending:
        return stmt.where(or_(key < value, and_(key == value, id_col < last_id)))
    return stmt.where(or_(key > value, and_(key == value, id_col > last_id)))


def _cursor_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


# ------------------------------------------------------------------------------------ findings


FINDING_SORTS: dict[str, tuple[Any, str]] = {
    "found_at": (Finding.found_at, "datetime"),
    "severity": (_sev_rank, "int"),
    "rule": (func.coalesce(Finding.rule_id, ""), "str"),
    "tool": (func.coalesce(Finding.tool_name, ""), "str"),
    "target": (func.coalesce(Finding.target_purl, Finding.target_repo, Finding.path, ""), "str"),
}


@dataclass(frozen=True)
class FindingRow:
    """A finding with what a list shows beside it."""

    finding: Finding
    finder: str
    """Name of the finder organisation."""
    kev: bool
    cluster_title: str


def _findings_stmt(session: Session, principal: Principal, f: FindingFilters) -> Select[Any]:
    stmt = select(Finding).where(_finding_visible(principal), *_finding_conditions(session, f))
    if f.severity:
        stmt = stmt.where(Finding.severity == f.severity)
    if f.status:
        stmt = stmt.where(Finding.status.is_(None) if f.status == "none" else Finding.status == f.status)
    if f.kev is not None:
        kev = _kev_of_cluster(Finding.cluster_id)
        stmt = stmt.where(kev if f.kev else ~kev)
    if f.q:
        like = f"%{f.q.lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(Finding.title).like(like),
                func.lower(Finding.message).like(like),
                func.lower(Finding.rule_id).like(like),
                func.lower(Finding.path).like(like),
            )
        )
    if f.cluster_id:
        stmt = stmt.where(Finding.cluster_id == f.cluster_id)
    if f.batch_id:
        stmt = stmt.where(Finding.batch_id == f.batch_id)
    if f.tool:
        stmt = stmt.where(Finding.tool_name == f.tool)
    return stmt


def _org_names(session: Session, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(
        session.execute(select(Organization.id, Organization.name).where(Organization.id.in_(wanted))).all()  # type: ignore[arg-type]
    )


def _kev_clusters(session: Session, cluster_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    ids = list(set(cluster_ids))
    out: dict[uuid.UUID, list[str]] = {}
    if not ids:
        return out
    rows = session.execute(
        select(ClusterAlias.cluster_id, ClusterAlias.alias)
        .join(KevEntry, KevEntry.cve_id == ClusterAlias.alias)
        .where(ClusterAlias.cluster_id.in_(ids))
        .order_by(ClusterAlias.alias)
    ).all()
    for cid, alias in rows:
        out.setdefault(cid, []).append(alias)
    return out


def _finding_rows(session: Session, findings: Sequence[Finding]) -> list[FindingRow]:
    orgs = _org_names(session, (f.owner_org_id for f in findings))
    cids = {f.cluster_id for f in findings}
    kev = _kev_clusters(session, cids)
    titles: dict[uuid.UUID, str] = (
        dict(session.execute(select(VulnCluster.id, VulnCluster.title).where(VulnCluster.id.in_(cids))).all())  # type: ignore[arg-type]
        if cids
        else {}
    )
    return [
        FindingRow(f, orgs.get(f.owner_org_id, "?"), f.cluster_id in kev, titles.get(f.cluster_id, ""))
        for f in findings
    ]


def list_findings(
    session: Session, principal: Principal, f: FindingFilters
) -> tuple[list[FindingRow], str | None, int]:
    """One page of the findings the principal may see, the next cursor, and the matching total."""
    _check_common(f)
    if f.sort not in FINDING_SORTS:
        raise InvalidInput.on("sort", f"must be one of {', '.join(FINDING_SORTS)}")
    key, kind = FINDING_SORTS[f.sort]
    base = _findings_stmt(session, principal, f)
    total = int(session.execute(select(func.count()).select_from(base.subquery())).scalar_one())
    stmt = _keyset(base.add_columns(key.label("sort_key")), key, Finding.id, f.cursor, f.descending, kind)
    order = [key.desc(), Finding.id.desc()] if f.descending else [key.asc(), Finding.id.asc()]
    rows = session.execute(stmt.order_by(*order).limit(f.limit + 1)).all()
    nxt = None
    if len(rows) > f.limit:
        last = rows[f.limit - 1]
        nxt = encode_cursor([_cursor_value(last.sort_key), str(last[0].id)])
    page = [r[0] for r in rows[: f.limit]]
    if any(x.tlp not in ("CLEAR", "GREEN") for x in page):
        record_read(
            session,
            principal,
            object_type="finding",
            object_id="list",
            tlp="AMBER",
            details={"count": len(page), "ids": [str(x.id) for x in page[:50]]},
        )
    return _finding_rows(session, page), nxt, total


def finding_facets(session: Session, principal: Principal) -> dict[str, Any]:
    """Values the findings filters can take (for select boxes): finders, tools, statuses, CWEs."""
    vis = _finding_visible(principal)
    finders = session.execute(
        select(Organization.id, Organization.name)
        .where(Organization.id.in_(select(Finding.owner_org_id).where(vis).distinct()))
        .order_by(Organization.name)
    ).all()
    tools = session.execute(
        select(Finding.tool_name)
        .where(vis, Finding.tool_name.is_not(None))
        .distinct()
        .order_by(Finding.tool_name)
    ).scalars()
    statuses = session.execute(
        select(Finding.status).where(vis, Finding.status.is_not(None)).distinct().order_by(Finding.status)
    ).scalars()
    cwes: Counter[str] = Counter()
    for text, n in session.execute(
        select(cast(Finding.cwe_ids, String), func.count()).where(vis).group_by(cast(Finding.cwe_ids, String))
    ).all():
        for c in _json_list(text):
            cwes[c] += int(n)
    names = cwe_names(session, list(cwes))
    return {
        "finders": [(str(i), n) for i, n in finders],
        "tools": [t for t in tools if t],
        "statuses": [s for s in statuses if s],
        "cwes": [(c, names.get(c), n) for c, n in sorted(cwes.items(), key=lambda x: (-x[1], x[0]))],
    }


def _json_list(text: str | None) -> list[str]:
    if not text:
        return []
    try:
        value = json.loads(text)
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


# ------------------------------------------------------------------------------------ clusters


def _stats_subquery() -> Any:
    return (
        select(
            Finding.cluster_id.label("cid"),
            func.count().label("n"),
            func.count(distinct(Finding.owner_org_id)).label("nf"),
            func.max(_sev_rank).label("worst"),
        )
        .group_by(Finding.cluster_id)
        .subquery("cluster_stats")
    )


@dataclass(frozen=True)
class ClusterRow:
    """A cluster with its live counts."""

    cluster: VulnCluster
    severity: str
    findings: int
    finders: int
    kev: list[str]
    first_finder: str | None


def _clusters_stmt(session: Session, principal: Principal, f: ClusterFilters) -> tuple[Select[Any], Any]:
    stats = _stats_subquery()
    n = func.coalesce(stats.c.n, 0)
    nf = func.coalesce(stats.c.nf, 0)
    worst = func.coalesce(stats.c.worst, 0)
    stmt = (
        select(VulnCluster, n.label("n"), nf.label("nf"), worst.label("worst"))
        .outerjoin(stats, stats.c.cid == VulnCluster.id)
        .where(_cluster_visible(principal))
    )
    if f.status:
        stmt = stmt.where(VulnCluster.status == f.status)
    else:
        stmt = stmt.where(VulnCluster.status != "merged")
    conds = _finding_conditions(session, f)
    if conds:
        stmt = stmt.where(
            exists(
                select(Finding.id).where(
                    Finding.cluster_id == VulnCluster.id, _finding_visible(principal), *conds
                )
            )
        )
    if f.severity:
        stmt = stmt.where(worst == SEVERITY_RANK[f.severity])
    if f.kev is not None:
        kev = _kev_of_cluster(VulnCluster.id)
        stmt = stmt.where(kev if f.kev else ~kev)
    if f.q:
        like = f"%{f.q.lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(VulnCluster.title).like(like),
                exists(
                    select(ClusterAlias.alias).where(
                        ClusterAlias.cluster_id == VulnCluster.id, func.lower(ClusterAlias.alias).like(like)
                    )
                ),
            )
        )
    return stmt, {"n": n, "nf": nf, "worst": worst}


CLUSTER_SORTS = ("first_found_at", "severity", "findings", "finders", "title")


def list_clusters(
    session: Session, principal: Principal, f: ClusterFilters
) -> tuple[list[ClusterRow], str | None, int]:
    """One page of the vulnerability clusters the principal may see, the next cursor, and the total."""
    _check_common(f)
    if f.sort not in CLUSTER_SORTS:
        raise InvalidInput.on("sort", f"must be one of {', '.join(CLUSTER_SORTS)}")
    if f.status is not None and f.status not in CLUSTER_STATUSES:
        raise InvalidInput.on("status", f"must be one of {', '.join(CLUSTER_STATUSES)}")
    base, cols = _clusters_stmt(session, principal, f)
    key, kind = {
        "first_found_at": (VulnCluster.first_found_at, "datetime"),
        "severity": (cols["worst"], "int"),
        "findings": (cols["n"], "int"),
        "finders": (cols["nf"], "int"),
        "title": (VulnCluster.title, "str"),
    }[f.sort]
    total = int(session.execute(select(func.count()).select_from(base.subquery())).scalar_one())
    stmt = _keyset(base.add_columns(key.label("sort_key")), key, VulnCluster.id, f.cursor, f.descending, kind)
    order = [key.desc(), VulnCluster.id.desc()] if f.descending else [key.asc(), VulnCluster.id.asc()]
    rows = session.execute(stmt.order_by(*order).limit(f.limit + 1)).all()
    nxt = None
    if len(rows) > f.limit:
        last = rows[f.limit - 1]
        nxt = encode_cursor([_cursor_value(last.sort_key), str(last[0].id)])
    rows = rows[: f.limit]
    kev = _kev_clusters(session, (r[0].id for r in rows))
    out = [
        ClusterRow(
            cluster=r[0],
            severity=RANK_SEVERITY.get(int(r.worst), "unknown"),
            findings=int(r.n),
            finders=int(r.nf),
            kev=kev.get(r[0].id, []),
            first_finder=(r[0].finders[0].get("org") if r[0].finders else None),
        )
        for r in rows
    ]
    if any(r.cluster.tlp not in ("CLEAR", "GREEN") for r in out):
        record_read(
            session,
            principal,
            object_type="vuln_cluster",
            object_id="list",
            tlp="AMBER",
            details={"count": len(out), "ids": [str(r.cluster.id) for r in out[:50]]},
        )
    return out, nxt, total


def cluster_facets(session: Session, principal: Principal, f: ClusterFilters) -> dict[str, Any]:
    """Counts for the charts of the vulnerability list: clusters by severity and by CWE (top 10), how
    many hold a KEV CVE, and how many were reported by more than one finder."""
    base, cols = _clusters_stmt(session, principal, f)
    sub = base.with_only_columns(
        VulnCluster.id.label("id"), cols["worst"].label("worst"), cols["nf"].label("nf")
    ).subquery()
    in_kev = session.execute(
        select(func.count()).select_from(sub).where(_kev_of_cluster(sub.c.id))
    ).scalar_one()
    shared = session.execute(select(func.count()).select_from(sub).where(sub.c.nf > 1)).scalar_one()
    by_sev: dict[int, int] = {
        int(w): int(n)
        for w, n in session.execute(select(sub.c.worst, func.count()).group_by(sub.c.worst)).all()
    }
    severity = [(s, int(by_sev.get(SEVERITY_RANK[s], 0))) for s in SEVERITIES]
    cwes: Counter[str] = Counter()
    cwe_text = cast(Finding.cwe_ids, String)
    for text, n in session.execute(
        select(cwe_text, func.count(distinct(Finding.cluster_id)))
        .where(Finding.cluster_id.in_(select(sub.c.id)), _finding_visible(principal))
        .group_by(cwe_text)
    ).all():
        for c in _json_list(text):
            cwes[c] += int(n)
    ranked = sorted(cwes.items(), key=lambda x: (-x[1], x[0]))[:10]
    names = cwe_names(session, [c for c, _ in ranked])
    top = [(c, names.get(c), n) for c, n in ranked]
    return {
        "severity": severity,
        "cwes": top,
        "total": sum(n for _, n in severity),
        "kev": int(in_kev),
        "several_finders": int(shared),
    }


# ------------------------------------------------------------------------------------ one cluster


@dataclass(frozen=True)
class ClusterEvent:
    """One entry of a cluster's history: how a finding or another cluster came (or went)."""

    id: uuid.UUID
    kind: str
    """``join`` (a finding joined), ``merge`` (a cluster was folded in), ``split`` (findings moved
    out to a new cluster), ``restore`` (findings moved back to a cluster merged earlier)."""
    layer: int
    layer_name: str
    score: float
    reason: str
    created_at: dt.datetime
    cluster_id: uuid.UUID
    other_cluster_id: uuid.UUID | None
    finding_id: uuid.UUID | None
    finding_title: str | None
    """Title of the finding when the principal may see it."""
    finding_finder: str | None
    """Its finder organisation, when the principal may see the finding."""
    other_label: str | None
    """The other cluster's first alias (or its title)."""
    finding_ids: list[str]
    actor: str | None
    """E-mail of the analyst who took a manual decision."""
    direction: str
    """From this cluster's point of view: ``in`` (something came here) or ``out`` (went away)."""


@dataclass(frozen=True)
class ClusterDetail:
    """One cluster as its page shows it."""

    cluster: VulnCluster
    severity: str
    findings: list[FindingRow]
    hidden_findings: int
    """Findings of the cluster the principal may not see (other organisations' AMBER material)."""
    credit: list[dict[str, Any]]
    history: list[ClusterEvent]
    kev: list[KevEntry]
    cwes: list[tuple[str, str | None]]
    merged_into: VulnCluster | None
    merged_from: list[VulnCluster] = field(default_factory=list)


def _visible_cluster(session: Session, principal: Principal, cluster_id: uuid.UUID) -> VulnCluster:
    row = (
        session.execute(select(VulnCluster).where(VulnCluster.id == cluster_id, _cluster_visible(principal)))
        .scalars()
        .first()
    )
    if row is not None:
        return row
    # A merged cluster has no findings left: it is visible when the cluster it went into is.
    merged = session.get(VulnCluster, cluster_id)
    seen = {cluster_id}
    target = merged
    while target is not None and target.merged_into_id is not None and target.merged_into_id not in seen:
        seen.add(target.merged_into_id)
        target = session.get(VulnCluster, target.merged_into_id)
        if (
            target is not None
            and session.execute(
                select(VulnCluster.id).where(VulnCluster.id == target.id, _cluster_visible(principal))
            ).first()
        ):
            assert merged is not None
            return merged
    raise NotFound(f"vulnerability {cluster_id} not found")


def _credit_rows(cluster: VulnCluster) -> list[dict[str, Any]]:
    out = []
    for i, f in enumerate(cluster.finders or []):
        try:
            at: dt.datetime | None = dt.datetime.fromisoformat(f.get("found_at", ""))
        except ValueError:
            at = None
        out.append({"org_id": f.get("org_id"), "org": f.get("org", "?"), "found_at": at, "first": i == 0})
    return out


def get_cluster(session: Session, principal: Principal, cluster_id: uuid.UUID) -> ClusterDetail:
    """A cluster with its visible findings, credit, merge history and KEV entries (audited read)."""
    c = _visible_cluster(session, principal, cluster_id)
    findings = list(
        session.execute(
            select(Finding)
            .where(Finding.cluster_id == c.id, _finding_visible(principal))
            .order_by(Finding.found_at, Finding.id)
        ).scalars()
    )
    total = int(
        session.execute(
            select(func.count()).select_from(Finding).where(Finding.cluster_id == c.id)
        ).scalar_one()
    )
    worst = max((SEVERITY_RANK.get(f.severity, 0) for f in findings), default=None)
    if worst is None:
        worst = (
            session.execute(select(func.max(_sev_rank)).where(Finding.cluster_id == c.id)).scalar_one() or 0
        )
    history = _history(session, principal, c.id)
    kev = list(
        session.execute(
            select(KevEntry)
            .join(ClusterAlias, ClusterAlias.alias == KevEntry.cve_id)
            .where(ClusterAlias.cluster_id == c.id)
            .order_by(KevEntry.cve_id)
        ).scalars()
    )
    cwe_ids: list[str] = []
    for f in findings:
        for cid in f.cwe_ids or []:
            if cid not in cwe_ids:
                cwe_ids.append(cid)
    cwe_lookup = cwe_names(session, cwe_ids)
    merged_into = session.get(VulnCluster, c.merged_into_id) if c.merged_into_id else None
    merged_from = list(
        session.execute(
            select(VulnCluster).where(VulnCluster.merged_into_id == c.id).order_by(VulnCluster.created_at)
        ).scalars()
    )
    record_read(session, principal, object_type="vuln_cluster", object_id=c.id, tlp=c.tlp)
    if any(f.tlp not in ("CLEAR", "GREEN") for f in findings):
        record_read(
            session,
            principal,
            object_type="finding",
            object_id="cluster",
            tlp="AMBER",
            details={"cluster_id": str(c.id), "count": len(findings)},
        )
    return ClusterDetail(
        cluster=c,
        severity=RANK_SEVERITY.get(int(worst), "unknown"),
        findings=_finding_rows(session, findings),
        hidden_findings=total - len(findings),
        credit=_credit_rows(c),
        history=history,
        kev=kev,
        cwes=[(x, cwe_lookup.get(x)) for x in cwe_ids],
        merged_into=merged_into,
        merged_from=merged_from,
    )


def _history(session: Session, principal: Principal, cluster_id: uuid.UUID) -> list[ClusterEvent]:
    rows = list(
        session.execute(
            select(ClusterMerge)
            .where(or_(ClusterMerge.cluster_id == cluster_id, ClusterMerge.merged_cluster_id == cluster_id))
            .order_by(ClusterMerge.created_at, ClusterMerge.id)
        ).scalars()
    )
    fids = {r.finding_id for r in rows if r.finding_id}
    titles: dict[uuid.UUID, str] = {}
    finders: dict[uuid.UUID, uuid.UUID] = {}
    if fids:
        for fid, title, rule, org in session.execute(
            select(Finding.id, Finding.title, Finding.rule_id, Finding.owner_org_id).where(
                Finding.id.in_(fids), _finding_visible(principal)
            )
        ).all():
            titles[fid] = title or rule or str(fid)
            finders[fid] = org
    org_names = _org_names(session, finders.values())
    others = {r.merged_cluster_id for r in rows} | {r.cluster_id for r in rows}
    others.discard(None)
    others.discard(cluster_id)
    labels: dict[uuid.UUID, str] = {}
    if others:
        for oid, title, aliases in session.execute(
            select(VulnCluster.id, VulnCluster.title, VulnCluster.aliases).where(VulnCluster.id.in_(others))
        ).all():
            labels[oid] = (aliases[0] if aliases else (title or "")[:70]) or str(oid)
    actors: dict[uuid.UUID, str] = {}
    aids = {r.actor_id for r in rows if r.actor_id}
    if aids:
        actors = dict(session.execute(select(User.id, User.email).where(User.id.in_(aids))).all())  # type: ignore[arg-type]
    out = []
    for r in rows:
        kind = r.kind or ("join" if r.finding_id else "merge")
        here_is_target = r.cluster_id == cluster_id
        other = r.merged_cluster_id if here_is_target else r.cluster_id
        out.append(
            ClusterEvent(
                id=r.id,
                kind=kind,
                layer=r.layer,
                layer_name=LAYER_NAMES.get(r.layer, f"layer {r.layer}"),
                score=r.score,
                reason=r.reason,
                created_at=r.created_at,
                cluster_id=r.cluster_id,
                other_cluster_id=other,
                finding_id=r.finding_id,
                finding_title=titles.get(r.finding_id) if r.finding_id else None,
                finding_finder=org_names.get(finders[r.finding_id])
                if r.finding_id and r.finding_id in finders
                else None,
                other_label=labels.get(other) if other else None,
                finding_ids=list(r.finding_ids or []),
                actor=actors.get(r.actor_id) if r.actor_id else None,
                direction="in" if here_is_target else "out",
            )
        )
    return out


# ------------------------------------------------------------------------------------ decisions


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise InvalidInput.on("reason", "say why (a manual decision is recorded with its reason)")
    if len(text) > MAX_REASON:
        raise InvalidInput.on("reason", f"at most {MAX_REASON} characters")
    return text


def _recompute(session: Session, cluster: VulnCluster) -> None:
    """Credit of ``cluster`` from the findings it holds now: ``finders`` lists each finder
    organisation once at its earliest date, earliest first (the first finder, then the co-finders:
    :func:`frontiersec.clearinghouse.dedup.credit`), and ``first_finder_org_id`` /
    ``first_found_at`` name the first."""
    rows = session.execute(
        select(Finding.owner_org_id, Finding.found_at)
        .where(Finding.cluster_id == cluster.id)
        .order_by(Finding.found_at, Finding.created_at, Finding.id)
    ).all()
    first, co = dedup.credit(dedup.Finder(str(org), at) for org, at in rows)
    ordered = [x for x in (first, *co) if x is not None]
    names = _org_names(session, (uuid.UUID(x.org) for x in ordered))
    cluster.finders = [
        {"org_id": x.org, "org": names.get(uuid.UUID(x.org), "?"), "found_at": x.found_at.isoformat()}
        for x in ordered
    ]
    cluster.first_finder_org_id = uuid.UUID(first.org) if first else None
    cluster.first_found_at = first.found_at if first else None


def _union(*groups: Iterable[str]) -> list[str]:
    """The strings of ``groups`` in order of first appearance, each once."""
    return list(dict.fromkeys(a for g in groups for a in g))


def _aliases_of(findings: Iterable[Finding]) -> list[str]:
    return _union(*(dedup.vuln_aliases(f.aliases or []) for f in findings))


def fold_clusters(
    session: Session,
    principal: Principal,
    kept: VulnCluster,
    merged: VulnCluster,
    *,
    layer: int,
    score: float,
    reason: str,
    actor_id: uuid.UUID | None = None,
    kind: str | None = None,
    reparent: bool = False,
) -> ClusterMerge:
    """Merge cluster ``merged`` into ``kept``: the one way two live clusters become one, whoever
    decides it (an analyst, layer 0: :func:`merge_clusters`; text similarity, layer 4:
    :func:`frontiersec.clearinghouse.similarity.run_layer4`).

    ``merged``'s findings and vulnerability ids (its ``aliases`` and their ``cluster_aliases``
    index rows) move to ``kept``; ``merged`` becomes ``merged`` with ``merged_into_id`` = ``kept``;
    ``kept``'s credit is recomputed from the findings it now holds (earliest finder first, then the
    co-finders with their dates); the merge is recorded as a :class:`ClusterMerge` row (``layer``,
    ``score``, ``reason``, ``kind``, ``actor_id`` and the ids of the findings that moved) and in
    the audit log (``vuln.merge``). With ``reparent``, clusters merged into ``merged`` earlier are
    re-pointed at ``kept``. Undone by :func:`split_cluster` of ``kept`` with ``restore_id`` =
    ``merged``.

    The caller checks permission and visibility, that the two are different clusters and that
    neither is merged already. Flushes, never commits. Returns the new :class:`ClusterMerge`.
    """
    moved = [
        str(i) for i in session.execute(select(Finding.id).where(Finding.cluster_id == merged.id)).scalars()
    ]
    session.execute(update(Finding).where(Finding.cluster_id == merged.id).values(cluster_id=kept.id))
    session.execute(
        update(ClusterAlias).where(ClusterAlias.cluster_id == merged.id).values(cluster_id=kept.id)
    )
    if reparent:
        session.execute(
            update(VulnCluster).where(VulnCluster.merged_into_id == merged.id).values(merged_into_id=kept.id)
        )
    kept.aliases = _union(kept.aliases or [], merged.aliases or [])
    merged.status = "merged"
    merged.merged_into_id = kept.id
    session.flush()
    _recompute(session, kept)
    row = ClusterMerge(
        id=new_id(),
        cluster_id=kept.id,
        merged_cluster_id=merged.id,
        layer=layer,
        score=score,
        reason=reason,
        kind=kind,
        actor_id=actor_id,
        finding_ids=moved,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    record(
        session,
        principal,
        "vuln.merge",
        object_type="vuln_cluster",
        object_id=kept.id,
        tlp=kept.tlp,
        details={
            "into": str(kept.id),
            "from": str(merged.id),
            "findings": len(moved),
            "layer": layer,
            "score": round(score, 4),
            "reason": reason,
        },
    )
    return row


def merge_clusters(
    session: Session, principal: Principal, target_id: uuid.UUID, source_id: uuid.UUID, reason: str
) -> VulnCluster:
    """Fold cluster ``source_id`` into ``target_id`` by hand (analysts): findings, aliases and credit
    move to the target, the source is marked ``merged``; recorded as layer 0 with who and why
    (:func:`fold_clusters`)."""
    principal.require_role(Role.ANALYST, "merging vulnerabilities")
    why = _reason(reason)
    if target_id == source_id:
        raise InvalidInput.on("source_id", "a vulnerability cannot be merged into itself")
    target = _visible_cluster(session, principal, target_id)
    try:
        source = _visible_cluster(session, principal, source_id)
    except NotFound as exc:
        raise InvalidInput.on("source_id", f"vulnerability {source_id} not found") from exc
    for c, fld in ((target, "id"), (source, "source_id")):
        if c.status == "merged":
            raise Conflict(
                f"vulnerability {c.id} was already merged into {c.merged_into_id}",
                errors=[FieldError(fld, "already merged")],
            )
    fold_clusters(
        session,
        principal,
        target,
        source,
        layer=0,
        score=1.0,
        reason=why,
        actor_id=principal.user_id,
        kind="merge",
    )
    return target


def split_cluster(
    session: Session,
    principal: Principal,
    cluster_id: uuid.UUID,
    finding_ids: Sequence[uuid.UUID],
    reason: str,
    *,
    restore_id: uuid.UUID | None = None,
) -> tuple[VulnCluster, VulnCluster]:
    """Move chosen findings out of a cluster by hand (analysts), into a new cluster, or with
    ``restore_id`` back into a cluster that was merged into this one (which is revived).

    Returns ``(the cluster split, the cluster that received the findings)``. Aliases the moved
    findings carry go with them unless a remaining finding carries them too; both clusters' credit
    is recomputed. Recorded as layer 0 with who and why.
    """
    principal.require_role(Role.ANALYST, "splitting vulnerabilities")
    why = _reason(reason)
    src = _visible_cluster(session, principal, cluster_id)
    if src.status == "merged":
        raise Conflict(f"vulnerability {src.id} was merged into {src.merged_into_id}; split that one")
    wanted = list(dict.fromkeys(finding_ids))
    if not wanted:
        raise InvalidInput.on("finding_ids", "choose at least one finding to move out")
    moving = list(
        session.execute(
            select(Finding).where(
                Finding.id.in_(wanted), Finding.cluster_id == src.id, _finding_visible(principal)
            )
        ).scalars()
    )
    found = {f.id for f in moving}
    missing = [str(i) for i in wanted if i not in found]
    if missing:
        raise InvalidInput.on("finding_ids", f"not findings of this vulnerability: {', '.join(missing[:5])}")
    remaining = int(
        session.execute(
            select(func.count())
            .select_from(Finding)
            .where(Finding.cluster_id == src.id, ~Finding.id.in_(found))
        ).scalar_one()
    )
    if remaining == 0:
        raise InvalidInput.on(
            "finding_ids", "a split must leave at least one finding (to move them all, merge instead)"
        )
    now = utcnow()
    if restore_id is not None:
        dst = session.get(VulnCluster, restore_id)
        if dst is None or dst.merged_into_id != src.id or dst.status != "merged":
            raise InvalidInput.on("restore_id", "not a vulnerability that was merged into this one")
        dst.status = "new"
        dst.merged_into_id = None
        kind = "restore"
    else:
        first = min(moving, key=lambda f: (f.found_at, str(f.id)))
        vids = dedup.vuln_aliases(first.aliases or [])
        dst = VulnCluster(
            id=new_id(),
            owner_org_id=first.owner_org_id,
            tlp=first.tlp if first.tlp != "CLEAR" else "GREEN",
            created_by=principal.user_id,
            created_at=now,
            title=(first.title or first.rule_id or (vids[0] if vids else "") or "")[:2000],
            status="new",
            aliases=[],
            finders=[],
        )
        session.add(dst)
        kind = "split"
    session.flush()
    session.execute(update(Finding).where(Finding.id.in_(found)).values(cluster_id=dst.id))
    session.flush()
    # Aliases follow the findings that carry them, unless a finding that stays carries them too.
    stay_aliases = set(
        _aliases_of(session.execute(select(Finding).where(Finding.cluster_id == src.id)).scalars())
    )
    moved_aliases = _aliases_of(moving)
    dst.aliases = _union(dst.aliases or [], moved_aliases)
    src.aliases = [a for a in (src.aliases or []) if a in stay_aliases or a not in moved_aliases]
    go = [a for a in moved_aliases if a not in stay_aliases]
    if go:
        session.execute(
            update(ClusterAlias)
            .where(ClusterAlias.alias.in_(go), ClusterAlias.cluster_id == src.id)
            .values(cluster_id=dst.id)
        )
        known = set(session.execute(select(ClusterAlias.alias).where(ClusterAlias.alias.in_(go))).scalars())
        for a in go:
            if a not in known:
                session.add(ClusterAlias(alias=a, cluster_id=dst.id))
    _recompute(session, src)
    _recompute(session, dst)
    session.add(
        ClusterMerge(
            id=new_id(),
            cluster_id=dst.id,
            merged_cluster_id=src.id,
            layer=0,
            score=1.0,
            reason=why,
            kind=kind,
            actor_id=principal.user_id,
            finding_ids=[str(f.id) for f in moving],
            created_at=now,
        )
    )
    session.flush()
    record(
        session,
        principal,
        "vuln.split",
        object_type="vuln_cluster",
        object_id=src.id,
        tlp=src.tlp,
        details={
            "from": str(src.id),
            "into": str(dst.id),
            "restored": kind == "restore",
            "findings": [str(f.id) for f in moving],
            "reason": why,
        },
    )
    return src, dst


# ------------------------------------------------------------------------------------ import batches


def visible_batch(session: Session, principal: Principal, batch_id: uuid.UUID) -> ImportBatch:
    """One import batch the principal may see; :class:`NotFound` otherwise (not audited: see
    :func:`get_batch`)."""
    row = session.execute(
        select(ImportBatch).where(
            ImportBatch.id == batch_id, visible_clause(ImportBatch, "import_batch", principal)
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"import {batch_id} not found")
    return row


def get_batch(session: Session, principal: Principal, batch_id: uuid.UUID) -> ImportBatch:
    """One import batch (what an upload did) the principal may see (audited read)."""
    row = visible_batch(session, principal, batch_id)
    record_read(session, principal, object_type="import_batch", object_id=row.id, tlp=row.tlp)
    return row


def list_batches(session: Session, principal: Principal, *, limit: int = 10) -> list[ImportBatch]:
    """The most recent imports the principal may see."""
    return list(
        session.execute(
            select(ImportBatch)
            .where(visible_clause(ImportBatch, "import_batch", principal))
            .order_by(ImportBatch.created_at.desc())
            .limit(limit)
        ).scalars()
    )


def require_importer(principal: Principal) -> uuid.UUID:
    """The organisation an upload is imported for (members and up of an organisation)."""
    principal.require_role(Role.MEMBER, "importing findings")
    if principal.org_id is None or principal.user_id is None:
        raise PermissionDenied("findings are imported by a user of an organisation")
    return principal.org_id


IMPORT_FORMATS = ("auto", "sarif", "osv", "cyclonedx", "spdx", "csaf")
IMPORT_JOB = "clearinghouse.import_findings"
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _safe_filename(name: str | None) -> str:
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = _SAFE_NAME.sub("_", base).strip("._") or "upload"
    return base[-150:]


def request_import(
    session: Session,
    principal: Principal,
    *,
    upload_dir: Path,
    filename: str | None,
    stream: BinaryIO,
    fmt: str = "auto",
    model_id: str | None = None,
) -> JobRecord:
    """Keep an uploaded scanner file and queue its import as a job (members and up).

    The file is written under ``upload_dir`` in a directory with a random name (the original
    file name is kept, sanitized, for the import record and format detection); the job deletes it
    when it ends, whether the import worked or not.
    """
    org_id = require_importer(principal)
    if fmt not in IMPORT_FORMATS:
        raise InvalidInput.on(
            "format", f"unknown format {fmt!r}; expected one of {', '.join(IMPORT_FORMATS)}"
        )
    model = (model_id or "").strip() or None
    if model is not None and len(model) > 200:
        raise InvalidInput.on("model", "at most 200 characters")
    upload_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder = upload_dir / secrets.token_hex(16)
    folder.mkdir(mode=0o700)
    path = folder / _safe_filename(filename)
    try:
        size = 0
        with path.open("wb") as out:
            for block in iter(lambda: stream.read(1 << 20), b""):
                size += len(block)
                out.write(block)
        if size == 0:
            raise InvalidInput.on("file", "the uploaded file is empty (0 bytes)")
        rec = enqueue(
            session,
            principal,
            IMPORT_JOB,
            {
                "path": str(path),
                "filename": path.name,
                "bytes": size,
                "format": fmt,
                "model_id": model,
                "user_id": str(principal.user_id),
                "org_id": str(org_id),
            },
            owner_org_id=org_id,
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    record(
        session,
        principal,
        "findings.upload",
        object_type="job",
        object_id=rec.id,
        tlp=rec.tlp,
        details={"file": path.name, "bytes": size, "format": fmt, "model_id": model},
    )
    return rec


def discard_upload(path: Path) -> None:
    """Remove an uploaded file and its random directory (called when its import job ends)."""
    shutil.rmtree(path.parent, ignore_errors=True)


def find_cluster(
    session: Session, principal: Principal, ref: str, *, field_name: str = "source"
) -> uuid.UUID:
    """The id of a visible cluster named by its id or by a vulnerability id it holds (CVE, GHSA...)."""
    text = ref.strip()
    if not text:
        raise InvalidInput.on(field_name, "give a vulnerability id or an alias such as a CVE id")
    try:
        cid: uuid.UUID | None = uuid.UUID(text)
    except ValueError:
        cid = session.execute(
            select(ClusterAlias.cluster_id).where(ClusterAlias.alias == dedup.normalize_alias(text))
        ).scalar_one_or_none()
    if cid is None:
        raise InvalidInput.on(field_name, f"no vulnerability {text!r}")
    try:
        return _visible_cluster(session, principal, cid).id
    except NotFound as exc:
        raise InvalidInput.on(field_name, f"no vulnerability {text!r}") from exc


def merge_cluster_ref(
    session: Session, principal: Principal, target_id: uuid.UUID, source_ref: str, reason: str
) -> VulnCluster:
    """:func:`merge_clusters` with the source named by id or by an alias it holds (web form, CLI)."""
    principal.require_role(Role.ANALYST, "merging vulnerabilities")
    _visible_cluster(session, principal, target_id)
    source_id = find_cluster(session, principal, source_ref, field_name="source")
    return merge_clusters(session, principal, target_id, source_id, reason)


def clearinghouse_counts(session: Session, principal: Principal) -> dict[str, int]:
    """Headline numbers for the dashboard: visible findings and live clusters."""
    findings = session.execute(
        select(func.count()).select_from(Finding).where(_finding_visible(principal))
    ).scalar_one()
    vulns = session.execute(
        select(func.count())
        .select_from(VulnCluster)
        .where(VulnCluster.status != "merged", _cluster_visible(principal))
    ).scalar_one()
    return {"findings": int(findings), "vulns": int(vulns)}
