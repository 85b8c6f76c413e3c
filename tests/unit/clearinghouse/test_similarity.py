"""Dedup layer 4: text normalisation, targets, cannot-link rules, and the real model on real pairs."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from frontiersec.clearinghouse import similarity
from frontiersec.clearinghouse.similarity import _ClusterView, cannot_link, finding_text, similarity_target
from frontiersec.clearinghouse.similarity_pairs import (
    LabelledPair,
    labelled_pairs,
    load_records,
    precision_recall,
    score_pairs,
    wilson,
)

# --------------------------------------------------------------------------------- pure parts


@pytest.mark.parametrize(
    ("title", "message", "expected"),
    [
        # CISA CSAF: the title is only the CVE id, the message says what it is.
        ("CVE-2023-4863", "Heap buffer overflow in libwebp", "Heap buffer overflow in libwebp"),
        # A leading id with a separator is dropped, the rest of the title kept.
        (
            "CVE-2021-1234: SQL injection",
            "User input reaches a query.",
            "SQL injection. User input reaches a query.",
        ),
        ("[GHSA-m87f-9fvv-2mgg] YAML load", "unsafe yaml.load", "YAML load. unsafe yaml.load"),
        # OSV records whose title is the first line of the details: not repeated.
        (
            "Tor path lengths too short",
            "Tor path lengths too short when set",
            "Tor path lengths too short when set",
        ),
        ("  Multi\n  line ", "  spaced\tout  text ", "Multi line. spaced out text"),
        (None, "only a message", "only a message"),
        ("only a title", None, "only a title"),
        (None, None, ""),
    ],
)
def test_finding_text_normalises(title: str | None, message: str | None, expected: str) -> None:
    assert finding_text(title, message) == expected


def test_finding_text_is_bounded() -> None:
    assert len(finding_text("t", "x" * 10_000)) == similarity.MAX_TEXT


@pytest.mark.parametrize(
    ("purl", "repo", "expected"),
    [
        ("pkg:pypi/django@4.2.1", None, "pkg:pypi/django"),
        ("pkg:pypi/django", None, "pkg:pypi/django"),
        ("pkg:pypi/Django_Rest@1.0?arch=x86#sub", None, "pkg:pypi/django-rest"),
        ("pkg:golang/github.com/gorilla/sessions@v1.2.1", None, "pkg:golang/github.com/gorilla/sessions"),
        (None, "https://GitHub.com/psf/requests.git", "repo:github.com/psf/requests"),
        (None, "git@github.com:psf/requests.git", "repo:github.com/psf/requests"),
        (None, None, None),
        (None, "  ", None),
    ],
)
def test_similarity_target(purl: str | None, repo: str | None, expected: str | None) -> None:
    assert similarity_target(purl, repo) == expected


def _view(**kw: Any) -> _ClusterView:
    return _ClusterView(members={uuid.uuid4()}, **kw)


def test_cannot_link_rules() -> None:
    assert cannot_link(_view(cves={"CVE-2020-1"}), _view(cves={"CVE-2020-2"})) == "different CVE ids"
    assert cannot_link(_view(cves={"CVE-2020-1"}), _view(cves={"CVE-2020-1", "CVE-2020-2"})) is None
    assert cannot_link(_view(cves={"CVE-2020-1"}), _view()) is None  # one side without a CVE
    same_run = {("b1", "semgrep", "sqli")}
    assert cannot_link(_view(batch_rules=same_run), _view(batch_rules=same_run)) is not None
    assert cannot_link(_view(batch_rules=same_run), _view(batch_rules={("b2", "semgrep", "sqli")})) is None
    assert cannot_link(_view(paths={"a.py"}), _view(paths={"b.py"})) == "different files"
    assert cannot_link(_view(paths={"a.py"}), _view(paths={"a.py", "c.py"})) is None
    assert cannot_link(_view(paths={"a.py"}), _view()) is None
    a, b = _view(), _view()
    separated = {frozenset((next(iter(a.members)), next(iter(b.members))))}
    assert cannot_link(a, b, separated) == "split apart by a person"
    assert cannot_link(a, b, set()) is None


def test_wilson_interval_known_values() -> None:
    # Worked example (Newcombe 1998, Table I): 81 of 263 -> 0.2553 .. 0.3662.
    lo, hi = wilson(81, 263)
    assert lo == pytest.approx(0.2553, abs=1e-4)
    assert hi == pytest.approx(0.3662, abs=1e-4)


# --------------------------------------------------------------------------------- the extra


def test_extra_is_installed_in_ci() -> None:
    """CI installs the ``embeddings`` extra (scripts/setup.sh): layer 4 must be covered there."""
    if not os.environ.get("CI"):
        pytest.skip("outside CI the extra is optional")
    assert similarity.available()
    assert similarity.load_embedder() is not None


@pytest.fixture(scope="module")
def embedder() -> similarity.Embedder:
    pytest.importorskip(similarity.PACKAGE)
    model = similarity.load_embedder()
    assert model is not None
    return model


def test_model_is_loaded_once(embedder: similarity.Embedder) -> None:
    assert similarity.load_embedder() is embedder
    assert embedder.dim == 384
    vec = embedder.embed(["SQL injection in the login form"])
    assert vec.shape == (1, 384)
    assert float((vec[0] ** 2).sum()) == pytest.approx(1.0, abs=1e-5)


def test_real_positive_pair_beats_every_real_negative(
    embedder: similarity.Embedder, shared_data: Path
) -> None:
    """PYSEC-2020-18 (apache-airflow) and CISA KEV's entry for the same CVE-2020-13927 are closer to
    each other than the PYSEC record is to any other apache-airflow advisory (different CVEs)."""
    records = {r.id: r for r in load_records(shared_data)}
    anchor, same = records["PYSEC-2020-18"], records["KEV:CVE-2020-13927"]
    assert anchor.vulns & same.vulns == {"CVE-2020-13927"}
    others = [
        r
        for r in records.values()
        if "pypi-osv:apache-airflow" in r.targets and r.id != anchor.id and not (r.vulns & anchor.vulns)
    ]
    assert len(others) >= 50
    texts = [finding_text(r.title, r.message) for r in (anchor, same, *others)]
    vecs = embedder.embed(texts)
    sims = vecs[1:] @ vecs[0]
    assert sims[0] >= similarity.THRESHOLD
    assert sims[0] > max(sims[1:])
    assert max(sims[1:]) < similarity.THRESHOLD


@pytest.fixture(scope="module")
def test_half(embedder: similarity.Embedder, shared_data: Path) -> tuple[list[LabelledPair], list[float]]:
    pairs = [p for p in labelled_pairs(shared_data) if p.half == "test"]
    return pairs, score_pairs(pairs, embedder)


def test_labelled_pairs_are_real_and_split(shared_data: Path) -> None:
    pairs = labelled_pairs(shared_data)
    assert pairs == labelled_pairs(shared_data)  # deterministic for the seed
    pos = [p for p in pairs if p.same]
    assert len(pos) >= 60
    for p in pos:
        assert p.a.vulns & p.b.vulns, "a positive shares a CVE/GHSA id"
    for p in pairs:
        if not p.same:
            assert not (p.a.vulns & p.b.vulns)
            assert set(p.a.targets) & set(p.b.targets), "a negative is within one target"
    assert {p.half for p in pos} == {"tune", "test"}
    assert {p.kind.split(":")[0] for p in pairs if not p.same} >= {"background", "csaf-cisa", "pypi-osv"}


def test_precision_recall_on_held_out_real_pairs(test_half: tuple[list[LabelledPair], list[float]]) -> None:
    """At THRESHOLD, on the test half (pairs the threshold was not chosen on). The bars sit a little
    below the measured values (bench/RESULTS.md: precision 0.46, recall 0.66, ROC AUC 0.92)."""
    pairs, scores = test_half
    pr = precision_recall(pairs, scores, similarity.THRESHOLD)
    assert pr.tp + pr.fn >= 25
    assert pr.recall >= 0.55, pr
    assert pr.precision >= 0.35, pr
    pos = [s for p, s in zip(pairs, scores, strict=True) if p.same]
    neg = [s for p, s in zip(pairs, scores, strict=True) if not p.same]
    auc = sum((a > b) + 0.5 * (a == b) for a in pos for b in neg) / (len(pos) * len(neg))
    assert auc >= 0.88
