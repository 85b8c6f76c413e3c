"""Cross-finder deduplication decisions (pure: no database, no I/O).

Layers, applied in order to each incoming finding::

    finding ──► layer 1: identical fingerprint already known? ──yes──► Duplicate
                    │ no
                    ▼
                layer 2: shares a vulnerability id (CVE / GHSA / OSV ...) with known clusters?
                    ├─ none ──────► NewCluster
                    ├─ one ───────► JoinCluster (reason "shared alias CVE-…")
                    └─ several ───► JoinCluster into the oldest + merge the others into it

:class:`DedupState` is the in-memory view the caller loads for one batch (known fingerprints and
alias → cluster); :func:`decide` reads it and :func:`apply` updates it, so a whole file is decided
without a query per finding. Cluster keys are opaque (the service uses UUIDs).

Credit (:func:`credit`): the first finder is the organisation with the earliest finding date; every
other organisation is a co-finder, listed once, at its own earliest date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field

__all__ = [
    "Decision",
    "DedupState",
    "Finder",
    "apply",
    "credit",
    "decide",
    "normalize_alias",
    "vuln_aliases",
]

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


@dataclass
class DedupState:
    """What the deduplicator knows: fingerprints seen, alias → cluster, and cluster ages (for order)."""

    fingerprints: set[str] = field(default_factory=set)
    alias_cluster: dict[str, Hashable] = field(default_factory=dict)
    cluster_rank: dict[Hashable, int] = field(default_factory=dict)
    """Lower rank = older cluster; the oldest is kept when clusters merge."""


@dataclass(frozen=True)
class Decision:
    """The outcome for one finding.

    ``kind`` is ``duplicate`` (layer 1), ``new`` (a new cluster) or ``join`` (layer 2: an existing
    cluster, ``cluster``). ``merge`` lists other clusters to fold into ``cluster`` (each with the alias
    that links them), ``alias`` the shared id that decided a join.
    """

    kind: str
    layer: int
    cluster: Hashable | None = None
    alias: str | None = None
    merge: tuple[tuple[Hashable, str], ...] = ()

    @property
    def reason(self) -> str:
        """Human-readable reason, stored with the merge."""
        if self.kind == "duplicate":
            return "identical fingerprint"
        if self.kind == "join":
            return f"shared alias {self.alias}"
        return "no known fingerprint or alias"


def decide(state: DedupState, fingerprint: str, aliases: Sequence[str]) -> Decision:
    """Decide what to do with one finding, given the state (does not change it)."""
    if fingerprint in state.fingerprints:
        return Decision("duplicate", 1)
    hits: dict[Hashable, str] = {}
    for alias in vuln_aliases(aliases):
        cluster = state.alias_cluster.get(alias)
        if cluster is not None and cluster not in hits:
            hits[cluster] = alias
    if not hits:
        return Decision("new", 0)
    ordered = sorted(hits, key=lambda c: (state.cluster_rank.get(c, 0), str(c)))
    keep = ordered[0]
    return Decision("join", 2, cluster=keep, alias=hits[keep], merge=tuple((c, hits[c]) for c in ordered[1:]))


def apply(
    state: DedupState, decision: Decision, fingerprint: str, aliases: Sequence[str], cluster: Hashable
) -> None:
    """Record a decided finding in the state: its fingerprint, its aliases → ``cluster``, merges folded."""
    if decision.kind == "duplicate":
        return
    state.fingerprints.add(fingerprint)
    state.cluster_rank.setdefault(cluster, len(state.cluster_rank))
    merged = {c for c, _ in decision.merge}
    if merged:
        for alias, c in list(state.alias_cluster.items()):
            if c in merged:
                state.alias_cluster[alias] = cluster
    for alias in vuln_aliases(aliases):
        state.alias_cluster[alias] = cluster


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
