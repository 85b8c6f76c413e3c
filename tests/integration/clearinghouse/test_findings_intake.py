"""Streaming findings import: dedup layer 3 across finders, credit, flat batches, all-or-nothing, idempotence."""

from __future__ import annotations

import copy
import gzip
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from frontiersec.clearinghouse import findings as findings_module
from frontiersec.clearinghouse.findings import (
    FindingsImportResult,
    finding_counts,
    import_findings,
    import_parsed,
)
from frontiersec.clearinghouse.intake import NormalizedFinding, ParseResult, parse_file
from frontiersec.clearinghouse.intake.base import ParseContext
from frontiersec.clearinghouse.models import ClusterMerge, Finding, ImportBatch, VulnCluster
from frontiersec.platform.auth.models import Organization
from frontiersec.platform.auth.principal import SYSTEM
from frontiersec.platform.errors import InvalidInput
from tests.factories import make_org

REPO = "https://github.com/dmlc/xgboost"
COMMIT = "9c0efcee38450e786d349a1ec558ca453c6df927"


def _sarif(shared_data: Path, name: str) -> dict[str, Any]:
    return json.loads((shared_data / "scanner-reports" / "sarif" / name).read_bytes())  # type: ignore[no-any-return]


def _target(log: dict[str, Any], when: str, commit: str = COMMIT) -> dict[str, Any]:
    for run in log["runs"]:
        run["versionControlProvenance"] = [{"repositoryUri": REPO, "revisionId": commit}]
        run["invocations"] = [{"executionSuccessful": True, "endTimeUtc": when}]
    return log


def _write(tmp_path: Path, name: str, doc: dict[str, Any]) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def _njsscan_on_flawfinder_line(shared_data: Path, line: int, uri: str) -> dict[str, Any]:
    """nodejsscan's real CWE-327 result (Math.random) re-placed on a C++ file of the flawfinder scan."""
    log = _sarif(shared_data, "njsscan.sarif")
    run = log["runs"][0]
    weak = next(r for r in run["results"] if r["ruleId"] == "node_insecure_random_generator")
    weak["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] = uri
    weak["locations"][0]["physicalLocation"]["region"].update(startLine=line, endLine=line)
    run["results"] = [weak]
    return log


def _merges(session: Session, finding_id: Any) -> list[ClusterMerge]:
    return list(session.execute(select(ClusterMerge).where(ClusterMerge.finding_id == finding_id)).scalars())


def test_layer3_joins_a_second_finder_with_credit_and_reason(
    session: Session, shared_data: Path, tmp_path: Path
) -> None:
    vendor = make_org(session, kind="security_vendor", name="Vendor With Flawfinder")
    lab = make_org(session, kind="ai_developer", name="Lab With nodejsscan")
    session.commit()
    # The lab's report (2026-05) arrives first; the vendor's earlier one (2026-03) second.
    first = _target(_njsscan_on_flawfinder_line(shared_data, 30, "src/tree/param.cc"), "2026-05-01T00:00:00Z")
    r1 = import_findings(session, SYSTEM, _write(tmp_path, "lab.sarif", first), org=lab)
    assert (r1.new, r1.clusters_created) == (1, 1)
    ff = _target(_sarif(shared_data, "flawfinder.sarif"), "2026-03-01T00:00:00Z")
    r2 = import_findings(session, SYSTEM, _write(tmp_path, "flawfinder.sarif", ff), org=vendor)
    session.commit()
    assert r2.received == 54

    # Flawfinder's real FF1048 (CWE-327, random/setstate) at src/tree/param.cc:29 joins the
    # lab's CWE-327 finding at line 30 (layer 3).
    ff1048 = session.execute(
        select(Finding).where(
            Finding.rule_id == "FF1048", Finding.path == "src/tree/param.cc", Finding.start_line == 29
        )
    ).scalar_one()
    lab_finding = session.execute(select(Finding).where(Finding.owner_org_id == lab.id)).scalar_one()
    assert ff1048.cluster_id == lab_finding.cluster_id
    [merge] = _merges(session, ff1048.id)
    assert merge.layer == 3
    assert merge.reason == (
        f"same target github.com/dmlc/xgboost@{COMMIT[:12]}, CWE-327, src/tree/param.cc lines 29-29 within 1 of 30-30"
    )
    assert 0 < merge.score < 1
    cluster = session.get(VulnCluster, ff1048.cluster_id)
    assert cluster is not None
    # credit: the earliest finding wins, whoever imported first
    assert cluster.first_finder_org_id == vendor.id
    assert cluster.first_found_at is not None
    assert cluster.first_found_at.month == 3
    assert [(f["org_id"], f["found_at"][:10]) for f in cluster.finders] == [
        (str(vendor.id), "2026-03-01"),
        (str(lab.id), "2026-05-01"),
    ]

    # Within the flawfinder file: FF1021 (CWE-120) at src/cli_main.cc:143 joins FF1013 (CWE-119/120) at :142.
    ff1021 = session.execute(
        select(Finding).where(
            Finding.rule_id == "FF1021", Finding.path == "src/cli_main.cc", Finding.start_line == 143
        )
    ).scalar_one()
    ff1013 = session.execute(
        select(Finding).where(
            Finding.rule_id == "FF1013", Finding.path == "src/cli_main.cc", Finding.start_line == 142
        )
    ).scalar_one()
    assert ff1021.cluster_id == ff1013.cluster_id
    [inner] = _merges(session, ff1021.id)
    assert (inner.layer, "CWE-120" in inner.reason) == (3, True)
    # ... but FF1019 (CWE-134) next to FF1013 in src/common/timer.h stays apart.
    t13, t19 = (
        session.execute(
            select(Finding).where(Finding.path == "src/common/timer.h", Finding.rule_id == rule)
        ).scalar_one()
        for rule in ("FF1013", "FF1019")
    )
    assert t13.cluster_id != t19.cluster_id
    assert r2.merged_by_layer[3] == len(
        list(
            session.execute(
                select(ClusterMerge).where(ClusterMerge.layer == 3, ClusterMerge.cluster_id.is_not(None))
            ).scalars()
        )
    )


def test_layer3_does_not_merge_another_commit_or_another_file(
    session: Session, shared_data: Path, tmp_path: Path
) -> None:
    vendor = make_org(session)
    lab = make_org(session)
    ff = _target(_sarif(shared_data, "flawfinder.sarif"), "2026-03-01T00:00:00Z")
    import_findings(session, SYSTEM, _write(tmp_path, "ff.sarif", ff), org=vendor)
    before = finding_counts(session)
    other_commit = _target(
        _njsscan_on_flawfinder_line(shared_data, 29, "src/tree/param.cc"),
        "2026-05-01T00:00:00Z",
        commit="0" * 40,
    )
    r = import_findings(session, SYSTEM, _write(tmp_path, "a.sarif", other_commit), org=lab)
    assert (r.clusters_created, r.clusters_joined) == (1, 0)
    other_file = _target(
        _njsscan_on_flawfinder_line(shared_data, 29, "src/tree/other.cc"), "2026-05-01T00:00:00Z"
    )
    r = import_findings(session, SYSTEM, _write(tmp_path, "b.sarif", other_file), org=lab)
    assert (r.clusters_created, r.clusters_joined) == (1, 0)
    after = finding_counts(session)
    assert after["vuln_clusters"] == before["vuln_clusters"] + 2
    assert after["cluster_merges"] == before["cluster_merges"]


def _big_sarif(shared_data: Path, n: int) -> dict[str, Any]:
    """``n`` distinct results: CodeQL's real results re-placed on distinct lines of their real files."""
    log = _sarif(shared_data, "codeQL-output.sarif")
    run = log["runs"][0]
    real = run["results"]
    out = []
    for i in range(n):
        r = copy.deepcopy(real[i % len(real)])
        r["partialFingerprints"] = {"primaryLocationLineHash": f"{i:x}:1"}
        r["locations"][0]["physicalLocation"]["region"]["startLine"] = 1000 + i * 10
        out.append(r)
    run["results"] = out
    return log


class _Counting:
    """Wraps a parser's iterator and counts how far it has been consumed."""

    def __init__(self, inner: Iterator[NormalizedFinding]) -> None:
        self.inner = inner
        self.consumed = 0

    def __iter__(self) -> Iterator[NormalizedFinding]:
        for f in self.inner:
            self.consumed += 1
            yield f


def _import_in_batches(
    session: Session, org: Organization, path: Path, *, batch_size: int = 100, overlap: bool | None = None
) -> FindingsImportResult:
    return import_parsed(
        session,
        SYSTEM,
        parse_file(path),
        org=org,
        filename=path.name,
        sha256=path.name,
        batch_size=batch_size,
        overlap=overlap,
    )


@contextmanager
def _finding_inserts(call: Callable[[], None]) -> Iterator[None]:
    """Call ``call`` before each bulk write into ``findings`` (an INSERT on SQLite, a COPY on
    PostgreSQL, so SQL statement events would not see them all), then write as usual."""
    real = findings_module._insert_many

    def spy(session: Session, rows: Any) -> None:
        if rows.table.name == "findings" and rows:
            call()
        real(session, rows)

    findings_module._insert_many = spy
    try:
        yield
    finally:
        findings_module._insert_many = real


@pytest.mark.parametrize("overlap", [False, True], ids=["in-order", "overlapped"])
def test_import_consumes_the_parser_lazily_batch_by_batch(
    session: Session, shared_data: Path, tmp_path: Path, overlap: bool
) -> None:
    org = make_org(session)
    path = _write(tmp_path, "big.sarif", _big_sarif(shared_data, 700))
    parsed = parse_file(path)
    counting = _Counting(iter(parsed))
    lazy = ParseResult(parsed.format, path, iter(counting), ParseContext())
    at_insert: list[int] = []
    with _finding_inserts(lambda: at_insert.append(counting.consumed)):
        r = import_parsed(
            session, SYSTEM, lazy, org=org, filename=path.name, sha256="x", batch_size=100, overlap=overlap
        )
    assert r.new == 700
    assert len(at_insert) == 7
    if overlap:
        # the database thread's queue is fetch N+1, write N, fetch N+2...: a write may start when
        # the main thread has read up to three batches past it, never more (memory stays flat)
        assert all(read <= (i + 4) * 100 for i, read in enumerate(at_insert)), at_insert
    else:
        # each batch was written before the next was read: never more than one batch ahead
        assert at_insert == [100, 200, 300, 400, 500, 600, 700]


@pytest.mark.parametrize("overlap", [False, True], ids=["in-order", "overlapped"])
def test_failure_midway_leaves_nothing_and_the_file_can_be_rerun(
    session: Session, shared_data: Path, tmp_path: Path, overlap: bool
) -> None:
    """OSV JSON Lines stream in one pass: a bad line 451 surfaces after batches were written (four in
    order; overlapped, at least the first: batch 5 is read before batch 4 is written)."""
    org = make_org(session)
    session.commit()
    before = finding_counts(session)
    with gzip.open(shared_data / "osv-pypi" / "pypa-advisories.osv.jsonl.gz", "rt") as fh:
        lines = [line for _, line in zip(range(450), fh, strict=False)]
    cut = tmp_path / "broken.jsonl"
    cut.write_text("".join(lines) + '{"id": "PYSEC-X", "modif\n')
    inserted: list[str] = []
    with _finding_inserts(lambda: inserted.append("findings")), pytest.raises(InvalidInput) as info:
        _import_in_batches(session, org, cut, overlap=overlap)
    if overlap:
        assert 1 <= len(inserted) <= 4, inserted
    else:
        assert len(inserted) == 4, "four batches were written before the error surfaced"
    assert "broken.jsonl" in str(info.value)
    assert f"byte {cut.stat().st_size}" in str(info.value)  # where the stream broke
    session.rollback()  # what the request / CLI / job boundary does
    assert finding_counts(session) == before

    full = tmp_path / "full.jsonl"
    full.write_text("".join(lines))
    r1 = import_findings(session, SYSTEM, full, org=org, overlap=overlap)
    session.commit()
    assert r1.received == 450
    assert r1.new + r1.duplicates == 450
    counts = finding_counts(session)
    assert counts["findings"] == before["findings"] + r1.new
    r2 = import_findings(session, SYSTEM, full, org=org)
    session.commit()
    assert (r2.received, r2.new, r2.duplicates) == (450, 0, 450)
    after = finding_counts(session)
    assert (after["findings"], after["vuln_clusters"], after["cluster_merges"]) == (
        counts["findings"],
        counts["vuln_clusters"],
        counts["cluster_merges"],
    )
    assert after["import_batches"] == counts["import_batches"] + 1


def test_reimport_of_a_multi_batch_sarif_counts_every_result_as_duplicate(
    session: Session, shared_data: Path, tmp_path: Path
) -> None:
    org = make_org(session)
    path = _write(tmp_path, "big.sarif", _big_sarif(shared_data, 450))
    r1 = import_parsed(
        session, SYSTEM, parse_file(path), org=org, filename=path.name, sha256="x", batch_size=100
    )
    counts = finding_counts(session)
    r2 = import_parsed(
        session, SYSTEM, parse_file(path), org=org, filename=path.name, sha256="x", batch_size=100
    )
    assert (r1.new, r2.new, r2.duplicates) == (450, 0, 450)
    assert finding_counts(session)["findings"] == counts["findings"]


def test_layer2_still_merges_across_batches(session: Session, shared_data: Path, tmp_path: Path) -> None:
    """A CVE seen in batch 1 and again in batch 2 of one file (SARIF rule ids that are CVE ids) is one cluster."""
    org: Organization = make_org(session)
    log = _big_sarif(shared_data, 250)
    results = log["runs"][0]["results"]
    for i in (5, 240):  # batch 1 and batch 3 at batch_size=100
        results[i]["ruleId"] = "CVE-2021-28363"
        results[i].pop("ruleIndex", None)
    path = _write(tmp_path, "cves.sarif", log)
    r = import_parsed(
        session, SYSTEM, parse_file(path), org=org, filename=path.name, sha256="x", batch_size=100
    )
    assert r.merged_by_layer[2] == 1
    clusters = set(
        session.execute(select(Finding.cluster_id).where(Finding.rule_id == "CVE-2021-28363")).scalars()
    )
    assert len(clusters) == 1
    n = session.execute(
        select(func.count()).select_from(Finding).where(Finding.rule_id == "CVE-2021-28363")
    ).scalar_one()
    assert n == 2


def test_progress_is_reported_per_batch_with_increasing_percentages(
    session: Session, shared_data: Path, tmp_path: Path
) -> None:
    org = make_org(session)
    path = _write(tmp_path, "big.sarif", _big_sarif(shared_data, 700))
    seen: list[tuple[int, str]] = []
    r = import_parsed(
        session,
        SYSTEM,
        parse_file(path),
        org=org,
        filename=path.name,
        sha256="x",
        batch_size=100,
        progress=lambda pct, msg: seen.append((pct, msg)),
    )
    assert r.new == 700
    percents = [p for p, _ in seen]
    assert len(seen) == 8  # one call per batch of 100, then the final 100 %
    assert percents == sorted(percents), "progress never goes back"
    assert percents[-1] == 100
    assert percents[0] < percents[-2] < 100, "the share of the file read grows while batches go in"
    assert seen[-1][1] == "700 read, 700 new, 0 duplicates"

    # import_findings passes it on (the import job gives it ctx.progress)
    again: list[int] = []
    r2 = import_findings(session, SYSTEM, path, org=org, progress=lambda pct, _msg: again.append(pct))
    assert (r2.new, r2.duplicates) == (0, 700)
    assert again[-1] == 100
    assert again == sorted(again)


def test_identical_reimport_skips_parsing_with_the_same_counts(
    session: Session, shared_data: Path, tmp_path: Path
) -> None:
    org = make_org(session)
    path = shared_data / "scanner-reports" / "sarif" / "suppression_test.sarif"
    first = import_findings(session, SYSTEM, path, org=org)
    assert first.new > 0
    counts = finding_counts(session)
    fingerprint_path = import_findings(session, SYSTEM, path, org=org, reuse_identical=False)
    short = import_findings(session, SYSTEM, path, org=org, model_id="lab/model@2")  # the default
    batch = session.get(ImportBatch, short.batch_id)
    assert batch is not None
    assert batch.model_id == "lab/model@2"  # this import's provenance, not the earlier one's
    # the whole-file short-cut says exactly what the fingerprint path says
    assert (short.received, short.new, short.duplicates, short.rejected) == (
        fingerprint_path.received,
        fingerprint_path.new,
        fingerprint_path.duplicates,
        fingerprint_path.rejected,
    )
    assert short.warnings == fingerprint_path.warnings
    after = finding_counts(session)
    assert after["findings"] == counts["findings"]
    assert after["import_batches"] == counts["import_batches"] + 2
    # a changed file is parsed again
    doc = json.loads(path.read_bytes())
    doc["runs"][0]["results"] = doc["runs"][0]["results"][:1]
    changed = _write(tmp_path, "changed.sarif", doc)
    r = import_findings(session, SYSTEM, changed, org=org, reuse_identical=True)
    assert (r.received, r.new, r.duplicates) == (1, 0, 1)


def _stored(session: Session, org: Organization) -> list[Any]:
    return list(
        session.execute(
            select(Finding.fingerprint, Finding.rule_id, Finding.path, Finding.start_line, Finding.severity)
            .where(Finding.owner_org_id == org.id)
            .order_by(Finding.fingerprint)
        ).all()
    )


def test_parsing_in_a_second_process_imports_the_same(
    session: Session, shared_data: Path, tmp_path: Path
) -> None:
    """``background=True`` (what files of 8 MB and more get): the same findings, clusters and counts."""
    doc = _big_sarif(shared_data, 2600)
    here_org, there_org = make_org(session), make_org(session)
    session.commit()
    a = _write(tmp_path, "a.sarif", doc)
    here = import_findings(session, SYSTEM, a, org=here_org, background=False)
    rows_here = _stored(session, here_org)
    session.rollback()
    b = _write(tmp_path, "b.sarif", doc)
    there = import_findings(session, SYSTEM, b, org=there_org, background=True)
    rows_there = _stored(session, there_org)
    assert (there.received, there.new, there.duplicates, there.rejected, there.clusters_created) == (
        here.received,
        here.new,
        here.duplicates,
        here.rejected,
        here.clusters_created,
    )
    assert there.new == 2600
    assert there.warnings == here.warnings
    assert rows_there == rows_here


def test_a_broken_file_parsed_in_a_second_process_leaves_nothing(
    session: Session, shared_data: Path, tmp_path: Path
) -> None:
    org = make_org(session)
    session.commit()
    before = finding_counts(session)
    raw = json.dumps(_big_sarif(shared_data, 2600)).encode()
    cut = tmp_path / "cut.sarif"
    cut.write_bytes(raw[: len(raw) * 9 // 10])
    with pytest.raises(InvalidInput) as info:
        import_findings(session, SYSTEM, cut, org=org, background=True)
    assert "cut.sarif" in str(info.value)
    assert "truncated" in str(info.value)
    session.rollback()
    assert finding_counts(session) == before


def _linked_osv(shared_data: Path, tmp_path: Path) -> tuple[Path, Path]:
    """Real PyPI advisories: 40 for a base import, 40 more for the file under test, into which
    records are added that share the ids of a base advisory and of one 4 records earlier (layer-2
    merges across adjacent batches), later ones that name only the merged-away id, and repeats of
    records one back (layer 1 across adjacent batches)."""
    with gzip.open(shared_data / "osv-pypi" / "pypa-advisories.osv.jsonl.gz", "rt") as fh:
        records = [json.loads(line) for _, line in zip(range(80), fh, strict=False)]
    base = tmp_path / "base.jsonl"
    base.write_text("".join(json.dumps(r) + "\n" for r in records[:40]))
    out: list[dict[str, Any]] = []
    followers: dict[int, dict[str, Any]] = {}
    for i in range(40, 80):
        out.append(records[i])
        if i in followers:
            out.append(followers.pop(i))
        if i % 5 == 0:
            out.append(records[i - 1])
        if i >= 44 and i % 3 == 2:
            linked = copy.deepcopy(records[i])
            linked["id"] = f"FRONTIERSEC-LINK-{i}"
            linked["aliases"] = [records[i - 4]["id"], records[i - 40]["id"]]
            out.append(linked)
            follower = copy.deepcopy(records[i - 4])
            follower["id"] = f"FRONTIERSEC-FOLLOW-{i}"
            follower["aliases"] = [records[i - 4]["id"]]
            followers[i + 8] = follower
    out.extend(followers.values())
    test = tmp_path / "linked.jsonl"
    test.write_text("".join(json.dumps(r) + "\n" for r in out))
    return base, test


def _stacked_sarif(shared_data: Path, n: int, when: str) -> dict[str, Any]:
    """Real CodeQL results on distinct lines of a named commit, in runs of three, each run followed
    by a second tool's run with the same three results (layer 3 joins a few findings back)."""
    log = _target(_big_sarif(shared_data, n), when)
    run = log["runs"][0]
    runs = []
    for k in range(0, n, 3):
        first = copy.deepcopy({**run, "results": run["results"][k : k + 3]})
        second = copy.deepcopy(first)
        second["tool"]["driver"]["name"] = "CodeQL second pass"
        for i, result in enumerate(second["results"], start=k):
            result["partialFingerprints"] = {"primaryLocationLineHash": f"twin{i:x}:1"}
        runs += [first, second]
    log["runs"] = runs
    return log


def _outcome(session: Session) -> tuple[Any, ...]:
    """The whole dedup outcome without the random ids: clusters as sets of fingerprints with their
    aliases, status and credit; merge rows as (layer, reason, finding)."""
    fingerprint = dict(session.execute(select(Finding.id, Finding.fingerprint)).all())
    clusters = {c.id: c for c in session.execute(select(VulnCluster)).scalars()}
    members: dict[Any, list[str]] = {}
    for fid, cid in session.execute(select(Finding.id, Finding.cluster_id)).all():
        members.setdefault(cid, []).append(fingerprint[fid])
    groups = sorted(
        (
            sorted(fps),
            sorted(clusters[cid].aliases),
            clusters[cid].status,
            sorted(f["found_at"] for f in clusters[cid].finders),
        )
        for cid, fps in members.items()
    )
    merges = sorted(
        (m.layer, m.reason, fingerprint.get(m.finding_id, ""))
        for m in session.execute(select(ClusterMerge)).scalars()
    )
    statuses = sorted(c.status for c in clusters.values())
    return groups, merges, statuses


def test_overlapped_import_decides_as_the_in_order_one(
    session: Session, shared_data: Path, tmp_path: Path
) -> None:
    """Batch N+1 is read before batch N is written when the import overlaps: with batches of 7, layer-2
    merges and layer-3 joins that reach into the previous batch, and stored findings of an earlier
    import, the clusters, aliases, credit and merge rows are those of the in-order import."""
    org = make_org(session)
    base_osv, linked = _linked_osv(shared_data, tmp_path)
    base_sarif = _write(tmp_path, "base.sarif", _stacked_sarif(shared_data, 30, "2026-01-05T10:00:00Z"))
    stacked = _write(tmp_path, "stacked.sarif", _stacked_sarif(shared_data, 90, "2026-02-05T10:00:00Z"))
    for path in (base_osv, base_sarif):
        import_findings(session, SYSTEM, path, org=org)
    session.commit()

    outcomes = []
    for overlap in (False, True):
        results = [
            _import_in_batches(session, org, path, batch_size=7, overlap=overlap)
            for path in (linked, stacked)
        ]
        counts = [
            (r.received, r.new, r.duplicates, r.clusters_created, r.clusters_joined, r.merged_by_layer)
            for r in results
        ]
        outcomes.append((counts, _outcome(session)))
        session.rollback()

    (counts, outcome), (counts_overlapped, outcome_overlapped) = outcomes
    osv, sarif = counts
    # the merges this test is about happened
    assert osv[5][2] >= 20, counts
    assert osv[2] == 8, counts
    assert sarif[5][3] >= 40, counts
    assert counts_overlapped == counts
    assert outcome_overlapped == outcome


def test_a_database_error_on_the_database_thread_surfaces_and_leaves_nothing(
    session: Session, shared_data: Path, tmp_path: Path
) -> None:
    """Overlapped, the writes run on a database thread: an error there (here injected into the third
    findings write) is the error the import raises, the thread is gone when it does, and the
    rollback leaves the database as it was."""
    org = make_org(session)
    session.commit()
    before = finding_counts(session)
    path = _write(tmp_path, "big.sarif", _big_sarif(shared_data, 700))
    writes: list[int] = []

    def fail_third() -> None:
        writes.append(1)
        if len(writes) == 3:
            raise OSError("no space left on device")

    with _finding_inserts(fail_third), pytest.raises(OSError, match="no space left"):
        _import_in_batches(session, org, path, overlap=True)
    assert len(writes) == 3, "no write ran after the failed one"
    assert not [t for t in threading.enumerate() if t.name.startswith("frontiersec-import-db")]
    session.rollback()
    assert finding_counts(session) == before
