"""Clearinghouse pages: the KEV catalog, findings, vulnerabilities (clusters) and the import page."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from frontiersec.clearinghouse import clusters, service
from frontiersec.platform import jobs as jobs_service
from frontiersec.platform.auth.models import Role
from frontiersec.platform.auth.principal import Principal
from frontiersec.platform.errors import FrontiersecError, NotFound
from frontiersec.platform.http import DbSession, WebPrincipal, get_runtime
from frontiersec.platform.web import templates

router = APIRouter(include_in_schema=False)


def dashboard_card(session: DbSession, principal: Principal) -> dict[str, object]:
    """The clearinghouse card on the dashboard: KEV, and the vulnerabilities and findings you may see."""
    stats = service.kev_stats(session)
    counts = clusters.clearinghouse_counts(session, principal)
    links = [("/vulns", "Vulnerabilities"), ("/findings", "Findings")]
    if principal.has_role(Role.MEMBER):
        links.append(("/findings/import", "Import findings"))
    return {
        "title": "Clearinghouse",
        "href": "/kev",
        "big": stats["total"],
        "unit": "known exploited vulnerabilities",
        "lines": [
            f"{stats['ransomware']} used in ransomware campaigns",
            f"latest added {stats['latest']}" if stats["latest"] else "",
            f"{counts['vulns']} vulnerabilities from {counts['findings']} findings you may see",
        ],
        "links": links,
        "empty": None
        if stats["total"]
        else "The KEV catalog appears here once loaded: run "
        "`frontiersec demo load` or reload it from the KEV page. Findings and vulnerability clusters "
        "appear once scanner output is imported.",
    }


@router.get("/kev", response_class=HTMLResponse)
def kev_page(
    request: Request,
    session: DbSession,
    principal: WebPrincipal,
    q: str | None = Query(default=None, max_length=200),
    vendor: str | None = Query(default=None, max_length=200),
    ransomware: str | None = Query(default=None),
    added_since: str | None = Query(default=None),
    sort: str = Query(default="date_added"),
    order: str = Query(default="desc", pattern="^(asc|desc)$"),
    cursor: str | None = None,
) -> Response:
    """KEV: searchable, filterable, sortable, with a monthly-additions chart."""
    since = None
    if added_since:
        try:
            since = dt.date.fromisoformat(added_since)
        except ValueError:
            since = None
    rw = {"known": True, "unknown": False}.get(ransomware or "")
    rows, nxt, total = service.list_kev(
        session,
        principal,
        service.KevQuery(
            q=q or None,
            vendor=vendor or None,
            ransomware=rw,
            added_since=since,
            sort=sort,
            descending=order == "desc",
            cursor=cursor,
            limit=50,
        ),
    )
    stats = service.kev_stats(session)
    peak = max((n for _, n in stats["per_month"]), default=1)
    params = {
        "q": q or "",
        "vendor": vendor or "",
        "ransomware": ransomware or "",
        "added_since": added_since or "",
        "sort": sort,
        "order": order,
    }
    return templates(request).render(
        request,
        "clearinghouse/kev.html",
        {
            "rows": rows,
            "next": nxt,
            "total": total,
            "stats": stats,
            "peak": peak,
            "params": params,
            "today": dt.datetime.now(dt.UTC).date(),
        },
    )


@router.get("/kev/{cve_id}", response_class=HTMLResponse)
def kev_entry(cve_id: str, request: Request, session: DbSession, principal: WebPrincipal) -> Response:
    """One KEV entry."""
    row = service.get_kev(session, principal, cve_id)
    return templates(request).render(
        request, "clearinghouse/kev_entry.html", {"e": row, "today": dt.datetime.now(dt.UTC).date()}
    )


@router.post("/kev/reload")
def kev_reload(request: Request, session: DbSession, principal: WebPrincipal) -> Response:
    """Reload the catalog as a background job and show its progress."""
    rec = service.request_kev_reload(session, principal, get_runtime(request).settings.demo_data)
    return RedirectResponse(f"/jobs/{rec.id}", status_code=303)


# ---------------------------------------------------------------- findings and vulnerabilities


def _url_with(base: str, params: dict[str, str]) -> Callable[..., str]:
    """``url(sort='severity', order='asc')``: this page's URL with some parameters changed."""

    def url(**overrides: Any) -> str:
        merged = {**params, **{k: ("" if v is None else str(v)) for k, v in overrides.items()}}
        query = urlencode({k: v for k, v in merged.items() if v})
        return f"{base}?{query}" if query else base

    return url


def _kev_param(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(value or "")


def _redirect(request: Request, url: str) -> Response:
    if request.headers.get("hx-request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


@router.get("/findings", response_class=HTMLResponse)
def findings_page(
    request: Request,
    session: DbSession,
    principal: WebPrincipal,
    q: str | None = Query(default=None, max_length=200),
    target: str | None = Query(default=None, max_length=500),
    severity: str | None = Query(default=None, max_length=16),
    cwe: str | None = Query(default=None, max_length=20),
    finder: str | None = Query(default=None, max_length=200),
    status: str | None = Query(default=None, max_length=32),
    kev: str | None = Query(default=None, max_length=3),
    tool: str | None = Query(default=None, max_length=200),
    batch: uuid.UUID | None = None,
    cluster: uuid.UUID | None = None,
    sort: str = Query(default="found_at"),
    order: str = Query(default="desc", pattern="^(asc|desc)$"),
    cursor: str | None = None,
) -> Response:
    """Findings you may see: filters, sortable columns, cursor pages."""
    params = {
        "q": q or "",
        "target": target or "",
        "severity": severity or "",
        "cwe": cwe or "",
        "finder": finder or "",
        "status": status or "",
        "kev": kev or "",
        "tool": tool or "",
        "batch": str(batch) if batch else "",
        "cluster": str(cluster) if cluster else "",
        "sort": sort,
        "order": order,
    }
    rows, nxt, total = clusters.list_findings(
        session,
        principal,
        clusters.FindingFilters(
            q=q or None,
            target=target or None,
            severity=severity or None,
            cwe=cwe or None,
            finder=finder or None,
            status=status or None,
            kev=_kev_param(kev),
            tool=tool or None,
            batch_id=batch,
            cluster_id=cluster,
            sort=sort,
            descending=order == "desc",
            cursor=cursor,
            limit=50,
        ),
    )
    filtered = any(v for k, v in params.items() if k not in ("sort", "order"))
    batch_row = clusters.get_batch(session, principal, batch) if batch else None
    return templates(request).render(
        request,
        "clearinghouse/findings.html",
        {
            "rows": rows,
            "next": nxt,
            "total": total,
            "params": params,
            "url": _url_with("/findings", params),
            "facets": clusters.finding_facets(session, principal),
            "severities": clusters.SEVERITIES,
            "filtered": filtered,
            "batch": batch_row,
            "can_import": principal.has_role(Role.MEMBER),
        },
    )


@router.get("/vulns", response_class=HTMLResponse)
def vulns_page(
    request: Request,
    session: DbSession,
    principal: WebPrincipal,
    q: str | None = Query(default=None, max_length=200),
    target: str | None = Query(default=None, max_length=500),
    severity: str | None = Query(default=None, max_length=16),
    cwe: str | None = Query(default=None, max_length=20),
    finder: str | None = Query(default=None, max_length=200),
    status: str | None = Query(default=None, max_length=32),
    kev: str | None = Query(default=None, max_length=3),
    sort: str = Query(default="severity"),
    order: str = Query(default="desc", pattern="^(asc|desc)$"),
    cursor: str | None = None,
) -> Response:
    """Vulnerabilities (deduplicated clusters) with counts, a severity chart and the top CWEs."""
    params = {
        "q": q or "",
        "target": target or "",
        "severity": severity or "",
        "cwe": cwe or "",
        "finder": finder or "",
        "status": status or "",
        "kev": kev or "",
        "sort": sort,
        "order": order,
    }
    filters = clusters.ClusterFilters(
        q=q or None,
        target=target or None,
        severity=severity or None,
        cwe=cwe or None,
        finder=finder or None,
        status=status or None,
        kev=_kev_param(kev),
        sort=sort,
        descending=order == "desc",
        cursor=cursor,
        limit=50,
    )
    rows, nxt, total = clusters.list_clusters(session, principal, filters)
    facets = clusters.finding_facets(session, principal)
    chart = clusters.cluster_facets(session, principal, filters)
    return templates(request).render(
        request,
        "clearinghouse/vulns.html",
        {
            "rows": rows,
            "next": nxt,
            "total": total,
            "params": params,
            "url": _url_with("/vulns", params),
            "facets": facets,
            "chart": chart,
            "sev_peak": max((n for _, n in chart["severity"]), default=0) or 1,
            "cwe_peak": max((n for _, _, n in chart["cwes"]), default=0) or 1,
            "severities": clusters.SEVERITIES,
            "statuses": clusters.CLUSTER_STATUSES,
            "filtered": any(v for k, v in params.items() if k not in ("sort", "order")),
            "can_import": principal.has_role(Role.MEMBER),
        },
    )


@router.get("/vulns/{vuln_id}", response_class=HTMLResponse)
def vuln_page(vuln_id: uuid.UUID, request: Request, session: DbSession, principal: WebPrincipal) -> Response:
    """One vulnerability: findings, credit, merge history, KEV badge, and the analyst's merge/split."""
    detail = clusters.get_cluster(session, principal, vuln_id)
    current = {str(r.finding.id) for r in detail.findings}
    return templates(request).render(
        request,
        "clearinghouse/vuln.html",
        {
            "d": detail,
            "c": detail.cluster,
            "current": current,
            "is_analyst": principal.has_role(Role.ANALYST),
            "today": dt.datetime.now(dt.UTC).date(),
        },
    )


@router.post("/vulns/{vuln_id}/merge")
def vuln_merge(
    vuln_id: uuid.UUID,
    request: Request,
    session: DbSession,
    principal: WebPrincipal,
    source: str = Form(default="", max_length=200),
    reason: str = Form(default="", max_length=4000),
) -> Response:
    """Fold another vulnerability (by id or alias) into this one; back to this page."""
    target = clusters.merge_cluster_ref(session, principal, vuln_id, source, reason)
    return _redirect(request, f"/vulns/{target.id}")


@router.post("/vulns/{vuln_id}/split")
def vuln_split(
    vuln_id: uuid.UUID,
    request: Request,
    session: DbSession,
    principal: WebPrincipal,
    finding_ids: list[uuid.UUID] = Form(default_factory=list),
    reason: str = Form(default="", max_length=4000),
    restore_id: uuid.UUID | None = Form(default=None),
) -> Response:
    """Move the chosen findings out (to a new vulnerability, or back to one merged here); show it."""
    _src, dst = clusters.split_cluster(
        session, principal, vuln_id, finding_ids, reason, restore_id=restore_id
    )
    return _redirect(request, f"/vulns/{dst.id}")


@router.get("/findings/import", response_class=HTMLResponse)
def import_page(request: Request, session: DbSession, principal: WebPrincipal) -> Response:
    """Upload a scanner file (drag and drop, or choose it); recent imports below."""
    return _import_form(request, session, principal)


def _import_form(
    request: Request, session: DbSession, principal: Any, error: str | None = None, status_code: int = 200
) -> Response:
    return templates(request).render(
        request,
        "clearinghouse/import.html",
        {
            "formats": clusters.IMPORT_FORMATS,
            "batches": clusters.list_batches(session, principal, limit=10),
            "can_import": principal.has_role(Role.MEMBER),
            "max_mb": get_runtime(request).settings.max_upload_bytes // (1024 * 1024),
            "error": error,
        },
        status_code=status_code,
    )


@router.post("/findings/import", response_class=HTMLResponse)
def import_upload(
    request: Request,
    session: DbSession,
    principal: WebPrincipal,
    file: UploadFile | None = File(default=None),
    format: str = Form(default="auto", max_length=16),
    model: str = Form(default="", max_length=400),
) -> Response:
    """Keep the upload and queue its import; then show its live progress."""
    if file is None or not file.filename:
        clusters.require_importer(principal)
        return _import_form(request, session, principal, "Choose a file to import.", 422)
    try:
        rec = clusters.request_import(
            session,
            principal,
            upload_dir=get_runtime(request).settings.data_dir / "uploads",
            filename=file.filename,
            stream=file.file,
            fmt=format,
            model_id=model or None,
        )
    except FrontiersecError as exc:
        if exc.status != 422:
            raise
        session.rollback()
        return _import_form(request, session, principal, exc.detail, 422)
    return RedirectResponse(f"/findings/imports/{rec.id}", status_code=303)


@router.get("/findings/imports/{import_job_id}", response_class=HTMLResponse)
def import_progress(
    import_job_id: uuid.UUID, request: Request, session: DbSession, principal: WebPrincipal
) -> Response:
    """The import's live progress; when it is done, what it did and links to its findings."""
    polling = request.headers.get("hx-request") == "true"
    rec = jobs_service.get_job(session, principal, import_job_id, audit_read=not polling)
    if rec.name != clusters.IMPORT_JOB:
        raise NotFound(f"import {import_job_id} not found")
    batch = None
    if rec.status == "succeeded" and rec.result and rec.result.get("batch_id"):
        try:
            batch = clusters.get_batch(session, principal, uuid.UUID(str(rec.result["batch_id"])))
        except NotFound:
            batch = None
    tpl = "clearinghouse/_import_progress.html" if polling else "clearinghouse/import_job.html"
    return templates(request).render(request, tpl, {"job": rec, "batch": batch})
