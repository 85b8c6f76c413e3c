"""A small world of real findings for the cluster, findings-API and findings-web tests.

Organisation A (an AI lab) imports CodeQL's SARIF and the CycloneDX VEX of log4j; organisation B (a
vendor) and A each import one real CISA CSAF advisory that names CVE-2023-44487 (HTTP/2 Rapid
Reset), B first although B's advisory was released later; organisation C imports nothing. The KEV
catalog is CISA's real one.
"""

from __future__ import annotations

import gzip
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from frontiersec.clearinghouse.findings import import_findings
from frontiersec.clearinghouse.models import ClusterAlias
from frontiersec.clearinghouse.service import load_kev, read_kev_file
from frontiersec.platform.auth.models import Organization, User
from frontiersec.platform.auth.principal import SYSTEM, Principal
from frontiersec.settings import Settings
from tests.factories import make_org, make_user, principal_of

CODEQL = "scanner-reports/sarif/codeQL-output.sarif"
LOG4J = "scanner-reports/cyclonedx/log4j.json"
CSAF = "csaf-cisa/cisa-ics-csaf-2023-2024.jsonl.gz"
# Two real CISA advisories that both list CVE-2023-44487 (in KEV), released on these dates.
EARLY_ADVISORY = ("ICSA-24-074-05", "2024-03-12")
LATE_ADVISORY = ("ICSA-24-228-06", "2024-08-13")
RAPID_RESET = "CVE-2023-44487"


def manifest_results(shared_data: Path, rel: str) -> int:
    """The number of results the data set's manifest gives for a scanner report."""
    manifest = json.loads((shared_data / "scanner-reports" / "manifest.json").read_text())
    files = manifest["files"] if isinstance(manifest, dict) else manifest
    want = rel.removeprefix("scanner-reports/")
    for entry in files:
        if entry["path"] == want:
            return int(entry["results"])
    raise KeyError(rel)


def csaf_document(shared_data: Path, tracking_id: str, dest: Path) -> Path:
    """Write one real CISA CSAF advisory (by tracking id) to ``dest`` and return its path."""
    with gzip.open(shared_data / CSAF, "rt") as fh:
        for line in fh:
            if f'"{tracking_id}"' in line:
                doc = json.loads(line)
                if doc["document"]["tracking"]["id"] == tracking_id:
                    path = dest / f"{tracking_id}.json"
                    path.write_text(json.dumps(doc))
                    return path
    raise KeyError(tracking_id)


def csaf_cves(shared_data: Path, tracking_id: str) -> set[str]:
    """The CVE ids one real CISA CSAF advisory lists, straight from the file."""
    with gzip.open(shared_data / CSAF, "rt") as fh:
        for line in fh:
            if f'"{tracking_id}"' in line:
                doc = json.loads(line)
                if doc["document"]["tracking"]["id"] == tracking_id:
                    return {v["cve"] for v in doc.get("vulnerabilities", []) if v.get("cve")}
    raise KeyError(tracking_id)


def kev_of_lab_a(shared_data: Path) -> set[str]:
    """The KEV CVEs among what organisation A imported (log4j VEX and the early advisory)."""
    mine = set(log4j_ids(shared_data)) | csaf_cves(shared_data, EARLY_ADVISORY[0])
    return mine & kev_cves(shared_data)


def kev_cves(shared_data: Path) -> set[str]:
    """CVE ids of CISA's KEV catalog, read straight from the file."""
    doc = json.loads((shared_data / "cisa-kev" / "known_exploited_vulnerabilities.json").read_text())
    return {v["cveID"] for v in doc["vulnerabilities"]}


def log4j_ids(shared_data: Path) -> list[str]:
    """The vulnerability ids the log4j CycloneDX VEX lists, straight from the file."""
    doc = json.loads((shared_data / LOG4J).read_text())
    return [v["id"] for v in doc["vulnerabilities"]]


@dataclass
class World:
    org_a: Organization
    org_b: Organization
    org_c: Organization
    analyst_a: User
    member_a: User
    viewer_a: User
    analyst_b: User
    member_b: User
    member_c: User
    operator: User
    batches: dict[str, uuid.UUID]

    def principal(self, session: Session, user: User) -> Principal:
        return principal_of(session, user)


def build_world(session: Session, settings: Settings, tmp: Path) -> World:
    """Import the real files of the module docstring; commit."""
    data = settings.demo_data
    kev_path = data / "cisa-kev" / "known_exploited_vulnerabilities.json"
    load_kev(session, SYSTEM, read_kev_file(kev_path))
    org_a = make_org(session, kind="ai_developer", name="Lab A")
    org_b = make_org(session, kind="security_vendor", name="Vendor B")
    org_c = make_org(session, kind="critical_infrastructure_operator", name="Utility C")
    ops = make_org(session, name="Ops")
    w = World(
        org_a=org_a,
        org_b=org_b,
        org_c=org_c,
        analyst_a=make_user(session, org_a, role="analyst"),
        member_a=make_user(session, org_a, role="member"),
        viewer_a=make_user(session, org_a, role="viewer"),
        analyst_b=make_user(session, org_b, role="analyst"),
        member_b=make_user(session, org_b, role="member"),
        member_c=make_user(session, org_c, role="member"),
        operator=make_user(session, ops, role="analyst", operator=True),
        batches={},
    )
    pa, pb = principal_of(session, w.member_a), principal_of(session, w.member_b)
    late = csaf_document(data, LATE_ADVISORY[0], tmp)
    early = csaf_document(data, EARLY_ADVISORY[0], tmp)
    imports: list[tuple[str, Principal, Organization, Path]] = [
        ("codeql", pa, org_a, data / CODEQL),
        ("log4j", pa, org_a, data / LOG4J),
        ("late", pb, org_b, late),  # B imports first, but its advisory is the later one
        ("early", pa, org_a, early),
    ]
    for key, principal, org, path in imports:
        r = import_findings(session, principal, path, org=org, schemas_dir=settings.schemas_dir)
        w.batches[key] = r.batch_id
    session.commit()
    return w


def cluster_of(session: Session, alias: str) -> uuid.UUID:
    """The cluster that holds a vulnerability id (read from the alias index)."""
    cid = session.execute(select(ClusterAlias.cluster_id).where(ClusterAlias.alias == alias)).scalar_one()
    return cid


def as_json(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=str))
