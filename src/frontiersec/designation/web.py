"""Designation pages: determinations with their reasons and verify badge, the notice and the
reconsideration clock, policy versions (officials), and the public transparency page."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from typing import Annotated, Any

import rfc8785
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from frontiersec.designation import service
from frontiersec.platform.auth import service as auth
from frontiersec.platform.auth.models import Organization, Role
from frontiersec.platform.auth.principal import Principal
from frontiersec.platform.errors import InvalidInput
from frontiersec.platform.http import SESSION_COOKIE, DbSession, WebPrincipal, client_ip, get_runtime
from frontiersec.platform.signing import jwks
from frontiersec.platform.web import templates

router = APIRouter(include_in_schema=False)

RESULT_LABEL = {
    "covered": "Covered frontier model",
    "not_covered": "Not covered",
    "insufficient_evidence": "Insufficient evidence",
}
RESULT_BADGE = {"covered": "bad", "not_covered": "ok", "insufficient_evidence": "warn"}
STATUS_BADGE = {"met": "bad", "unmet": "ok", "unknown": "warn"}
RECON_BADGE = {
    "requested": "warn",
    "under_review": "warn",
    "upheld": "neutral",
    "reversed": "ok",
    "modified": "ok",
}


def sci(value: float | None, unit: str = "") -> str:
    """1.2e+26 → '1.2 x 10^26 FLOP' with a multiplication sign and superscripts (plain when small)."""
    if value is None:
        return "—"
    if value == 0 or 1e-3 <= abs(value) < 1e6:
        text = f"{value:.3g}"
    else:
        exp = math.floor(math.log10(abs(value)))
        mant = value / 10**exp
        sup = str(exp).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
        text = f"{mant:.3g} \u00d7 10{sup}"
    return f"{text} {unit}".strip()


def pct(value: float | None) -> str:
    """0.3 → '30.0%'."""
    return "—" if value is None else f"{100 * value:.1f}%"


def _helpers() -> dict[str, Any]:
    return {
        "sci": sci,
        "pct": pct,
        "RESULT_LABEL": RESULT_LABEL,
        "RESULT_BADGE": RESULT_BADGE,
        "STATUS_BADGE": STATUS_BADGE,
        "RECON_BADGE": RECON_BADGE,
        "now": dt.datetime.now(dt.UTC),
    }


def _days(request: Request) -> tuple[int, int]:
    s = get_runtime(request).settings
    return int(s.reconsideration_request_days), int(s.reconsideration_decision_days)


def dashboard_card(session: Session, principal: Principal) -> dict[str, Any]:
    """The designation card on the dashboard."""
    rows = service.list_determinations(session, principal, include_superseded=False)
    covered = sum(1 for r in rows if r.result == "covered")
    due = sum(1 for r in rows if r.reevaluation_due_at is not None)
    open_recons = [
        r for r in service.list_reconsiderations(session, principal) if r.status in service.OPEN_STATES
    ]
    return {
        "title": "Designation",
        "href": "/designation",
        "big": len(rows),
        "unit": "current determinations",
        "lines": [
            f"{covered} covered frontier models",
            f"{len(open_recons)} reconsiderations open" if open_recons else "",
            f"{due} re-evaluations due" if due else "",
        ],
        "links": [("/transparency", "Transparency report")],
        "empty": None
        if rows
        else "Signed determinations of covered frontier models appear here, each with its reasons, "
        "the policy commitment it applied, and the reconsideration clock.",
    }


# --------------------------------------------------------------------------- public


def _optional_principal(request: Request, session: Session) -> Principal | None:
    raw = request.cookies.get(SESSION_COOKIE)
    principal = auth.principal_from_web_session(session, raw, ip=client_ip(request)) if raw else None
    request.state.principal = principal
    return principal


@router.get("/transparency", response_class=HTMLResponse)
def transparency_page(request: Request, session: DbSession) -> Response:
    """Public transparency report: aggregate counts, median times, published policy commitments."""
    principal = _optional_principal(request, session)
    data = service.transparency(session)
    return templates(request).render(
        request,
        "designation/transparency.html",
        {"t": data, "signed_in": principal is not None, "days": _days(request), **_helpers()},
    )


# --------------------------------------------------------------------------- determinations


@router.get("/designation", response_class=HTMLResponse)
def list_page(request: Request, session: DbSession, principal: WebPrincipal) -> Response:
    """Determinations you may see, notices, open reconsiderations; officials issue from here."""
    box = get_runtime(request).box
    rows = service.list_determinations(session, principal)
    views = service.determination_views(session, principal, box, rows)
    recons = service.list_reconsiderations(session, principal)
    official = service.is_official(session, principal)
    ctx: dict[str, Any] = {
        "views": views,
        "recons": recons,
        "by_det": {r.determination_id: r for r in recons},
        "official": official,
        "days": _days(request),
        **_helpers(),
    }
    if official:
        ctx["policies"] = service.published_policies(session)
        ctx["developers"] = list(
            session.execute(
                select(Organization).where(Organization.kind == "ai_developer").order_by(Organization.name)
            ).scalars()
        )
    return templates(request).render(request, "designation/list.html", ctx)


def _float(value: str, field: str) -> float | None:
    if not value.strip():
        return None
    try:
        return float(value)
    except ValueError:
        raise InvalidInput.on(field, f"{value!r} is not a number (e.g. 3.2e25)") from None


def _int(value: str, field: str) -> int | None:
    f = _float(value, field)
    if f is None:
        return None
    if not f.is_integer():
        raise InvalidInput.on(field, "must be a whole number")
    return int(f)


@router.post("/designation/determine")
def determine(
    request: Request,
    session: DbSession,
    principal: WebPrincipal,
    model: Annotated[str, Form()],
    version: Annotated[str, Form()],
    policy: Annotated[str, Form()],
    developer: Annotated[str, Form()] = "",
    training_compute_flop: Annotated[str, Form()] = "",
    parameter_count: Annotated[str, Form()] = "",
) -> Response:
    """Issue a determination (designation officials)."""
    dev_id: uuid.UUID | None = None
    if developer.strip():
        try:
            dev_id = uuid.UUID(developer)
        except ValueError:
            raise InvalidInput.on("developer", "choose a developer organisation") from None
    row = service.issue_determination(
        session,
        principal,
        get_runtime(request).box,
        model_name=model,
        model_version=version,
        policy_version=policy,
        developer_org_id=dev_id,
        training_compute_flop=_float(training_compute_flop, "training_compute_flop"),
        parameter_count=_int(parameter_count, "parameter_count"),
    )
    return RedirectResponse(f"/designation/{row.id}", status_code=303)


@router.post("/designation/reevaluate")
def reevaluate(session: DbSession, principal: WebPrincipal) -> Response:
    """Re-run every determination marked re-evaluation due, as a job (officials)."""
    rec = service.request_reevaluation(session, principal)
    return RedirectResponse(f"/jobs/{rec.id}", status_code=303)


# --------------------------------------------------------------------------- policies


@router.get("/designation/policies", response_class=HTMLResponse)
def policies_page(request: Request, session: DbSession, principal: WebPrincipal) -> Response:
    """Policy versions (designation officials; audited) and the form to publish a new one."""
    rows = service.list_policies(session, principal)
    return templates(request).render(
        request,
        "designation/policies.html",
        {
            "rows": rows,
            "official": service.is_official(session, principal),
            "officials": service.list_officials(session, principal),
            **_helpers(),
        },
    )


@router.post("/designation/policies")
def add_policy(
    request: Request, session: DbSession, principal: WebPrincipal, document: Annotated[str, Form()]
) -> Response:
    """Publish a new policy version from YAML (designation officials)."""
    row = service.add_policy(session, principal, get_runtime(request).box, document)
    return RedirectResponse(f"/designation/policies/{row.version}", status_code=303)


@router.get("/designation/policies/{policy_version}", response_class=HTMLResponse)
def policy_page(
    policy_version: str, request: Request, session: DbSession, principal: WebPrincipal
) -> Response:
    """One policy version: its document, commitment and public summary (officials; audited)."""
    view = service.get_policy(session, principal, get_runtime(request).box, policy_version)
    return templates(request).render(request, "designation/policy.html", {"v": view, **_helpers()})


# --------------------------------------------------------------------------- one determination


@router.get("/designation/{determination_id}", response_class=HTMLResponse)
def detail_page(
    determination_id: uuid.UUID, request: Request, session: DbSession, principal: WebPrincipal
) -> Response:
    """One determination: criteria table, evidence, verify badge, notice, reconsideration clock."""
    box = get_runtime(request).box
    view = service.get_determination(session, principal, box, determination_id)
    row = view.row
    published = {p.version: p.commitment for p in service.published_policies(session)}
    report = service.verify_signed_determination(row.document, jwks(session), published)
    req_days, dec_days = _days(request)
    recons = service.reconsiderations_of(session, row.id)
    clock = service.reconsideration_clock(row, req_days)
    developer_side = principal.org_id == row.owner_org_id
    can_request = (
        developer_side
        and principal.has_role(Role.MEMBER)
        and clock["open"]
        and not any(r.status in service.OPEN_STATES for r in recons)
    )
    policy = next((p for p in service.published_policies(session) if p.version == row.policy_version), None)
    return templates(request).render(
        request,
        "designation/detail.html",
        {
            "v": view,
            "d": row,
            "report": report,
            "notice": service.notice_of(session, row.id),
            "recons": recons,
            "clock": clock,
            "decision_days": dec_days,
            "can_request": can_request,
            "developer_side": developer_side,
            "official": service.is_official(session, principal),
            "policy": policy,
            **_helpers(),
        },
    )


@router.get("/designation/{determination_id}/signed.json")
def signed_download(
    determination_id: uuid.UUID, request: Request, session: DbSession, principal: WebPrincipal
) -> Response:
    """The signed determination (RFC 8785 canonical JSON) for offline verification."""
    view = service.get_determination(session, principal, get_runtime(request).box, determination_id)
    return Response(
        rfc8785.dumps(dict(view.row.document)),
        media_type="application/json",
        headers={"content-disposition": f'attachment; filename="determination-{determination_id}.json"'},
    )


@router.post("/designation/{determination_id}/reconsider")
def reconsider(
    determination_id: uuid.UUID,
    request: Request,
    session: DbSession,
    principal: WebPrincipal,
    reason: Annotated[str, Form()],
    training_compute_flop: Annotated[str, Form()] = "",
    parameter_count: Annotated[str, Form()] = "",
) -> Response:
    """Request reconsideration (the developer, within the request period)."""
    req_days, dec_days = _days(request)
    service.request_reconsideration(
        session,
        principal,
        determination_id,
        reason=reason,
        request_days=req_days,
        decision_days=dec_days,
        training_compute_flop=_float(training_compute_flop, "training_compute_flop"),
        parameter_count=_int(parameter_count, "parameter_count"),
    )
    return RedirectResponse(f"/designation/{determination_id}#reconsideration", status_code=303)


@router.post("/designation/reconsiderations/{reconsideration_id}/review")
def start_review(reconsideration_id: uuid.UUID, session: DbSession, principal: WebPrincipal) -> Response:
    """Take up a reconsideration request (officials)."""
    row = service.start_review(session, principal, reconsideration_id)
    return RedirectResponse(f"/designation/{row.determination_id}#reconsideration", status_code=303)


@router.post("/designation/reconsiderations/{reconsideration_id}/decide")
def decide(
    reconsideration_id: uuid.UUID,
    request: Request,
    session: DbSession,
    principal: WebPrincipal,
    outcome: Annotated[str, Form()],
    rationale: Annotated[str, Form()],
) -> Response:
    """Decide a reconsideration (officials); a new determination opens when one is issued."""
    row = service.decide_reconsideration(
        session, principal, get_runtime(request).box, reconsideration_id, outcome=outcome, rationale=rationale
    )
    target = row.new_determination_id or row.determination_id
    return RedirectResponse(f"/designation/{target}#reconsideration", status_code=303)
