"""Partners web pages: the list with counts by sector (a server-rendered SVG chart) and the
nomination form; one nomination's page with the two-sided approval, the vetting checklist, the
grants (terms acceptance for the partner, usage, revocation) and the grant form."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from frontiersec.partners import rules, sectors, service
from frontiersec.platform.auth.models import OrgKind, Role
from frontiersec.platform.auth.principal import Principal
from frontiersec.platform.auth.service import list_orgs
from frontiersec.platform.clock import utcnow
from frontiersec.platform.errors import FieldError, InvalidInput
from frontiersec.platform.http import DbSession, WebPrincipal, get_runtime
from frontiersec.platform.web import templates
from frontiersec.review.service import ACCESS_LEVELS, window_for_model

__all__ = ["dashboard_card", "router"]

router = APIRouter(include_in_schema=False)


def _back(nom_id: uuid.UUID, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"/partners/{nom_id}{'#' + anchor if anchor else ''}", status_code=303)


def dashboard_card(session: Session, principal: Principal) -> dict[str, Any]:
    """The trusted-partners card on the dashboard: active grants, approved partners by sector,
    nominations waiting for a decision."""
    counts = service.sector_counts(session, principal)
    rows = service.list_nominations(session, principal)
    pending = sum(1 for r in rows if r.nomination.status == "pending")
    active = sum(c.active_grants for c in counts)
    by_sector = ", ".join(f"{c.partners} {c.label.lower()}" for c in counts if c.partners)
    return {
        "title": "Trusted partners",
        "href": "/partners",
        "big": active,
        "unit": "active access grants",
        "lines": [
            f"approved partners: {by_sector}" if by_sector else "",
            f"{pending} nomination{'s' if pending != 1 else ''} waiting for a decision" if pending else "",
        ],
        "empty": None
        if rows
        else "Organisations the developer and an agency jointly choose for early access to a model (banks, "
        "utilities, hospitals, state and local government) appear here with their grants.",
    }


def _can_nominate(principal: Principal) -> bool:
    return principal.org_kind in (
        OrgKind.AI_DEVELOPER.value,
        OrgKind.GOVERNMENT_AGENCY.value,
    ) and principal.has_role(Role.MEMBER)


def _list_page(
    request: Request,
    session: Session,
    principal: Principal,
    values: dict[str, Any] | None = None,
    errors: list[FieldError] | None = None,
    status_code: int = 200,
) -> Response:
    rows = service.list_nominations(session, principal)
    counts = service.sector_counts(session, principal)
    chart = sectors.bars([(c.key, c.partners, c.active_grants) for c in counts], width=300.0, row=42.0)
    orgs = [
        o for o in list_orgs(session, principal) if o.id != principal.org_id and o.slug != "program-office"
    ]
    return templates(request).render(
        request,
        "partners/list.html",
        {
            "rows": rows,
            "counts": counts,
            "bars": chart,
            "chart_height": 8 + 42 * len(chart),
            "can_nominate": _can_nominate(principal),
            "is_developer": principal.org_kind == OrgKind.AI_DEVELOPER.value,
            "agencies": [o for o in orgs if o.kind == OrgKind.GOVERNMENT_AGENCY.value],
            "partner_orgs": [o for o in orgs if o.kind != OrgKind.AI_DEVELOPER.value],
            "developers": [o for o in orgs if o.kind == OrgKind.AI_DEVELOPER.value],
            "values": values or {},
            "errors": {e.field: e.message for e in errors or []},
            "sector_labels": sectors.LABELS,
        },
        status_code=status_code,
    )


@router.get("/partners", response_class=HTMLResponse)
def partners_list(request: Request, session: DbSession, principal: WebPrincipal) -> Response:
    """Nominations the user takes part in, with counts by sector and the nomination form."""
    return _list_page(request, session, principal)


@router.post("/partners", response_class=HTMLResponse)
def partners_nominate(
    request: Request,
    session: DbSession,
    principal: WebPrincipal,
    partner: Annotated[str, Form()] = "",
    model_name: Annotated[str, Form()] = "",
    model_version: Annotated[str, Form()] = "",
    purpose: Annotated[str, Form()] = "",
    agency: Annotated[str, Form()] = "",
    developer: Annotated[str, Form()] = "",
) -> Response:
    """Nominate a partner; a refused request shows the form again with each field's reason."""
    values = {
        "partner": partner,
        "model_name": model_name,
        "model_version": model_version,
        "purpose": purpose,
        "agency": agency,
        "developer": developer,
    }
    try:
        nom = service.nominate(
            session,
            principal,
            service.NominationInput(
                partner=partner,
                model_name=model_name,
                model_version=model_version,
                purpose=purpose,
                agency=agency or None,
                developer=developer or None,
            ),
        )
    except InvalidInput as exc:
        session.rollback()
        return _list_page(request, session, principal, values, exc.errors, status_code=422)
    return RedirectResponse(f"/partners/{nom.id}", status_code=303)


def _local(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%dT%H:%M") if value else ""


def _detail_page(
    request: Request,
    session: Session,
    principal: Principal,
    nom_id: uuid.UUID,
    grant_values: dict[str, Any] | None = None,
    errors: list[FieldError] | None = None,
    status_code: int = 200,
) -> Response:
    d = service.get_nomination(session, principal, nom_id)
    nom = d.nomination
    window = window_for_model(
        session, owner_org_id=nom.owner_org_id, model_name=nom.model_name, model_version=nom.model_version
    )
    now = utcnow()
    closes = window[1] if window else None
    default_start = max(now, closes) if closes else now
    values = grant_values or {
        "starts_at": _local(default_start + dt.timedelta(minutes=5)),
        "ends_at": _local(default_start + dt.timedelta(days=90)),
        "usage_cap": "10000",
        "usage_unit": "calls",
        "access_level": "black-box",
    }
    return templates(request).render(
        request,
        "partners/detail.html",
        {
            "d": d,
            "n": nom,
            "can": lambda action: d.can(principal, action),
            "window_closes": closes,
            "window_open": closes is not None and closes > now,
            "values": values,
            "errors": {e.field: e.message for e in errors or []},
            "access_levels": ACCESS_LEVELS,
            "units": rules.USAGE_UNITS,
            "sector_label": sectors.LABELS.get(d.partner_sector, d.partner_sector),
            "today": now.date().isoformat(),
        },
        status_code=status_code,
    )


@router.get("/partners/{nomination_id}", response_class=HTMLResponse)
def partners_page(
    nomination_id: uuid.UUID, request: Request, session: DbSession, principal: WebPrincipal
) -> Response:
    """One nomination: both sides' decisions, the checklist, the grants and their forms."""
    return _detail_page(request, session, principal, nomination_id)


@router.post("/partners/{nomination_id}/approve")
def partners_approve(
    nomination_id: uuid.UUID,
    session: DbSession,
    principal: WebPrincipal,
    note: Annotated[str, Form()] = "",
) -> Response:
    """Approve for your side."""
    service.approve(session, principal, nomination_id, note=note or None)
    return _back(nomination_id, "approval")


@router.post("/partners/{nomination_id}/decline")
def partners_decline(
    nomination_id: uuid.UUID,
    session: DbSession,
    principal: WebPrincipal,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Decline for your side, with a reason."""
    service.decline(session, principal, nomination_id, reason=reason)
    return _back(nomination_id, "approval")


@router.post("/partners/{nomination_id}/checklist/{item_key}")
def partners_check(
    nomination_id: uuid.UUID,
    item_key: str,
    session: DbSession,
    principal: WebPrincipal,
    done: Annotated[str, Form()] = "1",
    note: Annotated[str, Form()] = "",
) -> Response:
    """Mark a vetting check done or not done."""
    service.check_item(session, principal, nomination_id, item_key, done=done == "1", note=note)
    return _back(nomination_id, "checklist")


def _parse_local(value: str, field: str) -> dt.datetime | None:
    if not value.strip():
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidInput.on(field, f"{value!r} is not a date and time") from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


@router.post("/partners/{nomination_id}/grants", response_class=HTMLResponse)
def partners_grant(
    nomination_id: uuid.UUID,
    request: Request,
    session: DbSession,
    principal: WebPrincipal,
    starts_at: Annotated[str, Form()] = "",
    ends_at: Annotated[str, Form()] = "",
    usage_cap: Annotated[str, Form()] = "",
    usage_unit: Annotated[str, Form()] = "calls",
    access_level: Annotated[str, Form()] = "black-box",
    purpose: Annotated[str, Form()] = "",
    waive_review_window: Annotated[str, Form()] = "",
    waiver_reason: Annotated[str, Form()] = "",
) -> Response:
    """Issue a signed access grant; a refused request shows the form again with each field's reason."""
    values = {
        "starts_at": starts_at,
        "ends_at": ends_at,
        "usage_cap": usage_cap,
        "usage_unit": usage_unit,
        "access_level": access_level,
        "purpose": purpose,
        "waive_review_window": bool(waive_review_window),
        "waiver_reason": waiver_reason,
    }
    try:
        ends = _parse_local(ends_at, "ends_at")
        if ends is None:
            raise InvalidInput.on("ends_at", "when does access end?")
        try:
            cap = int(usage_cap.replace(",", "").replace("_", "").strip())
        except ValueError as exc:
            raise InvalidInput.on("usage_cap", f"{usage_cap!r} is not a whole number") from exc
        service.issue_grant(
            session,
            principal,
            nomination_id,
            service.GrantInput(
                ends_at=ends,
                usage_cap=cap,
                starts_at=_parse_local(starts_at, "starts_at"),
                usage_unit=usage_unit,
                access_level=access_level,
                purpose=purpose or None,
                waive_review_window=bool(waive_review_window),
                waiver_reason=waiver_reason or None,
            ),
            box=get_runtime(request).box,
        )
    except InvalidInput as exc:
        session.rollback()
        return _detail_page(request, session, principal, nomination_id, values, exc.errors, status_code=422)
    return _back(nomination_id, "grants")


@router.post("/partners/grants/{grant_id}/accept")
def partners_accept(
    grant_id: uuid.UUID,
    session: DbSession,
    principal: WebPrincipal,
    terms_sha256: Annotated[str, Form()] = "",
) -> Response:
    """Accept the grant's terms (the partner)."""
    grant = service.accept_terms(session, principal, grant_id, terms_sha256=terms_sha256)
    return _back(grant.nomination_id, f"grant-{grant_id}")


@router.post("/partners/grants/{grant_id}/usage")
def partners_usage(
    grant_id: uuid.UUID,
    session: DbSession,
    principal: WebPrincipal,
    count: Annotated[str, Form()] = "",
    period_start: Annotated[str, Form()] = "",
    period_end: Annotated[str, Form()] = "",
) -> Response:
    """Report usage for a period (the partner)."""
    try:
        n = int(count.replace(",", "").strip())
    except ValueError as exc:
        raise InvalidInput.on("count", f"{count!r} is not a whole number") from exc
    try:
        start = dt.date.fromisoformat(period_start)
    except ValueError as exc:
        raise InvalidInput.on("period_start", "a date YYYY-MM-DD is required") from exc
    try:
        end = dt.date.fromisoformat(period_end or period_start)
    except ValueError as exc:
        raise InvalidInput.on("period_end", "a date YYYY-MM-DD is required") from exc
    service.report_usage(session, principal, grant_id, count=n, period_start=start, period_end=end)
    grant = service.get_grant(session, principal, grant_id).grant
    return _back(grant.nomination_id, f"grant-{grant_id}")


@router.post("/partners/grants/{grant_id}/revoke")
def partners_revoke(
    grant_id: uuid.UUID,
    session: DbSession,
    principal: WebPrincipal,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Revoke a grant at once, with a reason (developer or agency)."""
    grant = service.revoke_grant(session, principal, grant_id, reason=reason)
    return _back(grant.nomination_id, f"grant-{grant_id}")


@router.get("/partners/grants/{grant_id}/signed")
def partners_signed(grant_id: uuid.UUID, session: DbSession, principal: WebPrincipal) -> Response:
    """The signed grant as a JSON file (verify offline: `frontiersec partners verify FILE`)."""
    doc = service.signed_grant(session, principal, grant_id)
    return Response(
        json.dumps(doc, indent=2),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="access-grant-{grant_id}.json"'},
    )
