"""Authorization-matrix rows for the clearinghouse area (see ``matrix_common``).

Seeded records (organisation A): the real CycloneDX VEX of log4j imported as A's findings (its
CVE-2021-44228 cluster is ``{vuln_id}``, its import ``{batch_id}``), and an import job of A
(``{import_job_id}``). Merges and splits consume what they touch, so each request gets a fresh pair of
A's clusters (``{fresh_vuln_id}``: a cluster of two findings, plus a sibling cluster to merge in).
The upload rows send no file: who may upload is decided before the body is read (viewers 403), and
everyone allowed gets 422 for the missing file.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from frontiersec.clearinghouse.findings import import_findings
from frontiersec.clearinghouse.models import ClusterAlias, Finding, VulnCluster
from frontiersec.platform.clock import utcnow
from frontiersec.platform.db import new_id
from frontiersec.platform.models import JobRecord
from tests.contract.matrix_common import (
    ADMIN_A,
    ANALYST_A,
    CSRF,
    MEMBER_A,
    OPERATOR,
    OWNERS_A,
    SIGNED_IN,
    VIEWER_A,
    Row,
    SeedContext,
    next_n,
    only,
    signed_in,
)

LOG4J = "scanner-reports/cyclonedx/log4j.json"
ANALYSTS_A = {ANALYST_A, ADMIN_A, OPERATOR}
IMPORTERS = set(SIGNED_IN) - {VIEWER_A}

# The fresh cluster pair of the current request (set by the FRESH factory, read by the bodies,
# which the matrix builds after the path).
_LAST: dict[str, str] = {}


def seed(ctx: SeedContext) -> dict[str, str]:
    """Import a real file as organisation A's findings; an import job of A."""
    res = import_findings(
        ctx.session,
        ctx.principals[MEMBER_A],
        ctx.shared_data / LOG4J,
        org=ctx.org_a,
        schemas_dir=ctx.shared_data / "schemas",
    )
    vuln_id = ctx.session.execute(
        select(ClusterAlias.cluster_id).where(ClusterAlias.alias == "CVE-2021-44228")
    ).scalar_one()
    job = JobRecord(
        name="clearinghouse.import_findings",
        params={"filename": "log4j.json", "bytes": 1, "format": "auto"},
        owner_org_id=ctx.org_a.id,
        tlp="AMBER",
        created_by=ctx.users[MEMBER_A].id,
        status="succeeded",
        percent=100,
        message="done",
        result={"batch_id": str(res.batch_id), "received": res.received, "new": res.new},
    )
    ctx.session.add(job)
    ctx.session.flush()
    return {"vuln_id": str(vuln_id), "batch_id": str(res.batch_id), "import_job_id": str(job.id)}


def _cluster(ctx: SeedContext, findings: int) -> tuple[uuid.UUID, list[uuid.UUID]]:
    now = utcnow()
    n = next_n()
    cid = new_id()
    owner = {"owner_org_id": ctx.org_a.id, "tlp": "AMBER", "created_by": ctx.users[MEMBER_A].id}
    ctx.session.add(
        VulnCluster(
            id=cid,
            title=f"Matrix vulnerability {n}",
            status="new",
            aliases=[],
            finders=[{"org_id": str(ctx.org_a.id), "org": ctx.org_a.name, "found_at": now.isoformat()}],
            first_finder_org_id=ctx.org_a.id,
            first_found_at=now,
            created_at=now,
            **owner,
        )
    )
    ctx.session.flush()
    fids = []
    for i in range(findings):
        fid = new_id()
        fids.append(fid)
        ctx.session.add(
            Finding(
                id=fid,
                fingerprint=f"matrix-{n}-{i}-{uuid.uuid4().hex}",
                batch_id=uuid.UUID(ctx.ids["batch_id"]),
                cluster_id=cid,
                source_format="sarif",
                rule_id="py/sql-injection",
                cwe_ids=["CWE-89"],
                severity="high",
                title=f"SQL query built from user-controlled sources ({n}.{i})",
                path=f"app/views_{n}.py",
                start_line=10 + i,
                found_at=now,
                created_at=now,
                **owner,
            )
        )
    ctx.session.flush()
    return cid, fids


def _fresh_vuln(ctx: SeedContext) -> str:
    cid, fids = _cluster(ctx, 2)
    sibling, _ = _cluster(ctx, 1)
    _LAST.update({"vuln": str(cid), "finding": str(fids[-1]), "sibling": str(sibling)})
    return str(cid)


FRESH = {"vuln": _fresh_vuln}


def _merge_json() -> dict[str, Any]:
    return {"source_id": _LAST["sibling"], "reason": "matrix: same root cause"}


def _split_json() -> dict[str, Any]:
    return {"finding_ids": [_LAST["finding"]], "reason": "matrix: a different bug"}


ROWS: list[Row] = [
    # --- API
    Row("GET", "/api/v1/findings", signed_in(200)),
    Row("GET", "/api/v1/vulns", signed_in(200)),
    Row("GET", "/api/v1/vulns/{vuln_id}", only(OWNERS_A, 200, 404)),
    # The role check comes first (403 whatever the id); an analyst of B learns nothing (404).
    Row(
        "POST",
        "/api/v1/vulns/{fresh_vuln_id}/merge",
        only(ANALYSTS_A, 200, 403, admin_b=404),
        json=_merge_json,
    ),
    Row(
        "POST",
        "/api/v1/vulns/{fresh_vuln_id}/split",
        only(ANALYSTS_A, 200, 403, admin_b=404),
        json=_split_json,
    ),
    Row(
        "POST",
        "/api/v1/findings/imports",
        only(IMPORTERS, 422, 403),
        form=lambda: {"format": "auto"},
        notes={"422": "no file sent: members and up pass the role check, then the missing file is refused"},
    ),
    Row("GET", "/api/v1/findings/imports/{batch_id}", only(OWNERS_A, 200, 404)),
    # --- web
    Row("GET", "/findings", signed_in(200)),
    Row("GET", "/vulns", signed_in(200)),
    Row("GET", "/vulns/{vuln_id}", only(OWNERS_A, 200, 404)),
    Row(
        "POST",
        "/vulns/{fresh_vuln_id}/merge",
        only(ANALYSTS_A, 303, 403, admin_b=404),
        form=lambda: {"csrf_token": CSRF, "source": _LAST["sibling"], "reason": "matrix: same root cause"},
    ),
    Row(
        "POST",
        "/vulns/{fresh_vuln_id}/split",
        only(ANALYSTS_A, 303, 403, admin_b=404),
        form=lambda: {
            "csrf_token": CSRF,
            "finding_ids": _LAST["finding"],
            "reason": "matrix: a different bug",
        },
    ),
    Row("GET", "/findings/import", signed_in(200)),
    Row(
        "POST",
        "/findings/import",
        only(IMPORTERS, 422, 403),
        form=lambda: {"csrf_token": CSRF, "format": "auto"},
    ),
    Row("GET", "/findings/imports/{import_job_id}", only(OWNERS_A, 200, 404)),
    # knowledge-base feed state (kb sync): public reference metadata, any signed-in user
    Row("GET", "/api/v1/kb/feeds", signed_in(200)),
]
