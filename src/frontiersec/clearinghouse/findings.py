"""Findings use cases: import scanner output, deduplicate across finders, credit the first finder.

An import streams: the parser's iterator is consumed in batches of :data:`BATCH` findings, and
each batch is decided and written before the next is read (overlapped on PostgreSQL: at most
three batches ahead of the one being written), so memory stays flat whatever the size of the file.
Per batch the importer runs a handful of set-based queries (fingerprints, aliases and layer-3 loci
by IN-list, the clusters they name) and bulk inserts; no ORM object per finding. Everything happens
in the caller's transaction: a file that fails half-way leaves nothing behind (the boundary rolls
back) and can be imported again.

Re-importing a file: a file whose SHA-256 and format match an earlier import is not parsed at all
(``reuse_identical``, the default): findings are never deleted, so every fingerprint of that file
is still known, and the counts are those of the earlier import, all duplicates. Any other file
goes finding by finding through the fingerprint path (layer 1): every finding is looked up by
fingerprint and counted as a duplicate, and a batch whose fingerprints are all known skips every
other step (``reuse_identical=False`` forces this path for an identical file too).

Speed (see ``bench/intake.py``): a large file is parsed by a second process
(:mod:`.intake.background`) while this one deduplicates and writes; SARIF results are decoded
once, by msgspec, and per-rule and per-path work is cached per run; rows are bound column by
column with each type's own bind processor, memoized where values repeat; SQLite gets the driver's
``executemany`` with plain tuples, PostgreSQL ``COPY`` and ``= ANY(array)`` lookups; on PostgreSQL
the database thread reads batch N+1 and writes batch N while this thread decides batch N+1
(:func:`_run_overlapped`); and Python's cyclic garbage collector runs only between batches (young
generations), not during them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import hashlib
import json
import os
import re
import uuid
from collections.abc import Callable, Hashable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from sqlalchemy import JSON, Table, Uuid, any_, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from frontiersec.clearinghouse import dedup
from frontiersec.clearinghouse.intake import (
    IntakeError,
    NormalizedFinding,
    ParseOptions,
    ParseResult,
    parse_file,
)
from frontiersec.clearinghouse.intake.background import (
    BACKGROUND_MIN_BYTES,
    BackgroundParse,
    parse_in_background,
)
from frontiersec.clearinghouse.models import ClusterAlias, ClusterMerge, Finding, ImportBatch, VulnCluster
from frontiersec.platform.audit.service import record
from frontiersec.platform.auth.models import Organization
from frontiersec.platform.auth.principal import Principal
from frontiersec.platform.clock import utcnow
from frontiersec.platform.db import new_id
from frontiersec.platform.errors import FieldError, InvalidInput

_CLUSTERS = cast(Table, VulnCluster.__table__)
_FINDINGS = cast(Table, Finding.__table__)
_MERGES = cast(Table, ClusterMerge.__table__)
_ALIASES = cast(Table, ClusterAlias.__table__)

__all__ = [
    "BATCH",
    "FindingsImportResult",
    "Progress",
    "finding_counts",
    "import_findings",
    "import_parsed",
]

Progress = Callable[[int, str], None]
"""``progress(percent, message)``: called once per batch, percent 0-100 from bytes read / file size."""

BATCH = 2000
"""Findings decided and written together (also the size of the IN-lists of one batch)."""

_NO_ALIASES: list[str] = []
"""The aliases of a new cluster that has none (one list for all of them; never changed)."""

_RUN_RE = re.compile(r"^\$\.runs\[(\d+)\]")


@dataclass(frozen=True)
class FindingsImportResult:
    """What one import did (``warnings`` as ``"<json path>: <message>"`` strings).

    ``merged_by_layer`` counts the findings that joined an existing cluster, by dedup layer (2, 3).
    """

    batch_id: uuid.UUID
    format: str
    received: int
    new: int
    duplicates: int
    rejected: int
    clusters_created: int
    clusters_joined: int
    warnings: list[str] = field(default_factory=list)
    merged_by_layer: dict[int, int] = field(default_factory=dict)
    identical: bool = False
    """The file is byte for byte an earlier import: recognised by its SHA-256, not read again."""


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


def _invalid(path: Path | str, exc: IntakeError) -> InvalidInput:
    name = Path(path).name
    return InvalidInput(f"{name}: {exc.pointer}: {exc.reason}", errors=[FieldError(exc.pointer, exc.reason)])


def _batches(items: Iterable[NormalizedFinding], size: int) -> Iterator[list[NormalizedFinding]]:
    chunk: list[NormalizedFinding] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@contextmanager
def _young_gc_only() -> Iterator[None]:
    """Pause automatic garbage collection; the import calls :func:`gc.collect` (young generations)
    between batches. A full collection every few thousand allocations costs an import of millions
    of small objects a fifth of its time; memory stays flat because each batch's garbage is freed
    by reference counting, and cycles by the per-batch collection."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _bound(values: list[Any], proc: Callable[[Any], Any]) -> list[Any]:
    """``[proc(v) for v in values]``, memoized when the values repeat (a constant organisation,
    batch or timestamp, a rule's CWE tuple, one list object shared by many rows): judged on the
    first 256 values; unique ones such as primary keys go straight through. Unhashable values
    (lists, dicts) are memoized by identity, which holds while ``values`` keeps them alive."""
    sample = values[:256]
    by_id = False
    try:
        repeats = len(set(sample)) <= len(sample) // 2
    except TypeError:
        by_id = True
        repeats = len({id(v) for v in sample}) <= len(sample) // 2
    if not repeats:
        return [proc(v) for v in values]
    memo: dict[Any, Any] = {}
    out: list[Any] = []
    append = out.append
    for v in values:
        key = id(v) if by_id else v
        try:
            append(memo[key])
        except KeyError:
            memo[key] = p = proc(v)
            append(p)
        except TypeError:
            append(proc(v))
    return out


def _uuid_text(value: uuid.UUID | None) -> str | None:
    """A UUID as PostgreSQL reads it in ``COPY`` text (32 hex digits)."""
    return None if value is None else value.hex


SQLITE_IMPORT_CACHE_KIB = 65536
"""SQLite page cache of the importing connection, for the import only (default 2 MB): the index
pages a batch touches stay in memory instead of going through the WAL again and again."""


@contextmanager
def _import_cache(session: Session) -> Iterator[None]:
    """On SQLite, a larger page cache for this connection while the import runs, then the old size."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        yield
        return
    old = conn.exec_driver_sql("PRAGMA cache_size").scalar_one()
    conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_IMPORT_CACHE_KIB}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={int(old)}")


@dataclass(frozen=True, slots=True)
class _Rows:
    """Rows for one table, bound for the driver (:func:`_bind_rows`): column names and one tuple of
    driver values per row; ``dicts`` holds the rows as given where neither fast path applies."""

    table: Table
    names: tuple[str, ...] = ()
    tuples: list[tuple[Any, ...]] = field(default_factory=list)
    dicts: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.tuples) or len(self.dicts)


def _bind_rows(dialect: Any, table: Table, rows: list[dict[str, Any]]) -> _Rows:
    """``rows`` (same keys in each) with each value through its column type's bind processor (the
    dialect's own, column by column, see :func:`_bound`), ready for :func:`_insert_many`. Needs no
    connection: the overlapped import binds a batch while the database thread writes the last."""
    if not rows:
        return _Rows(table)
    if not (dialect.name == "sqlite" or (dialect.name == "postgresql" and dialect.driver == "psycopg")):
        return _Rows(table, dicts=rows)
    keys = list(rows[0])
    # the processors SQLAlchemy itself applies (the dialect's implementation of each type); for
    # COPY, JSON values go as their text (psycopg would otherwise serialize every row again)
    procs: list[Callable[[Any], Any] | None] = [table.c[k].type._cached_bind_processor(dialect) for k in keys]
    if dialect.name == "postgresql":
        to_json = getattr(dialect, "_json_serializer", None) or json.dumps
        procs = [
            to_json
            if isinstance(table.c[k].type, JSON)
            else _uuid_text
            if isinstance(table.c[k].type, Uuid)
            else p
            for k, p in zip(keys, procs, strict=True)
        ]
    columns = []
    for k, proc in zip(keys, procs, strict=True):
        values = [row[k] for row in rows]
        columns.append(values if proc is None else _bound(values, proc))
    return _Rows(table, tuple(keys), list(zip(*columns, strict=True)))


def _insert_many(session: Session, rows: _Rows) -> None:
    """Bulk INSERT of bound rows. On SQLite the driver's ``executemany`` with plain tuples; on
    PostgreSQL ``COPY ... FROM STDIN`` (psycopg), which the server loads without parsing and
    planning one statement per row; elsewhere Core ``insert``."""
    if not rows:
        return
    if rows.dicts:
        session.execute(insert(rows.table), rows.dicts)
        return
    conn = session.connection()
    names = ", ".join(rows.names)
    if conn.dialect.name == "sqlite":
        sql = f"INSERT INTO {rows.table.name} ({names}) VALUES ({', '.join('?' for _ in rows.names)})"
        conn.exec_driver_sql(sql, rows.tuples)
        return
    driver: Any = conn.connection.driver_connection
    with driver.cursor() as cur, cur.copy(f"COPY {rows.table.name} ({names}) FROM STDIN") as copy:
        for row in rows.tuples:
            copy.write_row(row)


def _among(session: Session, column: Any, values: Iterable[Any]) -> Any:
    """``column IN (values)``; on PostgreSQL ``column = ANY(:array)``, one parameter instead of an
    IN-list of a batch's thousands (which the driver would otherwise rewrite on every query)."""
    values = list(values)
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=postgresql.ARRAY(column.type)))
    return column.in_(values)


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


def _credit_columns(finders: list[dict[str, str]]) -> dict[str, Any]:
    if len(finders) == 1:  # the common case: a new cluster of one finding
        only = finders[0]
        return {
            "finders": [only],
            "first_finder_org_id": uuid.UUID(only["org_id"]),
            "first_found_at": dt.datetime.fromisoformat(only["found_at"]),
        }
    ordered, first = _recredit(finders)
    return {
        "finders": ordered,
        "first_finder_org_id": uuid.UUID(first["org_id"]) if first else None,
        "first_found_at": dt.datetime.fromisoformat(first["found_at"]) if first else None,
    }


@lru_cache(maxsize=4096)
def _target(
    purl: str | None, repo: str | None, commit: str | None, fallback: str | None
) -> tuple[str | None, str | None]:
    """``(layer-3 target key, label for reasons)``; cached: a file names few targets."""
    target = dedup.target_key(purl, repo, commit, fallback)
    if purl:
        return target, purl
    if repo:
        short = (commit or "")[:12]
        return target, dedup.normalize_repo(repo) + (f"@{short}" if short else "")
    return target, None


@lru_cache(maxsize=65536)
def _locus(target: str, path: str) -> str:
    return dedup.locus(target, path)


@lru_cache(maxsize=65536)
def _family(tool: str | None, rule_id: str | None) -> str | None:
    return dedup.rule_family(tool, rule_id)


@dataclass(slots=True)
class _Site:
    """Layer-3 facts of one incoming finding (``None`` fields when layer 3 does not apply)."""

    locus: str | None = None
    label: str = ""
    site: dedup.Site | None = None


@dataclass(slots=True)
class _Fetched:
    """What the database said about one batch: the fingerprints it already holds, and for the rest
    (``fresh``, first of each fingerprint) the layer-3 facts and the stored aliases, sites and
    clusters that the dedup decisions need."""

    batch: list[NormalizedFinding]
    known: set[str]
    fresh: list[NormalizedFinding] = field(default_factory=list)
    sites: list[_Site] = field(default_factory=list)
    alias_rows: list[tuple[str, uuid.UUID]] = field(default_factory=list)
    site_rows: list[Any] = field(default_factory=list)
    live: dict[uuid.UUID, tuple[uuid.UUID, dt.datetime]] = field(default_factory=dict)


@dataclass(slots=True)
class _Written:
    """What one batch's write adds to the database, as the dedup state sees it.

    When the import overlaps reads and writes (PostgreSQL), the next batch is read before this
    batch is written; deciding it with this overlay gives the decisions the sequential order gives.
    Clusters are final (after the batch's own merges)."""

    fingerprints: set[str] = field(default_factory=set)
    aliases: dict[str, uuid.UUID] = field(default_factory=dict)
    sites: list[tuple[dt.datetime, dedup.Site, uuid.UUID]] = field(default_factory=list)
    """``(found_at, site, cluster)`` of each new code finding, in decision order (``cluster`` as
    decided: map it through ``merged_away``)."""
    merged_away: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)
    created: dict[Hashable, dt.datetime] = field(default_factory=dict)
    """When each cluster named above was created (its age rank when clusters merge)."""


@dataclass(slots=True)
class _Plan:
    """The rows one batch writes (see :meth:`_Importer.write`)."""

    new_clusters: dict[uuid.UUID, dict[str, Any]]
    extra_aliases: dict[uuid.UUID, list[str]]
    extra_finders: dict[uuid.UUID, list[dict[str, str]]]
    alias_rows_new: dict[str, uuid.UUID]
    merged_away: dict[uuid.UUID, uuid.UUID]
    bound: list[_Rows]
    """New clusters, findings, merge rows and aliases, bound, in that order (the order they go in)."""


class _Importer:
    """Decides and writes one import, batch by batch (state beyond a batch lives in the database).

    Each batch goes through :meth:`fetch` (database reads), :meth:`decide` (dedup, in Python, no
    database) and :meth:`write`. In order, each batch is fetched after the previous one is written.
    Overlapped (:func:`_run_overlapped`), batch N+1 is fetched before batch N is written, so the
    database server inserts batch N while this process decides batch N+1; :meth:`decide` then
    adds what batch N wrote (:class:`_Written`) to what the fetch read."""

    def __init__(
        self,
        session: Session,
        principal: Principal,
        org: Organization,
        batch_id: uuid.UUID,
        filename: str,
        model_id: str | None,
        now: dt.datetime,
    ) -> None:
        self.session = session
        self.principal = principal
        self.org = org
        self.batch_id = batch_id
        self.filename = filename
        self.model_id = model_id
        self.now = now
        self.new = self.duplicates = self.created = self.joined = 0
        self.by_layer: dict[int, int] = {2: 0, 3: 0}
        self.finders: dict[dt.datetime, dict[str, str]] = {}
        self.alone: dict[int, list[dict[str, str]]] = {}
        """``[finder]`` lists by ``id(finder)`` (the finders above, which live as long as the import)."""
        self.overlay = False
        """Set when each batch is fetched before the previous one is written: :meth:`decide` then
        returns what its batch writes (:class:`_Written`), for the next batch."""
        self.dialect = session.get_bind().dialect

    # --- layer-3 facts ---------------------------------------------------------------------------

    def _site(self, f: NormalizedFinding) -> _Site:
        if not f.path or f.start_line is None:
            return _Site()
        fallback = label = None
        if f.source_format == "sarif":
            run = _RUN_RE.match(f.source_pointer)
            if run:
                fallback = f"run:{self.batch_id}:{run.group(1)}"
                label = f"(run {run.group(1)} of {self.filename}, no target named)"
        target, tlabel = _target(f.target_purl, f.target_repo, f.target_commit, fallback)
        if target is None:
            return _Site()
        loc = _locus(target, f.path)
        end = f.end_line if f.end_line is not None and f.end_line >= f.start_line else f.start_line
        site = dedup.Site(
            loc,
            f.start_line,
            end,
            frozenset(f.cwe_ids),
            _family(f.tool_name, f.rule_id),
            f.tool_name,
            f.rule_id,
        )
        return _Site(loc, tlabel or label or target, site)

    # --- reads (one query per kind per batch) ----------------------------------------------------

    def _known_fingerprints(self, fps: list[str]) -> set[str]:
        if not fps:
            return set()
        return set(
            self.session.execute(
                select(Finding.fingerprint).where(_among(self.session, Finding.fingerprint, fps))
            ).scalars()
        )

    def _live(self, ids: set[uuid.UUID]) -> dict[uuid.UUID, tuple[uuid.UUID, dt.datetime]]:
        """``id -> (live cluster id, its created_at)``, following ``merged_into_id`` chains."""
        out: dict[uuid.UUID, tuple[uuid.UUID, dt.datetime]] = {}
        info: dict[uuid.UUID, tuple[uuid.UUID | None, dt.datetime]] = {}
        todo = set(ids)
        for _ in range(8):
            todo -= info.keys()
            if not todo:
                break
            for cid, into, created in self.session.execute(
                select(VulnCluster.id, VulnCluster.merged_into_id, VulnCluster.created_at).where(
                    _among(self.session, VulnCluster.id, todo)
                )
            ).all():
                info[cid] = (into, created)
            todo = {into for into, _ in info.values() if into is not None}
        for cid in ids:
            cur = cid
            for _ in range(8):
                into = info.get(cur, (None, self.now))[0]
                if into is None or into not in info:
                    break
                cur = into
            out[cid] = (cur, info.get(cur, (None, self.now))[1])
        return out

    def fetch(self, batch: list[NormalizedFinding]) -> _Fetched:
        """Read what the database knows about ``batch``; a batch whose fingerprints are all known
        (a re-import) stops after the first query."""
        known = self._known_fingerprints(list({f.fingerprint for f in batch}))
        seen: set[str] = set()
        fresh: list[NormalizedFinding] = []
        for f in batch:
            if f.fingerprint not in known and f.fingerprint not in seen:
                seen.add(f.fingerprint)
                fresh.append(f)
        out = _Fetched(batch, known)
        if not fresh:
            return out
        out.fresh = fresh
        out.sites = sites = [self._site(f) for f in fresh]
        aliases = sorted({a for f in fresh for a in dedup.vuln_aliases(f.aliases)})
        if aliases:
            out.alias_rows = [
                (a, c)
                for a, c in self.session.execute(
                    select(ClusterAlias.alias, ClusterAlias.cluster_id).where(
                        _among(self.session, ClusterAlias.alias, aliases)
                    )
                ).all()
            ]
        loci = sorted({s.locus for s in sites if s.locus is not None})
        if loci:
            out.site_rows = list(
                self.session.execute(
                    select(
                        Finding.dedup_locus,
                        Finding.cluster_id,
                        Finding.start_line,
                        Finding.end_line,
                        Finding.cwe_ids,
                        Finding.rule_id,
                        Finding.tool_name,
                        Finding.found_at,
                        Finding.created_at,
                    )
                    .where(_among(self.session, Finding.dedup_locus, loci))
                    .order_by(Finding.found_at, Finding.created_at)
                ).all()
            )
        out.live = self._live({c for _, c in out.alias_rows} | {r.cluster_id for r in out.site_rows})
        return out

    def _state(
        self, fetched: _Fetched, prior: _Written | None
    ) -> tuple[dedup.DedupState, dict[Hashable, dt.datetime]]:
        """The dedup state of one batch: what the fetch read, plus ``prior`` (the previous batch's
        write, when the fetch ran before it); also each cluster's creation time."""
        state = dedup.DedupState()
        remap = prior.merged_away if prior is not None else {}
        created: dict[Hashable, dt.datetime] = dict(prior.created) if prior is not None else {}
        live: dict[uuid.UUID, uuid.UUID] = {}
        for cid, (cur, at) in fetched.live.items():
            keep = remap.get(cur, cur)
            live[cid] = keep
            if keep == cur:
                created.setdefault(cur, at)
        for a, c in fetched.alias_rows:
            state.alias_cluster[a] = live[c]
        sited: list[tuple[dt.datetime, dt.datetime, dedup.Site]] = []
        for r in fetched.site_rows:
            if r.start_line is None:
                continue
            end = r.end_line if r.end_line is not None and r.end_line >= r.start_line else r.start_line
            site = dedup.Site(
                r.dedup_locus,
                r.start_line,
                end,
                frozenset(r.cwe_ids or ()),
                _family(r.tool_name, r.rule_id),
                r.tool_name,
                r.rule_id,
                live[r.cluster_id],
            )
            sited.append((r.found_at, r.created_at, site))
        if prior is not None:
            for a, c in prior.aliases.items():
                state.alias_cluster[a] = c
            loci = {s.locus for s in fetched.sites}
            mine = [
                (at, self.now, dataclasses.replace(site, cluster=remap.get(c, c)))
                for at, site, c in prior.sites
                if site.locus in loci
            ]
            if mine:
                # where the query (ordered by found_at, created_at) would have put them
                sited.extend(mine)
                sited.sort(key=lambda item: (item[0], item[1]))
        for _, _, site in sited:
            state.sites.setdefault(site.locus, []).append(site)
        clusters = {
            c: created.get(c, self.now) for c in set(live.values()) | set(state.alias_cluster.values())
        }
        for _, _, site in sited:
            clusters.setdefault(site.cluster, created.get(site.cluster, self.now))
        for rank, key in enumerate(sorted(clusters, key=lambda k: (clusters[k], str(k)))):
            state.cluster_rank[key] = rank
        return state, clusters

    # --- decisions (no database) -----------------------------------------------------------------

    def decide(self, fetched: _Fetched, prior: _Written | None) -> tuple[_Plan | None, _Written]:
        """Decide one batch: what to write, and what that write adds (for the next batch)."""
        fresh: list[NormalizedFinding] = []
        sites: list[_Site] = []
        if prior is None or not prior.fingerprints:
            fresh, sites = fetched.fresh, fetched.sites
        else:
            for f, s in zip(fetched.fresh, fetched.sites, strict=True):
                if f.fingerprint not in prior.fingerprints:
                    fresh.append(f)
                    sites.append(s)
        self.duplicates += len(fetched.batch) - len(fresh)
        if not fresh:
            return None, _Written()
        state, ages = self._state(fetched, prior)
        org, now = self.org, self.now
        org_id, user_id, batch_id = org.id, self.principal.user_id, self.batch_id

        new_clusters: dict[uuid.UUID, dict[str, Any]] = {}
        extra_aliases: dict[uuid.UUID, list[str]] = {}
        extra_finders: dict[uuid.UUID, list[dict[str, str]]] = {}
        alias_rows_new: dict[str, uuid.UUID] = {}
        merged_away: dict[uuid.UUID, uuid.UUID] = {}
        finding_rows: list[dict[str, Any]] = []
        merge_rows: list[dict[str, Any]] = []
        new_sites: list[tuple[dt.datetime, dedup.Site, uuid.UUID]] = []

        for f, s in zip(fresh, sites, strict=True):
            decision = dedup.decide(
                state, f.fingerprint, f.aliases, s.site, target_label=s.label, path=f.path or ""
            )
            found_at = f.published or now
            fid = new_id()
            vids = dedup.vuln_aliases(f.aliases)
            if decision.kind == "new":
                cid: uuid.UUID = new_id()
                new_clusters[cid] = {
                    "id": cid,
                    "owner_org_id": org_id,
                    "tlp": "AMBER",
                    "created_by": user_id,
                    "created_at": now,
                    "title": (f.title or f.rule_id or (vids[0] if vids else "") or "")[:2000],
                    "status": "new",
                    "merged_into_id": None,
                    "_found_at": found_at,
                }
                self.created += 1
            else:
                assert isinstance(decision.cluster, uuid.UUID)
                cid = decision.cluster
                self.joined += 1
                self.by_layer[decision.layer] = self.by_layer.get(decision.layer, 0) + 1
                merge_rows.append(
                    {
                        "id": new_id(),
                        "cluster_id": cid,
                        "finding_id": fid,
                        "merged_cluster_id": None,
                        "layer": decision.layer,
                        "score": decision.score,
                        "reason": decision.reason,
                        "created_at": now,
                    }
                )
                for other, alias in decision.merge:
                    assert isinstance(other, uuid.UUID)
                    merged_away[other] = cid
                    for k, v in list(merged_away.items()):
                        if v == other:
                            merged_away[k] = cid
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
                    extra_aliases.setdefault(cid, []).extend(extra_aliases.pop(other, []))
                    extra_finders.setdefault(cid, []).extend(extra_finders.pop(other, []))
                    for a, owner in list(alias_rows_new.items()):
                        if owner == other:
                            alias_rows_new[a] = cid
            mine = extra_aliases.setdefault(cid, [])
            for a in vids:
                if a not in mine:
                    mine.append(a)
                if state.alias_cluster.get(a) is None:
                    alias_rows_new[a] = cid
            finder = self.finders.get(found_at)
            if finder is None:  # one per date (a file has few), never mutated once built
                finder = self.finders[found_at] = _finder(org_id, org.name, found_at)
            extra_finders.setdefault(cid, []).append(finder)
            dedup.apply(state, decision, f.fingerprint, f.aliases, cid, s.site)
            if s.site is not None:
                new_sites.append((found_at, s.site, cid))
            finding_rows.append(
                {
                    "id": fid,
                    "owner_org_id": org_id,
                    "tlp": "AMBER",
                    "created_by": user_id,
                    "created_at": now,
                    "fingerprint": f.fingerprint,
                    "batch_id": batch_id,
                    "cluster_id": cid,
                    "source_format": f.source_format,
                    "source_pointer": f.source_pointer,
                    "tool_name": (f.tool_name or "")[:200] or None,
                    "tool_version": (f.tool_version or "")[:100] or None,
                    "model_id": (f.model_id or self.model_id or "")[:200] or None,
                    "model_version": (f.model_version or "")[:100] or None,
                    "rule_id": f.rule_id,
                    "cwe_ids": f.cwe_ids,  # a tuple: stored as a JSON array, memoized when bound
                    "severity": str(f.severity),
                    "title": f.title,
                    "message": f.message,
                    "target_purl": f.target_purl,
                    "target_repo": f.target_repo,
                    "target_commit": (f.target_commit or "")[:64] or None,
                    "path": f.path,
                    "start_line": f.start_line,
                    "end_line": f.end_line,
                    "aliases": f.aliases,
                    "status": (f.status or "")[:32] or None,
                    "found_at": found_at,
                    "dedup_locus": s.locus,
                }
            )
            self.new += 1

        self._credit_new(new_clusters, extra_aliases, extra_finders)
        dialect = self.dialect
        bound = [
            _bind_rows(dialect, _CLUSTERS, list(new_clusters.values())),
            _bind_rows(dialect, _FINDINGS, finding_rows),
            _bind_rows(dialect, _MERGES, merge_rows),
            _bind_rows(dialect, _ALIASES, [{"alias": a, "cluster_id": c} for a, c in alias_rows_new.items()]),
        ]
        plan = _Plan(new_clusters, extra_aliases, extra_finders, alias_rows_new, merged_away, bound)
        return plan, (self._written(fresh, plan, new_sites, ages) if self.overlay else _Written())

    def _written(
        self,
        fresh: list[NormalizedFinding],
        plan: _Plan,
        new_sites: list[tuple[dt.datetime, dedup.Site, uuid.UUID]],
        ages: dict[Hashable, dt.datetime],
    ) -> _Written:
        """What ``plan`` adds to the database, clusters final (after the batch's own merges)."""
        away = plan.merged_away
        out = _Written(fingerprints={f.fingerprint for f in fresh}, merged_away=dict(away))
        out.aliases = {a: away.get(c, c) for a, c in plan.alias_rows_new.items()}
        out.sites = new_sites
        named = set(out.aliases.values()) | set(away.values()) | {away.get(c, c) for _, _, c in new_sites}
        out.created = {c: self.now if c in plan.new_clusters else ages.get(c, self.now) for c in named}
        return out

    def _credit_new(
        self,
        new_clusters: dict[uuid.UUID, dict[str, Any]],
        extra_aliases: dict[uuid.UUID, list[str]],
        extra_finders: dict[uuid.UUID, list[dict[str, str]]],
    ) -> None:
        """Aliases and credit columns of the batch's new clusters."""
        for cid, row in new_clusters.items():
            row["aliases"] = extra_aliases.get(cid) or _NO_ALIASES
            finders = extra_finders.get(cid, [])
            if len(finders) == 1:  # one finding, one finder: this organisation at its date
                # one list per finder date, shared by its clusters (bound once, see _bound)
                alone = self.alone.get(id(finders[0]))
                if alone is None:
                    alone = self.alone[id(finders[0])] = [finders[0]]
                row["finders"] = alone
                row["first_finder_org_id"] = self.org.id
                row["first_found_at"] = row.pop("_found_at")
            else:
                row.pop("_found_at", None)
                row.update(_credit_columns(finders))

    # --- writes --------------------------------------------------------------------------------

    def write(self, plan: _Plan) -> None:
        """Write one decided batch: new clusters, findings, merge rows and aliases; then the
        aliases and credit of the existing clusters the batch joined or merged away."""
        new_clusters, extra_aliases, extra_finders = plan.new_clusters, plan.extra_aliases, plan.extra_finders
        merged_away = plan.merged_away
        session = self.session
        # Clusters first (findings and merges reference them), then findings, merges and aliases.
        for rows in plan.bound:
            _insert_many(session, rows)
        # Existing clusters this batch joined or merged away: aliases and credit recomputed.
        existing: set[uuid.UUID] = {c for c in extra_finders if c not in new_clusters}
        existing |= {c for c in merged_away if c not in new_clusters}
        current: dict[uuid.UUID, tuple[list[str], list[dict[str, str]]]] = {}
        if existing:
            for cid, aliases, finders in session.execute(
                select(VulnCluster.id, VulnCluster.aliases, VulnCluster.finders).where(
                    _among(session, VulnCluster.id, existing)
                )
            ).all():
                current[cid] = (list(aliases or []), list(finders or []))
        for old in merged_away:
            # the merged-away cluster's own aliases and finders move to the kept one
            keep = merged_away[old]
            aliases, finders = current.get(old, ([], []))
            extra_aliases.setdefault(keep, [])[:0] = aliases
            extra_finders.setdefault(keep, [])[:0] = finders
        updates: list[dict[str, Any]] = []
        for cid in sorted(existing | set(merged_away), key=str):
            if cid in merged_away:
                updates.append({"id": cid, "status": "merged", "merged_into_id": merged_away[cid]})
                continue
            aliases, finders = current.get(cid, ([], []))
            for a in extra_aliases.get(cid, []):
                if a not in aliases:
                    aliases.append(a)
            updates.append({"id": cid, "aliases": aliases, **_credit_columns(finders + extra_finders[cid])})
        for cid in new_clusters:
            if cid in merged_away:
                continue
            if any(merged_away.get(o) == cid for o in merged_away):
                row = new_clusters[cid]
                aliases = list(row["aliases"])
                for a in extra_aliases.get(cid, []):
                    if a not in aliases:
                        aliases.append(a)
                updates.append({"id": cid, "aliases": aliases, **_credit_columns(extra_finders.get(cid, []))})
        # executemany UPDATE needs the same keys in every row: group by key set
        by_keys: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in updates:
            by_keys.setdefault(tuple(sorted(row)), []).append(row)
        for group in by_keys.values():
            session.execute(update(VulnCluster), group)
        for old, keep in merged_away.items():
            session.execute(update(Finding).where(Finding.cluster_id == old).values(cluster_id=keep))
            session.execute(
                update(ClusterAlias).where(ClusterAlias.cluster_id == old).values(cluster_id=keep)
            )


def _overlaps(session: Session) -> bool:
    """Overlap reads, decisions and writes when the database works in another process (PostgreSQL)
    and there is a second core. SQLite runs in this process: its inserts would compete with the
    decisions for the interpreter instead of running beside them."""
    return session.get_bind().dialect.name == "postgresql" and (os.cpu_count() or 1) >= 2


def _run_in_order(
    importer: _Importer, batches: Iterable[list[NormalizedFinding]], after_batch: Callable[[], None]
) -> None:
    """Fetch, decide and write each batch in turn."""
    for chunk in batches:
        plan, _ = importer.decide(importer.fetch(chunk), None)
        if plan is not None:
            importer.write(plan)
        after_batch()


class _DatabaseThread:
    """One thread that runs the import's database work in the order it is submitted (one session,
    one connection, one transaction). After a failure, every later task raises the first error."""

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="frontiersec-import-db")
        self.error: BaseException | None = None

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        def task() -> Any:
            if self.error is not None:
                raise self.error
            try:
                return fn(*args)
            except BaseException as exc:
                self.error = exc
                raise

        return self.pool.submit(task)

    def close(self) -> None:
        """Wait for the running task; drop the queued ones."""
        self.pool.shutdown(wait=True, cancel_futures=True)


def _run_overlapped(
    importer: _Importer, batches: Iterable[list[NormalizedFinding]], after_batch: Callable[[], None]
) -> None:
    """Fetch batch N+1 before writing batch N, on a database thread, and decide batch N+1 here
    while the database inserts batch N. The thread's queue is F(N+1), W(N), F(N+2), W(N+1)...: each
    fetch sees every write but the one just before it, which :meth:`_Importer.decide` adds back
    (:class:`_Written`), so the decisions are those of :func:`_run_in_order`."""
    it = iter(batches)
    chunk = next(it, None)
    if chunk is None:
        return
    importer.overlay = True
    db = _DatabaseThread()
    try:
        fetching: Future[_Fetched] | None = db.submit(importer.fetch, chunk)
        prior: _Written | None = None
        writes: list[Future[Any]] = []
        while fetching is not None:
            upcoming = next(it, None)
            following = db.submit(importer.fetch, upcoming) if upcoming is not None else None
            plan, prior = importer.decide(fetching.result(), prior)
            if plan is not None:
                writes.append(db.submit(importer.write, plan))
            while writes and writes[0].done():
                writes.pop(0).result()
            after_batch()
            fetching = following
        for w in writes:
            w.result()
    finally:
        db.close()


def import_parsed(
    session: Session,
    principal: Principal,
    parsed: ParseResult | BackgroundParse,
    *,
    org: Organization,
    filename: str,
    sha256: str,
    model_id: str | None = None,
    batch_size: int = BATCH,
    progress: Progress | None = None,
    overlap: bool | None = None,
) -> FindingsImportResult:
    """Import the findings of an opened file (:func:`parse_file`), consuming them in batches.

    Layer 1: a fingerprint already stored (or seen earlier in the file) is a duplicate, counted and
    not inserted. Layer 2: a finding sharing a vulnerability id with a cluster joins it (merge row,
    layer 2, reason "shared alias ..."); a finding linking several clusters merges them into the
    oldest. Layer 3 (:mod:`frontiersec.clearinghouse.dedup`): a code finding at the same target and
    path as a known one, with a shared CWE or rule family and overlapping lines, joins its cluster
    (merge row, layer 3, score and reason). The first finder of a cluster is the organisation with
    the earliest finding date; the others are co-finders with their dates.

    The parser is read lazily, :data:`BATCH` findings at a time; an unusable element part-way
    raises :class:`InvalidInput` naming the JSON path, after which the caller's rollback removes
    what earlier batches wrote. ``progress(percent, message)`` is called after each batch, the
    percentage being the share of the file read so far (never decreasing, 100 at the end).

    ``overlap``: read batch N+1 and write batch N on a database thread while this one decides
    (:func:`_run_overlapped`; same decisions); ``None`` (the default) does so on PostgreSQL.
    """
    now = utcnow()
    batch = ImportBatch(
        id=new_id(),
        owner_org_id=org.id,
        tlp="AMBER",
        created_by=principal.user_id,
        filename=filename[:500],
        sha256=sha256,
        format=str(parsed.format),
        model_id=model_id,
    )
    session.add(batch)
    session.flush()
    importer = _Importer(session, principal, org, batch.id, filename, model_id, now)
    shown = 0

    def after_batch() -> None:
        nonlocal shown
        gc.collect(1)
        if progress is not None:
            shown = max(shown, min(99, int(parsed.fraction * 100)))
            progress(
                shown, f"{parsed.received:,} read, {importer.new:,} new, {importer.duplicates:,} duplicates"
            )

    if overlap is None:
        overlap = _overlaps(session)
    try:
        with _young_gc_only(), _import_cache(session):
            run = _run_overlapped if overlap else _run_in_order
            run(importer, _batches(parsed, batch_size), after_batch)
    except IntakeError as exc:
        raise _invalid(filename, exc) from exc
    if progress is not None:
        progress(100, f"{parsed.received:,} read, {importer.new:,} new, {importer.duplicates:,} duplicates")

    warnings = [f"{w.pointer}: {w.message}" for w in parsed.warnings]
    batch.received = parsed.received
    batch.new = importer.new
    batch.duplicates = importer.duplicates
    batch.rejected = parsed.rejected
    batch.warnings = [{"pointer": w.pointer, "message": w.message} for w in parsed.warnings]
    session.flush()
    result = FindingsImportResult(
        batch.id,
        batch.format,
        parsed.received,
        importer.new,
        importer.duplicates,
        parsed.rejected,
        importer.created,
        importer.joined,
        warnings,
        dict(importer.by_layer),
    )
    _audit_import(
        session,
        principal,
        batch,
        org,
        merged_layer2=importer.by_layer.get(2, 0),
        merged_layer3=importer.by_layer.get(3, 0),
    )
    return result


def _audit_import(
    session: Session, principal: Principal, batch: ImportBatch, org: Organization, **extra: Any
) -> None:
    """The audit record of one import: file, digest, finder, format and counts (plus ``extra``)."""
    record(
        session,
        principal,
        "findings.import",
        object_type="import_batch",
        object_id=batch.id,
        tlp="AMBER",
        details={
            "file": batch.filename,
            "sha256": batch.sha256,
            "org": org.slug,
            "format": batch.format,
            "received": batch.received,
            "new": batch.new,
            "duplicates": batch.duplicates,
            "rejected": batch.rejected,
            **extra,
        },
    )


def _use_background(path: Path, background: bool | None) -> bool:
    if background is not None:
        return background
    if (os.cpu_count() or 1) < 2 or path.is_dir():
        return False
    try:
        return path.stat().st_size >= BACKGROUND_MIN_BYTES
    except OSError:
        return False


def import_findings(
    session: Session,
    principal: Principal,
    path: Path,
    *,
    org: Organization,
    fmt: str = "auto",
    model_id: str | None = None,
    schemas_dir: Path | None = None,
    progress: Progress | None = None,
    reuse_identical: bool = True,
    background: bool | None = None,
    overlap: bool | None = None,
) -> FindingsImportResult:
    """Import one scanner-output file as findings of ``org``, deduplicated into clusters.

    Streams the file (see :func:`import_parsed` for the dedup layers, credit and ``progress``). An
    unusable file raises :class:`InvalidInput` naming the JSON path; the caller's transaction keeps
    the import all-or-nothing. ``reuse_identical`` (the default): a file byte for byte identical to
    an earlier import in the same format is not parsed again (see the module docstring); pass
    ``False`` to read it finding by finding. ``background``: parse in a second process
    (:mod:`.intake.background`) while this one deduplicates and writes; ``None`` (the default)
    does so for files of at least ``BACKGROUND_MIN_BYTES`` on a machine with two or more cores.
    ``overlap``: see :func:`import_parsed`.
    """
    options = ParseOptions(model_id=model_id)
    try:
        if _use_background(path, background):
            parsed: ParseResult | BackgroundParse = parse_in_background(
                path, fmt, options, schemas_dir=schemas_dir
            )
        else:
            parsed = parse_file(path, fmt, options, schemas_dir=schemas_dir)
    except IntakeError as exc:
        raise _invalid(path, exc) from exc
    digest = _sha256(path)
    if reuse_identical:
        earlier = session.execute(
            select(ImportBatch)
            .where(ImportBatch.sha256 == digest, ImportBatch.format == str(parsed.format))
            .order_by(ImportBatch.created_at)
            .limit(1)
        ).scalar_one_or_none()
        if earlier is not None:
            return _identical(
                session, principal, earlier, org=org, filename=path.name, model_id=model_id, progress=progress
            )
    return import_parsed(
        session,
        principal,
        parsed,
        org=org,
        filename=path.name,
        sha256=digest,
        model_id=model_id,
        progress=progress,
        overlap=overlap,
    )


def _identical(
    session: Session,
    principal: Principal,
    earlier: ImportBatch,
    *,
    org: Organization,
    filename: str,
    model_id: str | None,
    progress: Progress | None,
) -> FindingsImportResult:
    """Record a re-import of the same bytes: every finding a duplicate (findings are never deleted,
    so each fingerprint the earlier import met is still stored), same warnings, nothing else."""
    findings = earlier.new + earlier.duplicates
    batch = ImportBatch(
        id=new_id(),
        owner_org_id=org.id,
        tlp="AMBER",
        created_by=principal.user_id,
        filename=filename[:500],
        sha256=earlier.sha256,
        format=earlier.format,
        model_id=model_id,
        received=earlier.received,
        new=0,
        duplicates=findings,
        rejected=earlier.rejected,
        warnings=list(earlier.warnings or []),
    )
    session.add(batch)
    session.flush()
    warnings = [f"{w['pointer']}: {w['message']}" for w in earlier.warnings or []]
    _audit_import(session, principal, batch, org, identical_to=str(earlier.id))
    if progress is not None:
        progress(100, f"identical to an earlier import: {findings:,} duplicates")
    return FindingsImportResult(
        batch.id,
        earlier.format,
        earlier.received,
        0,
        findings,
        earlier.rejected,
        0,
        0,
        warnings,
        {2: 0, 3: 0},
        identical=True,
    )


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
