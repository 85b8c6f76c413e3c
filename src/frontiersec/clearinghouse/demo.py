"""Demo content for the clearinghouse area (called by ``frontiersec demo load`` after the organisations,
users and KEV catalog exist; must be idempotent).

Everything is real public data from ``settings.demo_data``: the OSV knowledge base (PyPI, Go,
crates.io), real scanner outputs (CodeQL, Flawfinder and Python taint-analysis SARIF, Gitleaks SARIF,
an osv-scanner report, CycloneDX VEX) and two real CISA CSAF advisories that both list
CVE-2023-44487 (HTTP/2 Rapid Reset, in KEV), each imported as a different demo organisation's
findings. Finders share their (TLP:AMBER) findings with the clearinghouse staff (CISA and Treasury
demo organisations), and a Treasury analyst takes one manual decision: GitHub's id of Log4Shell
(GHSA-jfh8-c2jp-5v3q, listed apart in the VEX) is merged into CVE-2021-44228.
"""

from __future__ import annotations

import gzip
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from frontiersec.clearinghouse import clusters, feeds, kb
from frontiersec.clearinghouse.findings import import_findings
from frontiersec.clearinghouse.kb_models import CweEntry
from frontiersec.clearinghouse.models import Advisory, ClusterAlias, Finding, ImportBatch, VulnCluster
from frontiersec.platform.auth import service as auth
from frontiersec.platform.auth.models import Membership, Organization, User
from frontiersec.platform.auth.principal import SYSTEM, Principal
from frontiersec.platform.errors import FrontiersecError
from frontiersec.platform.secrets_box import SecretBox

log = structlog.get_logger(__name__)

OSV_FILES = (
    "osv-pypi/pypa-advisories.osv.jsonl.gz",
    "osv-other/go-vulndb.osv.jsonl.gz",
    "osv-other/rustsec-crates.osv.jsonl.gz",
)
CSAF_FILE = "csaf-cisa/cisa-ics-csaf-2023-2024.jsonl.gz"
CLEARINGHOUSE_ORGS = ("CISA (demo)", "Treasury Clearinghouse (demo)")
ANALYST = "analyst@treasury.example"

# (organisation, file under demo_data or "csaf:<tracking id>", AI model that found them)
IMPORTS: list[tuple[str, str, str | None]] = [
    ("Example AI Lab", "scanner-reports/sarif/codeQL-output.sarif", "example-lab/cyber-model-1"),
    ("Example AI Lab", "scanner-reports/sarif/taint-python-report.sarif", "example-lab/cyber-model-1"),
    ("Example Security Vendor", "scanner-reports/sarif/flawfinder.sarif", None),
    ("Example Security Vendor", "csaf:ICSA-24-228-06", None),
    ("Independent Researcher", "scanner-reports/sarif/gitleaks_7.5.0.sarif", None),
    ("Independent Researcher", "scanner-reports/sarif/bash-report.sarif", None),
    ("Example OSS Maintainers", "scanner-reports/osv_scanner/some_findings.json", None),
    ("CISA (demo)", "scanner-reports/cyclonedx/log4j.json", None),
    ("CISA (demo)", "scanner-reports/cyclonedx/valid-vulnerability-1.4.json", None),
    ("CISA (demo)", "csaf:ICSA-24-074-05", None),
]


def _csaf_documents(data: Path, ids: set[str], dest: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}
    with gzip.open(data / CSAF_FILE, "rt", encoding="utf-8") as fh:
        for line in fh:
            if not any(f'"{i}"' in line for i in ids - set(out)):
                continue
            doc = json.loads(line)
            tid = doc["document"]["tracking"]["id"]
            if tid in ids:
                out[tid] = dest / f"{tid.lower()}.json"
                out[tid].write_text(line)
            if len(out) == len(ids):
                break
    return out


def _principal_of(session: Session, org: Organization) -> Principal:
    """A demo user of ``org`` (the import is theirs in the audit trail), else the system."""
    email = (
        session.execute(
            select(User.email)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.org_id == org.id)
            .order_by(User.email)
        )
        .scalars()
        .first()
    )
    return auth.principal_for_email(session, email, via="system") if email else SYSTEM


def seed_demo(session: Session, settings: Any, box: SecretBox) -> dict[str, Any]:
    """Load the OSV knowledge base and import the demo findings once; return counts for the summary."""
    started = time.perf_counter()
    data: Path = settings.demo_data
    out: dict[str, Any] = {}
    if session.execute(select(func.count()).select_from(Advisory)).scalar_one() == 0:
        advisories = 0
        for rel in OSV_FILES:
            if (data / rel).exists():
                advisories += kb.load_osv(session, SYSTEM, data / rel).records
        out["osv_advisories"] = advisories
    if session.execute(select(func.count()).select_from(CweEntry)).scalar_one() == 0:
        out["cwe_entries"] = feeds.load_cwe(session, SYSTEM).added  # MITRE's list shipped by cwe2
    if session.execute(select(ImportBatch.id).limit(1)).first() is None:
        out.update(_import_findings(session, settings))
    out["seconds"] = round(time.perf_counter() - started, 1)
    log.info("demo.clearinghouse", **out)
    return out


def _import_findings(session: Session, settings: Any) -> dict[str, Any]:
    data: Path = settings.demo_data
    orgs = {o.name: o for o in session.execute(select(Organization)).scalars()}
    staff = [orgs[n] for n in CLEARINGHOUSE_ORGS if n in orgs]
    imported = findings = 0
    with tempfile.TemporaryDirectory(prefix="frontiersec-demo-") as tmp:
        csaf = _csaf_documents(
            data, {r.removeprefix("csaf:") for _, r, _ in IMPORTS if r.startswith("csaf:")}, Path(tmp)
        )
        for org_name, rel, model in IMPORTS:
            org = orgs.get(org_name)
            path = csaf.get(rel.removeprefix("csaf:")) if rel.startswith("csaf:") else data / rel
            if org is None or path is None or not path.exists():
                continue
            principal = _principal_of(session, org)
            res = import_findings(
                session, principal, path, org=org, model_id=model, schemas_dir=settings.schemas_dir
            )
            imported += 1
            findings += res.new
            # Finders hand their findings to the clearinghouse staff (TLP:AMBER, shared by name).
            ids = session.execute(select(Finding.id).where(Finding.batch_id == res.batch_id)).scalars()
            for fid in ids:
                for other in staff:
                    if other.id != org.id:
                        auth.add_share(
                            session,
                            principal,
                            object_type="finding",
                            object_id=fid,
                            tlp="AMBER",
                            owner_org_id=org.id,
                            org_id=other.id,
                        )
    out: dict[str, Any] = {"imports": imported, "findings": findings}
    out["manual_merges"] = _manual_merge(session)
    out["vulnerabilities"] = session.execute(
        select(func.count()).select_from(VulnCluster).where(VulnCluster.status != "merged")
    ).scalar_one()
    return out


def _manual_merge(session: Session) -> int:
    """GHSA-jfh8-c2jp-5v3q is GitHub's id of CVE-2021-44228: the analyst folds one into the other."""
    if session.execute(select(User.id).where(User.email == ANALYST)).first() is None:
        return 0
    analyst = auth.principal_for_email(session, ANALYST, via="system")
    ids = dict(
        session.execute(
            select(ClusterAlias.alias, ClusterAlias.cluster_id).where(
                ClusterAlias.alias.in_(["CVE-2021-44228", "GHSA-jfh8-c2jp-5v3q"])
            )
        ).all()
    )
    cve, ghsa = ids.get("CVE-2021-44228"), ids.get("GHSA-jfh8-c2jp-5v3q")
    if cve is None or ghsa is None or cve == ghsa:
        return 0
    try:
        clusters.merge_clusters(
            session,
            analyst,
            cve,
            ghsa,
            "GHSA-jfh8-c2jp-5v3q is GitHub's advisory for CVE-2021-44228 (Log4Shell); "
            "the VEX lists both ids as separate entries",
        )
    except FrontiersecError as exc:  # e.g. the analyst cannot see both: leave them apart
        log.warning("demo.manual_merge_skipped", reason=exc.detail)
        return 0
    return 1
