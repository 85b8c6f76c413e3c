"""Clearinghouse use cases (so far: the KEV catalog as the known-exploited list)."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from frontiersec.clearinghouse.kev import KevFormatError, load_kev_json, parse_kev_document
from frontiersec.clearinghouse.models import KevEntry
from frontiersec.platform.audit.service import record
from frontiersec.platform.auth.models import Role
from frontiersec.platform.auth.principal import Principal
from frontiersec.platform.auth.service import ensure_program_office
from frontiersec.platform.errors import FieldError, InvalidInput, NotFound, PermissionDenied
from frontiersec.platform.jobs import enqueue
from frontiersec.platform.models import JobRecord
from frontiersec.platform.pagination import decode_cursor, encode_cursor

__all__ = [
    "KEV_CATALOG",
    "KevLoadResult",
    "KevQuery",
    "get_kev",
    "kev_stats",
    "list_kev",
    "load_kev",
    "request_kev_reload",
]

KEV_SORTS: dict[str, Any] = {
    "date_added": KevEntry.date_added,
    "due_date": KevEntry.due_date,
    "cve_id": KevEntry.cve_id,
    "vendor_project": KevEntry.vendor_project,
}


@dataclass(frozen=True)
class KevLoadResult:
    """What a catalog load changed."""

    catalog_version: str
    total: int
    added: int
    updated: int
    unchanged: int


def read_kev_file(path: Path) -> bytes:
    """The bytes of a KEV catalog (``.json`` or ``.json.gz``)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidInput.on("path", f"cannot read {path}: {exc.strerror}") from exc
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise InvalidInput.on("path", f"{path.name}: corrupt gzip data") from exc
    return raw


def load_kev(
    session: Session,
    principal: Principal,
    data: bytes,
    *,
    schema_path: Path | None = None,
    source: str = "",
    progress: Callable[[float, str], None] | None = None,
) -> KevLoadResult:
    """Load (insert or update) the KEV catalog; all-or-nothing, audited."""
    try:
        doc = load_kev_json(data)
        catalog = parse_kev_document(doc)
    except KevFormatError as exc:
        raise InvalidInput(
            f"{source or 'KEV catalog'}: {exc}", errors=[FieldError(exc.pointer, exc.reason)]
        ) from exc
    if schema_path is not None and schema_path.exists():
        schema = json.loads(schema_path.read_text())
        validator = jsonschema.Draft7Validator(schema)
        err = next(iter(sorted(validator.iter_errors(doc), key=lambda e: list(e.path))), None)
        if err is not None:
            ptr = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path)
            raise InvalidInput(
                f"{source or 'KEV catalog'}: {ptr}: {err.message}", errors=[FieldError(ptr, err.message)]
            )
    owner = ensure_program_office(session)
    existing = {e.cve_id: e for e in session.execute(select(KevEntry)).scalars()}
    added = updated = unchanged = 0
    n = len(catalog.records)
    for i, r in enumerate(catalog.records):
        values = {
            "vendor_project": r.vendor_project,
            "product": r.product,
            "vulnerability_name": r.vulnerability_name,
            "date_added": r.date_added,
            "short_description": r.short_description,
            "required_action": r.required_action,
            "due_date": r.due_date,
            "known_ransomware_campaign_use": r.known_ransomware_campaign_use,
            "notes": r.notes,
            "cwes": list(r.cwes),
        }
        row = existing.get(r.cve_id)
        if row is None:
            session.add(
                KevEntry(
                    cve_id=r.cve_id,
                    owner_org_id=owner.id,
                    tlp="CLEAR",
                    catalog_version=catalog.catalog_version,
                    **values,
                )
            )
            added += 1
        elif any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            row.catalog_version = catalog.catalog_version
            updated += 1
        else:
            unchanged += 1
        if progress and i % 200 == 0:
            progress(100 * i / max(n, 1), f"{i} of {n} KEV entries")
    session.flush()
    result = KevLoadResult(catalog.catalog_version, n, added, updated, unchanged)
    record(
        session,
        principal,
        "kev.load",
        object_type="kev_catalog",
        object_id=catalog.catalog_version,
        tlp="CLEAR",
        details={"source": source, **result.__dict__},
    )
    return result


@dataclass(frozen=True)
class KevQuery:
    """Filters of the KEV list."""

    q: str | None = None
    vendor: str | None = None
    ransomware: bool | None = None
    added_since: dt.date | None = None
    sort: str = "date_added"
    descending: bool = True
    cursor: str | None = None
    limit: int = 50


def _filtered(query: KevQuery) -> Select[KevEntry]:
    stmt = select(KevEntry)
    if query.q:
        like = f"%{query.q.lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(KevEntry.cve_id).like(like),
                func.lower(KevEntry.vendor_project).like(like),
                func.lower(KevEntry.product).like(like),
                func.lower(KevEntry.vulnerability_name).like(like),
            )
        )
    if query.vendor:
        stmt = stmt.where(KevEntry.vendor_project == query.vendor)
    if query.ransomware is not None:
        stmt = stmt.where(
            KevEntry.known_ransomware_campaign_use == ("Known" if query.ransomware else "Unknown")
        )
    if query.added_since:
        stmt = stmt.where(KevEntry.date_added >= query.added_since)
    return stmt


def list_kev(
    session: Session, principal: Principal, query: KevQuery
) -> tuple[list[KevEntry], str | None, int]:
    """One page of the KEV list, the next cursor, and the total that match the filters."""
    if query.sort not in KEV_SORTS:
        raise InvalidInput.on("sort", f"must be one of {', '.join(KEV_SORTS)}")
    if not 1 <= query.limit <= 500:
        raise InvalidInput.on("limit", "must be between 1 and 500")
    col = KEV_SORTS[query.sort]
    stmt = _filtered(query)
    total = int(session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())
    if query.cursor:
        vals = decode_cursor(query.cursor)
        if len(vals) != 2:
            raise InvalidInput.on("cursor", "is not a cursor this server issued")
        key, last_cve = vals
        if query.sort in ("date_added", "due_date"):
            try:
                key = dt.date.fromisoformat(str(key))
            except ValueError as exc:
                raise InvalidInput.on("cursor", "is not a cursor this server issued") from exc
        if query.descending:
            stmt = stmt.where(or_(col < key, (col == key) & (KevEntry.cve_id < last_cve)))
        else:
            stmt = stmt.where(or_(col > key, (col == key) & (KevEntry.cve_id > last_cve)))
    order = [col.desc(), KevEntry.cve_id.desc()] if query.descending else [col.asc(), KevEntry.cve_id.asc()]
    rows = list(session.execute(stmt.order_by(*order).limit(query.limit + 1)).scalars())
    nxt = None
    if len(rows) > query.limit:
        last = rows[query.limit - 1]
        nxt = encode_cursor([getattr(last, query.sort), last.cve_id])
    return rows[: query.limit], nxt, total


def get_kev(session: Session, principal: Principal, cve_id: str) -> KevEntry:
    """One KEV entry by CVE id."""
    row = session.execute(select(KevEntry).where(KevEntry.cve_id == cve_id.upper())).scalars().first()
    if row is None:
        raise NotFound(f"{cve_id} is not in the KEV catalog")
    return row


def kev_stats(session: Session) -> dict[str, Any]:
    """Headline numbers for the dashboard: size, ransomware share, additions per month."""
    total = int(session.execute(select(func.count()).select_from(KevEntry)).scalar_one())
    ransomware = int(
        session.execute(
            select(func.count())
            .select_from(KevEntry)
            .where(KevEntry.known_ransomware_campaign_use == "Known")
        ).scalar_one()
    )
    latest = session.execute(select(func.max(KevEntry.date_added))).scalar_one()
    dates: Sequence[dt.date] = session.execute(select(KevEntry.date_added)).scalars().all()
    per_month: dict[str, int] = {}
    for d in dates:
        key = f"{d.year:04d}-{d.month:02d}"
        per_month[key] = per_month.get(key, 0) + 1
    months = sorted(per_month)[-24:]
    return {
        "total": total,
        "ransomware": ransomware,
        "latest": latest,
        "per_month": [(m, per_month[m]) for m in months],
    }


KEV_CATALOG = Path("cisa-kev") / "known_exploited_vulnerabilities.json"


def request_kev_reload(session: Session, principal: Principal, data_dir: Path) -> JobRecord:
    """Queue a reload of the KEV catalog from the data folder (analysts and up)."""
    principal.require_role(Role.ANALYST, "reloading the KEV catalog")
    if principal.org_id is None or principal.user_id is None:
        raise PermissionDenied("a KEV reload is requested by a user of an organisation")
    return enqueue(
        session,
        principal,
        "clearinghouse.load_kev",
        {"path": str(data_dir / KEV_CATALOG), "user_id": str(principal.user_id)},
        owner_org_id=principal.org_id,
    )
