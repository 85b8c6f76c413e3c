"""Dedup layer 3 (pure): same target, same CWE or rule family, overlapping lines, on real scanner findings."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from frontiersec.clearinghouse import dedup
from frontiersec.clearinghouse.intake import NormalizedFinding, parse_file
from tests.conftest import shared_data_dir

SARIF = shared_data_dir() / "scanner-reports" / "sarif"
TARGET = dedup.target_key(None, "https://github.com/dmlc/xgboost", "a" * 40)


def _findings(name: str) -> list[NormalizedFinding]:
    return parse_file(SARIF / name).collect()


def _one(findings: list[NormalizedFinding], path: str, line: int, rule: str) -> NormalizedFinding:
    [hit] = [f for f in findings if f.path == path and f.start_line == line and f.rule_id == rule]
    return hit


def _site(f: NormalizedFinding, cluster: str | None = None, target: str | None = TARGET) -> dedup.Site:
    assert f.path is not None
    assert f.start_line is not None
    assert target is not None
    return dedup.Site(
        dedup.locus(target, f.path),
        f.start_line,
        f.end_line or f.start_line,
        frozenset(f.cwe_ids),
        dedup.rule_family(f.tool_name, f.rule_id),
        f.tool_name,
        f.rule_id,
        cluster,
    )


def test_real_flawfinder_pair_sharing_cwe_120_on_adjacent_lines_merges() -> None:
    # flawfinder.sarif: FF1013 (CWE-119, CWE-120) at src/cli_main.cc:142 and FF1021 (CWE-120,
    # CWE-20) at :143 -- two rules of one tool on the same buffer handling.
    ff = _findings("flawfinder.sarif")
    a = _one(ff, "src/cli_main.cc", 142, "FF1013")
    b = _one(ff, "src/cli_main.cc", 143, "FF1021")
    assert set(a.cwe_ids) & set(b.cwe_ids) == {"CWE-120"}
    m = dedup.layer3(
        [_site(a, "c1")], _site(b), target_label="github.com/dmlc/xgboost@aaaa", path="src/cli_main.cc"
    )
    assert m is not None
    assert m.cluster == "c1"
    assert m.reason == (
        "same target github.com/dmlc/xgboost@aaaa, CWE-120, src/cli_main.cc lines 143-143 within 1 of 142-142"
    )
    assert 0 < m.score < 1.0  # one line apart: less than an overlap


@pytest.mark.parametrize(
    ("name", "path", "first", "second"),
    [
        # different CWEs one line apart (flawfinder: CWE-119/120 vs CWE-134)
        ("flawfinder.sarif", "src/common/timer.h", (33, "FF1013"), (34, "FF1019")),
        # CodeQL: CWE-628 vs CWE-79/116 one line apart
        (
            "codeQL-output.sarif",
            "good/mod_user.py",
            (33, "py/call/wrong-named-argument"),
            (34, "py/reflective-xss"),
        ),
        # CodeQL: two rules without CWE on the same line, different rule families
        ("codeQL-output.sarif", "bad/libuser.py", (2, "py/import-own-module"), (2, "py/unused-import")),
    ],
)
def test_real_neighbours_with_different_weaknesses_do_not_merge(
    name: str, path: str, first: tuple[int, str], second: tuple[int, str]
) -> None:
    found = _findings(name)
    a = _one(found, path, *first)
    b = _one(found, path, *second)
    assert dedup.layer3([_site(a, "c1")], _site(b), target_label="t", path=path) is None


def test_real_shellcheck_codes_on_one_line_do_not_merge() -> None:
    # bash-report.sarif: ShellCheck 2072 and 1035 on the same line: opaque codes of one tool, no CWE
    found = [
        f for f in _findings("bash-report.sarif") if f.start_line == 143 and f.path and "entrypoint" in f.path
    ]
    rules = {f.rule_id for f in found}
    assert rules == {"2072", "1035"}
    a = next(f for f in found if f.rule_id == "2072")
    b = next(f for f in found if f.rule_id == "1035")
    assert dedup.layer3([_site(a, "c1")], _site(b), target_label="t", path=a.path or "") is None


def test_different_target_or_lines_too_far_apart_or_same_rule_do_not_merge() -> None:
    ff = _findings("flawfinder.sarif")
    a = _one(ff, "src/cli_main.cc", 142, "FF1013")
    b = _one(ff, "src/cli_main.cc", 143, "FF1021")
    other = dedup.target_key(None, "https://github.com/dmlc/xgboost", "b" * 40)
    # another commit is another target: another locus
    assert _site(a, target=other).locus != _site(b).locus
    assert dedup.layer3([_site(a, "c1", target=other)], _site(b), target_label="t", path="p") is None
    # 1 + LINE_WINDOW lines apart
    far = _site(a, "c1")
    far = dedup.Site(
        far.locus,
        140 - dedup.LINE_WINDOW,
        140 - dedup.LINE_WINDOW,
        far.cwes,
        far.family,
        far.tool,
        far.rule,
        "c1",
    )
    assert dedup.layer3([far], _site(b), target_label="t", path="p") is None
    # the same tool and rule at a neighbouring line: the tool said they are two findings
    same_rule = dedup.Site(
        _site(b).locus, 144, 144, frozenset(b.cwe_ids), _site(b).family, b.tool_name, b.rule_id, "c1"
    )
    assert dedup.layer3([same_rule], _site(b), target_label="t", path="p") is None


def test_rule_family_on_real_rule_ids() -> None:
    # Semgrep (real id from semgrep/many_vulns.json), CodeQL, Flawfinder, ShellCheck
    assert (
        dedup.rule_family(
            "Semgrep", "python.lang.security.insecure-hash-algorithms.insecure-hash-algorithm-md5"
        )
        == "insecurehashalgorithmmd5"
    )
    assert dedup.rule_family("CodeQL", "py/empty-except") == "emptyexcept"
    assert dedup.rule_family("Flawfinder", "FF1048") == "flawfinder:ff1048"
    assert dedup.rule_family("Shell Script Analysis", "2072") == "shell script analysis:2072"
    assert dedup.rule_family("x", None) is None


def test_rule_family_merges_across_tools_without_cwe() -> None:
    loc = dedup.locus("repo:github.com/o/r@c", "app/views.py")
    known = dedup.Site(
        loc,
        10,
        14,
        frozenset(),
        "insecurehashalgorithmmd5",
        "Semgrep",
        "python.lang.security.insecure-hash-algorithms.insecure-hash-algorithm-md5",
        "c1",
    )
    me = dedup.Site(
        loc,
        12,
        12,
        frozenset(),
        "insecurehashalgorithmmd5",
        "OtherTool",
        "crypto/insecure-hash-algorithm-md5",
    )
    m = dedup.layer3([known], me, target_label="github.com/o/r@c", path="app/views.py")
    assert m is not None
    assert m.score == 0.8
    assert "rule family insecurehashalgorithmmd5" in m.reason
    assert m.reason.endswith("app/views.py lines 12-12 overlap 10-14")


def test_best_candidate_wins_and_decide_prefers_alias_over_layer3() -> None:
    loc = dedup.locus("purl:pkg:pypi/demo@1.0", "demo/db.py")
    near = dedup.Site(loc, 21, 21, frozenset({"CWE-89"}), "sqli", "A", "a/sqli", "near")
    exact = dedup.Site(loc, 20, 20, frozenset({"CWE-89"}), "sqli", "B", "b/sqli", "exact")
    me = dedup.Site(loc, 20, 20, frozenset({"CWE-89"}), "sqli", "C", "c/sqli")
    state = dedup.DedupState(sites={loc: [near, exact]})
    d = dedup.decide(state, "fp", [], me, target_label="pkg:pypi/demo@1.0", path="demo/db.py")
    assert (d.kind, d.layer, d.cluster, d.score) == ("join", 3, "exact", 1.0)
    assert d.reason == "same target pkg:pypi/demo@1.0, CWE-89, demo/db.py lines 20-20 overlap 20-20"
    state.alias_cluster["CVE-2021-28363"] = "by-alias"
    d2 = dedup.decide(state, "fp", ["CVE-2021-28363"], me)
    assert (d2.layer, d2.cluster) == (2, "by-alias")
    dedup.apply(state, d, "fp", [], "exact", me)
    assert state.sites[loc][-1].cluster == "exact"
    assert dedup.decide(state, "fp", [], me).kind == "duplicate"


@pytest.mark.parametrize(
    "repo",
    [
        "https://github.com/damiencarol/django-DefectDojo",
        "https://GitHub.com/damiencarol/django-DefectDojo.git",
        "git@github.com:damiencarol/django-DefectDojo.git",
        "ssh://git@github.com/damiencarol/django-DefectDojo/",
    ],
)
def test_repository_spellings_are_one_target(repo: str) -> None:
    assert dedup.normalize_repo(repo) == "github.com/damiencarol/django-DefectDojo"


@given(
    a=st.tuples(st.integers(1, 500), st.integers(0, 20)),
    b=st.tuples(st.integers(1, 500), st.integers(0, 20)),
)
def test_layer3_location_rule_is_symmetric_and_matches_the_window(
    a: tuple[int, int], b: tuple[int, int]
) -> None:
    loc = dedup.locus("t", "p")
    sa = dedup.Site(loc, a[0], a[0] + a[1], frozenset({"CWE-79"}), "x", "A", "ra", "ca")
    sb = dedup.Site(loc, b[0], b[0] + b[1], frozenset({"CWE-79"}), "y", "B", "rb", "cb")
    ab = dedup.layer3([sa], sb, target_label="t", path="p")
    ba = dedup.layer3([sb], sa, target_label="t", path="p")
    gap = max(a[0], b[0]) - min(a[0] + a[1], b[0] + b[1])
    assert (ab is not None) == (ba is not None) == (gap <= dedup.LINE_WINDOW)
    if ab is not None and ba is not None:
        assert ab.score == ba.score
        assert (ab.score == 1.0) == (gap <= 0)


def test_target_falls_back_only_when_given() -> None:
    assert dedup.target_key(None, None, None) is None
    assert dedup.target_key(None, None, None, "run:x:0") == "run:x:0"
    assert (
        dedup.target_key("pkg:npm/lodash@4.17.20", "https://github.com/x/y", "c")
        == "purl:pkg:npm/lodash@4.17.20"
    )
