"""``kb load-epss`` / ``kb load-cwe`` through the CLI, and the lookups other code uses (``epss_for``,
``cwe_name``), on a real migrated database."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from frontiersec.clearinghouse.feeds import (
    cwe_children,
    cwe_name,
    cwe_names,
    cwe_parents,
    default_cwe_source,
    epss_for,
)
from frontiersec.clearinghouse.kb_models import CweEntry, EpssScore
from frontiersec.cli import app as cli_app
from frontiersec.platform.audit.models import AuditEntry
from frontiersec.settings import Settings
from tests.unit.clearinghouse.test_feeds_formats import epss_csv, kev_cves

XSS = "Improper Neutralization of Input During Web Page Generation ('Cross-site Scripting')"


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


def _count(session: Session, model: Any) -> int:
    session.expire_all()
    return int(session.execute(select(func.count()).select_from(model)).scalar_one())


# ---------------------------------------------------------------------------------------------- EPSS


def test_load_epss_upserts_and_serves_scores(
    env: dict[str, str], session: Session, shared_data: Path, tmp_path: Path
) -> None:
    cves = kev_cves(shared_data, 30)
    day1 = [(c, f"{(i + 1) / 1000:.5f}", f"{(i + 1) / 31:.5f}") for i, c in enumerate(cves)]
    f1 = tmp_path / "epss_scores-2025-08-24.csv.gz"
    f1.write_bytes(
        epss_csv(day1, gz=True, meta="#model_version:v2025.03.14,score_date:2025-08-24T00:00:00+0000")
    )
    first = _ok_json(env, "kb", "load-epss", str(f1))
    assert first == {
        "source": f1.name,
        "model_version": "v2025.03.14",
        "score_date": "2025-08-24",
        "rows": 30,
        "added": 30,
        "updated": 0,
        "unchanged": 0,
    }
    again = _ok_json(env, "kb", "load-epss", str(f1))
    assert (again["added"], again["updated"], again["unchanged"]) == (0, 0, 30)

    # the next day, plain CSV: 5 scores changed, 2 new CVEs, everything re-dated
    day2 = [(c, "0.90000", "0.99000") if i < 5 else (c, e, p) for i, (c, e, p) in enumerate(day1)]
    day2 += [(c, "0.00042", "0.01000") for c in kev_cves(shared_data, 32)[30:]]
    f2 = tmp_path / "epss_scores-2025-08-25.csv"
    f2.write_bytes(epss_csv(day2))
    code, out, err = _run(env, "kb", "load-epss", str(f2))
    assert code == 0, err
    assert out.startswith(
        f"{f2.name}: 32 scores (model v2025.03.14, scored 2025-08-25), 2 added, 30 updated, 0 unchanged ("
    )
    got = epss_for(session, [cves[0].lower(), cves[10], "CVE-1900-0001", "not a cve"])
    assert set(got) == {cves[0], cves[10]}
    assert (got[cves[0]].epss, got[cves[0]].percentile) == (0.9, 0.99)
    assert (got[cves[10]].epss, got[cves[10]].score_date) == (0.011, dt.date(2025, 8, 25))
    assert got[cves[10]].model_version == "v2025.03.14"
    audits = session.execute(select(AuditEntry).where(AuditEntry.action == "kb.load_epss")).scalars().all()
    assert len(audits) == 3


def test_bad_epss_file_exits_2_and_changes_nothing(
    env: dict[str, str], session: Session, shared_data: Path, tmp_path: Path
) -> None:
    cves = kev_cves(shared_data, 10)
    good = tmp_path / "good.csv"
    good.write_bytes(epss_csv([(c, "0.10000", "0.20000") for c in cves]))
    _ok_json(env, "kb", "load-epss", str(good))
    bad = tmp_path / "bad.csv"
    rows = [(c, "0.70000", "0.80000") for c in cves] + [("CVE-2024-1", "0.1", "0.2")]
    bad.write_bytes(epss_csv(rows))
    code, out, err = _run(env, "kb", "load-epss", str(bad))
    assert code == 2
    assert "bad.csv: line 13, column cve: 'CVE-2024-1' is not a CVE id" in err
    assert "Traceback" not in out + err
    session.expire_all()
    assert session.execute(select(func.max(EpssScore.epss))).scalar_one() == 0.1
    code, _out, err = _run(env, "kb", "load-epss", str(tmp_path / "missing.csv.gz"))
    assert code == 2
    assert "cannot read" in err


# ----------------------------------------------------------------------------------------------- CWE


def test_load_cwe_from_cwe2_and_lookups(env: dict[str, str], session: Session, shared_data: Path) -> None:
    first = _ok_json(env, "kb", "load-cwe")
    assert first["source"] == default_cwe_source().name == "cwec_v4.14.xml"
    assert (first["version"], first["weaknesses"], first["categories"], first["views"]) == (
        "4.14",
        963,
        409,
        54,
    )
    assert first["added"] == 963 + 409 + 54 == _count(session, CweEntry)
    assert cwe_name(session, "CWE-79") == XSS
    assert cwe_name(session, 79) == XSS
    assert cwe_name(session, "CWE-16") == "Configuration"  # a category
    assert cwe_name(session, "NVD-CWE-noinfo") is None
    assert cwe_name(session, "CWE-999999") is None
    assert "CWE-74" in cwe_parents(session, "CWE-79")
    assert "CWE-79" in cwe_children(session, "CWE-74")
    # every CWE the real KEV catalog cites has a name
    kev = json.loads((shared_data / "cisa-kev" / "known_exploited_vulnerabilities.json").read_bytes())
    cited = {w for v in kev["vulnerabilities"] for w in v.get("cwes", [])}
    names = cwe_names(session, cited)
    assert set(names) == cited
    # MITRE's CSV of the same release agrees on every weakness name (it drops backslashes)
    with gzip.open(shared_data / "cwe" / "cwe-v4.14-weaknesses.csv.gz", "rt", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 963
    stored = cwe_names(session, [r["CWE-ID"] for r in rows])
    assert all(stored[f"CWE-{r['CWE-ID']}"].replace("\\", "") == r["Name"].strip() for r in rows)

    again = _ok_json(env, "kb", "load-cwe")
    assert (again["added"], again["updated"], again["unchanged"]) == (0, 0, 1426)
    code, out, _err = _run(env, "kb", "load-cwe")
    assert code == 0
    assert out.strip() == (
        "cwec_v4.14.xml: CWE 4.14: 963 weaknesses, 409 categories, 54 views, "
        f"{first['relations']} links; 0 added, 0 updated, 1426 unchanged"
    )


def test_load_cwe_from_mitre_csv_and_zip(
    env: dict[str, str], session: Session, shared_data: Path, tmp_path: Path
) -> None:
    csv_gz = shared_data / "cwe" / "cwe-v4.14-weaknesses.csv.gz"
    r = _ok_json(env, "kb", "load-cwe", str(csv_gz))
    assert (r["version"], r["weaknesses"], r["categories"], r["added"]) == ("4.14", 963, 0, 963)
    assert cwe_name(session, "CWE-79") == XSS
    assert cwe_parents(session, "CWE-79") == ["CWE-74"]
    # MITRE ships the XML zipped (cwec_latest.xml.zip): the same catalog
    z = tmp_path / "cwec_latest.xml.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(default_cwe_source(), "cwec_v4.14.xml")
    r = _ok_json(env, "kb", "load-cwe", str(z))
    assert (r["version"], r["categories"], r["added"]) == ("4.14", 409, 409 + 54)
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    code, _out, err = _run(env, "kb", "load-cwe", str(bad))
    assert code == 2
    assert "expected a CWE .xml, .csv[.gz] or .zip" in err
