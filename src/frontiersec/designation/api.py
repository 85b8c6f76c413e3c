"""Designation JSON API (`/api/v1/designation/...`).

Public (no sign-in): the published policy commitments and summaries, the transparency figures,
and verification of a signed determination against this deployment's keys and commitments.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Body, Query, Request, Response

from frontiersec.designation import service
from frontiersec.designation.models import DesignationPolicy, Determination
from frontiersec.designation.schemas import (
    DeterminationCreate,
    DeterminationRead,
    NoticeRead,
    OfficialCreate,
    OfficialRead,
    PolicyCreate,
    PolicyDocumentRead,
    PolicyRead,
    PublishedPolicy,
    ReconsiderationCreate,
    ReconsiderationDecision,
    ReconsiderationRead,
    TransparencyRead,
    VerifyRead,
)
from frontiersec.platform.errors import NotFound
from frontiersec.platform.http import ApiPrincipal, DbSession, get_runtime, responses
from frontiersec.platform.schemas import JobRead
from frontiersec.platform.signing import jwks

router = APIRouter(prefix="/api/v1/designation", tags=["designation"])
R412 = {
    **responses(404, 409),
    412: {"description": "Not allowed in this state, e.g. `reconsideration-period-closed` (problem+json)"},
}


def published_read(p: DesignationPolicy) -> PublishedPolicy:
    """The public view of a policy version."""
    return PublishedPolicy(
        version=p.version,
        title=p.title,
        effective=p.effective,
        commitment=p.commitment,
        published_at=p.created_at,
        summary=p.summary,
    )


def _policy_read(p: DesignationPolicy) -> PolicyRead:
    return PolicyRead(
        **published_read(p).model_dump(), id=p.id, confidential_thresholds=p.confidential_thresholds
    )


def determination_read(view: service.DeterminationView, request_days: int) -> DeterminationRead:
    """The API view of a determination."""
    row: Determination = view.row
    clock = service.reconsideration_clock(row, request_days)
    return DeterminationRead(
        id=row.id,
        model=row.model_name,
        model_version=row.model_version,
        developer_org_id=row.owner_org_id,
        developer=view.developer,
        issuer=view.issuer,
        result=row.result,  # type: ignore[arg-type]
        basis=row.basis,
        status=row.status,
        policy_version=row.policy_version,
        policy_commitment=row.policy_commitment,
        issued_at=row.issued_at,
        signature_kid=row.signature_kid,
        criteria=view.criteria,  # type: ignore[arg-type]
        evidence=row.evidence,
        supersedes_id=row.supersedes_id,
        superseded_by_id=row.superseded_by_id,
        reevaluation_due_at=row.reevaluation_due_at,
        reevaluation_reason=row.reevaluation_reason,
        reconsideration_deadline=clock["deadline"],
        reconsideration_open=clock["open"],
    )


def _days(request: Request) -> tuple[int, int]:
    s = get_runtime(request).settings
    return int(s.reconsideration_request_days), int(s.reconsideration_decision_days)


# --------------------------------------------------------------------------- public


@router.get("/policies/published", response_model=list[PublishedPolicy], responses=responses())
def list_published(session: DbSession) -> list[PublishedPolicy]:
    """Every policy version's commitment (SHA-256 of its RFC 8785 canonical JSON) and public
    summary. Public: no sign-in needed."""
    return [published_read(p) for p in service.published_policies(session)]


@router.get("/transparency", response_model=TransparencyRead, responses=responses())
def get_transparency(session: DbSession) -> TransparencyRead:
    """Aggregate figures: determinations by result, reconsiderations and outcomes, median times,
    published policy commitments. Public; nothing confidential."""
    data = service.transparency(session)
    data["policies"] = [published_read(p) for p in service.published_policies(session)]
    return TransparencyRead.model_validate(data)


@router.post("/verify", response_model=VerifyRead, responses=responses())
def verify(
    session: DbSession, document: dict[str, Any] = Body(description="A signed determination.")
) -> VerifyRead:
    """Check a signed determination against this deployment's published keys and policy
    commitments. Public. (Offline: `frontiersec designation verify FILE --keys JWKS`.)"""
    published = {p.version: p.commitment for p in service.published_policies(session)}
    report = service.verify_signed_determination(document, jwks(session), published)
    return VerifyRead(**report.__dict__)


# --------------------------------------------------------------------------- officials


@router.get("/officials", response_model=list[OfficialRead], responses=responses())
def list_officials(session: DbSession, principal: ApiPrincipal) -> list[OfficialRead]:
    """The designation officials group (officials and operators)."""
    return [OfficialRead(**o) for o in service.list_officials(session, principal)]


@router.post("/officials", response_model=OfficialRead, status_code=201, responses=responses(409))
def add_official(body: OfficialCreate, session: DbSession, principal: ApiPrincipal) -> OfficialRead:
    """Add a government-agency user to the designation officials group (operators)."""
    service.grant_official(session, principal, body.email)
    row = next(
        o for o in service.list_officials(session, principal) if o["email"] == body.email.strip().lower()
    )
    return OfficialRead(**row)


@router.delete("/officials/{official_user_id}", status_code=204, responses=responses(404))
def remove_official(official_user_id: uuid.UUID, session: DbSession, principal: ApiPrincipal) -> Response:
    """Remove a user from the designation officials group (operators)."""
    service.revoke_official(session, principal, official_user_id)
    return Response(status_code=204)


# --------------------------------------------------------------------------- policies


@router.get("/policies", response_model=list[PolicyRead], responses=responses())
def list_policies(session: DbSession, principal: ApiPrincipal) -> list[PolicyRead]:
    """Policy versions, newest first (designation officials and operators; audited)."""
    return [_policy_read(p) for p in service.list_policies(session, principal)]


@router.post("/policies", response_model=PolicyRead, status_code=201, responses=responses(409))
def add_policy(
    request: Request, body: PolicyCreate, session: DbSession, principal: ApiPrincipal
) -> PolicyRead:
    """Publish a new policy version from its YAML document (designation officials). The document
    is validated (errors name the YAML path), encrypted, and its commitment published."""
    row = service.add_policy(session, principal, get_runtime(request).box, body.yaml)
    return _policy_read(row)


@router.get("/policies/{policy_version}", response_model=PolicyDocumentRead, responses=responses(404))
def get_policy(
    request: Request, policy_version: str, session: DbSession, principal: ApiPrincipal
) -> PolicyDocumentRead:
    """One policy version with its confidential document (officials and operators; audited).
    Anyone else gets 404."""
    view = service.get_policy(session, principal, get_runtime(request).box, policy_version)
    return PolicyDocumentRead(
        **_policy_read(view.row).model_dump(), document=view.document, yaml=view.yaml_text
    )


# --------------------------------------------------------------------------- determinations


@router.get("/determinations", response_model=list[DeterminationRead], responses=responses())
def list_determinations(
    request: Request,
    session: DbSession,
    principal: ApiPrincipal,
    result: str | None = Query(default=None, description="covered, not_covered or insufficient_evidence."),
    current_only: bool = Query(default=False, description="Leave out superseded determinations."),
) -> list[DeterminationRead]:
    """Determinations you may see: a developer its own, officials all."""
    box = get_runtime(request).box
    rows = service.list_determinations(session, principal, result=result, include_superseded=not current_only)
    days, _ = _days(request)
    return [determination_read(v, days) for v in service.determination_views(session, principal, box, rows)]


@router.post("/determinations", response_model=DeterminationRead, status_code=201, responses=responses())
def create_determination(
    request: Request, body: DeterminationCreate, session: DbSession, principal: ApiPrincipal
) -> DeterminationRead:
    """Apply a policy version to a model version's evidence (capability profile, declared compute
    and size) and issue a signed determination with its notice (designation officials).
    A determination without evidence is refused (422)."""
    box = get_runtime(request).box
    row = service.issue_determination(
        session,
        principal,
        box,
        model_name=body.model,
        model_version=body.version,
        policy_version=body.policy,
        developer_org_id=body.developer_org_id,
        training_compute_flop=body.training_compute_flop,
        parameter_count=body.parameter_count,
    )
    return determination_read(service.get_determination(session, principal, box, row.id), _days(request)[0])


@router.get("/determinations/{determination_id}", response_model=DeterminationRead, responses=responses(404))
def get_determination(
    request: Request, determination_id: uuid.UUID, session: DbSession, principal: ApiPrincipal
) -> DeterminationRead:
    """One determination with every criterion, its evidence and the reconsideration clock."""
    view = service.get_determination(session, principal, get_runtime(request).box, determination_id)
    return determination_read(view, _days(request)[0])


@router.get("/determinations/{determination_id}/signed", responses=responses(404))
def get_signed(
    request: Request, determination_id: uuid.UUID, session: DbSession, principal: ApiPrincipal
) -> dict[str, Any]:
    """The signed determination document (verify it offline with `frontiersec designation verify`)."""
    view = service.get_determination(session, principal, get_runtime(request).box, determination_id)
    return dict(view.row.document)


@router.get("/determinations/{determination_id}/notice", response_model=NoticeRead, responses=responses(404))
def get_notice(
    request: Request, determination_id: uuid.UUID, session: DbSession, principal: ApiPrincipal
) -> NoticeRead:
    """The notice sent to the developer: result, reasons and the policy's public summary."""
    service.get_determination(session, principal, get_runtime(request).box, determination_id)
    notice = service.notice_of(session, determination_id)
    if notice is None:
        raise NotFound(f"no notice for determination {determination_id}")
    return NoticeRead.model_validate(notice)


@router.get("/notices", response_model=list[NoticeRead], responses=responses())
def list_notices(session: DbSession, principal: ApiPrincipal) -> list[NoticeRead]:
    """Notices you may see (a developer: its own), newest first."""
    return [NoticeRead.model_validate(n) for n in service.list_notices(session, principal)]


@router.post("/reevaluations", response_model=JobRead, status_code=202, responses=responses())
def reevaluate(session: DbSession, principal: ApiPrincipal) -> JobRead:
    """Re-run every determination marked re-evaluation due, as a background job (officials)."""
    return JobRead.model_validate(service.request_reevaluation(session, principal))


# --------------------------------------------------------------------------- reconsideration


@router.post(
    "/determinations/{determination_id}/reconsiderations",
    response_model=ReconsiderationRead,
    status_code=201,
    responses=R412,
)
def request_reconsideration(
    request: Request,
    determination_id: uuid.UUID,
    body: ReconsiderationCreate,
    session: DbSession,
    principal: ApiPrincipal,
) -> ReconsiderationRead:
    """Request reconsideration (the developer organisation, within the request period; 412
    `reconsideration-period-closed` after it, naming the deadline)."""
    req_days, dec_days = _days(request)
    row = service.request_reconsideration(
        session,
        principal,
        determination_id,
        reason=body.reason,
        request_days=req_days,
        decision_days=dec_days,
        training_compute_flop=body.training_compute_flop,
        parameter_count=body.parameter_count,
    )
    return ReconsiderationRead.model_validate(row)


@router.get("/reconsiderations", response_model=list[ReconsiderationRead], responses=responses())
def list_reconsiderations(session: DbSession, principal: ApiPrincipal) -> list[ReconsiderationRead]:
    """Reconsiderations you may see, newest first, with their clocks."""
    return [ReconsiderationRead.model_validate(r) for r in service.list_reconsiderations(session, principal)]


@router.get(
    "/reconsiderations/{reconsideration_id}", response_model=ReconsiderationRead, responses=responses(404)
)
def get_reconsideration(
    reconsideration_id: uuid.UUID, session: DbSession, principal: ApiPrincipal
) -> ReconsiderationRead:
    """One reconsideration: clock, status and outcome (both sides see it)."""
    return ReconsiderationRead.model_validate(
        service.get_reconsideration(session, principal, reconsideration_id)
    )


@router.post(
    "/reconsiderations/{reconsideration_id}/review",
    response_model=ReconsiderationRead,
    responses=responses(404, 409),
)
def start_review(
    reconsideration_id: uuid.UUID, session: DbSession, principal: ApiPrincipal
) -> ReconsiderationRead:
    """Take up a request (officials): requested → under_review."""
    return ReconsiderationRead.model_validate(service.start_review(session, principal, reconsideration_id))


@router.post(
    "/reconsiderations/{reconsideration_id}/decision",
    response_model=ReconsiderationRead,
    responses=R412,
)
def decide(
    request: Request,
    reconsideration_id: uuid.UUID,
    body: ReconsiderationDecision,
    session: DbSession,
    principal: ApiPrincipal,
) -> ReconsiderationRead:
    """Decide a request (officials): upheld, reversed (result overturned) or modified (policy
    re-applied to fresh evidence); the last two issue a new signed determination."""
    row = service.decide_reconsideration(
        session,
        principal,
        get_runtime(request).box,
        reconsideration_id,
        outcome=body.outcome,
        rationale=body.rationale,
    )
    return ReconsiderationRead.model_validate(row)
