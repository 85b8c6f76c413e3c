"""SBOM matching (``clearinghouse.matching``) and OSV loading (``clearinghouse.osv_records``)."""

from __future__ import annotations

import gzip
import json
import random
import zipfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from frontiersec.clearinghouse.matching import (
    AdvisoryIndex,
    PackageKey,
    SkipReason,
    naive_match,
    package_key,
    purl_key,
)
from frontiersec.clearinghouse.osv_records import ArchiveTooLarge, OsvLoadError, ZipLimits, iter_osv_records
from frontiersec.clearinghouse.versions import (
    UnparsableVersion,
    UnsupportedEcosystem,
    compile_affected,
    is_affected_version,
    parse_version,
)

FEEDS = [
    "osv-pypi/pypa-advisories.osv.jsonl.gz",
    "osv-other/go-vulndb.osv.jsonl.gz",
    "osv-other/rustsec-crates.osv.jsonl.gz",
]

Probe = tuple[PackageKey, str]


@pytest.fixture(scope="module")
def records(shared_data: Path) -> list[dict[str, Any]]:
    return [r for rel in FEEDS for r in iter_osv_records(shared_data / rel)]


@pytest.fixture(scope="module")
def index(records: list[dict[str, Any]]) -> AdvisoryIndex:
    return AdvisoryIndex.from_records(records)


@pytest.fixture(scope="module")
def by_key(records: list[dict[str, Any]]) -> dict[PackageKey, list[dict[str, Any]]]:
    grouped: dict[PackageKey, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        keys = {package_key(a["package"]["ecosystem"], a["package"]["name"]) for a in record["affected"]}
        for key in keys:
            grouped[key].append(record)
    return grouped


def _below(ecosystem: str, version: str) -> str | None:
    """A version just below ``version`` (a dev / pre-release of it), when that is valid and lower."""
    candidate = f"{version}.dev0" if ecosystem == "PyPI" else f"{version}-0"
    try:
        lower, upper = parse_version(ecosystem, candidate), parse_version(ecosystem, version)
    except UnparsableVersion:
        return None
    return candidate if lower < upper else None


def _probes(records: list[dict[str, Any]], n: int, seed: int = 7) -> list[Probe]:
    listed: list[Probe] = []
    bounds: list[Probe] = []
    for record in records:
        for affected in record["affected"]:
            eco = affected["package"]["ecosystem"]
            key = package_key(eco, affected["package"]["name"])
            listed.extend((key, v) for v in affected.get("versions", []))
            for rng in affected.get("ranges", []):
                if rng["type"] == "GIT":
                    continue
                for ev in rng["events"]:
                    for kind, v in ev.items():
                        if v == "0":
                            continue
                        bounds.append((key, v))
                        if kind == "introduced" and (below := _below(eco, v)) is not None:
                            bounds.append((key, below))
    rnd = random.Random(seed)
    picked = rnd.sample(listed, min(len(listed), n // 2)) + rnd.sample(bounds, min(len(bounds), n - n // 2))
    return list(dict.fromkeys(picked))


def _as_tuple(probe: Probe) -> tuple[str, str | None, str, str | None]:
    key, version = probe
    return (key.purl_type, key.namespace, key.name, version)


def test_index_equals_naive_on_real_probes(
    records: list[dict[str, Any]], index: AdvisoryIndex, by_key: dict[PackageKey, list[dict[str, Any]]]
) -> None:
    probes = _probes(records, 3000)
    compared = skipped = with_matches = 0
    for probe in probes:
        query = _as_tuple(probe)
        try:
            expected = naive_match(by_key[probe[0]], query)
        except UnparsableVersion:
            with pytest.raises(UnparsableVersion):
                index.match(query)
            skipped += 1
            continue
        assert index.match(query) == expected, probe
        compared += 1
        with_matches += bool(expected)
    assert compared > 2000, (compared, skipped)
    assert with_matches > 1000


def test_index_equals_naive_over_all_records(records: list[dict[str, Any]], index: AdvisoryIndex) -> None:
    # The naive loop over every record (not pre-grouped), on a small sample.
    for probe in _probes(records, 60, seed=11):
        query = _as_tuple(probe)
        try:
            expected = naive_match(records, query)
        except UnparsableVersion:
            continue
        assert index.match(query) == expected, probe


def test_every_listed_version_matched_and_fixed_not(
    records: list[dict[str, Any]], index: AdvisoryIndex
) -> None:
    listed = fixed = 0
    inconsistent: list[str] = []
    for record in records:
        if record.get("withdrawn"):
            continue
        entries: dict[PackageKey, list[Any]] = defaultdict(list)
        for affected in record["affected"]:
            key = package_key(affected["package"]["ecosystem"], affected["package"]["name"])
            entries[key].append(compile_affected(affected))
        for key, compiled_list in entries.items():
            for compiled in compiled_list:
                for v in compiled.versions[::4]:  # a quarter of the 140k listed versions keeps this fast
                    listed += 1
                    ids = {m.id for m in index.match((key.purl_type, key.namespace, key.name, v.string))}
                    assert record["id"] in ids, f"{record['id']} {key} {v.string}"
                for v, text in compiled.fixed:
                    fixed += 1
                    ids = {m.id for m in index.match((key.purl_type, key.namespace, key.name, text))}
                    if any(is_affected_version(v, c) for c in compiled_list):
                        inconsistent.append(f"{record['id']}@{text}")
                        continue
                    assert record["id"] not in ids, f"{record['id']} fixed {text} still matched"
    assert listed > 30_000
    assert fixed > 10_000
    # A fix that another entry of the same advisory still covers (Go lists a module once per package).
    assert len(inconsistent) <= fixed // 200, f"{len(inconsistent)} inconsistent: {inconsistent}"


def test_match_result_fields(index: AdvisoryIndex) -> None:
    matches = index.match("pkg:golang/github.com/gin-gonic/gin@v1.5.0")
    gin = next(m for m in matches if m.id == "GO-2020-0001")
    assert gin.fixed == "1.6.0"
    assert gin.affected_range_text == "<1.6.0"
    assert "CVE-2020-36567" in gin.aliases
    assert (gin.ecosystem, gin.package) == ("Go", "github.com/gin-gonic/gin")
    assert all(m.id != "GO-2020-0001" for m in index.match("pkg:golang/github.com/gin-gonic/gin@1.6.0"))


def test_pypi_names_normalized_per_pep503(index: AdvisoryIndex) -> None:
    a = index.match("pkg:pypi/Django@3.2.0")
    b = index.match(("pypi", None, "django", "3.2"))
    assert a == b
    assert a
    assert purl_key("pypi", None, "Zope.Interface__X") == PackageKey("pypi", "", "zope-interface-x")
    assert purl_key("cargo", None, "Foo_Bar") == PackageKey("cargo", "", "foo-bar")
    assert package_key("Go", "golang.org/x/net") == purl_key("golang", "golang.org/x", "net")
    assert package_key("Maven", "org.apache:commons") == PackageKey("maven", "org.apache", "commons")


def test_match_many_reports_skips(index: AdvisoryIndex) -> None:
    results = index.match_many(
        [
            "pkg:pypi/django@3.2.0",
            "pkg:pypi/django",
            "pkg:pypi/django@not-a-version!",
            "pkg:hackage/aeson@2.0.0",
            "not a purl",
            ("cargo", None, "unknown-crate-xyz", "1.0.0"),
        ]
    )
    assert results[0].skipped is None
    assert results[0].matches
    assert [r.skipped for r in results[1:5]] == [
        SkipReason.NO_VERSION,
        SkipReason.UNPARSABLE_VERSION,
        SkipReason.UNSUPPORTED_ECOSYSTEM,
        SkipReason.INVALID_PURL,
    ]
    assert "not-a-version!" in results[2].detail
    assert results[5].skipped is None
    assert results[5].matches == ()


def test_match_errors(index: AdvisoryIndex) -> None:
    with pytest.raises(UnparsableVersion):
        index.match("pkg:pypi/django@1.0-final-x")
    with pytest.raises(UnsupportedEcosystem):
        index.match("pkg:hackage/aeson@2.0.0")
    with pytest.raises(ValueError, match="no version"):
        index.match("pkg:pypi/django")


def test_withdrawn_left_out_by_default(records: list[dict[str, Any]], index: AdvisoryIndex) -> None:
    withdrawn = {r["id"] for r in records if r.get("withdrawn")}
    assert withdrawn
    assert index.advisory_count == len(records) - len(withdrawn)


# --- generated ranges: index == naive ----------------------------------------------------------

semver = st.builds(lambda a, b, c: f"{a}.{b}.{c}", st.integers(0, 3), st.integers(0, 3), st.integers(0, 3))
event = st.one_of(
    st.builds(lambda v: {"introduced": v}, semver | st.just("0")),
    st.builds(lambda v: {"fixed": v}, semver),
    st.builds(lambda v: {"last_affected": v}, semver),
    st.builds(lambda v: {"limit": v}, semver),
)
advisory = st.builds(
    lambda ranges, versions: (ranges, versions),
    st.lists(st.lists(event, min_size=1, max_size=5), min_size=1, max_size=2),
    st.lists(semver, max_size=3),
)


@settings(max_examples=150, deadline=None)
@given(advisories=st.lists(advisory, min_size=1, max_size=4), probes=st.lists(semver, min_size=1, max_size=8))
def test_property_index_equals_naive(advisories: list[Any], probes: list[str]) -> None:
    recs = [
        {
            "id": f"TEST-{i}",
            "affected": [
                {
                    "package": {"ecosystem": "crates.io", "name": "demo"},
                    "ranges": [{"type": "SEMVER", "events": events} for events in ranges],
                    "versions": versions,
                }
            ],
        }
        for i, (ranges, versions) in enumerate(advisories)
    ]
    idx = AdvisoryIndex.from_records(recs)
    for v in probes:
        assert idx.match(("cargo", None, "demo", v)) == naive_match(recs, ("cargo", None, "demo", v))


# --- loading -----------------------------------------------------------------------------------

RECORD = {"id": "TEST-1", "affected": []}


def test_load_shapes(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(json.dumps(RECORD) + "\n\n" + json.dumps({"id": "TEST-2"}) + "\n")
    with gzip.open(tmp_path / "b.jsonl.gz", "wt") as fh:
        fh.write(json.dumps(RECORD) + "\n")
    (tmp_path / "c.json").write_text(json.dumps([RECORD, {"id": "TEST-3"}]))
    (tmp_path / "d.json").write_text(json.dumps(RECORD))
    folder = tmp_path / "dir"
    folder.mkdir()
    (folder / "x.json").write_text(json.dumps({"id": "X"}))
    (folder / "y.json").write_text(json.dumps({"id": "Y"}))
    with zipfile.ZipFile(tmp_path / "all.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("TEST-1.json", json.dumps(RECORD))
        zf.writestr("TEST-4.json", json.dumps({"id": "TEST-4"}))
    ids = {
        name: [r["id"] for r in iter_osv_records(tmp_path / name)]
        for name in ("a.jsonl", "b.jsonl.gz", "c.json", "d.json", "dir", "all.zip")
    }
    assert ids == {
        "a.jsonl": ["TEST-1", "TEST-2"],
        "b.jsonl.gz": ["TEST-1"],
        "c.json": ["TEST-1", "TEST-3"],
        "d.json": ["TEST-1"],
        "dir": ["X", "Y"],
        "all.zip": ["TEST-1", "TEST-4"],
    }


def test_load_errors_name_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(RECORD) + "\n{not json\n")
    with pytest.raises(OsvLoadError, match=r"bad\.jsonl \(line 2\)"):
        list(iter_osv_records(bad))
    arr = tmp_path / "arr.json"
    arr.write_text("[1]")
    with pytest.raises(OsvLoadError, match="array index 0"):
        list(iter_osv_records(arr))
    with pytest.raises(OsvLoadError, match="no such file"):
        list(iter_osv_records(tmp_path / "missing.jsonl"))


def test_zip_bomb_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "all.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("BOMB.json", b'{"id": "' + b"A" * (50 * 1024 * 1024) + b'"}')
    assert bomb.stat().st_size < 1024 * 1024
    with pytest.raises(ArchiveTooLarge, match="compression ratio"):
        list(iter_osv_records(bomb))
    with pytest.raises(ArchiveTooLarge, match=r"size cap|than the cap"):
        list(iter_osv_records(bomb, zip_limits=ZipLimits(max_total_bytes=10 * 1024 * 1024, max_ratio=1e9)))


def test_zip_entry_count_capped(tmp_path: Path) -> None:
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as zf:
        for i in range(20):
            zf.writestr(f"T-{i}.json", json.dumps({"id": f"T-{i}"}))
    assert len(list(iter_osv_records(many))) == 20
    with pytest.raises(ArchiveTooLarge, match="20 entries"):
        list(iter_osv_records(many, zip_limits=ZipLimits(max_entries=10)))


def test_real_feeds_load_lazily(shared_data: Path) -> None:
    it = iter_osv_records(shared_data / FEEDS[0])
    first = next(it)
    assert first["id"].startswith("PYSEC-")
