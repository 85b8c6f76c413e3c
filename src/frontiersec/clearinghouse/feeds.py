"""Knowledge-base feeds: EPSS scores, CWE names, and ``kb sync`` from the official publishers.

- :func:`load_epss` loads FIRST's daily EPSS CSV (plain or gzip) and :func:`epss_for` serves it.
- :func:`load_cwe` loads MITRE's CWE catalog into ``cwe_entries`` / ``cwe_relations`` (by default the
  v4.14 XML that the ``cwe2`` package ships, so it works offline); :func:`cwe_name`, :func:`cwe_names`,
  :func:`cwe_parents` and :func:`cwe_children` serve it. A table rather than a per-process lookup in
  ``cwe2``: every worker and the database see the same catalog, lists can join and filter on it, a
  newer MITRE release is one ``kb load-cwe cwec_latest.xml.zip`` away (no package upgrade), and
  ``cwe2``'s own lookup re-reads its CSV files on every call.
- :func:`sync_feeds` fetches CISA's KEV JSON, OSV's per-ecosystem ``all.zip`` and FIRST's EPSS CSV
  over HTTP, incrementally, verifies each download, and loads it. Per feed::

      conditional GET (If-None-Match / If-Modified-Since from kb_feed_state)
        ├─ 304, or 200 with the bytes already loaded (same sha256) ── "unchanged": nothing loaded
        ├─ network error / HTTP error / too large ─────────────────── "failed": nothing loaded
        └─ 200 ── verify + load in ONE transaction (KEV: JSON schema; OSV: kb.load_osv; EPSS: parser)
                   ├─ ok ── "loaded": rows upserted, new ETag / Last-Modified / sha256 stored
                   └─ invalid ── rolled back ── "failed": old ETag kept, error recorded

  Each feed is its own transaction: a broken OSV export does not undo a good KEV load.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import httpx
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from frontiersec import __version__
from frontiersec.clearinghouse import kb
from frontiersec.clearinghouse.kb_formats import (
    CVE_ID,
    CweCatalog,
    FeedFormatError,
    open_maybe_gzip,
    parse_cwe_csv,
    parse_cwe_id,
    parse_cwe_xml,
    read_epss,
)
from frontiersec.clearinghouse.kb_models import CweEntry, CweRelation, EpssScore, FeedState
from frontiersec.clearinghouse.service import load_kev, read_kev_file
from frontiersec.platform.audit.service import record
from frontiersec.platform.auth.models import Role
from frontiersec.platform.auth.principal import Principal
from frontiersec.platform.clock import utcnow
from frontiersec.platform.db import session_scope
from frontiersec.platform.errors import FieldError, FrontiersecError, InvalidInput, PreconditionFailed

__all__ = [
    "FEEDS",
    "CweLoadResult",
    "Epss",
    "EpssLoadResult",
    "FeedFetchError",
    "FeedOutcome",
    "FeedTarget",
    "cwe_children",
    "cwe_name",
    "cwe_names",
    "cwe_parents",
    "default_cwe_source",
    "epss_for",
    "feed_states",
    "feed_targets",
    "list_feeds",
    "load_cwe",
    "load_epss",
    "sync_feeds",
]

FEEDS = ("kev", "osv", "epss")
BATCH = 2000
KEV_SCHEMA = Path("cisa-kev") / "known_exploited_vulnerabilities_schema.json"


def _require_loader(principal: Principal, what: str) -> None:
    principal.require_role(Role.ANALYST, what)


# ---------------------------------------------------------------------------------------------- EPSS


@dataclass(frozen=True)
class EpssLoadResult:
    """What one EPSS load changed."""

    source: str
    model_version: str
    score_date: str
    rows: int
    added: int
    updated: int
    unchanged: int


@dataclass(frozen=True)
class Epss:
    """The EPSS score of one CVE: probability of exploitation in the next 30 days, and its percentile."""

    cve_id: str
    epss: float
    percentile: float
    model_version: str
    score_date: dt.date


def _open(path: Path) -> IO[bytes]:
    try:
        return path.open("rb")
    except OSError as exc:
        raise InvalidInput.on("path", f"cannot read {path}: {exc.strerror}") from exc


def _format_error(source: str, exc: FeedFormatError) -> InvalidInput:
    return InvalidInput(f"{source}: {exc.where}: {exc.message}", errors=[FieldError(exc.where, exc.message)])


def load_epss(
    session: Session, principal: Principal, path: Path, *, source: str | None = None
) -> EpssLoadResult:
    """Load (insert or update by CVE id) FIRST's EPSS CSV at ``path``, plain or gzip; audited.

    All-or-nothing: every row is validated (CVE id, ``0 <= epss <= 1``, ``0 <= percentile <= 1``,
    no CVE twice) and a bad one raises :class:`InvalidInput` naming the line and column; the
    caller's transaction then rolls back whatever was written. CVEs absent from the file keep
    their previous score (with its older ``score_date``).
    """
    _require_loader(principal, "loading EPSS scores")
    label = source or path.name
    existing: dict[str, tuple[float, float, str, dt.date]] = {
        cve: (e, p, m, d)
        for cve, e, p, m, d in session.execute(
            select(
                EpssScore.cve_id,
                EpssScore.epss,
                EpssScore.percentile,
                EpssScore.model_version,
                EpssScore.score_date,
            )
        ).all()
    }
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    rows = added = updated = unchanged = 0

    def flush() -> None:
        if inserts:
            session.execute(insert(EpssScore), inserts)
            inserts.clear()
        if updates:
            session.execute(update(EpssScore), updates)
            updates.clear()

    with _open(path) as fh:
        try:
            header, it = read_epss(fh)
            for r in it:
                rows += 1
                values = {
                    "cve_id": r.cve_id,
                    "epss": r.epss,
                    "percentile": r.percentile,
                    "model_version": header.model_version,
                    "score_date": header.score_date,
                }
                prev = existing.get(r.cve_id)
                if prev is None:
                    inserts.append(values)
                    added += 1
                elif prev == (r.epss, r.percentile, header.model_version, header.score_date):
                    unchanged += 1
                else:
                    updates.append(values)
                    updated += 1
                if len(inserts) + len(updates) >= BATCH:
                    flush()
        except FeedFormatError as exc:
            raise _format_error(label, exc) from exc
    if rows == 0:
        raise InvalidInput(f"{label}: no scores after the header", errors=[FieldError("line 3", "missing")])
    flush()
    session.flush()
    result = EpssLoadResult(
        label, header.model_version, header.score_date.isoformat(), rows, added, updated, unchanged
    )
    record(
        session,
        principal,
        "kb.load_epss",
        object_type="epss_scores",
        object_id=header.score_date.isoformat(),
        tlp="CLEAR",
        details=asdict(result),
    )
    return result


def epss_for(session: Session, cve_ids: Iterable[str]) -> dict[str, Epss]:
    """EPSS scores of the given CVE ids (case-insensitive), keyed by upper-case CVE id; unknown ids are absent."""
    wanted = sorted({c.strip().upper() for c in cve_ids if CVE_ID.fullmatch(c.strip().upper())})
    out: dict[str, Epss] = {}
    for i in range(0, len(wanted), 500):
        chunk = wanted[i : i + 500]
        for row in session.execute(select(EpssScore).where(EpssScore.cve_id.in_(chunk))).scalars():
            out[row.cve_id] = Epss(row.cve_id, row.epss, row.percentile, row.model_version, row.score_date)
    return out


# ----------------------------------------------------------------------------------------------- CWE


@dataclass(frozen=True)
class CweLoadResult:
    """What one CWE catalog load changed."""

    source: str
    version: str
    weaknesses: int
    categories: int
    views: int
    relations: int
    added: int
    updated: int
    unchanged: int


def default_cwe_source() -> Path:
    """The CWE XML that the ``cwe2`` package ships (offline; v4.14 for cwe2 3.0)."""
    from cwe2.mappings import xml_database_path  # imported here: cwe2 resolves data paths at import

    return Path(str(xml_database_path))


def _read_cwe(path: Path) -> CweCatalog:
    name = path.name.lower()
    version_hint = re.search(r"v(\d+\.\d+)", name)
    hint = version_hint.group(1) if version_hint else ""
    try:
        if name.endswith(".zip"):
            try:
                zf = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError) as exc:
                raise InvalidInput.on("path", f"{path.name}: not a readable zip archive: {exc}") from exc
            with zf:
                members = [i for i in zf.infolist() if i.filename.lower().endswith((".xml", ".csv"))]
                if len(members) != 1:
                    raise InvalidInput.on("path", f"{path.name}: expected one .xml or .csv inside")
                info = members[0]
                if info.file_size > 512 * 1024 * 1024:
                    raise InvalidInput.on("path", f"{path.name}: {info.filename} is too large")
                with zf.open(info) as fh:
                    if info.filename.lower().endswith(".xml"):
                        return parse_cwe_xml(fh)
                    return parse_cwe_csv(fh, version=hint)
        with _open(path) as fh:
            if name.endswith((".xml", ".xml.gz")):
                return parse_cwe_xml(open_maybe_gzip(fh))
            if name.endswith((".csv", ".csv.gz")):
                return parse_cwe_csv(fh, version=hint)
    except FeedFormatError as exc:
        raise _format_error(path.name, exc) from exc
    raise InvalidInput.on("path", f"{path.name}: expected a CWE .xml, .csv[.gz] or .zip")


def load_cwe(session: Session, principal: Principal, path: Path | None = None) -> CweLoadResult:
    """Load MITRE's CWE catalog (names, kinds, parent/child links); upsert by CWE id; audited.

    ``path`` is a CWE XML (``cwec_vX.Y.xml[.zip]``, with categories and views) or a CWE view CSV
    (``.csv[.gz]``, weaknesses only); by default the XML shipped by ``cwe2``. Links of the loaded
    entries are replaced by the file's.
    """
    _require_loader(principal, "loading the CWE catalog")
    src = path or default_cwe_source()
    catalog = _read_cwe(src)
    existing = {e.cwe_id: e for e in session.execute(select(CweEntry)).scalars()}
    added = updated = unchanged = 0
    seen: set[int] = set()
    for r in catalog.records:
        if r.cwe_id in seen:
            raise InvalidInput.on(f"CWE-{r.cwe_id}", f"{src.name}: CWE-{r.cwe_id} appears twice")
        seen.add(r.cwe_id)
        values = {"kind": r.kind, "name": r.name, "abstraction": r.abstraction, "status": r.status}
        row = existing.get(r.cwe_id)
        if row is None:
            session.add(CweEntry(cwe_id=r.cwe_id, catalog_version=catalog.version, **values))
            added += 1
        elif any(getattr(row, k) != v for k, v in values.items()) or row.catalog_version != catalog.version:
            for k, v in values.items():
                setattr(row, k, v)
            row.catalog_version = catalog.version
            updated += 1
        else:
            unchanged += 1
    natures = sorted({nature for r in catalog.records for _p, _v, nature in r.parents} or {"ChildOf"})
    ids = sorted(seen)
    for i in range(0, len(ids), 500):
        session.execute(
            delete(CweRelation).where(
                CweRelation.child_id.in_(ids[i : i + 500]), CweRelation.nature.in_(natures)
            )
        )
    links = [
        {"child_id": r.cwe_id, "parent_id": p, "view_id": v, "nature": n}
        for r in catalog.records
        for p, v, n in r.parents
    ]
    for i in range(0, len(links), BATCH):
        session.execute(insert(CweRelation), links[i : i + BATCH])
    session.flush()
    kinds = [r.kind for r in catalog.records]
    result = CweLoadResult(
        src.name,
        catalog.version,
        kinds.count("weakness"),
        kinds.count("category"),
        kinds.count("view"),
        len(links),
        added,
        updated,
        unchanged,
    )
    record(
        session,
        principal,
        "kb.load_cwe",
        object_type="cwe_catalog",
        object_id=catalog.version or src.name,
        tlp="CLEAR",
        details=asdict(result),
    )
    return result


def cwe_names(session: Session, cwe_ids: Iterable[str | int]) -> dict[str, str]:
    """Names of the given CWEs (``"CWE-79"``, ``"79"`` or ``79``), keyed ``"CWE-<n>"``; unknown ones absent."""
    wanted = sorted({n for n in (parse_cwe_id(c) for c in cwe_ids) if n is not None})
    out: dict[str, str] = {}
    for i in range(0, len(wanted), 500):
        rows = session.execute(
            select(CweEntry.cwe_id, CweEntry.name).where(CweEntry.cwe_id.in_(wanted[i : i + 500]))
        ).all()
        out.update({f"CWE-{n}": name for n, name in rows})
    return out


def cwe_name(session: Session, cwe_id: str | int) -> str | None:
    """The name of one CWE (``"CWE-79"`` → ``"Improper Neutralization of Input During Web Page
    Generation ('Cross-site Scripting')"``), or ``None`` when the id is unknown or malformed."""
    n = parse_cwe_id(cwe_id)
    if n is None:
        return None
    return session.execute(select(CweEntry.name).where(CweEntry.cwe_id == n)).scalar_one_or_none()


def cwe_parents(session: Session, cwe_id: str | int, *, view_id: int = 1000) -> list[str]:
    """``CWE-<n>`` ids this CWE is ``ChildOf`` / ``MemberOf`` in ``view_id`` (1000: Research Concepts)."""
    n = parse_cwe_id(cwe_id)
    rows = session.execute(
        select(CweRelation.parent_id)
        .where(CweRelation.child_id == n, CweRelation.view_id == view_id)
        .order_by(CweRelation.parent_id)
    ).scalars()
    return [f"CWE-{p}" for p in rows]


def cwe_children(session: Session, cwe_id: str | int, *, view_id: int = 1000) -> list[str]:
    """``CWE-<n>`` ids that are ``ChildOf`` / ``MemberOf`` this CWE in ``view_id``."""
    n = parse_cwe_id(cwe_id)
    rows = session.execute(
        select(CweRelation.child_id)
        .where(CweRelation.parent_id == n, CweRelation.view_id == view_id)
        .order_by(CweRelation.child_id)
    ).scalars()
    return [f"CWE-{c}" for c in rows]


# ---------------------------------------------------------------------------------------------- sync


class FeedFetchError(Exception):
    """A feed could not be downloaded (network, HTTP status, size); nothing was loaded."""


@dataclass(frozen=True)
class FeedTarget:
    """One thing ``kb sync`` fetches: ``key`` is ``kev``, ``epss`` or ``osv:<ecosystem>``."""

    key: str
    kind: str
    url: str
    ecosystem: str | None = None


@dataclass
class FeedOutcome:
    """What ``kb sync`` did with one feed: ``loaded``, ``unchanged`` or ``failed``."""

    feed: str
    url: str
    status: str
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    bytes: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON shape of the CLI."""
        return asdict(self)


def feed_targets(
    settings: Any, feeds: Sequence[str] = ("all",), ecosystems: Sequence[str] = ()
) -> list[FeedTarget]:
    """The feeds to fetch, in order (KEV, OSV per ecosystem, EPSS), with their URLs from ``settings``."""
    chosen = set(feeds) or {"all"}
    unknown = chosen - {*FEEDS, "all"}
    if unknown:
        raise InvalidInput.on("feed", f"unknown feed {sorted(unknown)[0]!r} (kev, osv, epss or all)")
    if "all" in chosen:
        chosen = set(FEEDS)
    out: list[FeedTarget] = []
    if "kev" in chosen:
        out.append(FeedTarget("kev", "kev", settings.kb_kev_url))
    if "osv" in chosen:
        ecos = list(dict.fromkeys(ecosystems or settings.kb_osv_ecosystems))
        if not ecos:
            raise InvalidInput.on("ecosystem", "no OSV ecosystem given or configured")
        for eco in ecos:
            if not eco.strip() or any(c in eco for c in "/\\") or len(eco) > 50:
                raise InvalidInput.on("ecosystem", f"{eco!r} is not an OSV ecosystem name")
            url = settings.kb_osv_url.replace("{ecosystem}", quote(eco, safe=""))
            out.append(FeedTarget(f"osv:{eco}", "osv", url, eco))
    if "epss" in chosen:
        out.append(FeedTarget("epss", "epss", settings.kb_epss_url))
    return out


def feed_states(session: Session) -> list[FeedState]:
    """What ``kb sync`` last saw of every feed it has tried, by feed key."""
    return list(session.execute(select(FeedState).order_by(FeedState.feed)).scalars())


def list_feeds(
    session: Session,
    principal: Principal,  # noqa: ARG001 - the acting principal, by convention (feed state is CLEAR)
) -> list[FeedState]:
    """Feed state for any signed-in user: public URLs, validators, outcomes (no secrets in it)."""
    return feed_states(session)


@dataclass(frozen=True)
class _Download:
    status: int
    path: Path | None = None
    etag: str | None = None
    last_modified: str | None = None
    sha256: str | None = None
    size: int = 0


def _fmt_size(n: int) -> str:
    return f"{n / 1_048_576:.1f} MB" if n >= 100_000 else f"{n} bytes"


def _download(
    client: httpx.Client, target: FeedTarget, state: FeedState | None, dest: Path, max_bytes: int
) -> _Download:
    headers = {"User-Agent": f"frontiersec/{__version__} (kb sync)"}
    if state is not None and state.sha256:
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
    url = target.url
    try:
        with client.stream("GET", url, headers=headers) as resp:
            if resp.status_code == 304:
                return _Download(304)
            if resp.status_code != 200:
                raise FeedFetchError(f"{url} answered HTTP {resp.status_code} {resp.reason_phrase}".rstrip())
            declared = resp.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise FeedFetchError(f"{url}: {declared} bytes is more than the {max_bytes}-byte limit")
            digest = hashlib.sha256()
            size = 0
            with dest.open("wb") as out:
                for chunk in resp.iter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise FeedFetchError(f"{url}: more than the {max_bytes}-byte limit")
                    digest.update(chunk)
                    out.write(chunk)
            return _Download(
                200,
                dest,
                resp.headers.get("etag"),
                resp.headers.get("last-modified"),
                digest.hexdigest(),
                size,
            )
    except httpx.TimeoutException as exc:
        raise FeedFetchError(f"cannot reach {url}: timed out ({exc or type(exc).__name__})") from exc
    except httpx.TransportError as exc:
        raise FeedFetchError(f"cannot reach {url}: {exc or type(exc).__name__}") from exc
    except httpx.HTTPError as exc:
        raise FeedFetchError(f"download of {url} failed: {exc or type(exc).__name__}") from exc


def _load(
    session: Session, principal: Principal, settings: Any, target: FeedTarget, path: Path
) -> dict[str, Any]:
    """Verify and load one downloaded feed file; raises :class:`InvalidInput` when it does not verify."""
    if target.kind == "kev":
        schema = Path(settings.demo_data) / KEV_SCHEMA
        if not schema.is_file():
            raise PreconditionFailed(f"KEV: cannot verify the download: CISA's schema is not at {schema}")
        _require_loader(principal, "loading the KEV catalog")
        return asdict(
            load_kev(session, principal, read_kev_file(path), schema_path=schema, source=target.url)
        )
    if target.kind == "osv":
        _require_loader(principal, "loading OSV advisories")
        return asdict(kb.load_osv(session, principal, path))
    return asdict(load_epss(session, principal, path, source=target.url))


def _state(session: Session, target: FeedTarget) -> FeedState:
    row = session.get(FeedState, target.key)
    if row is None:
        row = FeedState(feed=target.key, url=target.url, last_status="never", last_result={})
        session.add(row)
    row.url = target.url
    return row


def _summary(status: str, result: dict[str, Any]) -> str:
    if status != "loaded":
        return status
    counts = ", ".join(f"{result[k]} {k}" for k in ("added", "updated", "unchanged") if k in result)
    total = result.get("total", result.get("records", result.get("rows")))
    return f"loaded {total} ({counts})" if total is not None else f"loaded ({counts})"


def sync_feeds(
    sessions: sessionmaker[Session],
    principal: Principal,
    settings: Any,
    *,
    feeds: Sequence[str] = ("all",),
    ecosystems: Sequence[str] = (),
    transport: httpx.BaseTransport | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[FeedOutcome]:
    """Fetch, verify and load the chosen feeds from their publishers, each in its own transaction.

    Sends ``If-None-Match`` / ``If-Modified-Since`` from the last good load; a ``304`` (or the same
    bytes again) loads nothing. A download that fails or does not verify loads nothing and keeps
    the previous validators, so the next sync fetches it again. Failures are returned (status
    ``failed`` with the reason), not raised; :class:`InvalidInput` is raised only for bad arguments.
    ``transport`` replaces the network (tests, proxies); ``progress`` receives one line per step.
    """
    say = progress or (lambda _line: None)
    targets = feed_targets(settings, feeds, ecosystems)
    _require_loader(principal, "syncing the knowledge base")
    settings.ensure_dirs()
    timeout = httpx.Timeout(settings.kb_feed_timeout_s)
    outcomes: list[FeedOutcome] = []
    with (
        httpx.Client(transport=transport, timeout=timeout, follow_redirects=True) as client,
        tempfile.TemporaryDirectory(dir=settings.data_dir, prefix="kb-sync-") as tmp,
    ):
        for target in targets:
            say(f"{target.key}: GET {target.url}")
            try:
                outcome = _sync_one(sessions, principal, settings, client, target, Path(tmp), say)
            except (FeedFetchError, FrontiersecError) as exc:
                message = exc.detail if isinstance(exc, FrontiersecError) else str(exc)
                outcome = FeedOutcome(target.key, target.url, "failed", error=message)
                say(f"{target.key}: FAILED: {message}")
                with session_scope(sessions) as s:
                    st = _state(s, target)
                    st.last_checked_at, st.last_status, st.last_error = utcnow(), "failed", message[:4000]
            outcomes.append(outcome)
    return outcomes


def _sync_one(
    sessions: sessionmaker[Session],
    principal: Principal,
    settings: Any,
    client: httpx.Client,
    target: FeedTarget,
    tmp: Path,
    say: Callable[[str], None],
) -> FeedOutcome:
    """Download, verify and load one feed (one transaction for the load and its new state)."""
    with session_scope(sessions) as s:
        prev = s.get(FeedState, target.key)
        if prev is not None:
            s.expunge(prev)
    fname = re.sub(r"[^A-Za-z0-9._-]", "_", target.ecosystem or target.key)
    dest = tmp / (f"{fname}-all.zip" if target.kind == "osv" else f"{fname}.download")
    try:
        got = _download(client, target, prev, dest, settings.kb_feed_max_bytes)
        now = utcnow()
        if got.status == 304 or (prev is not None and got.sha256 == prev.sha256):
            why = "304 Not Modified" if got.status == 304 else "same content as the last load"
            say(f"{target.key}: unchanged ({why}); nothing loaded")
            with session_scope(sessions) as s:
                st = _state(s, target)
                st.last_checked_at, st.last_status, st.last_error = now, "unchanged", None
                if got.status == 200:
                    st.etag, st.last_modified = got.etag, got.last_modified
            return FeedOutcome(target.key, target.url, "unchanged", bytes=got.size)
        assert got.path is not None
        say(f"{target.key}: downloaded {_fmt_size(got.size)}; verifying and loading")
        with session_scope(sessions) as s:
            result = _load(s, principal, settings, target, got.path)
            st = _state(s, target)
            st.etag, st.last_modified, st.sha256 = got.etag, got.last_modified, got.sha256
            st.last_checked_at = st.last_loaded_at = now
            st.last_status, st.last_error, st.last_result = "loaded", None, result
            record(
                s,
                principal,
                "kb.sync",
                object_type="kb_feed",
                object_id=target.key,
                tlp="CLEAR",
                details={"url": target.url, "bytes": got.size, "etag": got.etag, "result": result},
            )
        say(f"{target.key}: {_summary('loaded', result)}")
        return FeedOutcome(target.key, target.url, "loaded", result=result, bytes=got.size)
    finally:
        dest.unlink(missing_ok=True)
