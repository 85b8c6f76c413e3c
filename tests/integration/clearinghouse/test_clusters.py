"""Cluster queries, TLP visibility, credit, and the analyst's manual merge and split, on real data."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from frontiersec.clearinghouse import clusters
from frontiersec.clearinghouse.models import ClusterAlias, ClusterMerge, Finding, VulnCluster
from frontiersec.platform.audit.models import AuditEntry
from frontiersec.platform.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from frontiersec.settings import Settings
from tests.factories import principal_of
from tests.integration.clearinghouse.clusters_world import (
    EARLY_ADVISORY,
    LATE_ADVISORY,
    RAPID_RESET,
    World,
    build_world,
    cluster_of,
    kev_of_lab_a,
)


@pytest.fixture
def world(session: Session, settings: Settings, tmp_path: Path) -> World:
    return build_world(session, settings, tmp_path)


def _all_findings(session: Session, world: World, user: object, **kw: object) -> list[clusters.FindingRow]:
    p = principal_of(session, user)  # type: ignore[arg-type]
    out: list[clusters.FindingRow] = []
    cursor = None
    while True:
        rows, cursor, _total = clusters.list_findings(
            session,
            p,
            clusters.FindingFilters(cursor=cursor, limit=37, **kw),  # type: ignore[arg-type]
        )
        out.extend(rows)
        if cursor is None:
            return out


def test_credit_goes_to_the_earliest_release_not_the_first_import(session: Session, world: World) -> None:
    cid = cluster_of(session, RAPID_RESET)
    detail = clusters.get_cluster(session, principal_of(session, world.operator), cid)
    credit = [(c["org"], c["found_at"].date().isoformat(), c["first"]) for c in detail.credit]
    assert credit == [("Lab A", EARLY_ADVISORY[1], True), ("Vendor B", LATE_ADVISORY[1], False)]
    assert [k.cve_id for k in detail.kev] == [RAPID_RESET]
    joins = [e for e in detail.history if e.kind == "join"]
    assert joins
    assert all(e.layer == 2 and e.reason == f"shared alias {RAPID_RESET}" for e in joins)


def test_other_organisations_see_the_cluster_but_not_each_others_findings(
    session: Session, world: World
) -> None:
    cid = cluster_of(session, RAPID_RESET)
    total = session.execute(select(func.count()).where(Finding.cluster_id == cid)).scalar_one()
    of_a = session.execute(
        select(func.count()).where(Finding.cluster_id == cid, Finding.owner_org_id == world.org_a.id)
    ).scalar_one()
    seen_by_a = clusters.get_cluster(session, principal_of(session, world.analyst_a), cid)
    assert {r.finding.owner_org_id for r in seen_by_a.findings} == {world.org_a.id}
    assert (len(seen_by_a.findings), seen_by_a.hidden_findings) == (of_a, total - of_a)
    seen_by_b = clusters.get_cluster(session, principal_of(session, world.member_b), cid)
    assert {r.finding.owner_org_id for r in seen_by_b.findings} == {world.org_b.id}
    # C found nothing: the cluster (AMBER, B's) is not found, nor is any of A's clusters.
    pc = principal_of(session, world.member_c)
    with pytest.raises(NotFound):
        clusters.get_cluster(session, pc, cid)
    with pytest.raises(NotFound):
        clusters.get_cluster(session, pc, cluster_of(session, "CVE-2021-44228"))
    assert clusters.list_findings(session, pc, clusters.FindingFilters())[2] == 0
    assert clusters.list_clusters(session, pc, clusters.ClusterFilters())[2] == 0
    # B's view of the list: only B's findings, and filtering by A as finder finds nothing of A's.
    pb = principal_of(session, world.member_b)
    rows, _, total_b = clusters.list_findings(session, pb, clusters.FindingFilters(limit=500))
    assert total_b == len(rows)
    assert {r.finding.owner_org_id for r in rows} == {world.org_b.id}
    assert clusters.list_clusters(session, pb, clusters.ClusterFilters(finder=str(world.org_a.id)))[2] == 0


def test_reads_of_amber_material_are_audited(session: Session, world: World) -> None:
    before = session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    p = principal_of(session, world.analyst_a)
    clusters.get_cluster(session, p, cluster_of(session, "CVE-2021-44228"))
    clusters.list_findings(session, p, clusters.FindingFilters())
    session.flush()
    reads = session.execute(select(AuditEntry).where(AuditEntry.action == "read")).scalars().all()
    after = session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    assert after - before >= 3
    assert {r.object_type for r in reads} >= {"vuln_cluster", "finding"}


@pytest.mark.parametrize(
    ("field", "value", "keep"),
    [
        ("severity", "high", lambda f: f.severity == "high"),
        ("cwe", "", None),  # the most common CWE of the data, chosen below
        ("target", "log4j-core", lambda f: "log4j-core" in (f.target_purl or "")),
        ("status", "in_triage", lambda f: f.status == "in_triage"),
        ("tool", "CodeQL", lambda f: f.tool_name == "CodeQL"),
        ("q", "jndi", None),
    ],
)
def test_finding_filters_select_exactly_the_matching_findings(
    session: Session, world: World, field: str, value: str, keep: object
) -> None:
    everything = _all_findings(session, world, world.analyst_a)
    if field == "cwe":
        common = max(
            {c for r in everything for c in r.finding.cwe_ids},
            key=lambda c: sum(c in r.finding.cwe_ids for r in everything),
        )
        value = common.removeprefix("CWE-")  # the bare number is accepted too

        def keep(f: Finding) -> bool:
            return common in f.cwe_ids

    if field == "q":

        def keep(f: Finding) -> bool:
            text = " ".join(x or "" for x in (f.title, f.message, f.rule_id, f.path)).lower()
            return value in text

    assert callable(keep)
    expected = {r.finding.id for r in everything if keep(r.finding)}
    got = {r.finding.id for r in _all_findings(session, world, world.analyst_a, **{field: value})}
    assert expected, f"the real data has findings matching {field}={value}"
    assert got == expected
    assert len(got) < len(everything)


def test_kev_filter_matches_the_catalog(session: Session, world: World, shared_data: Path) -> None:
    in_kev = kev_of_lab_a(shared_data)
    assert {"CVE-2021-44228", RAPID_RESET} <= in_kev
    p = principal_of(session, world.analyst_a)
    rows, _, total = clusters.list_clusters(session, p, clusters.ClusterFilters(kev=True, limit=500))
    assert total == len(rows)
    assert {k for r in rows for k in r.kev} == in_kev
    assert all(r.kev for r in rows)
    not_rows, _, not_total = clusters.list_clusters(session, p, clusters.ClusterFilters(kev=False, limit=500))
    assert not any(r.kev for r in not_rows)
    assert total + not_total == clusters.list_clusters(session, p, clusters.ClusterFilters())[2]
    findings = _all_findings(session, world, world.analyst_a, kev=True)
    assert findings
    assert all(r.kev for r in findings)


def test_cluster_list_counts_sorts_and_pages(session: Session, world: World) -> None:
    p = principal_of(session, world.operator)
    seen: list[clusters.ClusterRow] = []
    cursor = None
    while True:
        rows, cursor, total = clusters.list_clusters(
            session, p, clusters.ClusterFilters(sort="findings", cursor=cursor, limit=7)
        )
        seen.extend(rows)
        if cursor is None:
            break
    assert len(seen) == total == len({r.cluster.id for r in seen})
    counts = [r.findings for r in seen]
    assert counts == sorted(counts, reverse=True)
    for r in seen[:5]:
        n = session.execute(select(func.count()).where(Finding.cluster_id == r.cluster.id)).scalar_one()
        orgs = session.execute(
            select(func.count(func.distinct(Finding.owner_org_id))).where(Finding.cluster_id == r.cluster.id)
        ).scalar_one()
        assert (r.findings, r.finders) == (n, orgs)
    rapid = next(r for r in seen if RAPID_RESET in r.cluster.aliases)
    assert rapid.finders == 2
    assert rapid.first_finder == "Lab A"
    with pytest.raises(InvalidInput):
        clusters.list_clusters(session, p, clusters.ClusterFilters(sort="bogus"))
    with pytest.raises(InvalidInput):
        clusters.list_clusters(session, p, clusters.ClusterFilters(cursor="not-a-cursor"))


def test_split_and_merge_round_trip_recomputes_credit_and_records_history(
    session: Session, world: World
) -> None:
    op = principal_of(session, world.operator)
    cid = cluster_of(session, RAPID_RESET)
    b_findings = list(
        session.execute(
            select(Finding.id).where(Finding.cluster_id == cid, Finding.owner_org_id == world.org_b.id)
        ).scalars()
    )
    src, new = clusters.split_cluster(session, op, cid, b_findings, "B's product is a different HTTP/2 stack")
    session.commit()
    assert src.id == cid
    assert new.id != cid
    assert [f["org"] for f in src.finders] == ["Lab A"]
    assert [(f["org"], f["found_at"][:10]) for f in new.finders] == [("Vendor B", LATE_ADVISORY[1])]
    # The alias stays with the cluster whose remaining findings still carry it.
    assert session.get(ClusterAlias, RAPID_RESET).cluster_id == cid  # type: ignore[union-attr]
    assert RAPID_RESET in new.aliases
    # Undo the split: merge the new cluster back.
    target = clusters.merge_clusters(session, op, cid, new.id, "same CVE after all")
    session.commit()
    assert target.id == cid
    assert [f["org"] for f in target.finders] == ["Lab A", "Vendor B"]
    assert target.first_finder_org_id == world.org_a.id
    assert target.first_found_at == dt.datetime(2024, 3, 12, tzinfo=dt.UTC)
    gone = session.get(VulnCluster, new.id)
    assert gone is not None
    assert (gone.status, gone.merged_into_id) == ("merged", cid)
    detail = clusters.get_cluster(session, op, cid)
    manual = [e for e in detail.history if e.layer == 0]
    assert [(e.kind, e.direction, e.actor, e.reason) for e in manual] == [
        ("split", "out", world.operator.email, "B's product is a different HTTP/2 stack"),
        ("merge", "in", world.operator.email, "same CVE after all"),
    ]
    assert sorted(manual[0].finding_ids) == sorted(str(i) for i in b_findings)
    assert sorted(manual[1].finding_ids) == sorted(str(i) for i in b_findings)
    actions = session.execute(
        select(AuditEntry.action).where(AuditEntry.action.in_(["vuln.split", "vuln.merge"]))
    ).scalars()
    assert sorted(actions) == ["vuln.merge", "vuln.split"]
    # The merged cluster's page still resolves (to its merge target's visibility).
    assert clusters.get_cluster(session, op, new.id).merged_into is not None


def test_manual_merge_of_a_ghsa_into_its_cve_and_undo_by_restoring_split(
    session: Session, world: World
) -> None:
    # GHSA-jfh8-c2jp-5v3q is GitHub's id of CVE-2021-44228 (Log4Shell); the VEX lists them apart.
    p = principal_of(session, world.analyst_a)
    cve, ghsa = cluster_of(session, "CVE-2021-44228"), cluster_of(session, "GHSA-jfh8-c2jp-5v3q")
    ghsa_findings = set(session.execute(select(Finding.id).where(Finding.cluster_id == ghsa)).scalars())
    clusters.merge_clusters(session, p, cve, ghsa, "GHSA-jfh8-c2jp-5v3q is the GitHub id of Log4Shell")
    session.commit()
    assert session.get(ClusterAlias, "GHSA-jfh8-c2jp-5v3q").cluster_id == cve  # type: ignore[union-attr]
    merged = clusters.get_cluster(session, p, cve)
    assert {"CVE-2021-44228", "GHSA-jfh8-c2jp-5v3q"} <= set(merged.cluster.aliases)
    assert ghsa_findings <= {r.finding.id for r in merged.findings}
    src, restored = clusters.split_cluster(
        session, p, cve, sorted(ghsa_findings), "keep ids apart for the advisory", restore_id=ghsa
    )
    session.commit()
    assert restored.id == ghsa
    assert (restored.status, restored.merged_into_id) == ("new", None)
    assert (
        set(session.execute(select(Finding.id).where(Finding.cluster_id == ghsa)).scalars()) == ghsa_findings
    )
    assert session.get(ClusterAlias, "GHSA-jfh8-c2jp-5v3q").cluster_id == ghsa  # type: ignore[union-attr]
    assert "GHSA-jfh8-c2jp-5v3q" not in src.aliases
    rows = session.execute(select(ClusterMerge).where(ClusterMerge.layer == 0)).scalars().all()
    assert sorted(r.kind or "" for r in rows) == ["merge", "restore"]
    assert {r.actor_id for r in rows} == {world.analyst_a.id}


def test_manual_decisions_refuse_bad_requests_and_write_nothing(session: Session, world: World) -> None:
    pa = principal_of(session, world.analyst_a)
    cve, ghsa = cluster_of(session, "CVE-2021-44228"), cluster_of(session, "GHSA-jfh8-c2jp-5v3q")
    with pytest.raises(PermissionDenied):
        clusters.merge_clusters(session, principal_of(session, world.member_a), cve, ghsa, "same")
    with pytest.raises(InvalidInput) as e:
        clusters.merge_clusters(session, pa, cve, ghsa, "   ")
    assert e.value.errors[0].field == "reason"
    with pytest.raises(InvalidInput) as e:
        clusters.merge_clusters(session, pa, cve, cve, "itself")
    assert e.value.errors[0].field == "source_id"
    # Another organisation's analyst cannot see A's clusters: not found.
    with pytest.raises(NotFound):
        clusters.merge_clusters(session, principal_of(session, world.analyst_b), cve, ghsa, "x")
    with pytest.raises(InvalidInput) as e:
        clusters.split_cluster(session, pa, cve, [], "nothing")
    assert e.value.errors[0].field == "finding_ids"
    only = list(session.execute(select(Finding.id).where(Finding.cluster_id == cve)).scalars())
    with pytest.raises(InvalidInput):
        clusters.split_cluster(session, pa, cve, only, "all of them")
    other = session.execute(select(Finding.id).where(Finding.cluster_id == ghsa)).scalars().first()
    assert other is not None
    with pytest.raises(InvalidInput):
        clusters.split_cluster(session, pa, cve, [other], "not mine to split")
    session.rollback()
    clusters.merge_clusters(session, pa, cve, ghsa, "same")
    with pytest.raises(Conflict):
        clusters.merge_clusters(session, pa, cve, ghsa, "again")
    session.rollback()
    assert (
        session.execute(
            select(func.count()).select_from(ClusterMerge).where(ClusterMerge.layer == 0)
        ).scalar_one()
        == 0
    )


def test_fold_clusters_merges_for_any_layer_with_credit_history_and_audit(
    session: Session, world: World
) -> None:
    """The one merge every layer uses (here as layer 4 does it): findings, ids and credit move, and
    the merge is recorded with its layer, score and reason, automatic (no kind, no actor)."""
    op = principal_of(session, world.operator)
    cid = cluster_of(session, RAPID_RESET)
    b_findings = sorted(
        str(i)
        for i in session.execute(
            select(Finding.id).where(Finding.cluster_id == cid, Finding.owner_org_id == world.org_b.id)
        ).scalars()
    )
    _src, b_only = clusters.split_cluster(session, op, cid, [uuid.UUID(i) for i in b_findings], "apart")
    kept = session.get(VulnCluster, cid)
    assert kept is not None
    assert [f["org"] for f in kept.finders] == ["Lab A"]
    row = clusters.fold_clusters(
        session, op, kept, b_only, layer=4, score=0.91234, reason="text similarity 0.912", reparent=True
    )
    session.commit()
    assert (row.layer, row.kind, row.actor_id, row.score) == (4, None, None, 0.91234)
    assert (row.cluster_id, row.merged_cluster_id) == (cid, b_only.id)
    assert sorted(row.finding_ids or []) == b_findings
    # Credit from the advisories' release dates: A's earlier one first, B as co-finder with its date.
    assert [(f["org"], f["found_at"][:10]) for f in kept.finders] == [
        ("Lab A", EARLY_ADVISORY[1]),
        ("Vendor B", LATE_ADVISORY[1]),
    ]
    assert (kept.first_finder_org_id, kept.first_found_at) == (
        world.org_a.id,
        dt.datetime(2024, 3, 12, tzinfo=dt.UTC),
    )
    assert RAPID_RESET in kept.aliases
    assert session.get(ClusterAlias, RAPID_RESET).cluster_id == cid  # type: ignore[union-attr]
    assert (b_only.status, b_only.merged_into_id) == ("merged", cid)
    audit = session.execute(
        select(AuditEntry).where(AuditEntry.action == "vuln.merge", AuditEntry.object_id == str(cid))
    ).scalar_one()
    assert audit.details == {
        "into": str(cid),
        "from": str(b_only.id),
        "findings": len(b_findings),
        "layer": 4,
        "score": 0.9123,
        "reason": "text similarity 0.912",
    }
    event = next(e for e in clusters.get_cluster(session, op, cid).history if e.layer == 4)
    assert (event.kind, event.layer_name, event.direction, event.actor) == (
        "merge",
        "text similarity",
        "in",
        None,
    )


def test_fold_clusters_reparents_earlier_merges_only_when_asked(session: Session, world: World) -> None:
    """A manual merge keeps the chain (an earlier merge stays pointed at the cluster it went into,
    so undoing merges in reverse order is exact); layer 4 re-points it at the kept cluster."""
    pa = principal_of(session, world.analyst_a)
    # GHSA-7rjr-3q55-vv33 is CVE-2021-45046, GHSA-p6xc-xr62-6r2g is CVE-2021-45105 (log4j).
    ghsa_45046, cve_45046 = cluster_of(session, "GHSA-7rjr-3q55-vv33"), cluster_of(session, "CVE-2021-45046")
    ghsa_45105, cve_45105 = cluster_of(session, "GHSA-p6xc-xr62-6r2g"), cluster_of(session, "CVE-2021-45105")
    cve_44228, cve_44832 = cluster_of(session, "CVE-2021-44228"), cluster_of(session, "CVE-2021-44832")
    clusters.merge_clusters(session, pa, cve_45105, ghsa_45105, "GitHub id of CVE-2021-45105")
    clusters.merge_clusters(session, pa, cve_44832, cve_45105, "chain of manual merges")
    assert session.get(VulnCluster, ghsa_45105).merged_into_id == cve_45105  # type: ignore[union-attr]
    clusters.merge_clusters(session, pa, cve_45046, ghsa_45046, "GitHub id of CVE-2021-45046")
    kept, merged = session.get(VulnCluster, cve_44228), session.get(VulnCluster, cve_45046)
    assert kept is not None
    assert merged is not None
    clusters.fold_clusters(session, pa, kept, merged, layer=4, score=0.9, reason="similar", reparent=True)
    session.commit()
    assert session.get(VulnCluster, ghsa_45046).merged_into_id == cve_44228  # type: ignore[union-attr]
    assert {"CVE-2021-45046", "GHSA-7rjr-3q55-vv33"} <= set(kept.aliases)
    # Re-pointed, the earlier merge can be undone from the cluster that holds its findings now.
    ghsa_findings = [
        i
        for i in session.execute(select(Finding.id).where(Finding.cluster_id == cve_44228)).scalars()
        if "GHSA-7rjr-3q55-vv33" in (session.get(Finding, i).aliases or [])  # type: ignore[union-attr]
    ]
    assert ghsa_findings
    _src, restored = clusters.split_cluster(
        session, pa, cve_44228, ghsa_findings, "undo", restore_id=ghsa_45046
    )
    assert (restored.id, restored.status, restored.merged_into_id) == (ghsa_45046, "new", None)
    assert session.get(ClusterAlias, "GHSA-7rjr-3q55-vv33").cluster_id == ghsa_45046  # type: ignore[union-attr]
