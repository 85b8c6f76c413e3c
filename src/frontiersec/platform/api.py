"""Platform API routes: identity, tokens, audit, jobs, webhooks, public keys."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Query, Request, Response

from frontiersec.platform import jobs as jobs_service
from frontiersec.platform import sharing, signing, webhooks
from frontiersec.platform.audit import service as audit
from frontiersec.platform.auth import service as auth
from frontiersec.platform.http import ApiPrincipal, DbSession, get_runtime, responses
from frontiersec.platform.pagination import Page
from frontiersec.platform.schemas import (
    AuditEntryRead,
    AuditVerifyRead,
    JobRead,
    MeRead,
    OrgCreate,
    OrgRead,
    ShareCreate,
    ShareRead,
    TokenCreate,
    TokenCreated,
    TokenRead,
    UserCreate,
    UserRead,
    WebhookCreate,
    WebhookCreated,
    WebhookDeliveryRead,
    WebhookRead,
)

__all__ = ["router", "wellknown_router"]

P = {
    401: {"description": "Not signed in"},
    403: {"description": "Forbidden"},
    422: {"description": "Invalid input"},
}

router = APIRouter(prefix="/api/v1", tags=["platform"])
wellknown_router = APIRouter(tags=["platform"])


@router.get("/me", response_model=MeRead, responses=responses())
def me(principal: ApiPrincipal) -> MeRead:
    """Who the API thinks you are."""
    return MeRead(
        user_id=principal.user_id,
        email=principal.email,
        org_id=principal.org_id,
        org_kind=principal.org_kind,
        role=principal.role.value,
        is_operator=principal.is_operator,
        scopes=sorted(principal.scopes),
        via=principal.via,
    )


@router.get("/orgs", response_model=list[OrgRead], responses=responses())
def list_orgs(session: DbSession, principal: ApiPrincipal) -> list[OrgRead]:
    """The directory of participating organisations."""
    return [OrgRead.model_validate(o) for o in auth.list_orgs(session, principal)]


@router.post("/orgs", response_model=OrgRead, status_code=201, responses=responses(409))
def create_org(body: OrgCreate, session: DbSession, principal: ApiPrincipal) -> OrgRead:
    """Register an organisation (operators)."""
    return OrgRead.model_validate(
        auth.create_org(session, principal, name=body.name, kind=body.kind, sector=body.sector)
    )


@router.get("/orgs/{org_id}", response_model=OrgRead, responses=responses(404))
def get_org(org_id: uuid.UUID, session: DbSession, principal: ApiPrincipal) -> OrgRead:
    """One organisation."""
    return OrgRead.model_validate(auth.get_org(session, principal, org_id))


@router.get("/orgs/{org_id}/members", response_model=list[UserRead], responses=responses(404))
def list_members(org_id: uuid.UUID, session: DbSession, principal: ApiPrincipal) -> list[UserRead]:
    """Users of an organisation (its own members and operators only)."""
    return [
        UserRead(
            id=u.id,
            email=u.email,
            display_name=u.display_name,
            is_active=u.is_active,
            role=m.role,
            created_at=u.created_at,
        )
        for u, m in auth.list_members(session, principal, org_id)
    ]


@router.post("/users", response_model=UserRead, status_code=201, responses=responses(409))
def create_user(body: UserCreate, session: DbSession, principal: ApiPrincipal) -> UserRead:
    """Add a user to an organisation (its admins, or operators)."""
    principal.require_scope("admin")
    u = auth.create_user(
        session,
        principal,
        email=body.email,
        display_name=body.display_name,
        password=body.password,
        org_id=body.org_id,
        role=body.role,
    )
    return UserRead(
        id=u.id,
        email=u.email,
        display_name=u.display_name,
        is_active=u.is_active,
        role=body.role,
        created_at=u.created_at,
    )


@router.get("/tokens", response_model=list[TokenRead], responses=responses())
def list_tokens(session: DbSession, principal: ApiPrincipal) -> list[TokenRead]:
    """Your API tokens (never their secrets)."""
    return [TokenRead.model_validate(t) for t in auth.list_tokens(session, principal)]


@router.post("/tokens", response_model=TokenCreated, status_code=201, responses=responses())
def create_token(body: TokenCreate, session: DbSession, principal: ApiPrincipal) -> TokenCreated:
    """Create a token; the secret is in this response only."""
    tok, raw = auth.create_token(
        session, principal, name=body.name, scopes=body.scopes, expires_in_days=body.expires_in_days
    )
    return TokenCreated(**TokenRead.model_validate(tok).model_dump(), token=raw)


@router.delete("/tokens/{token_id}", status_code=204, responses=responses(404))
def revoke_token(token_id: uuid.UUID, session: DbSession, principal: ApiPrincipal) -> Response:
    """Revoke a token; the next call with it is refused."""
    auth.revoke_token(session, principal, token_id)
    return Response(status_code=204)


@router.get("/audit", response_model=Page[AuditEntryRead], responses=responses())
def list_audit(
    session: DbSession,
    principal: ApiPrincipal,
    cursor: int | None = Query(default=None, description="`next_cursor` of the previous page."),
    limit: int = Query(default=50, ge=1, le=500),
    action: str | None = Query(default=None, description="Action prefix, e.g. `auth.`"),
) -> Page[AuditEntryRead]:
    """The audit log, newest first (organisation admins: their organisation; operators: all)."""
    rows, nxt = audit.list_entries(session, principal, before_seq=cursor, limit=limit, action=action)
    return Page[AuditEntryRead](
        items=[AuditEntryRead.model_validate(r) for r in rows], next_cursor=str(nxt) if nxt else None
    )


@router.get("/audit/verify", response_model=AuditVerifyRead, responses=responses())
def verify_audit(session: DbSession, principal: ApiPrincipal) -> AuditVerifyRead:
    """Recompute the whole hash chain (operators)."""
    principal.require_operator("verifying the audit chain")
    r = audit.verify_chain(session, principal)
    return AuditVerifyRead(ok=r.ok, checked=r.checked, first_broken_seq=r.first_broken_seq, reason=r.reason)


@router.get("/jobs", response_model=list[JobRead], responses=responses())
def list_jobs(session: DbSession, principal: ApiPrincipal) -> list[JobRead]:
    """Recent jobs of your organisation."""
    return [JobRead.model_validate(j) for j in jobs_service.list_jobs(session, principal)]


@router.get("/jobs/{job_id}", response_model=JobRead, responses=responses(404))
def get_job(job_id: uuid.UUID, session: DbSession, principal: ApiPrincipal) -> JobRead:
    """A job's status and progress (percent + message)."""
    return JobRead.model_validate(jobs_service.get_job(session, principal, job_id))


@router.get("/webhooks", response_model=list[WebhookRead], responses=responses())
def list_webhooks(session: DbSession, principal: ApiPrincipal) -> list[WebhookRead]:
    """Your organisation's webhook subscriptions."""
    return [WebhookRead.model_validate(s) for s in webhooks.list_subscriptions(session, principal)]


@router.post("/webhooks", response_model=WebhookCreated, status_code=201, responses=responses())
def create_webhook(
    body: WebhookCreate, request: Request, session: DbSession, principal: ApiPrincipal
) -> WebhookCreated:
    """Subscribe an endpoint; the signing secret is in this response only."""
    sub, secret = webhooks.create_subscription(
        session,
        principal,
        get_runtime(request).box,
        url=body.url,
        events=body.events,
        description=body.description,
    )
    return WebhookCreated(**WebhookRead.model_validate(sub).model_dump(), secret=secret)


@router.delete("/webhooks/{webhook_id}", status_code=204, responses=responses(404))
def delete_webhook(webhook_id: uuid.UUID, session: DbSession, principal: ApiPrincipal) -> Response:
    """Remove a subscription."""
    webhooks.delete_subscription(session, principal, webhook_id)
    return Response(status_code=204)


@router.get(
    "/webhooks/{webhook_id}/deliveries", response_model=list[WebhookDeliveryRead], responses=responses(404)
)
def list_deliveries(
    webhook_id: uuid.UUID, session: DbSession, principal: ApiPrincipal
) -> list[WebhookDeliveryRead]:
    """The delivery log of a subscription."""
    return [
        WebhookDeliveryRead.model_validate(d)
        for d in webhooks.list_deliveries(session, principal, webhook_id)
    ]


@router.post(
    "/webhooks/{webhook_id}/ping",
    response_model=WebhookDeliveryRead,
    status_code=202,
    responses=responses(404),
)
def ping_webhook(webhook_id: uuid.UUID, session: DbSession, principal: ApiPrincipal) -> WebhookDeliveryRead:
    """Send a signed ``ping`` event to test the endpoint."""
    return WebhookDeliveryRead.model_validate(webhooks.ping_subscription(session, principal, webhook_id))


@router.post("/shares", response_model=ShareRead, status_code=201, responses=responses(404))
def create_share(body: ShareCreate, session: DbSession, principal: ApiPrincipal) -> ShareRead:
    """Share a record you can see with a named organisation (AMBER) or a named person (RED)."""
    share = sharing.share_record(
        session,
        principal,
        object_type=body.object_type,
        object_id=body.object_id,
        org_id=body.org_id,
        user_id=body.user_id,
    )
    return ShareRead.model_validate(share)


@wellknown_router.get("/.well-known/frontiersec-keys.json")
def public_keys(session: DbSession) -> dict[str, Any]:
    """The deployment's Ed25519 public keys (JWK set), for offline verification."""
    return signing.jwks(session)
