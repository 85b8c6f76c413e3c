"""The dashboard: one card per area of the program, each one click from its work."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from frontiersec.clearinghouse import web as clearinghouse_web
from frontiersec.designation import web as designation_web
from frontiersec.evals import web as evals_web
from frontiersec.partners import web as partners_web
from frontiersec.platform.audit.service import count_entries
from frontiersec.platform.auth.models import Role
from frontiersec.platform.auth.principal import Principal
from frontiersec.platform.errors import NotFound
from frontiersec.platform.http import DbSession, WebPrincipal
from frontiersec.platform.jobs import list_jobs
from frontiersec.platform.web import templates
from frontiersec.review import web as review_web

router = APIRouter(include_in_schema=False)

# Areas whose pages come with later work: the card says what will appear and how to fill it.
PLANNED: dict[str, dict[str, str]] = {
    "directives": {
        "title": "Directives",
        "empty": "Binding operational directives, agency assets matched against KEV and clearinghouse "
        "vulnerabilities, and their due dates.",
    },
}


def _admin_card(session: Session, principal: Principal) -> dict[str, Any]:
    jobs = list_jobs(session, principal, limit=5)
    running = sum(1 for j in jobs if j.status in ("queued", "running"))
    return {
        "title": "Operations",
        "href": "/jobs",
        "big": running,
        "unit": "jobs queued or running",
        "lines": [f"{count_entries(session)} audit entries in the hash chain"],
        "links": [
            (href, label)
            for href, label, role in (
                ("/audit", "Audit log", Role.ADMIN),
                ("/orgs", "Organisations", Role.VIEWER),
                ("/tokens", "API tokens", Role.VIEWER),
                ("/webhooks", "Webhooks", Role.VIEWER),
            )
            if principal.has_role(role)
        ],
        "empty": None,
    }


CardFn = Callable[[Session, Principal], dict[str, Any]]
CARDS: list[CardFn] = [
    clearinghouse_web.dashboard_card,
    evals_web.dashboard_card,
    review_web.dashboard_card,
    designation_web.dashboard_card,
    partners_web.dashboard_card,
    _admin_card,
]


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, session: DbSession, principal: WebPrincipal) -> Response:
    """Cards for every area, with live numbers or an empty state that says how to fill it."""
    cards = [fn(session, principal) for fn in CARDS]
    cards[-1:-1] = [
        {
            "title": p["title"],
            "href": f"/area/{key}",
            "big": None,
            "unit": "",
            "lines": [],
            "empty": p["empty"],
        }
        for key, p in PLANNED.items()
    ]
    return templates(request).render(request, "dashboard/index.html", {"cards": cards})


@router.get("/area/{key}", response_class=HTMLResponse)
def planned_area(key: str, request: Request, principal: WebPrincipal) -> Response:
    """The landing page of an area whose records do not exist yet."""
    area = PLANNED.get(key)
    if area is None:
        raise NotFound(f"no area {key!r}")
    return templates(request).render(request, "dashboard/area.html", {"area": area})
