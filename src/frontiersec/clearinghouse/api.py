"""Clearinghouse API routes."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

from fastapi import APIRouter, Body, Query, Request

from frontiersec.clearinghouse import kb, service
from frontiersec.clearinghouse.schemas import KevEntryRead, SbomMatchRead
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
