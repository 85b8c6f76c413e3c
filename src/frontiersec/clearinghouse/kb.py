"""Knowledge-base use cases: load OSV advisories, match SBOMs against them."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from packageurl import PackageURL
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from frontiersec.clearinghouse.intake import Component, IntakeError, iter_components
from frontiersec.clearinghouse.intake.base import parse_datetime
from frontiersec.clearinghouse.matching import AdvisoryIndex, ComponentResult
from frontiersec.clearinghouse.models import Advisory
from frontiersec.clearinghouse.osv_records import OsvLoadError, iter_osv_records
from frontiersec.platform.audit.service import record
from frontiersec.platform.auth.principal import Principal
from frontiersec.platform.auth.service import ensure_program_office
from frontiersec.platform.clock import utcnow
from frontiersec.platform.db import new_id
from frontiersec.platform.errors import FieldError, InvalidInput

__all__ = [
    "ComponentReport",
    "OsvLoadResult",
    "SbomMatchResult",
    "advisory_count",
    "build_index",
    "load_osv",
    "match_sbom",
]

BATCH = 1000


@dataclass(frozen=True)
class OsvLoadResult:
    """What one OSV load changed."""

    source: str
    records: int
    added: int
    updated: int
    unchanged: int


def _ts(value: object, where: str, field_name: str) -> dt.datetime | None:
    if value is None:
        return None
    parsed = parse_datetime(value)
    if parsed is None:
        raise InvalidInput(
            f"{where}: {field_name} {value!r} is not an RFC 3339 timestamp",
            errors=[FieldError(f"{where}.{field_name}", "not an RFC 3339 timestamp")],
        )
    return parsed


def _row(rec: dict[str, Any], where: str) -> dict[str, Any]:
    osv_id = rec.get("id")
    if not isinstance(osv_id, str) or not osv_id.strip():
        raise InvalidInput(
            f"{where}: OSV record has no string 'id'", errors=[FieldError(f"{where}.id", "missing")]
        )
    if len(osv_id) > 128:
        raise InvalidInput(f"{where}: OSV id longer than 128 characters")
    aliases = rec.get("aliases") or []
    affected = rec.get("affected") or []
    if not isinstance(aliases, list) or not isinstance(affected, list):
        raise InvalidInput(f"{where} ({osv_id}): 'aliases' and 'affected' must be arrays")
    ecosystems = sorted(
        {
            str(a["package"]["ecosystem"])
            for a in affected
            if isinstance(a, dict) and isinstance(a.get("package"), dict) and a["package"].get("ecosystem")
        }
    )
    return {
        "osv_id": osv_id,
        "modified": _ts(rec.get("modified"), where, "modified"),
        "published": _ts(rec.get("published"), where, "published"),
        "withdrawn": _ts(rec.get("withdrawn"), where, "withdrawn"),
        "summary": str(rec.get("summary") or "")[:10_000],
        "aliases": [str(a) for a in aliases],
        "ecosystems": ecosystems,
        "record": rec,
    }


def _records(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(location, record)`` pairs; read errors become :class:`InvalidInput` naming file and place."""
    it = iter_osv_records(path)
    n = 0
    while True:
        try:
            rec = next(it)
        except StopIteration:
            return
        except OsvLoadError as exc:
            raise InvalidInput(str(exc), errors=[FieldError(exc.location or "$", exc.message)]) from exc
        n += 1
        yield f"{path.name} record {n}", rec


def load_osv(session: Session, principal: Principal, path: Path) -> OsvLoadResult:
    """Load (insert or update by id + ``modified``) the OSV advisories at ``path``; audited, all-or-nothing.

    ``path`` is a ``.jsonl[.gz]`` file, an OSV zip export or a directory of OSV JSON files. Rows are
    written in bulk batches; the caller's transaction makes the whole file atomic.
    """
    owner = ensure_program_office(session)
    existing: dict[str, tuple[uuid.UUID, dt.datetime | None]] = {
        osv_id: (pk, modified)
        for pk, osv_id, modified in session.execute(
            select(Advisory.id, Advisory.osv_id, Advisory.modified)
        ).all()
    }
    now = utcnow()
    source = path.name
    records = added = updated = unchanged = 0
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []

    def flush() -> None:
        if inserts:
            session.execute(insert(Advisory), inserts)
            inserts.clear()
        if updates:
            session.execute(update(Advisory), updates)
            updates.clear()

    for where, rec in _records(path):
        row = _row(rec, where)
        records += 1
        prev = existing.get(row["osv_id"])
        if prev is None:
            pk = new_id()
            inserts.append(
                {
                    "id": pk,
                    "owner_org_id": owner.id,
                    "tlp": "CLEAR",
                    "created_by": principal.user_id,
                    "created_at": now,
                    "source": source,
                    **row,
                }
            )
            existing[row["osv_id"]] = (pk, row["modified"])
            added += 1
        elif prev[1] == row["modified"]:
            unchanged += 1
        else:
            if any(i["id"] == prev[0] for i in inserts):
                flush()  # the same id twice in one file: the pending insert must land first
            updates.append({"id": prev[0], "source": source, **row})
            existing[row["osv_id"]] = (prev[0], row["modified"])
            updated += 1
        if len(inserts) + len(updates) >= BATCH:
            flush()
    flush()
    session.flush()
    result = OsvLoadResult(source, records, added, updated, unchanged)
    record(
        session,
        principal,
        "kb.load_osv",
        object_type="osv_source",
        object_id=source,
        tlp="CLEAR",
        details=dict(result.__dict__),
    )
    return result


def advisory_count(session: Session) -> int:
    """How many advisories the knowledge base holds."""
    return int(session.execute(select(func.count()).select_from(Advisory)).scalar_one())


def build_index(session: Session) -> AdvisoryIndex:
    """One :class:`AdvisoryIndex` over every advisory in the knowledge base (raw OSV records)."""
    rows: Iterable[dict[str, Any]] = session.execute(
        select(Advisory.record).execution_options(yield_per=2000)
    ).scalars()
    return AdvisoryIndex.from_records(rows)


@dataclass(frozen=True)
class ComponentReport:
    """One SBOM component and the advisories affecting it (or why it was not matched)."""

    purl: str | None
    name: str | None
    version: str | None
    vulnerabilities: list[dict[str, Any]] = field(default_factory=list)
    skipped: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON shape of the CLI and API."""
        out: dict[str, Any] = {
            "purl": self.purl,
            "name": self.name,
            "version": self.version,
            "vulnerabilities": self.vulnerabilities,
        }
        if self.skipped:
            out["skipped"] = self.skipped
        return out


@dataclass(frozen=True)
class SbomMatchResult:
    """Every component of an SBOM with its matches, and the size of the index used."""

    components: list[ComponentReport]
    advisories: int

    def as_dict(self) -> dict[str, Any]:
        """JSON shape of the CLI and API."""
        return {"components": [c.as_dict() for c in self.components], "advisories": self.advisories}


def _query_purl(comp: Component) -> str | None:
    if comp.purl is None:
        return None
    p = PackageURL.from_string(comp.purl)
    if not p.version and comp.version:
        p = PackageURL(p.type, p.namespace, p.name, comp.version, p.qualifiers, p.subpath)
    return str(p.to_string())


def match_sbom(
    session: Session,
    principal: Principal,  # noqa: ARG001 - the acting principal, by convention (reference data is CLEAR)
    stream: IO[bytes],
    *,
    label: str = "SBOM",
) -> SbomMatchResult:
    """Match every component of a CycloneDX or SPDX 2.x JSON SBOM against the knowledge base.

    The index is built once per call. Components without a purl or version are listed with a
    ``skipped`` reason. Raises :class:`InvalidInput` naming the JSON path for an unusable SBOM.
    """
    try:
        components = list(iter_components(stream))
    except IntakeError as exc:
        raise InvalidInput(
            f"{label}: {exc.pointer}: {exc.reason}", errors=[FieldError(exc.pointer, exc.reason)]
        ) from exc
    index = build_index(session)
    queries = [(c, _query_purl(c)) for c in components]
    results: dict[int, ComponentResult] = {}
    matchable = [(i, q) for i, (_c, q) in enumerate(queries) if q is not None]
    for (i, _q), matched in zip(matchable, index.match_many(q for _i, q in matchable), strict=True):
        results[i] = matched
    reports: list[ComponentReport] = []
    for i, (comp, q) in enumerate(queries):
        res = results.get(i)
        if res is None:
            reports.append(ComponentReport(comp.purl, comp.name, comp.version, skipped="no_purl"))
            continue
        vulns = [
            {
                "id": m.id,
                "aliases": list(m.aliases),
                "fixed": m.fixed,
                "affected_range": m.affected_range_text,
                "ecosystem": m.ecosystem,
                "package": m.package,
            }
            for m in res.matches
        ]
        reports.append(
            ComponentReport(
                q,
                comp.name,
                comp.version,
                vulnerabilities=vulns,
                skipped=str(res.skipped) if res.skipped else None,
            )
        )
    return SbomMatchResult(reports, index.advisory_count)
