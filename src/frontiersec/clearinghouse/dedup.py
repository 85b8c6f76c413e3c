"""Cross-finder deduplication decisions (pure: no database, no I/O).

Layers, applied in order to each incoming finding::

    finding ──► layer 1: identical fingerprint already known? ──yes──► Duplicate
                    │ no
                    ▼
                layer 2: shares a vulnerability id (CVE / GHSA / OSV ...) with known clusters?
                    ├─ one ───────► JoinCluster (reason "shared alias CVE-…")
                    ├─ several ───► JoinCluster into the oldest + merge the others into it
                    │ none
                    ▼
                layer 3: same target, same CWE or rule family, overlapping location?
                    ├─ yes ───────► JoinCluster (best score; reason "same target …, CWE-89, …")
                    └─ no ────────► NewCluster

:class:`DedupState` is the in-memory view the caller loads for one batch (known fingerprints,
alias → cluster, and the layer-3 candidates at the batch's loci); :func:`decide` reads it and
:func:`apply` updates it, so a whole batch is decided without a query per finding. Cluster keys
are opaque (the service uses UUIDs).

Layer 3, precisely (:func:`layer3`):

* **Target** (:func:`target_key`): the package URL when the finding has one, else the repository
  (scheme, credentials, ``.git`` and case of the host dropped) at its commit. A SARIF run that
  names neither is its own target (``run:<import>:<run index>``): every result of one tool run
  scanned the same code, but nothing says two target-less runs did, so those never merge across
  files.
* **Locus** (:func:`locus`): a hash of (target, normalized path); the blocking key that the
  service stores with each finding and looks candidates up by.
* **Same weakness**: the two findings share a CWE id (from rule tags, ``properties.cwe``,
  relationships or taxa); or, when at least one of them has no CWE, the same **rule family**
  (:func:`rule_family`): the last segment of the rule id (split on ``/ . :``), lower-cased with
  everything but letters and digits removed, so ``py/sql-injection`` and
  ``java.lang.security.sql-injection`` are both ``sqlinjection``; an opaque code such as
  ``B608``, ``FF1013`` or ``2072`` only means something to its own tool, so its family is
  qualified by the tool name. Two findings of the same tool and the same rule are never merged by
  layer 3: the tool itself said they are different (else layer 1 would have caught them).
* **Overlapping location**: same locus, and the line ranges overlap or are at most
  :data:`LINE_WINDOW` lines apart (tools disagree on which line of a statement to report).
* **Score** = weakness weight (1.0 shared CWE, 0.8 rule family only) * proximity (1.0 when the
  ranges overlap, else ``1 - gap / (2 * (LINE_WINDOW + 1))``). The best-scoring candidate wins
  (ties: the earliest known). Layer 3 joins a finding to one cluster; it never merges two
  clusters (only a shared alias, or a person, does that).

Credit (:func:`credit`): the first finder is the organisation with the earliest finding date; every
other organisation is a co-finder, listed once, at its own earliest date.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field

__all__ = [
    "LINE_WINDOW",
    "Decision",
    "DedupState",
    "Finder",
    "Layer3Match",
    "Site",
    "apply",
    "credit",
    "decide",
    "layer3",
    "locus",
    "normalize_alias",
    "normalize_repo",
    "rule_family",
    "target_key",
    "vuln_aliases",
]

LINE_WINDOW = 2
"""Layer 3: two line ranges at most this many lines apart count as the same location."""

ALIAS_PREFIXES = ("CVE-", "GHSA-", "PYSEC-", "RUSTSEC-", "GO-", "OSV-", "MAL-", "GSD-")


def normalize_alias(alias: str) -> str:
    """The comparable form of a vulnerability id: trimmed, upper-case prefix (GHSA body lower-case)."""
    text = alias.strip()
    if text.upper().startswith("GHSA-"):
        return "GHSA-" + text[5:].lower()
    return text.upper()


def vuln_aliases(aliases: Iterable[str]) -> tuple[str, ...]:
    """The aliases that are vulnerability ids (CVE, GHSA, OSV-style), normalized, in order, once each."""
    out: list[str] = []
    for a in aliases:
        n = normalize_alias(a)
        if n.upper().startswith(ALIAS_PREFIXES) and n not in out:
            out.append(n)
    return tuple(out)


# --- layer 3: target, locus, rule family, location ---------------------------------------------

_SCHEME_RE = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_SCP_RE = re.compile(r"^(?:[^@/]+@)?([^:/]+):(?!//)(.+)$")
_SEGMENT_RE = re.compile(r"[/.:]")
_NON_ALNUM_RE = re.compile(r"[^a-z0-9]+")
_OPAQUE_RE = re.compile(r"^[a-z]{0,4}\d+$")


def normalize_repo(repo: str) -> str:
    """``host/owner/name`` of a repository URL: scheme, credentials, ``.git``, trailing ``/`` and the
    host's case dropped (``git@github.com:o/r.git`` and ``https://GitHub.com/o/r`` are the same)."""
    text = repo.strip()
    if _SCHEME_RE.match(text):
        text = _SCHEME_RE.sub("", text)
        text = text.split("@", 1)[1] if "@" in text.split("/", 1)[0] else text
    else:
        scp = _SCP_RE.match(text)
        if scp:
            text = f"{scp.group(1)}/{scp.group(2)}"
    text = text.rstrip("/")
    if text.endswith(".git"):
        text = text[:-4]
    host, _, rest = text.partition("/")
    return f"{host.lower()}/{rest}" if rest else host.lower()


def target_key(
    purl: str | None, repo: str | None, commit: str | None, fallback: str | None = None
) -> str | None:
    """The layer-3 target: ``purl:<purl>``, ``repo:<host/owner/name>@<commit>``, else ``fallback``."""
    if purl:
        return f"purl:{purl}"
    if repo:
        return f"repo:{normalize_repo(repo)}@{(commit or '').strip().lower()}"
    return fallback


def locus(target: str, path: str) -> str:
    """The layer-3 blocking key of (target, normalized path): 32 hex digits (BLAKE2b-128)."""
    return hashlib.blake2b(f"{target}\x00{path}".encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def rule_family(tool: str | None, rule_id: str | None) -> str | None:
    """The rule family of a rule id (see the module docstring); ``None`` without a usable rule id."""
    if not rule_id:
        return None
    parts = [p for p in _SEGMENT_RE.split(rule_id.lower()) if p]
    if not parts:
        return None
    family = _NON_ALNUM_RE.sub("", parts[-1])
    if not family:
        return None
    if _OPAQUE_RE.match(family):
        return f"{(tool or '').strip().lower()}:{family}"
    return family


@dataclass(frozen=True, slots=True)
class Site:
    """Where and what a code finding is, for layer 3 (``cluster`` is ``None`` for the incoming one)."""

    locus: str
    start: int
    end: int
    cwes: frozenset[str]
    family: str | None
    tool: str | None
    rule: str | None
    cluster: Hashable | None = None


@dataclass(frozen=True, slots=True)
class Layer3Match:
    """The layer-3 outcome: the cluster joined, the score and the human reason."""

    cluster: Hashable
    score: float
    reason: str


def _lines(start: int, end: int) -> str:
    return f"{start}-{end}"


def layer3(candidates: Iterable[Site], me: Site, *, target_label: str, path: str) -> Layer3Match | None:
    """The best candidate cluster for ``me`` among ``candidates`` (same locus), or ``None``."""
    best: tuple[float, Site, str] | None = None
    for c in candidates:
        if c.locus != me.locus or c.cluster is None:
            continue
        if c.tool == me.tool and c.rule == me.rule:
            continue  # the tool itself says these are two findings
        shared = sorted(me.cwes & c.cwes, key=lambda w: int(w[4:]) if w[4:].isdigit() else 0)
        if shared:
            weight, why = 1.0, ", ".join(shared)
        elif (not me.cwes or not c.cwes) and me.family is not None and me.family == c.family:
            weight, why = 0.8, f"rule family {me.family} ({c.rule} ~ {me.rule})"
        else:
            continue
        gap = max(me.start, c.start) - min(me.end, c.end)
        if gap > LINE_WINDOW:
            continue
        if gap <= 0:
            proximity = 1.0
            where = f"lines {_lines(me.start, me.end)} overlap {_lines(c.start, c.end)}"
        else:
            proximity = 1.0 - gap / (2 * (LINE_WINDOW + 1))
            where = f"lines {_lines(me.start, me.end)} within {gap} of {_lines(c.start, c.end)}"
        score = round(weight * proximity, 4)
        if best is None or score > best[0]:
            best = (score, c, f"same target {target_label}, {why}, {path} {where}")
    if best is None:
        return None
    return Layer3Match(best[1].cluster, best[0], best[2])  # type: ignore[arg-type]


@dataclass
class DedupState:
    """What the deduplicator knows: fingerprints seen, alias → cluster, cluster ages (for order), and
    the layer-3 sites by locus."""

    fingerprints: set[str] = field(default_factory=set)
    alias_cluster: dict[str, Hashable] = field(default_factory=dict)
    cluster_rank: dict[Hashable, int] = field(default_factory=dict)
    """Lower rank = older cluster; the oldest is kept when clusters merge."""
    sites: dict[str, list[Site]] = field(default_factory=dict)
    """Layer 3: known code findings by locus (earliest known first)."""


@dataclass(frozen=True)
class Decision:
    """The outcome for one finding.

    ``kind`` is ``duplicate`` (layer 1), ``new`` (a new cluster) or ``join`` (layer 2 or 3: an
    existing cluster, ``cluster``). ``merge`` lists other clusters to fold into ``cluster`` (each
    with the alias that links them), ``alias`` the shared id that decided a layer-2 join,
    ``detail`` the reason of a layer-3 join, ``score`` its score (1.0 for layers 1 and 2).
    """

    kind: str
    layer: int
    cluster: Hashable | None = None
    alias: str | None = None
    merge: tuple[tuple[Hashable, str], ...] = ()
    score: float = 1.0
    detail: str | None = None

    @property
    def reason(self) -> str:
        """Human-readable reason, stored with the merge."""
        if self.kind == "duplicate":
            return "identical fingerprint"
        if self.kind == "join":
            return self.detail if self.detail is not None else f"shared alias {self.alias}"
        return "no known fingerprint, alias or overlapping finding"


def decide(
    state: DedupState,
    fingerprint: str,
    aliases: Sequence[str],
    site: Site | None = None,
    *,
    target_label: str = "",
    path: str = "",
) -> Decision:
    """Decide what to do with one finding, given the state (does not change it).

    ``site`` (with ``target_label`` and ``path`` for the reason) enables layer 3 for a code finding
    that has a target, a path and a line.
    """
    if fingerprint in state.fingerprints:
        return Decision("duplicate", 1)
    hits: dict[Hashable, str] = {}
    for alias in vuln_aliases(aliases):
        cluster = state.alias_cluster.get(alias)
        if cluster is not None and cluster not in hits:
            hits[cluster] = alias
    if hits:
        ordered = sorted(hits, key=lambda c: (state.cluster_rank.get(c, 0), str(c)))
        keep = ordered[0]
        return Decision(
            "join", 2, cluster=keep, alias=hits[keep], merge=tuple((c, hits[c]) for c in ordered[1:])
        )
    if site is not None:
        candidates = state.sites.get(site.locus)
        if candidates:
            match = layer3(candidates, site, target_label=target_label, path=path)
            if match is not None:
                return Decision("join", 3, cluster=match.cluster, score=match.score, detail=match.reason)
    return Decision("new", 0)


def apply(
    state: DedupState,
    decision: Decision,
    fingerprint: str,
    aliases: Sequence[str],
    cluster: Hashable,
    site: Site | None = None,
) -> None:
    """Record a decided finding in the state: its fingerprint, aliases and site → ``cluster``, merges
    folded."""
    if decision.kind == "duplicate":
        return
    state.fingerprints.add(fingerprint)
    state.cluster_rank.setdefault(cluster, len(state.cluster_rank))
    merged = {c for c, _ in decision.merge}
    if merged:
        for alias, c in list(state.alias_cluster.items()):
            if c in merged:
                state.alias_cluster[alias] = cluster
        for sites in state.sites.values():
            for i, s in enumerate(sites):
                if s.cluster in merged:
                    sites[i] = Site(s.locus, s.start, s.end, s.cwes, s.family, s.tool, s.rule, cluster)
    for alias in vuln_aliases(aliases):
        state.alias_cluster[alias] = cluster
    if site is not None:
        state.sites.setdefault(site.locus, []).append(
            Site(site.locus, site.start, site.end, site.cwes, site.family, site.tool, site.rule, cluster)
        )


@dataclass(frozen=True)
class Finder:
    """One finder organisation and the date of one of its findings."""

    org: str
    found_at: dt.datetime


def credit(finders: Iterable[Finder]) -> tuple[Finder | None, tuple[Finder, ...]]:
    """``(first finder, co-finders)``: earliest date wins; each org appears once, at its earliest date.

    Ties on the date go to the organisation listed first (the earlier import).
    """
    earliest: dict[str, Finder] = {}
    for f in finders:
        cur = earliest.get(f.org)
        if cur is None or f.found_at < cur.found_at:
            earliest[f.org] = f
    order = {org: i for i, org in enumerate(earliest)}
    ranked = sorted(earliest.values(), key=lambda f: (f.found_at, order[f.org]))
    if not ranked:
        return None, ()
    return ranked[0], tuple(ranked[1:])
