"""OSV range semantics (``clearinghouse.versions``) on real advisories and generated ranges."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.version import Version as PepVersion

from frontiersec.clearinghouse.osv_records import iter_osv_records
from frontiersec.clearinghouse.versions import (
    ECOSYSTEMS,
    UnparsableVersion,
    UnsupportedEcosystem,
    VersionError,
    compile_affected,
    describe_range,
    ecosystem_info,
    first_fixed,
    is_affected,
    is_affected_commit,
    is_affected_version,
    parse_version,
    range_intervals,
)

FEEDS = {
    "pypi": "osv-pypi/pypa-advisories.osv.jsonl.gz",
    "go": "osv-other/go-vulndb.osv.jsonl.gz",
    "rust": "osv-other/rustsec-crates.osv.jsonl.gz",
}


@pytest.fixture(scope="module")
def feeds(shared_data: Path) -> dict[str, list[dict[str, Any]]]:
    return {name: list(iter_osv_records(shared_data / rel)) for name, rel in FEEDS.items()}


def _entry(ecosystem: str, events: list[dict[str, str]], versions: list[str] | None = None) -> dict[str, Any]:
    rtype = "ECOSYSTEM" if ecosystem in ("PyPI", "Maven", "Debian", "RubyGems") else "SEMVER"
    entry: dict[str, Any] = {
        "package": {"ecosystem": ecosystem, "name": "pkg"},
        "ranges": [{"type": rtype, "events": events}],
    }
    if versions is not None:
        entry["versions"] = versions
    return entry


# --- real data ---------------------------------------------------------------------------------


@pytest.mark.parametrize("feed", list(FEEDS))
def test_listed_versions_affected_and_fixed_versions_not(
    feeds: dict[str, list[dict[str, Any]]], feed: str
) -> None:
    listed = fixed = 0
    inconsistent: list[str] = []
    for record in feeds[feed]:
        for affected in record.get("affected", []):
            compiled = compile_affected(affected)
            for v in compiled.versions:
                listed += 1
                assert is_affected_version(v, compiled), f"{record['id']}: listed {v.string} not affected"
            for v, text in compiled.fixed:
                fixed += 1
                if is_affected_version(v, compiled):
                    # Only where the record contradicts itself: the fix is also listed or in another range.
                    inconsistent.append(f"{record['id']}@{text}")
    if feed == "pypi":
        assert listed > 100_000
    assert fixed > 500
    assert len(inconsistent) <= max(10, fixed // 200), (
        f"{len(inconsistent)} inconsistent records: {inconsistent}"
    )
    print(f"{feed}: {listed} listed, {fixed} fixed, {len(inconsistent)} inconsistent: {inconsistent}")


def test_listed_versions_through_public_api(feeds: dict[str, list[dict[str, Any]]]) -> None:
    # The string API on a sample (the compiled path above covers every version).
    checked = 0
    for record in feeds["pypi"][::25]:
        for affected in record["affected"]:
            for text in affected.get("versions", [])[:10]:
                try:
                    assert is_affected("PyPI", text, affected), f"{record['id']} {text}"
                except UnparsableVersion:
                    continue
                checked += 1
    assert checked > 500


@pytest.mark.parametrize("feed", ["go", "rust"])
def test_semver_feeds_introduced_is_affected(feeds: dict[str, list[dict[str, Any]]], feed: str) -> None:
    checked = 0
    empty: list[str] = []
    for record in feeds[feed]:
        for affected in record["affected"]:
            compiled = compile_affected(affected)
            fixes = [v for v, _ in compiled.fixed]
            for rng in compiled.ranges:
                for ev in rng.events:
                    if ev.kind == "introduced" and ev.version is not None:
                        checked += 1
                        if any(ev.version == f for f in fixes):
                            # e.g. RUSTSEC-2022-0012 "introduced: 0.10.0, fixed: 0.10.0": an empty range.
                            empty.append(f"{record['id']}@{ev.raw}")
                            assert not is_affected_version(ev.version, compiled)
                            continue
                        assert is_affected_version(ev.version, compiled), f"{record['id']} {ev.raw}"
    assert checked > 100
    assert len(empty) <= 10, f"{len(empty)} empty ranges: {empty}"


def test_every_real_range_evaluates_like_its_intervals(feeds: dict[str, list[dict[str, Any]]]) -> None:
    """The literal spec fold and the interval compilation agree at every bound of every range."""
    for records in feeds.values():
        for record in records[::3]:
            for affected in record["affected"]:
                compiled = compile_affected(affected)
                for rng in compiled.ranges:
                    intervals = range_intervals(rng)
                    bounds = [ev.version for ev in rng.events if ev.version is not None]
                    for v in bounds:
                        in_intervals = any(
                            (iv.lo is None or iv.lo <= v)
                            and (iv.hi is None or v < iv.hi or (iv.hi_inclusive and v == iv.hi))
                            for iv in intervals
                        )
                        single = compile_affected({"package": affected["package"], "ranges": [_raw(rng)]})
                        assert is_affected_version(v, single) == in_intervals, record["id"]


def _raw(rng: Any) -> dict[str, Any]:
    return {
        "type": rng.type,
        "events": [{str(ev.kind): ev.raw} for ev in (*rng.events, *rng.limits)],
    }


def test_first_fixed_and_describe_on_real_record(feeds: dict[str, list[dict[str, Any]]]) -> None:
    by_id = {r["id"]: r for r in feeds["go"]}
    entry = by_id["GO-2020-0001"]["affected"][0]  # gin: introduced 0, fixed 1.6.0
    assert describe_range("Go", entry) == "<1.6.0"
    assert first_fixed("Go", entry, "1.5.0") == "1.6.0"
    assert first_fixed("Go", entry, "v1.6.0") is None
    assert is_affected("Go", "v1.5.9", entry)
    assert not is_affected("Go", "1.6.0", entry)


# --- spec semantics ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("events", "version", "expected"),
    [
        ([{"introduced": "0"}], "0.0.1", True),
        ([{"introduced": "0"}, {"fixed": "1.0.2"}], "1.0.1", True),
        ([{"introduced": "0"}, {"fixed": "1.0.2"}], "1.0.2", False),
        (
            [{"introduced": "1.0.0"}, {"fixed": "1.0.2"}, {"introduced": "3.0.0"}, {"fixed": "3.2.5"}],
            "2.0.0",
            False,
        ),
        (
            [{"introduced": "1.0.0"}, {"fixed": "1.0.2"}, {"introduced": "3.0.0"}, {"fixed": "3.2.5"}],
            "3.1.0",
            True,
        ),
        ([{"introduced": "0"}, {"last_affected": "2.1.214"}], "2.1.214", True),
        ([{"introduced": "0"}, {"last_affected": "2.1.214"}], "2.1.215", False),
        ([{"introduced": "1.0.0"}, {"limit": "2.0.0"}], "1.9.0", True),
        ([{"introduced": "1.0.0"}, {"limit": "2.0.0"}], "2.0.0", False),
        ([{"introduced": "1.0.0"}, {"limit": "*"}], "9.0.0", True),
        ([{"fixed": "3.0.0"}, {"introduced": "2.0.0"}], "2.5.0", True),  # events are sorted first
        ([{"introduced": "1.0.0"}, {"fixed": "1.0.0"}], "1.0.0", False),  # introduced first at ties
        ([{"introduced": "0.0.0-0"}, {"fixed": "0.9.0"}], "0.1.0-alpha", True),
    ],
)
def test_spec_examples(events: list[dict[str, str]], version: str, expected: bool) -> None:
    assert is_affected("crates.io", version, _entry("crates.io", events)) is expected


def test_pypi_equality_is_pep440() -> None:
    entry = _entry("PyPI", [{"introduced": "1.0"}, {"fixed": "1.4.2"}], versions=["0.5"])
    assert is_affected("PyPI", "1.0.0", entry)
    assert is_affected("PyPI", "0.5.0", entry)
    assert not is_affected("PyPI", "1.4.2.0", entry)
    assert is_affected("PyPI", "1.4.2rc1", entry)
    assert describe_range("PyPI", entry) == ">=1.0, <1.4.2"


def test_describe_and_first_fixed_multiple_ranges() -> None:
    entry = _entry(
        "PyPI", [{"introduced": "1.0"}, {"fixed": "1.4.2"}, {"introduced": "2.0"}, {"fixed": "2.0.3"}]
    )
    assert describe_range("PyPI", entry) == ">=1.0, <1.4.2 || >=2.0, <2.0.3"
    assert first_fixed("PyPI", entry, "1.1") == "1.4.2"
    assert first_fixed("PyPI", entry, "2.0.1") == "2.0.3"
    assert first_fixed("PyPI", entry, "2.0.3") is None
    listed = {"package": {"ecosystem": "PyPI", "name": "x"}, "versions": ["1", "2", "3"]}
    assert describe_range("PyPI", listed, max_listed=2) == "=1 || =2 (+1 more)"


def test_git_ranges_match_named_commits_only() -> None:
    intro, fix = "a" * 40, "b" * 40
    entry = {
        "package": {"ecosystem": "PyPI", "name": "x"},
        "ranges": [
            {
                "type": "GIT",
                "repo": "https://example.org/x",
                "events": [{"introduced": intro}, {"fixed": fix}],
            }
        ],
    }
    assert is_affected_commit(entry, intro.upper())
    assert not is_affected_commit(entry, fix)
    assert not is_affected_commit(entry, "c" * 40)  # unknown without the commit graph
    assert not is_affected("PyPI", "1.0", entry)  # a GIT range says nothing about version strings
    assert describe_range("PyPI", entry) == "git commit range (no version range)"


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ecosystem", "version"),
    [("PyPI", "not a version!"), ("PyPI", ""), ("crates.io", "abc"), ("Go", "vx.y"), ("PyPI", "2019-09-12")],
)
def test_unparsable_version(ecosystem: str, version: str) -> None:
    entry = _entry(ecosystem, [{"introduced": "0"}])
    with pytest.raises(UnparsableVersion) as exc:
        is_affected(ecosystem, version, entry)
    assert exc.value.ecosystem == ecosystem
    assert exc.value.version == version
    assert ecosystem in str(exc.value)


@pytest.mark.parametrize("ecosystem", ["Hackage", "NotAnEcosystem", "Linux", ""])
def test_unknown_ecosystem_is_refused(ecosystem: str) -> None:
    with pytest.raises(UnsupportedEcosystem, match="not supported"):
        is_affected(ecosystem, "1.0.0", _entry(ecosystem, [{"introduced": "0"}]))
    with pytest.raises(UnsupportedEcosystem):
        ecosystem_info(ecosystem)


def test_ecosystem_mismatch_is_an_error() -> None:
    with pytest.raises(VersionError, match="does not match"):
        is_affected("npm", "1.0.0", _entry("PyPI", [{"introduced": "0"}]))


def test_unparsable_event_versions_are_reported_not_raised() -> None:
    entry = _entry("PyPI", [{"introduced": "0"}, {"fixed": "2019-09-12"}])
    compiled = compile_affected(entry)
    assert compiled.problems == ("unparsable fixed event '2019-09-12'",)
    assert is_affected("PyPI", "99.0", compiled)  # the unusable fix is dropped: errs toward reporting


def test_ecosystem_suffix_and_table() -> None:
    assert ecosystem_info("Debian:11").name == "Debian"
    assert ecosystem_info("Maven:https://maven.google.com").purl_type == "maven"
    assert is_affected("Debian:12", "1.2-3", _entry("Debian", [{"introduced": "0"}, {"fixed": "1.2-4"}]))
    assert all(info.purl_type for info in ECOSYSTEMS.values())


# --- properties --------------------------------------------------------------------------------

pep440 = st.builds(
    lambda release, pre, post, dev: (
        ".".join(map(str, release))
        + (f"{pre[0]}{pre[1]}" if pre else "")
        + (f".post{post}" if post is not None else "")
        + (f".dev{dev}" if dev is not None else "")
    ),
    st.lists(st.integers(0, 12), min_size=1, max_size=4),
    st.none() | st.tuples(st.sampled_from(["a", "b", "rc"]), st.integers(0, 3)),
    st.none() | st.integers(0, 3),
    st.none() | st.integers(0, 3),
)


@settings(max_examples=300, deadline=None)
@given(intro=pep440, fix=pep440, v=pep440)
def test_property_pypi_interval(intro: str, fix: str, v: str) -> None:
    entry = _entry("PyPI", [{"introduced": intro}, {"fixed": fix}])
    lo, hi, pv = PepVersion(intro), PepVersion(fix), PepVersion(v)
    if intro == "0":  # the spec's "0" sorts before every version, even 0.dev0
        expected = pv < hi
    elif lo < hi:
        expected = lo <= pv < hi
    elif lo == hi:
        expected = False  # introduced sorts before fixed at equal versions: empty range
    else:
        expected = pv >= lo  # events are sorted: the fix comes first and changes nothing
    assert is_affected("PyPI", v, entry) is expected


semver = st.builds(
    lambda a, b, c, pre: f"{a}.{b}.{c}" + (f"-{pre}" if pre else ""),
    st.integers(0, 4),
    st.integers(0, 4),
    st.integers(0, 4),
    st.none() | st.sampled_from(["0", "alpha", "alpha.1", "beta", "rc.1"]),
)
event = st.one_of(
    st.builds(lambda v: {"introduced": v}, semver | st.just("0")),
    st.builds(lambda v: {"fixed": v}, semver),
    st.builds(lambda v: {"last_affected": v}, semver),
)


@settings(max_examples=300, deadline=None)
@given(events=st.lists(event, min_size=1, max_size=6), v=semver)
def test_property_fold_equals_intervals(events: list[dict[str, str]], v: str) -> None:
    """The spec's literal fold and the compiled intervals agree for arbitrary event lists."""
    compiled = compile_affected(_entry("crates.io", events))
    pv = parse_version("crates.io", v)
    in_intervals = any(
        (iv.lo is None or iv.lo <= pv) and (iv.hi is None or pv < iv.hi or (iv.hi_inclusive and pv == iv.hi))
        for rng in compiled.ranges
        for iv in range_intervals(rng)
    )
    assert is_affected_version(pv, compiled) is in_intervals


@settings(max_examples=200, deadline=None)
@given(versions=st.lists(pep440, min_size=2, max_size=8))
def test_property_univers_order_is_total_and_consistent(versions: list[str]) -> None:
    parsed = sorted(parse_version("PyPI", v) for v in versions)
    for a, b in itertools.pairwise(parsed):
        assert a <= b
        assert PepVersion(a.string) <= PepVersion(b.string)


def test_fixed_and_last_affected_at_one_version_leave_it_unaffected() -> None:
    """Found by the property test above: the fold and the intervals must agree on this
    contradictory range (the fix wins at its own version)."""
    compiled = compile_affected(
        _entry("crates.io", [{"introduced": "0"}, {"last_affected": "2.0.2"}, {"fixed": "2.0.2"}])
    )
    pv = parse_version("crates.io", "2.0.2")
    assert is_affected_version(pv, compiled) is False
    [interval] = range_intervals(compiled.ranges[0])
    assert (interval.hi_inclusive, str(interval.hi_raw)) == (False, "2.0.2")
    assert is_affected_version(parse_version("crates.io", "2.0.1"), compiled) is True
