"""Match SBOM components (package URLs) against OSV advisories.

:class:`AdvisoryIndex` is built once from an iterable of OSV records. Per package it holds:

- the key ``(purl type, namespace, name)``, normalized per ecosystem (:func:`package_key`,
  :func:`purl_key`): PEP 503 names for PyPI, Go module paths split like a purl, crates.io names
  lower-cased with ``_`` as ``-``, Maven ``group:artifact`` as namespace/name, ...;
- every version that bounds a range or is listed, parsed once with ``univers`` and sorted;
- "slots" over that sorted list: slot ``2i`` is the open gap below version ``i``, slot ``2i+1`` is
  version ``i`` itself, the last slot is above every version. Each slot holds the advisory entries
  that affect every version in it, computed once from the entries' intervals
  (:func:`frontiersec.clearinghouse.versions.range_intervals`).

A lookup parses the query version once, bisects the sorted versions and reads the slot: no scan of
the package's advisories. :func:`naive_match` is the reference: a loop over every record applying the
spec's algorithm literally (:func:`frontiersec.clearinghouse.versions.is_affected_version`); tests
check the two agree on real data.

Withdrawn records are left out by default. Entries of unsupported ecosystems are counted in
:attr:`AdvisoryIndex.unsupported` and never compared. Distribution ecosystems (``Debian:11``) are
keyed by distribution only; the ``:<release>`` suffix is not used to narrow a match.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from packageurl import PackageURL
from univers import versions as uv

from frontiersec.clearinghouse.versions import (
    ECOSYSTEMS,
    CompiledAffected,
    UnparsableVersion,
    UnsupportedEcosystem,
    base_ecosystem,
    bisect_versions,
    compile_affected,
    describe_range,
    ecosystem_info,
    first_fixed_above,
    is_affected_version,
    order_key,
    parse_version,
    range_intervals,
)

__all__ = [
    "AdvisoryIndex",
    "ComponentResult",
    "Match",
    "PackageKey",
    "Query",
    "SkipReason",
    "ecosystem_for_key",
    "naive_match",
    "package_key",
    "parse_query",
    "purl_key",
]


@dataclass(frozen=True, slots=True, order=True)
class PackageKey:
    """A package's identity for matching: purl type, namespace ("" when none) and name, normalized."""

    purl_type: str
    namespace: str
    name: str


@dataclass(frozen=True, slots=True)
class Match:
    """One advisory affecting a component version."""

    id: str
    aliases: tuple[str, ...]
    affected_range_text: str
    """The affected versions as text (``">=1.0, <1.4.2"``), from the matching ``affected[]`` entries."""
    fixed: str | None
    """The lowest fixed version above the component's version ("upgrade to"), if one is recorded."""
    ecosystem: str
    package: str
    """The package name as the advisory spells it."""


class SkipReason(StrEnum):
    """Why :meth:`AdvisoryIndex.match_many` could not match a component."""

    INVALID_PURL = "invalid_purl"
    NO_VERSION = "no_version"
    UNPARSABLE_VERSION = "unparsable_version"
    UNSUPPORTED_ECOSYSTEM = "unsupported_ecosystem"


@dataclass(frozen=True, slots=True)
class ComponentResult:
    """The outcome for one component: its matches, or why it was skipped."""

    component: str
    matches: tuple[Match, ...] = ()
    skipped: SkipReason | None = None
    detail: str = ""


Query = str | PackageURL | tuple[str, str | None, str, str | None]
"""A component: a purl string, a ``PackageURL``, or ``(type, namespace, name, version)``."""

_PEP503 = re.compile(r"[-_.]+")

# purl type -> OSV ecosystem for types that one ecosystem owns; distributions go by namespace.
_ECOSYSTEM_BY_TYPE: dict[str, str] = {}
_ECOSYSTEM_BY_TYPE_NS: dict[tuple[str, str], str] = {}
for _info in ECOSYSTEMS.values():
    if _info.purl_namespace is None:
        _ECOSYSTEM_BY_TYPE[_info.purl_type] = _info.name
    else:
        _ECOSYSTEM_BY_TYPE_NS[(_info.purl_type, _info.purl_namespace)] = _info.name


def _split_last(path: str) -> tuple[str, str]:
    ns, _, name = path.strip("/").rpartition("/")
    return ns, name


def purl_key(purl_type: str, namespace: str | None, name: str) -> PackageKey:
    """Normalize package-URL parts into the :class:`PackageKey` used by the index.

    Normalization follows each ecosystem's own identity rules: PEP 503 for PyPI; the whole module
    path for Go (split at its last ``/``, case kept); lower case with ``_`` as ``-`` for crates.io;
    lower case for npm, NuGet, Packagist, Hex, Pub and distribution namespaces.
    """
    ptype = purl_type.lower()
    ns = (namespace or "").strip("/")
    if ptype == "pypi":
        return PackageKey(ptype, "", _PEP503.sub("-", name).lower())
    if ptype == "golang":
        full = f"{ns}/{name}" if ns else name
        gns, gname = _split_last(full)
        return PackageKey(ptype, gns, gname)
    if ptype == "cargo":
        return PackageKey(ptype, "", name.lower().replace("_", "-"))
    if ptype in ("npm", "nuget", "composer", "hex", "pub"):
        return PackageKey(ptype, ns.lower(), name.lower())
    if ptype in ("deb", "rpm", "apk"):
        return PackageKey(ptype, ns.lower(), name)
    if ptype == "swift":
        full = f"{ns}/{name}" if ns else name
        sns, sname = _split_last(full)
        return PackageKey(ptype, sns, sname)
    return PackageKey(ptype, ns, name)


def package_key(ecosystem: str, name: str) -> PackageKey:
    """The :class:`PackageKey` of an OSV ``package`` (ecosystem + name); raises ``UnsupportedEcosystem``."""
    info = ecosystem_info(ecosystem)
    ptype = info.purl_type
    if info.purl_namespace is not None:
        return purl_key(ptype, info.purl_namespace, name)
    if ptype == "maven":
        group, _, artifact = name.partition(":")
        return purl_key(ptype, group, artifact)
    if ptype in ("npm", "composer") and "/" in name:
        ns, pname = _split_last(name)
        return purl_key(ptype, ns, pname)
    if ptype == "swift":
        bare = re.sub(r"^[a-z]+://", "", name.strip()).removesuffix(".git")
        ns, pname = _split_last(bare)
        return purl_key(ptype, ns, pname)
    return purl_key(ptype, None, name)


def ecosystem_for_key(key: PackageKey) -> str:
    """The OSV ecosystem whose versions a key's component uses; raises ``UnsupportedEcosystem``."""
    eco = _ECOSYSTEM_BY_TYPE.get(key.purl_type) or _ECOSYSTEM_BY_TYPE_NS.get((key.purl_type, key.namespace))
    if eco is None:
        label = f"pkg:{key.purl_type}" + (f"/{key.namespace}" if key.namespace else "")
        raise UnsupportedEcosystem(label)
    return eco


def parse_query(query: Query) -> tuple[PackageKey, str | None]:
    """Turn a purl string, ``PackageURL`` or ``(type, namespace, name, version)`` into key and version.

    Raises ``ValueError`` for a string that is not a package URL.
    """
    if isinstance(query, str):
        purl = PackageURL.from_string(query)
        return purl_key(purl.type, purl.namespace, purl.name), purl.version
    if isinstance(query, PackageURL):
        return purl_key(query.type, query.namespace, query.name), query.version
    ptype, ns, name, version = query
    return purl_key(ptype, ns, name), version


@dataclass(frozen=True, slots=True)
class _Advisory:
    id: str
    aliases: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _EntryRef:
    """One (advisory, affected entry) pair with what a match needs precomputed."""

    order: int
    advisory: _Advisory
    compiled: CompiledAffected
    range_text: str


@dataclass(slots=True)
class _PackageSlots:
    """One package's compiled advisories: sorted bound keys, per-slot entry positions, fix ranks."""

    ecosystem: str
    keys: list[Any]
    """:func:`order_key` of every distinct bound version, ascending."""
    refs: list[_EntryRef]
    slots: list[tuple[int, ...]]
    """Per slot, positions in ``refs`` of the entries affecting it (2i: gap below key i; 2i+1: key i)."""
    fixed: list[tuple[tuple[int, ...], tuple[str, ...]]]
    """Per entry, ranks of its ``fixed`` versions (ascending) and their text."""
    memo: dict[int, tuple[Match, ...]] = field(default_factory=dict)
    """Matches per slot, built on first use: every version in a slot gets the same answer."""

    def matches_for_slot(self, slot: int) -> tuple[Match, ...]:
        """The :class:`Match` tuple for a slot (memoized; matches are immutable)."""
        cached = self.memo.get(slot)
        if cached is not None:
            return cached
        # The lowest fix strictly above any version in this slot has rank >= (slot + 1) // 2.
        min_rank = (slot + 1) // 2
        grouped: dict[str, list[int]] = {}
        for pos in self.slots[slot]:
            grouped.setdefault(self.refs[pos].advisory.id, []).append(pos)
        out: list[Match] = []
        for advisory_id in sorted(grouped):
            group = grouped[advisory_id]
            best: tuple[int, str] | None = None
            for pos in group:
                ranks, texts = self.fixed[pos]
                j = bisect.bisect_left(ranks, min_rank)
                if j < len(ranks) and (best is None or ranks[j] < best[0]):
                    best = (ranks[j], texts[j])
            first = self.refs[group[0]]
            out.append(
                Match(
                    id=advisory_id,
                    aliases=first.advisory.aliases,
                    affected_range_text="; ".join(dict.fromkeys(self.refs[p].range_text for p in group)),
                    fixed=None if best is None else best[1],
                    ecosystem=first.compiled.ecosystem,
                    package=first.compiled.package,
                )
            )
        result = tuple(out)
        self.memo[slot] = result
        return result


def _iter_entries(
    records: Iterable[Mapping[str, Any]], include_withdrawn: bool
) -> Iterable[tuple[_Advisory, Mapping[str, Any]]]:
    for record in records:
        if record.get("withdrawn") and not include_withdrawn:
            continue
        advisory = _Advisory(
            id=str(record.get("id") or ""), aliases=tuple(str(a) for a in record.get("aliases") or ())
        )
        for affected in record.get("affected") or ():
            yield advisory, affected


def _build_matches(refs: Iterable[_EntryRef], v: uv.Version) -> list[Match]:
    """Group matching entries by advisory (entry order kept) into one :class:`Match` each."""
    grouped: dict[str, list[_EntryRef]] = {}
    for ref in refs:
        grouped.setdefault(ref.advisory.id, []).append(ref)
    out: list[Match] = []
    for advisory_id in sorted(grouped):
        group = grouped[advisory_id]
        fixes = [f for ref in group if (f := first_fixed_above(ref.compiled.fixed, v)) is not None]
        fixed = fixes[0] if len(fixes) == 1 else None
        if len(fixes) > 1:
            ecosystem = group[0].compiled.ecosystem
            fixed = min(fixes, key=lambda text: parse_version(ecosystem, text))
        texts = list(dict.fromkeys(ref.range_text for ref in group))
        first = group[0]
        out.append(
            Match(
                id=advisory_id,
                aliases=first.advisory.aliases,
                affected_range_text="; ".join(texts),
                fixed=fixed,
                ecosystem=first.compiled.ecosystem,
                package=first.compiled.package,
            )
        )
    return out


def _compile(advisory: _Advisory, affected: Mapping[str, Any], order: int) -> tuple[PackageKey, _EntryRef]:
    package = affected.get("package") or {}
    ecosystem = str(package.get("ecosystem") or "")
    key = package_key(ecosystem, str(package.get("name") or ""))
    compiled = compile_affected(affected)
    return key, _EntryRef(order, advisory, compiled, describe_range(ecosystem, compiled))


@dataclass
class AdvisoryIndex:
    """Advisories indexed by package key, with affected ranges pre-compiled into bisectable slots.

    Build with :meth:`from_records`; query with :meth:`match` or :meth:`match_many`.
    """

    packages: dict[PackageKey, _PackageSlots] = field(default_factory=dict)
    unsupported: dict[str, int] = field(default_factory=dict)
    """Affected entries skipped at build time, counted by ecosystem."""
    problems: list[str] = field(default_factory=list)
    """Build-time notes: unparsable versions inside advisories, unknown range types."""
    advisory_count: int = 0

    @classmethod
    def from_records(
        cls, records: Iterable[Mapping[str, Any]], *, include_withdrawn: bool = False
    ) -> AdvisoryIndex:
        """Build the index in one pass over OSV records (withdrawn ones left out unless asked)."""
        index = cls()
        by_key: dict[PackageKey, list[_EntryRef]] = defaultdict(list)
        seen: set[str] = set()
        unsupported: dict[str, int] = defaultdict(int)
        for order, (advisory, affected) in enumerate(_iter_entries(records, include_withdrawn)):
            seen.add(advisory.id)
            try:
                key, ref = _compile(advisory, affected, order)
            except UnsupportedEcosystem as exc:
                unsupported[exc.ecosystem] += 1
                continue
            index.problems.extend(f"{advisory.id}: {p}" for p in ref.compiled.problems)
            by_key[key].append(ref)
        for key, refs in by_key.items():
            index.packages[key] = _build_slots(refs)
        index.unsupported = dict(unsupported)
        index.advisory_count = len(seen)
        return index

    def match(self, query: Query) -> list[Match]:
        """Advisories affecting one component, sorted by id.

        Raises ``ValueError`` for an invalid purl or a missing version, :class:`UnsupportedEcosystem`
        for a purl type with no known version ordering and :class:`UnparsableVersion` for a version
        its ecosystem cannot parse.
        """
        key, version = parse_query(query)
        if not version:
            raise ValueError(f"component {_label(query)} has no version")
        return self._match_key(key, version)

    def _match_key(self, key: PackageKey, version: str) -> list[Match]:
        v = parse_version(ecosystem_for_key(key), version)
        slots = self.packages.get(key)
        if slots is None:
            return []
        i, exact = bisect_versions(slots.keys, v)
        return list(slots.matches_for_slot(2 * i + 1 if exact else 2 * i))

    def match_many(self, components: Iterable[Query]) -> list[ComponentResult]:
        """Match many components; a component that cannot be matched gets a ``skipped`` reason."""
        results: list[ComponentResult] = []
        for component in components:
            label = _label(component)
            try:
                key, version = parse_query(component)
            except (ValueError, TypeError) as exc:
                results.append(ComponentResult(label, skipped=SkipReason.INVALID_PURL, detail=str(exc)))
                continue
            if not version:
                results.append(
                    ComponentResult(label, skipped=SkipReason.NO_VERSION, detail="no version given")
                )
                continue
            try:
                matches = self._match_key(key, version)
            except UnsupportedEcosystem as exc:
                results.append(
                    ComponentResult(label, skipped=SkipReason.UNSUPPORTED_ECOSYSTEM, detail=str(exc))
                )
            except UnparsableVersion as exc:
                results.append(ComponentResult(label, skipped=SkipReason.UNPARSABLE_VERSION, detail=str(exc)))
            else:
                results.append(ComponentResult(label, matches=tuple(matches)))
        return results

    def package_keys(self) -> list[PackageKey]:
        """Every package key that has at least one advisory, sorted."""
        return sorted(self.packages)


def _label(query: object) -> str:
    if isinstance(query, PackageURL):
        return str(query.to_string())
    return str(query)


def _build_slots(refs: list[_EntryRef]) -> _PackageSlots:
    ecosystem = refs[0].compiled.ecosystem
    # Parsed versions are shared objects (parse cache), so dedupe by identity before sorting.
    unique: dict[int, uv.Version] = {}
    for ref in refs:
        for listed in ref.compiled.versions:
            unique[id(listed)] = listed
        for rng in ref.compiled.ranges:
            for ev in (*rng.events, *rng.limits):
                if ev.version is not None:
                    unique[id(ev.version)] = ev.version
    ordered = sorted(unique.values(), key=order_key)
    keys: list[Any] = []
    rank_by_id: dict[int, int] = {}
    for version in ordered:
        key = order_key(version)
        if not keys or keys[-1] != key:
            keys.append(key)
        rank_by_id[id(version)] = len(keys) - 1
    n_slots = 2 * len(keys) + 1

    def slot_of(v: uv.Version, after: bool) -> int:
        return 2 * rank_by_id[id(v)] + (2 if after else 1)

    starts: list[list[int]] = [[] for _ in range(n_slots + 1)]
    ends: list[list[int]] = [[] for _ in range(n_slots + 1)]
    fixed: list[tuple[tuple[int, ...], tuple[str, ...]]] = []
    for pos, ref in enumerate(refs):
        fixed.append(
            (tuple(rank_by_id[id(v)] for v, _ in ref.compiled.fixed), tuple(t for _, t in ref.compiled.fixed))
        )
        spans: list[tuple[int, int]] = []
        for listed in ref.compiled.versions:
            s = slot_of(listed, after=False)
            spans.append((s, s + 1))
        for rng in ref.compiled.ranges:
            for iv in range_intervals(rng):
                lo = 0 if iv.lo is None else slot_of(iv.lo, after=False)
                hi = n_slots if iv.hi is None else slot_of(iv.hi, after=iv.hi_inclusive)
                if lo < hi:
                    spans.append((lo, hi))
        for lo, hi in _merge(spans):
            starts[lo].append(pos)
            ends[hi].append(pos)
    slots: list[tuple[int, ...]] = []
    active: set[int] = set()
    current: tuple[int, ...] = ()
    for s in range(n_slots):
        if starts[s] or ends[s]:
            active.difference_update(ends[s])
            active.update(starts[s])
            current = tuple(sorted(active))
        slots.append(current)
    return _PackageSlots(ecosystem=ecosystem, keys=keys, refs=refs, slots=slots, fixed=fixed)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    spans.sort()
    merged: list[tuple[int, int]] = []
    for lo, hi in spans:
        if merged and lo <= merged[-1][1]:
            if hi > merged[-1][1]:
                merged[-1] = (merged[-1][0], hi)
        else:
            merged.append((lo, hi))
    return merged


def naive_match(
    records: Sequence[Mapping[str, Any]], query: Query, *, include_withdrawn: bool = False
) -> list[Match]:
    """Reference matcher: check every advisory's entries for the component, one by one.

    Uses the OSV spec's evaluation literally through ``univers``; slow by design, for tests and
    benchmarks. Same inputs, errors and output order as :meth:`AdvisoryIndex.match`.
    """
    key, version = parse_query(query)
    if not version:
        raise ValueError(f"component {_label(query)} has no version")
    v = parse_version(ecosystem_for_key(key), version)
    matched: list[_EntryRef] = []
    for order, (advisory, affected) in enumerate(_iter_entries(records, include_withdrawn)):
        package = affected.get("package") or {}
        try:
            if package_key(str(package.get("ecosystem") or ""), str(package.get("name") or "")) != key:
                continue
        except UnsupportedEcosystem:
            continue
        compiled = compile_affected(affected)
        if is_affected_version(v, compiled):
            ecosystem = base_ecosystem(str(package.get("ecosystem")))
            matched.append(_EntryRef(order, advisory, compiled, describe_range(ecosystem, compiled)))
    return _build_matches(matched, v)
