"""The pure dedup decisions: layer 1 (fingerprint), layer 2 (shared alias), merges and finder credit."""

from __future__ import annotations

import datetime as dt

import pytest

from frontiersec.clearinghouse.dedup import (
    DedupState,
    Finder,
    apply,
    credit,
    decide,
    normalize_alias,
    vuln_aliases,
)

T0 = dt.datetime(2021, 3, 15, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("cve-2021-28363", "CVE-2021-28363"),
        (" CVE-2021-28363 ", "CVE-2021-28363"),
        ("GHSA-5PHF-PP7P-VC2R", "GHSA-5phf-pp7p-vc2r"),
        ("pysec-2021-59", "PYSEC-2021-59"),
    ],
)
def test_normalize_alias(raw: str, expected: str) -> None:
    assert normalize_alias(raw) == expected


def test_vuln_aliases_keeps_only_vulnerability_ids_once() -> None:
    got = vuln_aliases(["CVE-2021-28363", "cve-2021-28363", "py/sql-injection", "GHSA-5phf-pp7p-vc2r"])
    assert got == ("CVE-2021-28363", "GHSA-5phf-pp7p-vc2r")


def test_layer1_identical_fingerprint_is_duplicate() -> None:
    state = DedupState(fingerprints={"fp1"})
    d = decide(state, "fp1", ["CVE-2021-28363"])
    assert (d.kind, d.layer, d.reason) == ("duplicate", 1, "identical fingerprint")


def test_new_finding_without_known_alias_opens_cluster() -> None:
    d = decide(DedupState(), "fp1", ["CVE-2021-28363"])
    assert (d.kind, d.cluster) == ("new", None)


def test_layer2_shared_alias_joins_and_names_alias() -> None:
    state = DedupState()
    d1 = decide(state, "fp-osv", ["PYSEC-2021-59", "CVE-2021-28363"])
    apply(state, d1, "fp-osv", ["PYSEC-2021-59", "CVE-2021-28363"], "c1")
    d2 = decide(state, "fp-csaf", ["cve-2021-28363"])
    assert (d2.kind, d2.layer, d2.cluster) == ("join", 2, "c1")
    assert d2.reason == "shared alias CVE-2021-28363"
    apply(state, d2, "fp-csaf", ["cve-2021-28363"], "c1")
    # The same file again: both are now layer-1 duplicates.
    assert decide(state, "fp-osv", []).kind == "duplicate"
    assert decide(state, "fp-csaf", []).kind == "duplicate"


def test_finding_linking_two_clusters_merges_into_oldest() -> None:
    state = DedupState()
    for fp, alias, cluster in (("a", "CVE-2020-0001", "old"), ("b", "GHSA-aaaa-bbbb-cccc", "young")):
        apply(state, decide(state, fp, [alias]), fp, [alias], cluster)
    d = decide(state, "c", ["GHSA-aaaa-bbbb-cccc", "CVE-2020-0001"])
    assert d.kind == "join"
    assert d.cluster == "old"
    assert d.merge == (("young", "GHSA-aaaa-bbbb-cccc"),)
    apply(state, d, "c", ["GHSA-aaaa-bbbb-cccc", "CVE-2020-0001"], "old")
    assert state.alias_cluster == {"CVE-2020-0001": "old", "GHSA-aaaa-bbbb-cccc": "old"}


def test_decide_does_not_mutate_state() -> None:
    state = DedupState(fingerprints={"x"}, alias_cluster={"CVE-2020-0001": "c"})
    decide(state, "y", ["CVE-2020-0001"])
    assert state.fingerprints == {"x"}


def test_credit_earliest_first_each_org_once() -> None:
    first, co = credit(
        [
            Finder("vendor", T0 + dt.timedelta(days=900)),
            Finder("developer", T0),
            Finder("vendor", T0 + dt.timedelta(days=800)),
            Finder("developer", T0 + dt.timedelta(days=5)),
        ]
    )
    assert first == Finder("developer", T0)
    assert co == (Finder("vendor", T0 + dt.timedelta(days=800)),)


def test_credit_tie_goes_to_earlier_listed_and_empty() -> None:
    first, co = credit([Finder("b", T0), Finder("a", T0)])
    assert first is not None
    assert first.org == "b"
    assert [f.org for f in co] == ["a"]
    assert credit([]) == (None, ())
