"""Knowledge base, SBOM matching and findings import, end to end through the CLI on real data."""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from frontiersec.clearinghouse.findings import finding_counts
from frontiersec.clearinghouse.models import Advisory, ClusterMerge, Finding, VulnCluster
from frontiersec.cli import app as cli_app
from frontiersec.platform.audit.models import AuditEntry
from frontiersec.platform.auth.models import Organization
from frontiersec.settings import Settings
from tests.factories import bearer, make_org, make_user

OSV_FILE = "osv-pypi/pypa-advisories.osv.jsonl.gz"


@pytest.fixture
def env(settings: Settings) -> dict[str, str]:
    return {
        "FRONTIERSEC_DATA_DIR": str(settings.data_dir),
        "FRONTIERSEC_DATABASE_URL": settings.resolved_database_url,
        "FRONTIERSEC_DEMO_DATA": str(settings.demo_data),
    }


def _run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(cli_app, list(args), env=env)
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    return res.exit_code, res.stdout, res.stderr


def _ok_json(env: dict[str, str], *args: str) -> Any:
    code, out, err = _run(env, *args, "--json")
    assert code == 0, out + err
    return json.loads(out)


def _osv_records(shared_data: Path) -> list[dict[str, Any]]:
    with gzip.open(shared_data / OSV_FILE) as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _count(session: Session, model: Any) -> int:
    session.expire_all()
    return int(session.execute(select(func.count()).select_from(model)).scalar_one())


# ---------------------------------------------------------------- kb load-osv


def test_load_osv_counts_and_reload_is_idempotent(
    env: dict[str, str], shared_data: Path, session: Session
) -> None:
    path = shared_data / OSV_FILE
    with gzip.open(path) as fh:
        lines = sum(1 for line in fh if line.strip())
    first = _ok_json(env, "kb", "load-osv", str(path))
    assert first == {"source": path.name, "records": lines, "added": lines, "updated": 0, "unchanged": 0}
    assert _count(session, Advisory) == lines
    second = _ok_json(env, "kb", "load-osv", str(path))
    assert (second["added"], second["updated"], second["unchanged"]) == (0, 0, lines)
    audits = session.execute(select(AuditEntry).where(AuditEntry.action == "kb.load_osv")).scalars().all()
    assert len(audits) == 2
    adv = session.execute(select(Advisory).where(Advisory.osv_id == "PYSEC-2021-59")).scalar_one()
    assert "CVE-2021-28363" in adv.aliases
    assert adv.ecosystems == ["PyPI"]
    assert adv.tlp == "CLEAR"


def test_load_osv_directory_updates_changed_records(
    env: dict[str, str], shared_data: Path, tmp_path: Path, session: Session
) -> None:
    recs = _osv_records(shared_data)[:20]
    d = tmp_path / "osv"
    d.mkdir()
    for r in recs:
        (d / f"{r['id']}.json").write_text(json.dumps(r))
    assert _ok_json(env, "kb", "load-osv", str(d))["added"] == 20
    changed = dict(recs[0], modified="2099-01-01T00:00:00Z", summary="changed")
    (d / f"{recs[0]['id']}.json").write_text(json.dumps(changed))
    again = _ok_json(env, "kb", "load-osv", str(d))
    assert (again["added"], again["updated"], again["unchanged"]) == (0, 1, 19)
    row = session.execute(select(Advisory).where(Advisory.osv_id == recs[0]["id"])).scalar_one()
    assert row.summary == "changed"


def test_load_osv_bad_line_names_file_and_line_and_writes_nothing(
    env: dict[str, str], shared_data: Path, tmp_path: Path, session: Session
) -> None:
    recs = _osv_records(shared_data)[:3]
    bad = tmp_path / "broken.jsonl"
    bad.write_text(json.dumps(recs[0]) + "\n" + json.dumps(recs[1]) + "\n" + '{"id": "X", "modif\n')
    code, _out, err = _run(env, "kb", "load-osv", str(bad))
    assert code != 0
    assert "broken.jsonl" in err
    assert "line 3" in err
    assert _count(session, Advisory) == 0


# ---------------------------------------------------------------- sbom match


def _simple_pypi_advisories(shared_data: Path, n: int) -> list[tuple[str, str, str, str]]:
    """(osv id, package, a listed affected version, the fix) for single-range PyPI advisories."""
    out = []
    for r in _osv_records(shared_data):
        aff = r.get("affected") or []
        if r.get("withdrawn") or len(aff) != 1:
            continue
        a = aff[0]
        ranges = a.get("ranges") or []
        versions = a.get("versions") or []
        if len(ranges) != 1 or ranges[0].get("type") != "ECOSYSTEM" or not versions:
            continue
        ev = ranges[0]["events"]
        if len(ev) != 2 or "introduced" not in ev[0] or "fixed" not in ev[1]:
            continue
        out.append((r["id"], a["package"]["name"], versions[-1], ev[1]["fixed"]))
        if len(out) == n:
            break
    return out


def test_sbom_match_lists_every_component(
    env: dict[str, str], shared_data: Path, tmp_path: Path, session: Session, client: TestClient
) -> None:
    _ok_json(env, "kb", "load-osv", str(shared_data / OSV_FILE))
    picks = _simple_pypi_advisories(shared_data, 5)
    assert len(picks) == 5
    comps: list[dict[str, Any]] = []
    for _id, name, version, fixed in picks:
        comps.append(
            {"type": "library", "name": name, "version": version, "purl": f"pkg:pypi/{name}@{version}"}
        )
        comps.append({"type": "library", "name": name, "version": fixed, "purl": f"pkg:pypi/{name}@{fixed}"})
    comps.append({"type": "library", "name": "no-purl-here", "version": "1.0"})
    bom = {"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": comps}
    sbom = tmp_path / "bom.json"
    sbom.write_text(json.dumps(bom))

    out = _ok_json(env, "sbom", "match", str(sbom))
    assert len(out["components"]) == len(comps)
    by_purl = {c["purl"]: c for c in out["components"] if c["purl"]}
    for osv_id, name, version, fixed in picks:
        hit = {v["id"]: v for v in by_purl[f"pkg:pypi/{name}@{version}"]["vulnerabilities"]}
        assert osv_id in hit, (osv_id, name, version)
        assert hit[osv_id]["fixed"] == fixed
        assert osv_id not in {v["id"] for v in by_purl[f"pkg:pypi/{name}@{fixed}"]["vulnerabilities"]}
    no_purl = next(c for c in out["components"] if c["name"] == "no-purl-here")
    assert no_purl["skipped"] == "no_purl"
    assert no_purl["vulnerabilities"] == []

    # The API gives the same answer.
    user = make_user(session, make_org(session), role="viewer")
    headers = bearer(session, user, ("read", "write"))  # any POST needs the write scope
    session.commit()
    r = client.post("/api/v1/sbom/match", json=bom, headers=headers)
    assert r.status_code == 200, r.text
    api = [{**c, "skipped": c.get("skipped")} for c in r.json()["components"]]
    assert api == [{**c, "skipped": c.get("skipped")} for c in out["components"]]
    assert client.post("/api/v1/sbom/match", json={"nope": 1}, headers=headers).status_code == 422


def test_sbom_match_real_cyclonedx_files_and_bad_sbom(
    env: dict[str, str], shared_data: Path, tmp_path: Path
) -> None:
    _ok_json(env, "kb", "load-osv", str(shared_data / OSV_FILE))
    for f in sorted((shared_data / "scanner-reports" / "cyclonedx").glob("*.json")):
        doc = json.loads(f.read_bytes())
        expected = 0
        stack = list(doc.get("components") or [])
        if doc.get("metadata", {}).get("component"):
            stack.append(doc["metadata"]["component"])
        while stack:
            c = stack.pop()
            expected += 1
            stack.extend(c.get("components") or [])
        out = _ok_json(env, "sbom", "match", str(f))
        assert len(out["components"]) == expected, f.name
    bad = tmp_path / "bad.json"
    bad.write_text('{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [')
    code, _out, err = _run(env, "sbom", "match", str(bad))
    assert code != 0
    assert "bad.json" in err


# ---------------------------------------------------------------- findings import


def _manifest(shared_data: Path) -> dict[str, int]:
    m = json.loads((shared_data / "scanner-reports" / "manifest.json").read_bytes())
    return {f["path"]: f["results"] for f in m["files"] if f["path"].startswith("sarif/")}


def test_import_every_sarif_and_reimport_is_all_duplicates(
    env: dict[str, str], shared_data: Path, session: Session
) -> None:
    expected = _manifest(shared_data)
    assert expected
    total_new = 0
    for rel, count in sorted(expected.items()):
        path = shared_data / "scanner-reports" / rel
        started = time.perf_counter()
        r = _ok_json(env, "findings", "import", str(path), "--model", "test-model-1")
        elapsed = time.perf_counter() - started
        assert r["received"] == count, rel
        assert r["new"] + r["duplicates"] + r["rejected"] <= r["received"], rel
        total_new += r["new"]
        if rel == "sarif/codeQL-output.sarif":
            print(f"codeQL import: {count} results in {elapsed:.2f}s")
    assert _count(session, Finding) == total_new
    before = finding_counts(session)
    for rel, count in sorted(expected.items()):
        # --reparse: every result read again and found by its fingerprint
        r = _ok_json(env, "findings", "import", str(shared_data / "scanner-reports" / rel), "--reparse")
        assert r["received"] == count
        assert r["new"] == 0, rel
        assert r["duplicates"] == count - r["rejected"], rel
    # the default recognises the identical file by its SHA-256 and says the same
    again = _ok_json(
        env, "findings", "import", str(shared_data / "scanner-reports/sarif/codeQL-output.sarif")
    )
    count = expected["sarif/codeQL-output.sarif"]
    assert (again["received"], again["new"], again["duplicates"]) == (count, 0, count - again["rejected"])
    assert again["identical"] is True
    assert r["identical"] is False  # the last --reparse import read its file
    after = finding_counts(session)
    assert after["findings"] == before["findings"]
    assert after["vuln_clusters"] == before["vuln_clusters"]
    models = set(session.execute(select(Finding.model_id)).scalars())
    assert models == {"test-model-1"}


def test_truncated_file_fails_and_writes_nothing(
    env: dict[str, str], shared_data: Path, tmp_path: Path, session: Session
) -> None:
    _ok_json(env, "findings", "import", str(shared_data / "scanner-reports/sarif/njsscan.sarif"))
    before = finding_counts(session)
    audits = _count(session, AuditEntry)
    data = (shared_data / "scanner-reports/sarif/codeQL-output.sarif").read_bytes()
    cut = tmp_path / "codeQL-truncated.sarif"
    cut.write_bytes(data[: len(data) // 2])
    code, _out, err = _run(env, "findings", "import", str(cut))
    assert code != 0
    assert "codeQL-truncated.sarif" in err
    assert "$" in err  # the JSON path / byte offset of the problem
    assert finding_counts(session) == before
    assert _count(session, AuditEntry) == audits


def test_same_cve_in_osv_and_csaf_is_one_cluster_credited_to_earliest(
    env: dict[str, str], shared_data: Path, tmp_path: Path, session: Session
) -> None:
    cve = "CVE-2021-28363"
    osv = next(r for r in _osv_records(shared_data) if cve in (r.get("aliases") or []))
    osv_path = tmp_path / f"{osv['id']}.json"
    osv_path.write_text(json.dumps(osv))
    csaf = None
    with gzip.open(shared_data / "csaf-cisa" / "cisa-ics-csaf-2023-2024.jsonl.gz") as fh:
        for line in fh:
            doc = json.loads(line)
            if any(v.get("cve") == cve for v in doc.get("vulnerabilities") or []):
                csaf = doc
                break
    assert csaf is not None
    csaf_path = tmp_path / "csaf.json"
    csaf_path.write_text(json.dumps(csaf))
    _ok_json(env, "orgs", "create", "Vendor B", "--kind", "security_vendor")
    _ok_json(env, "orgs", "create", "Developer A", "--kind", "ai_developer")

    # The later report (CSAF, 2023) arrives first; the earlier one (OSV, 2021) second.
    r1 = _ok_json(env, "findings", "import", str(csaf_path), "--format", "csaf", "--org", "Vendor B")
    assert r1["new"] >= 1
    r2 = _ok_json(env, "findings", "import", str(osv_path), "--org", "Developer A")
    assert (r2["new"], r2["clusters_joined"], r2["clusters_created"]) == (1, 1, 0)

    session.expire_all()
    with_cve = [
        f for f in session.execute(select(Finding)).scalars() if cve in [a.upper() for a in f.aliases]
    ]
    assert {f.source_format for f in with_cve} == {"osv", "csaf"}
    assert len({f.cluster_id for f in with_cve}) == 1
    cluster = session.get(VulnCluster, with_cve[0].cluster_id)
    assert cluster is not None
    osv_finding = next(f for f in with_cve if f.source_format == "osv")
    merge = session.execute(
        select(ClusterMerge).where(ClusterMerge.finding_id == osv_finding.id)
    ).scalar_one()
    assert merge.cluster_id == cluster.id
    assert merge.layer == 2
    assert merge.reason == f"shared alias {cve}"
    dev = session.execute(select(Organization).where(Organization.name == "Developer A")).scalar_one()
    vendor = session.execute(select(Organization).where(Organization.name == "Vendor B")).scalar_one()
    assert cluster.first_finder_org_id == dev.id
    assert cluster.first_found_at is not None
    assert cluster.first_found_at.year == 2021
    assert [f["org_id"] for f in cluster.finders] == [str(dev.id), str(vendor.id)]
    assert cve in cluster.aliases
    assert osv["id"] in cluster.aliases
