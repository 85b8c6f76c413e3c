"""OSV affected-range semantics, with every version comparison done by ``univers``.

This module decides whether a package version is affected by one OSV ``affected[]`` entry, strictly
per the OSV schema (https://ossf.github.io/osv-schema/, "Evaluation"):

- ``affected[].versions``: an explicit list; a version is affected when it *equals* a listed one
  (equality in the ecosystem's ordering, so PyPI ``1.0`` equals ``1.0.0``);
- ``affected[].ranges[]`` of type ``ECOSYSTEM`` or ``SEMVER``: events sorted by version and folded:
  ``introduced`` (``"0"`` sorts before every version) turns "vulnerable" on at ``v >= introduced``,
  ``fixed`` turns it off at ``v >= fixed``, ``last_affected`` off at ``v > last_affected``;
  ``limit`` events cap the range (``v < limit`` for at least one limit, ``"*"`` is infinity);
- ranges of type ``GIT``: their events are commit hashes, whose order needs the repository's commit
  graph. They are **not** evaluated against version strings. A GIT-only entry affects a version only
  through its explicit ``versions`` list; :func:`is_affected_commit` answers for a commit only when
  that commit is itself named (an ``introduced`` or ``last_affected`` commit, or a listed version),
  and is otherwise unknown (``False``). This can miss commits between the named ones.

Where the spec leaves event order at equal versions open, ``introduced`` sorts before ``fixed``,
and ``fixed`` before ``last_affected``: ``introduced: 1.0, fixed: 1.0`` is an empty range, and a
(contradictory) ``last_affected: 2.0`` with ``fixed: 2.0`` leaves 2.0 unaffected, as the spec's
fold does in either order.

Versions are parsed with the ``univers`` class of the package's ecosystem (:data:`ECOSYSTEMS`); an
ecosystem without a known ordering raises :class:`UnsupportedEcosystem` and is never compared as
text. ``SEMVER`` ranges are compared with the ecosystem's class too (for Go, crates.io, npm, Hex, ...
that class is semver already). Event versions that do not parse are ignored and reported in
:attr:`CompiledAffected.problems`: dropping an unparsable ``fixed`` errs toward reporting a package
as affected. Listed versions that do not parse can never equal a parsed query, so they are ignored.

Errors::

    ValueError
     └── VersionError
          ├── UnparsableVersion     ecosystem + version string
          └── UnsupportedEcosystem  ecosystem string
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from univers import versions as uv

__all__ = [
    "ECOSYSTEMS",
    "CompiledAffected",
    "CompiledRange",
    "EcosystemInfo",
    "Event",
    "EventKind",
    "Interval",
    "UnparsableVersion",
    "UnsupportedEcosystem",
    "VersionError",
    "base_ecosystem",
    "bisect_versions",
    "compile_affected",
    "describe_range",
    "ecosystem_info",
    "first_fixed",
    "first_fixed_above",
    "is_affected",
    "is_affected_commit",
    "is_affected_version",
    "order_key",
    "parse_version",
    "range_intervals",
]


class VersionError(ValueError):
    """Base of the version errors of this module."""


class UnparsableVersion(VersionError):
    """A version string is not valid in its ecosystem's version syntax."""

    def __init__(self, ecosystem: str, version: str, detail: str = "") -> None:
        self.ecosystem = ecosystem
        self.version = version
        suffix = f": {detail}" if detail else ""
        super().__init__(f"version {version!r} is not a valid {ecosystem} version{suffix}")


class UnsupportedEcosystem(VersionError):
    """No version ordering is known for an OSV ecosystem; its versions are never compared."""

    def __init__(self, ecosystem: str) -> None:
        self.ecosystem = ecosystem
        super().__init__(
            f"ecosystem {ecosystem!r} is not supported: no univers version ordering is mapped for it"
        )


@dataclass(frozen=True, slots=True)
class EcosystemInfo:
    """How one OSV ecosystem maps to a package-URL type and a ``univers`` version class."""

    name: str
    """The OSV ecosystem name, without a ``:<release>`` suffix (``PyPI``, ``Go``, ``Debian``)."""
    purl_type: str
    """The package-URL type (``pypi``, ``golang``, ``cargo``, ``deb``, ...)."""
    version_class: type[uv.Version]
    """The ``univers`` class that parses and orders this ecosystem's versions."""
    purl_namespace: str | None = None
    """For distributions sharing a purl type, the namespace naming the distribution (``debian``)."""


def _eco(name: str, purl_type: str, cls: type[uv.Version], ns: str | None = None) -> EcosystemInfo:
    return EcosystemInfo(name=name, purl_type=purl_type, version_class=cls, purl_namespace=ns)


ECOSYSTEMS: Mapping[str, EcosystemInfo] = {
    e.name: e
    for e in (
        _eco("PyPI", "pypi", uv.PypiVersion),
        _eco("Go", "golang", uv.GolangVersion),
        _eco("crates.io", "cargo", uv.SemverVersion),
        _eco("npm", "npm", uv.SemverVersion),
        _eco("Maven", "maven", uv.MavenVersion),
        _eco("RubyGems", "gem", uv.RubygemsVersion),
        _eco("NuGet", "nuget", uv.NugetVersion),
        _eco("Packagist", "composer", uv.ComposerVersion),
        _eco("Hex", "hex", uv.SemverVersion),
        _eco("Pub", "pub", uv.SemverVersion),
        _eco("SwiftURL", "swift", uv.SemverVersion),
        _eco("ConanCenter", "conan", uv.ConanVersion),
        _eco("Debian", "deb", uv.DebianVersion, "debian"),
        _eco("Ubuntu", "deb", uv.DebianVersion, "ubuntu"),
        _eco("Alpine", "apk", uv.AlpineLinuxVersion, "alpine"),
        _eco("Wolfi", "apk", uv.AlpineLinuxVersion, "wolfi"),
        _eco("Chainguard", "apk", uv.AlpineLinuxVersion, "chainguard"),
        _eco("Red Hat", "rpm", uv.RpmVersion, "redhat"),
        _eco("AlmaLinux", "rpm", uv.RpmVersion, "almalinux"),
        _eco("Rocky Linux", "rpm", uv.RpmVersion, "rocky-linux"),
        _eco("openSUSE", "rpm", uv.RpmVersion, "opensuse"),
        _eco("SUSE", "rpm", uv.RpmVersion, "suse"),
        _eco("Photon OS", "rpm", uv.RpmVersion, "photon"),
        _eco("Mageia", "rpm", uv.RpmVersion, "mageia"),
        _eco("openEuler", "rpm", uv.RpmVersion, "openeuler"),
        _eco("Azure Linux", "rpm", uv.RpmVersion, "azurelinux"),
    )
}
"""Supported OSV ecosystems (base names), each with its purl type and ``univers`` version class."""


def base_ecosystem(ecosystem: str) -> str:
    """The OSV ecosystem name without its ``:<release>`` / ``:<repo-url>`` suffix (``Debian:11`` → ``Debian``)."""
    return ecosystem.split(":", 1)[0].strip()


def ecosystem_info(ecosystem: str) -> EcosystemInfo:
    """The :class:`EcosystemInfo` for an OSV ecosystem string; raises :class:`UnsupportedEcosystem`."""
    info = ECOSYSTEMS.get(base_ecosystem(ecosystem))
    if info is None:
        raise UnsupportedEcosystem(ecosystem)
    return info


def parse_version(ecosystem: str, version: str) -> uv.Version:
    """Parse ``version`` with the ``univers`` class of ``ecosystem``.

    Raises :class:`UnsupportedEcosystem` or :class:`UnparsableVersion` (naming both).
    """
    info = ecosystem_info(ecosystem)
    if not isinstance(version, str) or not version.strip():
        raise UnparsableVersion(ecosystem, str(version), "empty")
    parsed = _parse_cached(info.name, version)
    if parsed is None:
        raise UnparsableVersion(ecosystem, version)
    return parsed


@functools.lru_cache(maxsize=1 << 17)
def _parse_cached(ecosystem: str, version: str) -> uv.Version | None:
    # Versions are immutable and parsing is pure, so advisories that repeat the same strings
    # (a package's listed versions recur in each of its advisories) share one parsed object.
    try:
        return ECOSYSTEMS[ecosystem].version_class(version)
    except (uv.InvalidVersion, ValueError, TypeError, AttributeError, IndexError):
        return None


class EventKind(StrEnum):
    """The four OSV range event types."""

    INTRODUCED = "introduced"
    FIXED = "fixed"
    LAST_AFFECTED = "last_affected"
    LIMIT = "limit"


@dataclass(frozen=True, slots=True)
class Event:
    """One parsed range event; ``version`` is ``None`` for ``introduced: "0"`` and ``limit: "*"``."""

    kind: EventKind
    raw: str
    version: uv.Version | None


@dataclass(frozen=True, slots=True)
class CompiledRange:
    """An ``ECOSYSTEM``/``SEMVER`` range with parsed events, sorted as the spec evaluates them."""

    type: str
    events: tuple[Event, ...]
    """``introduced`` / ``fixed`` / ``last_affected`` events, sorted (``introduced`` first at ties)."""
    limits: tuple[Event, ...]


@dataclass(frozen=True, slots=True)
class Interval:
    """A set of versions ``lo <= v < hi`` (``<= hi`` when ``hi_inclusive``); ``None`` is unbounded."""

    lo: uv.Version | None
    hi: uv.Version | None
    hi_inclusive: bool
    lo_raw: str = "0"
    hi_raw: str = "*"


@dataclass(frozen=True, slots=True)
class CompiledAffected:
    """One ``affected[]`` entry with its versions parsed once, ready for repeated evaluation."""

    ecosystem: str
    package: str
    ranges: tuple[CompiledRange, ...]
    """The ``ECOSYSTEM`` and ``SEMVER`` ranges."""
    versions: tuple[uv.Version, ...]
    """The parseable explicit ``versions``."""
    git_commits: frozenset[str]
    """Commits named as ``introduced`` or ``last_affected`` in ``GIT`` ranges (lower case)."""
    fixed: tuple[tuple[uv.Version, str], ...]
    """Parsed ``fixed`` event versions with their original text, sorted ascending."""
    has_git_ranges: bool
    listed_raw: tuple[str, ...]
    problems: tuple[str, ...]
    """What had to be skipped: unparsable event or listed versions, unknown range types."""


def _event_sort_key(event: Event) -> tuple[Any, ...]:
    # "0" sorts before every version; at equal versions introduced, then fixed, then last_affected
    # (see the module docstring)
    order = {EventKind.INTRODUCED: 0, EventKind.FIXED: 1}.get(event.kind, 2)
    if event.version is None:
        return (0, order)
    return (1, event.version, order)


def compile_affected(affected: Mapping[str, Any], ecosystem: str | None = None) -> CompiledAffected:
    """Parse an OSV ``affected[]`` entry once (events sorted, versions parsed with ``univers``).

    ``ecosystem`` defaults to the entry's ``package.ecosystem``. Raises :class:`UnsupportedEcosystem`
    for an ecosystem without a known ordering; unparsable versions inside the entry are skipped and
    listed in ``problems`` rather than raised, since they come from the advisory, not the caller.
    """
    package = affected.get("package") or {}
    eco = ecosystem if ecosystem is not None else str(package.get("ecosystem") or "")
    info = ecosystem_info(eco)
    problems: list[str] = []

    def parse_or_note(raw: object, what: str) -> uv.Version | None:
        try:
            return parse_version(eco, str(raw))
        except UnparsableVersion:
            problems.append(f"unparsable {what} {raw!r}")
            return None

    ranges: list[CompiledRange] = []
    git_commits: set[str] = set()
    fixed: list[tuple[uv.Version, str]] = []
    has_git = False
    for rng in affected.get("ranges") or ():
        rtype = str(rng.get("type") or "")
        raw_events = rng.get("events") or ()
        if rtype == "GIT":
            has_git = True
            for ev in raw_events:
                for key in ("introduced", "last_affected"):
                    if isinstance(ev.get(key), str) and ev[key] != "0":
                        git_commits.add(ev[key].lower())
            continue
        if rtype not in ("ECOSYSTEM", "SEMVER"):
            problems.append(f"unknown range type {rtype!r}")
            continue
        events: list[Event] = []
        limits: list[Event] = []
        for ev in raw_events:
            for key, raw in ev.items():
                try:
                    kind = EventKind(key)
                except ValueError:
                    continue
                text = str(raw)
                if kind is EventKind.INTRODUCED and text == "0":
                    events.append(Event(kind, text, None))
                elif kind is EventKind.LIMIT and "*" in text:
                    limits.append(Event(kind, text, None))
                else:
                    parsed = parse_or_note(text, f"{key} event")
                    if parsed is None:
                        continue
                    target = limits if kind is EventKind.LIMIT else events
                    target.append(Event(kind, text, parsed))
                    if kind is EventKind.FIXED:
                        fixed.append((parsed, text))
        events.sort(key=_event_sort_key)
        ranges.append(CompiledRange(type=rtype, events=tuple(events), limits=tuple(limits)))

    listed_raw = tuple(str(v) for v in affected.get("versions") or ())
    listed: list[uv.Version] = []
    for raw in listed_raw:
        parsed = parse_or_note(raw, "listed version")
        if parsed is not None:
            listed.append(parsed)
    fixed.sort(key=lambda pair: pair[0])
    return CompiledAffected(
        ecosystem=info.name,
        package=str(package.get("name") or ""),
        ranges=tuple(ranges),
        versions=tuple(listed),
        git_commits=frozenset(git_commits),
        fixed=tuple(fixed),
        has_git_ranges=has_git,
        listed_raw=listed_raw,
        problems=tuple(problems),
    )


def _as_compiled(ecosystem: str, affected: Mapping[str, Any] | CompiledAffected) -> CompiledAffected:
    if isinstance(affected, CompiledAffected):
        if base_ecosystem(ecosystem) != affected.ecosystem:
            raise VersionError(f"ecosystem {ecosystem!r} does not match the entry's {affected.ecosystem!r}")
        return affected
    declared = str((affected.get("package") or {}).get("ecosystem") or "")
    if declared and base_ecosystem(declared) != base_ecosystem(ecosystem):
        raise VersionError(f"ecosystem {ecosystem!r} does not match the entry's {declared!r}")
    return compile_affected(affected, ecosystem)


def _before_limits(v: uv.Version, rng: CompiledRange) -> bool:
    if not rng.limits:
        return True
    return any(ev.version is None or v < ev.version for ev in rng.limits)


def _range_contains(v: uv.Version, rng: CompiledRange) -> bool:
    """The spec's ``IncludedInRanges`` for one range, literally (events already sorted)."""
    if not _before_limits(v, rng):
        return False
    vulnerable = False
    for ev in rng.events:
        if ev.kind is EventKind.INTRODUCED:
            if ev.version is None or v >= ev.version:
                vulnerable = True
        elif ev.kind is EventKind.FIXED:
            if ev.version is not None and v >= ev.version:
                vulnerable = False
        elif ev.kind is EventKind.LAST_AFFECTED and ev.version is not None and v > ev.version:
            vulnerable = False
    return vulnerable


def is_affected_version(v: uv.Version, compiled: CompiledAffected) -> bool:
    """Whether an already parsed version is affected by a compiled entry (the spec's algorithm)."""
    key = order_key(v)
    if any(key == order_key(listed) for listed in compiled.versions):
        return True
    return any(_range_contains(v, rng) for rng in compiled.ranges)


def is_affected(
    ecosystem: str, version_str: str, affected_entry: Mapping[str, Any] | CompiledAffected
) -> bool:
    """Whether ``version_str`` of the entry's package is affected by one OSV ``affected[]`` entry.

    Evaluates the explicit ``versions`` list and the ``ECOSYSTEM``/``SEMVER`` ranges per the OSV
    spec; ``GIT`` ranges are not evaluated (see the module docstring). Raises
    :class:`UnparsableVersion` when ``version_str`` is not valid for ``ecosystem`` and
    :class:`UnsupportedEcosystem` for an ecosystem without a known ordering.
    """
    compiled = _as_compiled(ecosystem, affected_entry)
    v = parse_version(ecosystem, version_str)
    return is_affected_version(v, compiled)


def is_affected_commit(affected_entry: Mapping[str, Any], commit: str) -> bool:
    """Whether a Git commit is known to be affected, from what the entry names explicitly.

    True when ``commit`` (full hash, any case) is an ``introduced`` or ``last_affected`` commit of a
    ``GIT`` range, or appears in ``versions``. Commits between named ones cannot be decided without
    the repository's commit graph and give ``False``: callers must treat that as "unknown".
    """
    wanted = commit.strip().lower()
    if not wanted:
        return False
    for rng in affected_entry.get("ranges") or ():
        if rng.get("type") != "GIT":
            continue
        for ev in rng.get("events") or ():
            for key in ("introduced", "last_affected"):
                value = ev.get(key)
                if isinstance(value, str) and value.lower() == wanted:
                    return True
    return any(str(v).lower() == wanted for v in affected_entry.get("versions") or ())


def first_fixed(
    ecosystem: str, affected_entry: Mapping[str, Any] | CompiledAffected, version: str | uv.Version
) -> str | None:
    """The lowest ``fixed`` event version strictly above ``version`` ("upgrade to"), or ``None``.

    Only ``ECOSYSTEM``/``SEMVER`` ranges count (GIT fixes are commits). ``None`` means no fix above
    the version is recorded; the version may still be unaffected (``last_affected`` ranges).
    """
    compiled = _as_compiled(ecosystem, affected_entry)
    v = version if isinstance(version, uv.Version) else parse_version(ecosystem, version)
    return first_fixed_above(compiled.fixed, v)


def first_fixed_above(fixed: Sequence[tuple[uv.Version, str]], v: uv.Version) -> str | None:
    """The text of the lowest version in sorted ``fixed`` pairs strictly above ``v`` (bisect)."""
    lo, hi = 0, len(fixed)
    while lo < hi:  # bisect_right on the version half of the pairs
        mid = (lo + hi) // 2
        if v < fixed[mid][0]:
            hi = mid
        else:
            lo = mid + 1
    return fixed[lo][1] if lo < len(fixed) else None


def range_intervals(rng: CompiledRange) -> list[Interval]:
    """The affected set of one compiled range as disjoint, ascending intervals (limits applied)."""
    out: list[Interval] = []
    start: Event | None = None
    vulnerable = False
    for ev in rng.events:
        if ev.kind is EventKind.INTRODUCED:
            if not vulnerable:
                vulnerable, start = True, ev
        elif vulnerable and ev.version is not None:
            assert start is not None
            out.append(
                Interval(
                    lo=start.version,
                    hi=ev.version,
                    hi_inclusive=ev.kind is EventKind.LAST_AFFECTED,
                    lo_raw=start.raw,
                    hi_raw=ev.raw,
                )
            )
            vulnerable, start = False, None
    if vulnerable and start is not None:
        out.append(Interval(lo=start.version, hi=None, hi_inclusive=False, lo_raw=start.raw))
    return _apply_limits(out, rng.limits)


def _apply_limits(intervals: list[Interval], limits: tuple[Event, ...]) -> list[Interval]:
    if not limits or any(ev.version is None for ev in limits):
        return intervals
    top = max(
        (ev for ev in limits if ev.version is not None),
        key=lambda ev: order_key(ev.version) if ev.version is not None else 0,
    )
    cap = top.version
    assert cap is not None
    out: list[Interval] = []
    for iv in intervals:
        if iv.lo is not None and iv.lo >= cap:
            continue
        if iv.hi is None or iv.hi > cap or (iv.hi == cap and iv.hi_inclusive):
            out.append(Interval(lo=iv.lo, hi=cap, hi_inclusive=False, lo_raw=iv.lo_raw, hi_raw=top.raw))
        else:
            out.append(iv)
    return out


def _interval_text(iv: Interval) -> str:
    parts: list[str] = []
    if iv.lo is not None:
        parts.append(f">={iv.lo_raw}")
    if iv.hi is not None:
        parts.append(f"{'<=' if iv.hi_inclusive else '<'}{iv.hi_raw}")
    return ", ".join(parts) if parts else "*"


def describe_range(
    ecosystem: str, affected_entry: Mapping[str, Any] | CompiledAffected, *, max_listed: int = 5
) -> str:
    """Human text for the versions an entry affects, e.g. ``">=1.0, <1.4.2 || >=2.0, <2.0.3"``.

    Ranges are rendered from their evaluated intervals (``*`` is every version). An entry with only
    explicit versions renders them (``"=1.0 || =1.1 (+3 more)"``); a GIT-only entry says so.
    """
    compiled = _as_compiled(ecosystem, affected_entry)
    texts = [_interval_text(iv) for rng in compiled.ranges for iv in range_intervals(rng)]
    if texts:
        return " || ".join(texts)
    if compiled.listed_raw:
        shown = " || ".join(f"={v}" for v in compiled.listed_raw[:max_listed])
        more = len(compiled.listed_raw) - max_listed
        return f"{shown} (+{more} more)" if more > 0 else shown
    if compiled.has_git_ranges:
        return "git commit range (no version range)"
    return "no affected versions"


def order_key(v: uv.Version) -> Any:
    """A key that orders and equates exactly like the ``univers`` version ``v``, but faster.

    ``univers`` classes that keep the default ``attrs`` ordering compare the tuple ``(value,)``, where
    ``value`` is the comparable object ``univers`` built for the ecosystem (``packaging`` ``Version``,
    semver, Maven, Debian, ...); comparing ``value`` directly gives the same order without the
    per-comparison tuple building. Classes with their own comparison (Alpine/Gentoo) are returned as is.
    """
    if type(v).__lt__ is _ATTRS_LT:
        return v.value
    return v


_ATTRS_LT = uv.Version.__lt__


def bisect_versions(sorted_keys: Sequence[Any], v: uv.Version) -> tuple[int, bool]:
    """Position of ``v`` among ascending distinct :func:`order_key` keys: (index, whether equal there)."""
    key = order_key(v)
    i = bisect.bisect_left(sorted_keys, key)
    return i, i < len(sorted_keys) and sorted_keys[i] == key
