"""Clearinghouse pages: the KEV catalog."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from frontiersec.clearinghouse import service
from frontiersec.platform.http import DbSession, WebPrincipal, get_runtime
from frontiersec.platform.web import templates

router = APIRouter(include_in_schema=False)


def dashboard_card(session: DbSession, _principal: object) -> dict[str, object]:
    """The clearinghouse card on the dashboard."""
    stats = service.kev_stats(session)
    return {
        "title": "Clearinghouse",
        "href": "/kev",
        "big": stats["total"],
        "unit": "known exploited vulnerabilities",
        "lines": [
            f"{stats['ransomware']} used in ransomware campaigns",
            f"latest added {stats['latest']}" if stats["latest"] else "",
        ],
        "empty": None
        if stats["total"]
        else "The KEV catalog appears here once loaded: run "
        "`frontiersec demo load` or reload it from the KEV page. Findings and vulnerability clusters "
        "from scanner uploads will follow.",
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
