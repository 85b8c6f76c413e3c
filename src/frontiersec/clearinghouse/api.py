"""Clearinghouse API routes."""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse

from frontiersec.clearinghouse import clusters, kb, service
from frontiersec.clearinghouse import feeds as kb_feeds
from frontiersec.clearinghouse.kb_schemas import FeedStateList, FeedStateRead
from frontiersec.clearinghouse.schemas import KevEntryRead, SbomMatchRead
from frontiersec.clearinghouse.vuln_schemas import (
    ClusterDetailRead,
    ClusterEventRead,
    ClusterPage,
    ClusterRead,
    CreditRead,
    CweRead,
    FindingPage,
    FindingRead,
    ImportBatchRead,
    MergeRequest,
    SplitRead,
    SplitRequest,
)
from frontiersec.platform.auth.principal import Principal
from frontiersec.platform.http import ApiPrincipal, DbSession, get_runtime, responses
from frontiersec.platform.pagination import Page
from frontiersec.platform.schemas import JobRead

router = APIRouter(prefix="/api/v1", tags=["clearinghouse"])
P = {
    401: {"description": "Not signed in"},
    403: {"description": "Forbidden"},
    422: {"description": "Invalid input"},
}


class KevPage(Page[KevEntryRead]):
    total: int


@router.get("/kev", response_model=KevPage, responses=responses())
def list_kev(
    session: DbSession,
    principal: ApiPrincipal,
    q: str | None = Query(default=None, max_length=200, description="Search CVE id, vendor, product, name."),
    vendor: str | None = Query(default=None, description="Exact `vendorProject`."),
    ransomware: bool | None = Query(
        default=None, description="Only `knownRansomwareCampaignUse` Known (true)."
    ),
    added_since: dt.date | None = Query(default=None, description="`dateAdded` on or after."),
    sort: str = Query(default="date_added", description="date_added, due_date, cve_id or vendor_project."),
    order: str = Query(default="desc", pattern="^(asc|desc)$"),
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=500),
) -> KevPage:
    """CISA's Known Exploited Vulnerabilities, filtered, sorted and paged by cursor."""
    rows, nxt, total = service.list_kev(
        session,
        principal,
        service.KevQuery(
            q=q,
            vendor=vendor,
            ransomware=ransomware,
            added_since=added_since,
            sort=sort,
            descending=order == "desc",
            cursor=cursor,
            limit=limit,
        ),
    )
    return KevPage(items=[KevEntryRead.model_validate(r) for r in rows], next_cursor=nxt, total=total)


@router.get("/kev/{cve_id}", response_model=KevEntryRead, responses=responses(404))
def get_kev(cve_id: str, session: DbSession, principal: ApiPrincipal) -> KevEntryRead:
    """One KEV entry."""
    return KevEntryRead.model_validate(service.get_kev(session, principal, cve_id))


@router.post("/kev/imports", response_model=JobRead, status_code=202, responses=responses())
def reload_kev(request: Request, session: DbSession, principal: ApiPrincipal) -> JobRead:
    """Reload the KEV catalog from the deployment's data folder as a background job."""
    rec = service.request_kev_reload(session, principal, get_runtime(request).settings.demo_data)
    return JobRead.model_validate(rec)


@router.post("/sbom/match", response_model=SbomMatchRead, responses=responses())
def match_sbom(
    session: DbSession,
    principal: ApiPrincipal,
    sbom: dict[str, Any] = Body(description="A CycloneDX 1.x or SPDX 2.3 JSON SBOM."),
) -> SbomMatchRead:
    """Match every component of an SBOM against the knowledge base's OSV advisories."""
    stream = io.BytesIO(json.dumps(sbom).encode())
    result = kb.match_sbom(session, principal, stream, label="SBOM")
    return SbomMatchRead.model_validate(result.as_dict())


# ---------------------------------------------------------------- findings and vulnerabilities


def _finding_read(row: clusters.FindingRow) -> FindingRead:
    f = row.finding
    return FindingRead(
        id=f.id,
        cluster_id=f.cluster_id,
        cluster_title=row.cluster_title,
        batch_id=f.batch_id,
        finder_org_id=f.owner_org_id,
        finder=row.finder,
        source_format=f.source_format,
        source_pointer=f.source_pointer,
        tool_name=f.tool_name,
        tool_version=f.tool_version,
        model_id=f.model_id,
        model_version=f.model_version,
        rule_id=f.rule_id,
        cwe_ids=list(f.cwe_ids or []),
        severity=f.severity,
        title=f.title,
        message=f.message,
        target_purl=f.target_purl,
        target_repo=f.target_repo,
        target_commit=f.target_commit,
        path=f.path,
        start_line=f.start_line,
        end_line=f.end_line,
        aliases=list(f.aliases or []),
        status=f.status,
        found_at=f.found_at,
        kev=row.kev,
        tlp=f.tlp,
    )


def _cluster_fields(c: Any, severity: str, findings: int, finders: int, kev: list[str]) -> dict[str, Any]:
    return {
        "id": c.id,
        "title": c.title,
        "status": c.status,
        "aliases": list(c.aliases or []),
        "severity": severity,
        "findings": findings,
        "finders": finders,
        "first_finder_org_id": c.first_finder_org_id,
        "first_finder": c.finders[0].get("org") if c.finders else None,
        "first_found_at": c.first_found_at,
        "kev": kev,
        "merged_into_id": c.merged_into_id,
        "tlp": c.tlp,
        "created_at": c.created_at,
    }


def _cluster_read(row: clusters.ClusterRow) -> ClusterRead:
    return ClusterRead(**_cluster_fields(row.cluster, row.severity, row.findings, row.finders, row.kev))


def _detail_read(d: clusters.ClusterDetail) -> ClusterDetailRead:
    return ClusterDetailRead(
        **_cluster_fields(
            d.cluster,
            d.severity,
            len(d.findings) + d.hidden_findings,
            len(d.credit),
            [k.cve_id for k in d.kev],
        ),
        findings_list=[_finding_read(r) for r in d.findings],
        hidden_findings=d.hidden_findings,
        credit=[CreditRead(**c) for c in d.credit],
        history=[
            ClusterEventRead(
                id=e.id,
                kind=e.kind,
                layer=e.layer,
                layer_name=e.layer_name,
                score=e.score,
                reason=e.reason,
                created_at=e.created_at,
                direction=e.direction,
                other_cluster_id=e.other_cluster_id,
                finding_id=e.finding_id,
                finding_title=e.finding_title,
                finding_finder=e.finding_finder,
                other_label=e.other_label,
                finding_ids=e.finding_ids,
                actor=e.actor,
            )
            for e in d.history
        ],
        cwes=[CweRead(id=i, name=n) for i, n in d.cwes],
    )


def _importer(principal: ApiPrincipal) -> Principal:
    # Checked before the upload is parsed, so a viewer is refused whatever the body holds.
    clusters.require_importer(principal)
    return principal


Importer = Annotated[Principal, Depends(_importer)]

_Target = Query(default=None, max_length=500, description="Substring of the package URL, repository or path.")
_Severity = Query(default=None, description="critical, high, medium, low, info or unknown.")
_Cwe = Query(default=None, max_length=20, description="CWE id, e.g. CWE-79 or 79.")
_Finder = Query(default=None, max_length=200, description="Finder organisation: id, slug or name.")
_Kev = Query(default=None, description="true: only with a CVE in CISA's KEV catalog; false: only without.")
_Q = Query(default=None, max_length=200, description="Free text.")
_Order = Query(default="desc", pattern="^(asc|desc)$")
_Limit = Query(default=50, ge=1, le=500)


@router.get("/findings", response_model=FindingPage, responses=responses())
def list_findings(
    session: DbSession,
    principal: ApiPrincipal,
    target: str | None = _Target,
    severity: str | None = _Severity,
    cwe: str | None = _Cwe,
    finder: str | None = _Finder,
    status: str | None = Query(
        default=None, max_length=32, description="The finding's status (affected, fixed, suppressed...)."
    ),
    kev: bool | None = _Kev,
    q: str | None = Query(default=None, max_length=200, description="Text in title, message, rule or path."),
    cluster_id: uuid.UUID | None = Query(default=None, description="Only findings of this cluster."),
    batch_id: uuid.UUID | None = Query(default=None, description="Only findings of this import."),
    tool: str | None = Query(default=None, max_length=200, description="Exact tool name."),
    sort: str = Query(default="found_at", description="found_at, severity, rule, tool or target."),
    order: str = _Order,
    cursor: str | None = None,
    limit: int = _Limit,
) -> FindingPage:
    """Findings you may see (yours, and what was shared with you), filtered, sorted and paged by cursor."""
    rows, nxt, total = clusters.list_findings(
        session,
        principal,
        clusters.FindingFilters(
            target=target,
            severity=severity,
            cwe=cwe,
            finder=finder,
            status=status,
            kev=kev,
            q=q,
            cluster_id=cluster_id,
            batch_id=batch_id,
            tool=tool,
            sort=sort,
            descending=order == "desc",
            cursor=cursor,
            limit=limit,
        ),
    )
    return FindingPage(items=[_finding_read(r) for r in rows], next_cursor=nxt, total=total)


@router.get("/vulns", response_model=ClusterPage, responses=responses())
def list_vulns(
    session: DbSession,
    principal: ApiPrincipal,
    target: str | None = _Target,
    severity: str | None = Query(default=None, description="Worst severity of the cluster's findings."),
    cwe: str | None = _Cwe,
    finder: str | None = _Finder,
    status: str | None = Query(default=None, description="new or merged (merged are left out by default)."),
    kev: bool | None = _Kev,
    q: str | None = Query(
        default=None, max_length=200, description="Text in the title, or a CVE/GHSA/OSV id."
    ),
    sort: str = Query(
        default="first_found_at", description="first_found_at, severity, findings, finders or title."
    ),
    order: str = _Order,
    cursor: str | None = None,
    limit: int = _Limit,
) -> ClusterPage:
    """Vulnerability clusters (deduplicated findings) you may see, with counts, filtered and paged."""
    rows, nxt, total = clusters.list_clusters(
        session,
        principal,
        clusters.ClusterFilters(
            target=target,
            severity=severity,
            cwe=cwe,
            finder=finder,
            status=status,
            kev=kev,
            q=q,
            sort=sort,
            descending=order == "desc",
            cursor=cursor,
            limit=limit,
        ),
    )
    return ClusterPage(items=[_cluster_read(r) for r in rows], next_cursor=nxt, total=total)


@router.get("/vulns/{vuln_id}", response_model=ClusterDetailRead, responses=responses(404))
def get_vuln(vuln_id: uuid.UUID, session: DbSession, principal: ApiPrincipal) -> ClusterDetailRead:
    """One vulnerability: its findings you may see, finder credit, merge history and KEV entries."""
    return _detail_read(clusters.get_cluster(session, principal, vuln_id))


@router.post("/vulns/{vuln_id}/merge", response_model=ClusterDetailRead, responses=responses(404, 409))
def merge_vuln(
    vuln_id: uuid.UUID, body: MergeRequest, session: DbSession, principal: ApiPrincipal
) -> ClusterDetailRead:
    """Fold another cluster into this one by hand (analysts); recorded as a manual merge with the reason."""
    target = clusters.merge_clusters(session, principal, vuln_id, body.source_id, body.reason)
    return _detail_read(clusters.get_cluster(session, principal, target.id))


@router.post("/vulns/{vuln_id}/split", response_model=SplitRead, responses=responses(404, 409))
def split_vuln(
    vuln_id: uuid.UUID, body: SplitRequest, session: DbSession, principal: ApiPrincipal
) -> SplitRead:
    """Move findings out of this cluster by hand (analysts): into a new cluster, or back into a cluster
    merged earlier (``restore_id``, which undoes that merge). Credit is recomputed for both."""
    src, dst = clusters.split_cluster(
        session, principal, vuln_id, body.finding_ids, body.reason, restore_id=body.restore_id
    )
    return SplitRead(
        source=_detail_read(clusters.get_cluster(session, principal, src.id)),
        created=_detail_read(clusters.get_cluster(session, principal, dst.id)),
    )


@router.post("/findings/imports", response_model=JobRead, status_code=202, responses=responses(413))
def upload_findings(
    request: Request,
    session: DbSession,
    principal: Importer,
    file: UploadFile = File(description="SARIF, OSV, CycloneDX (VEX), SPDX or CSAF file (.json, .gz, .zip)."),
    format: str = Form(default="auto", description="auto, sarif, osv, cyclonedx, spdx or csaf."),
    model: str | None = Form(default=None, description="Id of the AI model that produced the findings."),
) -> JSONResponse:
    """Upload a scanner file; it is imported as a background job with progress (members and up).

    Answers 202 with the job; ``Location`` is the job's URL. Poll it: when it succeeds its
    ``result.batch_id`` names the import (``GET /api/v1/findings/imports/{batch_id}``); an unusable
    file makes the job fail with the precise reason (file, JSON path, what is wrong).
    """
    rec = clusters.request_import(
        session,
        principal,
        upload_dir=get_runtime(request).settings.data_dir / "uploads",
        filename=file.filename,
        stream=file.file,
        fmt=format,
        model_id=model,
    )
    body = JobRead.model_validate(rec).model_dump(mode="json")
    return JSONResponse(body, status_code=202, headers={"Location": f"/api/v1/jobs/{rec.id}"})


@router.get("/findings/imports/{batch_id}", response_model=ImportBatchRead, responses=responses(404))
def get_import(batch_id: uuid.UUID, session: DbSession, principal: ApiPrincipal) -> ImportBatchRead:
    """What one import did: counts received, new, duplicates, rejected, and the warnings."""
    return ImportBatchRead.model_validate(clusters.get_batch(session, principal, batch_id))


@router.get("/kb/feeds", response_model=FeedStateList, responses=responses())
def list_kb_feeds(session: DbSession, principal: ApiPrincipal) -> FeedStateList:
    """What `frontiersec kb sync` last saw of each feed (KEV, OSV per ecosystem, EPSS): status,
    validators (ETag / Last-Modified) of the last good copy, when checked and loaded, last error."""
    rows = kb_feeds.list_feeds(session, principal)
    return FeedStateList(items=[FeedStateRead.model_validate(r) for r in rows])
