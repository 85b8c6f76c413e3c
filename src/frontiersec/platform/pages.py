"""Platform web pages: sign-in, organisations and users, tokens, webhooks, audit log, jobs."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from frontiersec.platform import jobs as jobs_service
from frontiersec.platform import webhooks
from frontiersec.platform.audit import service as audit
from frontiersec.platform.auth import service as auth
from frontiersec.platform.auth.models import OrgKind, Role
from frontiersec.platform.errors import AuthenticationRequired
from frontiersec.platform.http import (
    SESSION_COOKIE,
    DbSession,
    WebPrincipal,
    client_ip,
    get_runtime,
    verify_csrf,
)
from frontiersec.platform.web import templates

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _safe_next(nxt: str | None) -> str:
    return nxt if nxt and nxt.startswith("/") and not nxt.startswith("//") else "/"


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, session: DbSession, next: str = "/") -> Response:
    """The sign-in form (lists the demo accounts when the demo data is loaded)."""
    demo = request.app.state.demo_logins(session)
    return templates(request).render(request, "platform/login.html", {"next": _safe_next(next), **demo})


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    session: DbSession,
    email: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the password, start a session, and go where the user was heading."""
    verify_csrf(request, csrf_token)
    rt = get_runtime(request)
    try:
        principal = auth.authenticate_password(session, email, password, ip=client_ip(request))
    except AuthenticationRequired as exc:
        session.commit()  # keep the audit entry of the failed attempt
        demo = request.app.state.demo_logins(session)
        return templates(request).render(
            request,
            "platform/login.html",
            {"error": exc.detail, "email": email, "next": _safe_next(next), **demo},
            status_code=401,
        )
    raw = auth.start_web_session(session, principal, max_age_s=rt.settings.session_max_age_s)
    resp = RedirectResponse(_safe_next(next), status_code=303)
    resp.set_cookie(
        SESSION_COOKIE,
        raw,
        max_age=rt.settings.session_max_age_s,
        httponly=True,
        samesite="lax",
        secure=rt.settings.secure_cookies,
        path="/",
    )
    return resp


@router.post("/logout")
def logout(request: Request, session: DbSession, principal: WebPrincipal) -> Response:
    """End the session; the cookie stops working at once."""
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        auth.end_web_session(session, raw, principal)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


@router.get("/orgs", response_class=HTMLResponse)
def orgs_page(request: Request, session: DbSession, principal: WebPrincipal) -> Response:
    """Participating organisations."""
    orgs = auth.list_orgs(session, principal)
    return templates(request).render(request, "platform/orgs.html", {"orgs": orgs, "kinds": list(OrgKind)})


@router.post("/orgs")
def create_org(
    request: Request,
    session: DbSession,
    principal: WebPrincipal,
    name: Annotated[str, Form()],
    kind: Annotated[str, Form()],
    sector: Annotated[str, Form()] = "",
) -> Response:
    """Register an organisation (operators)."""
    org = auth.create_org(session, principal, name=name, kind=kind, sector=sector or None)
    return RedirectResponse(f"/orgs/{org.id}", status_code=303)


@router.get("/orgs/{org_id}", response_class=HTMLResponse)
def org_page(org_id: uuid.UUID, request: Request, session: DbSession, principal: WebPrincipal) -> Response:
    """One organisation; its members for its own users and operators."""
    org = auth.get_org(session, principal, org_id)
    members = None
    if principal.is_operator or principal.org_id == org_id:
        members = auth.list_members(session, principal, org_id)
    can_add = principal.is_operator or (principal.org_id == org_id and principal.has_role(Role.ADMIN))
    return templates(request).render(
        request,
        "platform/org.html",
        {"org": org, "members": members, "can_add": can_add, "roles": list(Role)},
    )


@router.post("/orgs/{org_id}/users")
def add_user(
    org_id: uuid.UUID,
    request: Request,
    session: DbSession,
    principal: WebPrincipal,
    email: Annotated[str, Form()],
    display_name: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "member",
) -> Response:
    """Add a user to an organisation."""
    auth.create_user(
        session,
        principal,
        email=email,
        display_name=display_name,
        password=password or None,
        org_id=org_id,
        role=role,
    )
    return RedirectResponse(f"/orgs/{org_id}", status_code=303)


@router.get("/tokens", response_class=HTMLResponse)
def tokens_page(request: Request, session: DbSession, principal: WebPrincipal) -> Response:
    """Your API tokens."""
    return templates(request).render(
        request, "platform/tokens.html", {"tokens": auth.list_tokens(session, principal)}
    )


@router.post("/tokens", response_class=HTMLResponse)
def create_token(
    request: Request,
    session: DbSession,
    principal: WebPrincipal,
    name: Annotated[str, Form()],
    scopes: Annotated[list[str], Form()],
    expires_in_days: Annotated[int, Form()] = 90,
) -> Response:
    """Create a token and show its secret once."""
    tok, raw = auth.create_token(
        session, principal, name=name, scopes=scopes, expires_in_days=expires_in_days
    )
    return templates(request).render(
        request,
        "platform/tokens.html",
        {"tokens": auth.list_tokens(session, principal), "new_token": raw, "new_name": tok.name},
    )


@router.post("/tokens/{token_id}/revoke")
def revoke_token(token_id: uuid.UUID, session: DbSession, principal: WebPrincipal) -> Response:
    """Revoke a token."""
    auth.revoke_token(session, principal, token_id)
    return RedirectResponse("/tokens", status_code=303)


@router.get("/webhooks", response_class=HTMLResponse)
def webhooks_page(request: Request, session: DbSession, principal: WebPrincipal) -> Response:
    """Your organisation's webhooks and their delivery logs."""
    subs = webhooks.list_subscriptions(session, principal)
    deliveries = {s.id: webhooks.list_deliveries(session, principal, s.id, limit=10) for s in subs}
    return templates(request).render(
        request, "platform/webhooks.html", {"subs": subs, "deliveries": deliveries}
    )


@router.post("/webhooks", response_class=HTMLResponse)
def create_webhook(
    request: Request,
    session: DbSession,
    principal: WebPrincipal,
    url: Annotated[str, Form()],
    events: Annotated[str, Form()] = "*",
    description: Annotated[str, Form()] = "",
) -> Response:
    """Subscribe an endpoint and show its secret once."""
    sub, secret = webhooks.create_subscription(
        session,
        principal,
        get_runtime(request).box,
        url=url,
        events=[e.strip() for e in events.split(",") if e.strip()],
        description=description,
    )
    subs = webhooks.list_subscriptions(session, principal)
    deliveries = {s.id: webhooks.list_deliveries(session, principal, s.id, limit=10) for s in subs}
    return templates(request).render(
        request,
        "platform/webhooks.html",
        {"subs": subs, "deliveries": deliveries, "new_secret": secret, "new_url": sub.url},
    )


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    session: DbSession,
    principal: WebPrincipal,
    before: int | None = Query(default=None),
    action: str | None = Query(default=None, max_length=80),
) -> Response:
    """The audit log viewer."""
    rows, nxt = audit.list_entries(session, principal, before_seq=before, limit=50, action=action or None)
    verify = None
    if request.query_params.get("verify") == "1":
        verify = audit.verify_chain(session, principal)
    return templates(request).render(
        request, "platform/audit.html", {"rows": rows, "next": nxt, "action": action or "", "verify": verify}
    )


@router.get("/jobs", response_class=HTMLResponse)
def jobs_page(request: Request, session: DbSession, principal: WebPrincipal) -> Response:
    """Background jobs with live progress."""
    rows = jobs_service.list_jobs(session, principal)
    tpl = "platform/_jobs_rows.html" if request.headers.get("hx-request") == "true" else "platform/jobs.html"
    return templates(request).render(request, tpl, {"jobs": rows})


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(job_id: uuid.UUID, request: Request, session: DbSession, principal: WebPrincipal) -> Response:
    """One job; the progress bar refreshes itself until the job ends."""
    polling = request.headers.get("hx-request") == "true"
    rec = jobs_service.get_job(session, principal, job_id, audit_read=not polling)
    tpl = (
        "platform/_job_progress.html" if request.headers.get("hx-request") == "true" else "platform/job.html"
    )
    return templates(request).render(request, tpl, {"job": rec})
