"""Partners JSON API (`/api/v1/partners/...`): nominations, the two sides' decisions, the vetting
checklist, signed access grants, terms, usage, the gateway's access check, revocation, findings
with the model as provenance, and counts by sector.

Someone who takes no part in a nomination (neither its developer, its agency nor its partner)
gets 404 for it and for its grants.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile

from frontiersec.partners import service
from frontiersec.partners.models import PartnerGrant
from frontiersec.partners.schemas import (
    ApprovalRead,
    ChecklistItemRead,
    ChecklistUpdate,
    CheckRead,
    CheckRequest,
    DecisionCreate,
    DeclineCreate,
    FindingsImportRead,
    GrantCreate,
    GrantRead,
    NominationCreate,
    NominationDetailRead,
    NominationRead,
    RevokeCreate,
    SectorCountRead,
    TermsAccept,
    TermsRead,
    UsageCreate,
    UsageRead,
)
from frontiersec.platform.http import ApiPrincipal, DbSession, get_runtime, responses

router = APIRouter(prefix="/api/v1/partners", tags=["partners"])


def grant_read(v: service.GrantView, people: dict[uuid.UUID, str]) -> GrantRead:
    """API shape of a grant."""
    g = v.grant
    return GrantRead(
        id=g.id,
        nomination_id=g.nomination_id,
        model_name=g.model_name,
        model_version=g.model_version,
        developer=v.developer,
        partner=v.partner,
        partner_org_id=g.partner_org_id,
        purpose=g.purpose,
        access_level=g.access_level,
        starts_at=g.starts_at,
        ends_at=g.ends_at,
        usage_cap=g.usage_cap,
        usage_unit=g.usage_unit,
        used=g.used_units,
        remaining=v.remaining,
        status=v.status,
        status_text=v.status_text,
        review_window_closes_at=g.review_window_closes_at,
        window_waived=g.window_waived,
        waiver_reason=g.waiver_reason,
        terms=TermsRead(
            version=g.terms_version,
            sha256=g.terms_sha256,
            text=g.terms_text,
            accepted_by=people.get(g.accepted_by) if g.accepted_by else None,
            accepted_at=g.accepted_at,
        ),
        revoked_at=g.revoked_at,
        revoked_side=g.revoked_side,
        revoke_reason=g.revoke_reason,
        signing_kid=g.kid,
        your_side=v.side,
        tlp=g.tlp,
    )


def _nom_fields(n: Any, developer: str, agency: str, partner: str, sector: str, side: str) -> dict[str, Any]:
    return {
        "id": n.id,
        "model_name": n.model_name,
        "model_version": n.model_version,
        "developer": developer,
        "developer_org_id": n.owner_org_id,
        "agency": agency,
        "agency_org_id": n.agency_org_id,
        "partner": partner,
        "partner_org_id": n.partner_org_id,
        "partner_sector": sector,
        "purpose": n.purpose,
        "nominated_side": n.nominated_side,
        "status": n.status,
        "created_at": n.created_at,
        "decided_at": n.decided_at,
        "your_side": side,
        "tlp": n.tlp,
    }


def row_read(r: service.NominationRow) -> NominationRead:
    """API shape of a list row."""
    return NominationRead(
        **_nom_fields(r.nomination, r.developer, r.agency, r.partner, r.partner_sector, r.side),
        developer_decision=r.developer_decision,
        agency_decision=r.agency_decision,
        active_grants=r.active_grants,
    )


def detail_read(d: service.NominationDetail) -> NominationDetailRead:
    """API shape of a nomination's detail."""
    dec = {a.side: a.decision for a in d.approvals}
    who = d.people
    return NominationDetailRead(
        **_nom_fields(d.nomination, d.developer, d.agency, d.partner, d.partner_sector, d.side),
        developer_decision=dec.get("developer"),
        agency_decision=dec.get("agency"),
        active_grants=sum(1 for g in d.grants if g.status == "active"),
        approvals=[
            ApprovalRead(
                side=a.side,
                decision=a.decision,
                reason=a.reason,
                decided_by=who.get(a.decided_by) if a.decided_by else None,
                decided_at=a.decided_at,
            )
            for a in d.approvals
        ],
        checklist=[
            ChecklistItemRead(
                key=i.key,
                label=i.label,
                required=i.required,
                done=i.checked_at is not None,
                checked_by=who.get(i.checked_by) if i.checked_by else None,
                checked_at=i.checked_at,
                note=i.note,
            )
            for i in d.checklist
        ],
        checklist_done=d.checklist_done(),
        grants=[grant_read(g, who) for g in d.grants],
    )


def _grant_out(session: Any, principal: Any, grant_id: uuid.UUID) -> GrantRead:
    v = service.get_grant(session, principal, grant_id)
    g = v.grant
    people = service.people_labels(session, {g.accepted_by})
    return grant_read(v, people)


@router.get("/nominations", response_model=list[NominationRead], responses=responses())
def list_nominations(
    session: DbSession,
    principal: ApiPrincipal,
    status: str | None = Query(default=None, description="pending, approved or declined."),
) -> list[NominationRead]:
    """Nominations you take part in: as the model's developer, the co-deciding agency, or the partner."""
    return [row_read(r) for r in service.list_nominations(session, principal, status=status)]


@router.post("/nominations", response_model=NominationDetailRead, status_code=201, responses=responses(409))
def nominate(body: NominationCreate, session: DbSession, principal: ApiPrincipal) -> NominationDetailRead:
    """Nominate an organisation as trusted partner for a model version (the developer, naming the
    co-deciding `agency`, or an agency). The vetting checklist starts empty; both sides must approve."""
    nom = service.nominate(session, principal, service.NominationInput(**body.model_dump()))
    return detail_read(service.get_nomination(session, principal, nom.id))


@router.get("/nominations/{nomination_id}", response_model=NominationDetailRead, responses=responses(404))
def get_nomination(
    nomination_id: uuid.UUID, session: DbSession, principal: ApiPrincipal
) -> NominationDetailRead:
    """One nomination: both sides' decisions, the vetting checklist (not shown to the partner) and the grants."""
    return detail_read(service.get_nomination(session, principal, nomination_id))


@router.post(
    "/nominations/{nomination_id}/approve",
    response_model=NominationDetailRead,
    responses=responses(404, 409, 412),
)
def approve(
    nomination_id: uuid.UUID, session: DbSession, principal: ApiPrincipal, body: DecisionCreate | None = None
) -> NominationDetailRead:
    """Approve for your side (developer or agency; analysts and up). Each side approves once (409 the
    second time); the second side's approval needs every required vetting check done (412)."""
    service.approve(session, principal, nomination_id, note=body.note if body else None)
    return detail_read(service.get_nomination(session, principal, nomination_id))


@router.post(
    "/nominations/{nomination_id}/decline", response_model=NominationDetailRead, responses=responses(404, 409)
)
def decline(
    nomination_id: uuid.UUID, body: DeclineCreate, session: DbSession, principal: ApiPrincipal
) -> NominationDetailRead:
    """Decline for your side with a reason (422 without one); the nomination ends."""
    service.decline(session, principal, nomination_id, reason=body.reason)
    return detail_read(service.get_nomination(session, principal, nomination_id))


@router.post(
    "/nominations/{nomination_id}/checklist/{item_key}",
    response_model=ChecklistItemRead,
    responses=responses(404, 412),
)
def check_item(
    nomination_id: uuid.UUID,
    item_key: str,
    session: DbSession,
    principal: ApiPrincipal,
    body: ChecklistUpdate | None = None,
) -> ChecklistItemRead:
    """Mark one vetting check done (or undo it) with who and when (developer or agency side)."""
    upd = body or ChecklistUpdate()
    item = service.check_item(session, principal, nomination_id, item_key, done=upd.done, note=upd.note)
    people = service.people_labels(session, {item.checked_by})
    return ChecklistItemRead(
        key=item.key,
        label=item.label,
        required=item.required,
        done=item.checked_at is not None,
        checked_by=people.get(item.checked_by) if item.checked_by else None,
        checked_at=item.checked_at,
        note=item.note,
    )


@router.post(
    "/nominations/{nomination_id}/grants",
    response_model=GrantRead,
    status_code=201,
    responses=responses(404, 412),
)
def issue_grant(
    nomination_id: uuid.UUID, body: GrantCreate, request: Request, session: DbSession, principal: ApiPrincipal
) -> GrantRead:
    """Issue a signed access grant to the approved partner (the developer; analysts and up). A start in
    the past, an end before the start, or a start before the model's review window closes without a
    waiver is refused (422 naming `starts_at` / `ends_at`). It activates when the partner accepts the terms."""
    grant = service.issue_grant(
        session,
        principal,
        nomination_id,
        service.GrantInput(**body.model_dump()),
        box=get_runtime(request).box,
    )
    return _grant_out(session, principal, grant.id)


@router.get("/grants", response_model=list[GrantRead], responses=responses())
def list_grants(session: DbSession, principal: ApiPrincipal) -> list[GrantRead]:
    """Grants you take part in (partners: your own), with their state now."""
    views = service.list_grants(session, principal)
    people = service.people_labels(session, {v.grant.accepted_by for v in views})
    return [grant_read(v, people) for v in views]


@router.get("/grants/{grant_id}", response_model=GrantRead, responses=responses(404))
def get_grant(grant_id: uuid.UUID, session: DbSession, principal: ApiPrincipal) -> GrantRead:
    """One grant: scope, terms, usage and its state now."""
    return _grant_out(session, principal, grant_id)


@router.get("/grants/{grant_id}/signed", responses=responses(404))
def signed_grant(grant_id: uuid.UUID, session: DbSession, principal: ApiPrincipal) -> dict[str, Any]:
    """The signed grant document: verify it offline against `/.well-known/frontiersec-keys.json`
    (`frontiersec partners verify FILE`)."""
    return service.signed_grant(session, principal, grant_id)


@router.post("/grants/{grant_id}/accept", response_model=GrantRead, responses=responses(404, 409, 412))
def accept_terms(
    grant_id: uuid.UUID, body: TermsAccept, session: DbSession, principal: ApiPrincipal
) -> GrantRead:
    """Accept the grant's terms for the partner (members and up), naming the SHA-256 of the text."""
    service.accept_terms(session, principal, grant_id, terms_sha256=body.terms_sha256)
    return _grant_out(session, principal, grant_id)


def _usage_read(u: Any, grant: Any) -> UsageRead:
    return UsageRead(
        id=u.id,
        units=u.units,
        period_start=u.period_start,
        period_end=u.period_end,
        source=u.source,
        created_at=u.created_at,
        used=grant.used_units,
        cap=grant.usage_cap,
        over_cap=grant.used_units > grant.usage_cap,
    )


@router.post(
    "/grants/{grant_id}/usage", response_model=UsageRead, status_code=201, responses=responses(404, 412)
)
def report_usage(
    grant_id: uuid.UUID, body: UsageCreate, session: DbSession, principal: ApiPrincipal
) -> UsageRead:
    """The partner reports usage for a period (members and up)."""
    u = service.report_usage(
        session,
        principal,
        grant_id,
        count=body.count,
        period_start=body.period_start,
        period_end=body.period_end,
    )
    return _usage_read(u, service.get_grant(session, principal, grant_id).grant)


@router.get("/grants/{grant_id}/usage", response_model=list[UsageRead], responses=responses(404))
def usage_ledger(grant_id: uuid.UUID, session: DbSession, principal: ApiPrincipal) -> list[UsageRead]:
    """The grant's usage ledger, newest first (`used` is the grant's total now)."""
    grant = service.get_grant(session, principal, grant_id).grant
    return [_usage_read(u, grant) for u in service.usage_of(session, principal, grant_id)]


@router.post("/grants/{grant_id}/check", response_model=CheckRead, responses=responses(404))
def check(
    grant_id: uuid.UUID, session: DbSession, principal: ApiPrincipal, body: CheckRequest | None = None
) -> CheckRead:
    """The developer's gateway asks before serving the partner: `allowed` or `denied` with the reason
    (revoked, awaiting_terms, not_yet_active, expired, over_cap). Allowed units are counted."""
    r = service.check_grant(session, principal, grant_id, units=(body or CheckRequest()).units)
    return CheckRead(
        grant_id=r.grant_id,
        allowed=r.allowed,
        decision="allowed" if r.allowed else "denied",
        code=r.code,
        reason=r.reason,
        status=r.status,
        used=r.used,
        cap=r.cap,
        remaining=r.remaining,
        unit=r.unit,
        checked_at=r.checked_at,
    )


@router.post("/grants/{grant_id}/revoke", response_model=GrantRead, responses=responses(404, 409))
def revoke(grant_id: uuid.UUID, body: RevokeCreate, session: DbSession, principal: ApiPrincipal) -> GrantRead:
    """Revoke a grant with a reason (developer or agency; analysts and up). The next check is denied."""
    service.revoke_grant(session, principal, grant_id, reason=body.reason)
    return _grant_out(session, principal, grant_id)


@router.post(
    "/grants/{grant_id}/findings",
    response_model=FindingsImportRead,
    status_code=201,
    responses=responses(404, 412, 413),
)
def import_findings(
    grant_id: uuid.UUID,
    request: Request,
    session: DbSession,
    principal: ApiPrincipal,
    file: UploadFile | None = File(
        default=None, description="SARIF, OSV, CycloneDX (VEX) or CSAF file of findings made with the model."
    ),
    format: str = Form(default="auto", description="auto, sarif, osv, cyclonedx, spdx or csaf."),
) -> FindingsImportRead:
    """Import findings the partner made with the model into the clearinghouse under an active grant
    (412 otherwise); each finding carries the model version as its provenance."""
    settings = get_runtime(request).settings
    if file is None or not file.filename:
        # Who may import, and the grant's state, are checked first; then the missing file is named.
        r = service.import_partner_findings(session, principal, grant_id, None)
    else:
        upload_dir = Path(settings.data_dir) / "uploads"
        upload_dir.mkdir(parents=True, exist_ok=True)
        name = Path(file.filename).name
        with tempfile.TemporaryDirectory(dir=upload_dir) as tmp:
            path = Path(tmp) / name
            with path.open("wb") as out:
                shutil.copyfileobj(file.file, out)
            r = service.import_partner_findings(
                session,
                principal,
                grant_id,
                path,
                fmt=format,
                filename=name,
                schemas_dir=settings.schemas_dir,
            )
    grant = session.get(PartnerGrant, grant_id)
    assert grant is not None
    return FindingsImportRead(
        batch_id=r.batch_id,
        model_id=f"{grant.model_name}@{grant.model_version}",
        format=r.format,
        received=r.received,
        new=r.new,
        duplicates=r.duplicates,
        rejected=r.rejected,
        clusters_created=r.clusters_created,
        clusters_joined=r.clusters_joined,
        warnings=r.warnings,
    )


@router.get("/sectors", response_model=list[SectorCountRead], responses=responses())
def sectors(session: DbSession, principal: ApiPrincipal) -> list[SectorCountRead]:
    """Approved trusted partners and active grants by sector (banks, utilities, hospitals, state and
    local government, ...), over the nominations you take part in."""
    return [SectorCountRead(**c.__dict__) for c in service.sector_counts(session, principal)]
