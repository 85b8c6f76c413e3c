"""Trusted-partner use cases: nominate, decide on both sides, vet, grant, accept the terms,
report and check usage, revoke, and bring the partner's findings to the clearinghouse.

Who takes part in a nomination (its *side*)::

    developer   the model's developer organisation (owner of the nomination and its grants)
    agency      the government agency that co-decides (the nominating agency, or the agency the
                developer named when it nominated)
    partner     the nominated organisation: sees its nomination and its grants; accepts terms,
                reports usage and imports findings
    observer    a platform operator: reads everything, decides nothing
    system      jobs, the demo loader and the CLI without ``--as``
    (none)      anyone else: 404, as for a record that does not exist

Approval needs the developer side and the agency side, each once; either may decline with a
reason. Grants are issued by the developer; revocation by either deciding side takes effect at
once (the next access check is denied). Nothing here blocks or approves a model's release.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from frontiersec.clearinghouse.findings import FindingsImportResult, import_findings
from frontiersec.partners import rules, sectors
from frontiersec.partners.models import (
    PartnerApproval,
    PartnerChecklistItem,
    PartnerGrant,
    PartnerNomination,
    PartnerUsage,
)
from frontiersec.partners.terms import TERMS_TEXT, TERMS_VERSION, terms_sha256
from frontiersec.platform.audit.service import record, record_read
from frontiersec.platform.auth.models import Organization, OrgKind, Role, Share, User
from frontiersec.platform.auth.principal import Principal
from frontiersec.platform.auth.visibility import visible_clause
from frontiersec.platform.clock import utcnow
from frontiersec.platform.errors import (
    Conflict,
    FieldError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
)
from frontiersec.platform.secrets_box import SecretBox
from frontiersec.platform.signing import sign_document, verify_document
from frontiersec.platform.webhooks import emit_event
from frontiersec.review.models import ReviewSubmission
from frontiersec.review.service import ACCESS_LEVELS, window_for_model

__all__ = [
    "GRANT_TYPE",
    "OBJECT_GRANT",
    "OBJECT_NOMINATION",
    "CheckResult",
    "GrantInput",
    "GrantView",
    "NominationDetail",
    "NominationInput",
    "NominationRow",
    "SectorCount",
    "accept_terms",
    "approve",
    "check_grant",
    "check_item",
    "decline",
    "get_grant",
    "get_nomination",
    "grant_count",
    "import_partner_findings",
    "issue_grant",
    "list_grants",
    "list_nominations",
    "nominate",
    "people_labels",
    "report_usage",
    "revoke_grant",
    "sector_counts",
    "signed_grant",
    "usage_of",
    "verify_grant",
]

OBJECT_NOMINATION = "partner_nomination"
OBJECT_GRANT = "partner_grant"
TLP = "AMBER"
GRANT_TYPE = "frontiersec.partners.access-grant"
DECIDING = ("developer", "agency")
SIDE_NAMES = {"developer": "the developer", "agency": "the agency", "partner": "the partner"}
IDENTITY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:+-]{0,199}$")
MAX_UNITS = 10**15


# --------------------------------------------------------------------------- inputs and views


@dataclass(frozen=True)
class NominationInput:
    """A nomination: which organisation, for which model version, why, and who co-decides.

    ``agency`` (slug, name or id) is required when the developer nominates; an agency nominating
    is the agency side itself. ``developer`` is needed only when an agency nominates a model that
    has no pre-release review submission to name its developer.
    """

    partner: str
    model_name: str
    model_version: str
    purpose: str
    agency: str | None = None
    developer: str | None = None


@dataclass(frozen=True)
class GrantInput:
    """The scope of an access grant (see the API schema ``GrantCreate`` for each field)."""

    ends_at: dt.datetime
    usage_cap: int
    starts_at: dt.datetime | None = None
    usage_unit: str = "calls"
    access_level: str = "black-box"
    purpose: str | None = None
    waive_review_window: bool = False
    waiver_reason: str | None = None


@dataclass(frozen=True)
class GrantView:
    """A grant with its state at the moment it was read."""

    grant: PartnerGrant
    status: str
    developer: str
    partner: str
    side: str

    @property
    def status_text(self) -> str:
        return rules.STATUS_TEXT[self.status]

    @property
    def remaining(self) -> int:
        return max(0, self.grant.usage_cap - self.grant.used_units)


@dataclass(frozen=True)
class NominationRow:
    """A nomination as lists show it."""

    nomination: PartnerNomination
    developer: str
    agency: str
    partner: str
    partner_sector: str
    side: str
    developer_decision: str | None
    agency_decision: str | None
    active_grants: int


@dataclass
class NominationDetail:
    """Everything the nomination page and the API detail show."""

    nomination: PartnerNomination
    developer: str
    agency: str
    partner: str
    partner_sector: str
    side: str
    approvals: list[PartnerApproval]
    checklist: list[PartnerChecklistItem]
    grants: list[GrantView]
    people: dict[uuid.UUID, str] = field(default_factory=dict)

    def decision_of(self, side: str) -> PartnerApproval | None:
        """The decision one side made, if any."""
        return next((a for a in self.approvals if a.side == side), None)

    def checklist_done(self) -> bool:
        """Whether every required vetting check is done."""
        return all(i.checked_at is not None for i in self.checklist if i.required)

    def can(self, principal: Principal, action: str) -> bool:
        """Whether the page should offer ``action`` (the service checks again)."""
        pending = self.nomination.status == "pending"
        deciding = self.side in DECIDING
        if action in ("approve", "decline"):
            return (
                pending
                and deciding
                and principal.has_role(Role.ANALYST)
                and self.decision_of(self.side) is None
            )
        if action == "checklist":
            return pending and deciding and principal.has_role(Role.MEMBER)
        if action == "grant":
            return (
                self.nomination.status == "approved"
                and self.side == "developer"
                and principal.has_role(Role.ANALYST)
            )
        if action == "revoke":
            return deciding and principal.has_role(Role.ANALYST)
        if action in ("accept", "usage", "findings"):
            return self.side == "partner" and principal.has_role(Role.MEMBER)
        return False


@dataclass(frozen=True)
class CheckResult:
    """The answer of an access check."""

    grant_id: uuid.UUID
    allowed: bool
    code: str
    reason: str
    status: str
    used: int
    cap: int
    unit: str
    checked_at: dt.datetime

    @property
    def remaining(self) -> int:
        return max(0, self.cap - self.used)


@dataclass(frozen=True)
class SectorCount:
    """Trusted partners and active grants of one sector group."""

    key: str
    label: str
    partners: int
    active_grants: int


# --------------------------------------------------------------------------- helpers


def _is_system(principal: Principal) -> bool:
    return principal.is_operator and principal.user_id is None


def _side(principal: Principal, nom: PartnerNomination) -> str | None:
    if _is_system(principal):
        return "system"
    org = principal.org_id
    if org is not None:
        if org == nom.owner_org_id:
            return "developer"
        if org == nom.agency_org_id:
            return "agency"
        if org == nom.partner_org_id:
            return "partner"
    if principal.is_operator:
        return "observer"
    return None


def _load(session: Session, principal: Principal, nom_id: uuid.UUID) -> tuple[PartnerNomination, str]:
    nom = session.get(PartnerNomination, nom_id)
    side = _side(principal, nom) if nom is not None else None
    if nom is None or side is None:
        raise NotFound(f"partner nomination {nom_id} not found")
    return nom, side


def _load_grant(
    session: Session, principal: Principal, grant_id: uuid.UUID
) -> tuple[PartnerGrant, PartnerNomination, str]:
    grant = session.get(PartnerGrant, grant_id)
    nom = session.get(PartnerNomination, grant.nomination_id) if grant is not None else None
    side = _side(principal, nom) if nom is not None else None
    if grant is None or nom is None or side is None:
        raise NotFound(f"access grant {grant_id} not found")
    return grant, nom, side


def _require(side: str, allowed: Sequence[str], action: str) -> None:
    if side == "system" or side in allowed:
        return
    if side == "observer":
        raise PermissionDenied(f"{action}: platform operators observe nominations; they do not take part")
    names = " or ".join(SIDE_NAMES[a] for a in allowed)
    raise PermissionDenied(f"{action} is for {names}; you are {SIDE_NAMES.get(side, side)}")


def _org_name(session: Session, org_id: uuid.UUID) -> str:
    org = session.get(Organization, org_id)
    return org.name if org else str(org_id)


def _org(session: Session, ref: str, field_name: str) -> Organization:
    ref = (ref or "").strip()
    if not ref:
        raise InvalidInput.on(field_name, "name an organisation (slug, name or id)")
    org = (
        session.execute(select(Organization).where((Organization.slug == ref) | (Organization.name == ref)))
        .scalars()
        .first()
    )
    if org is None:
        try:
            org = session.get(Organization, uuid.UUID(ref))
        except ValueError:
            org = None
    if org is None:
        raise InvalidInput.on(field_name, f"no organisation {ref!r}")
    return org


def _aware(value: dt.datetime, field_name: str) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise InvalidInput.on(field_name, "a date and time (ISO 8601) is required")
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _people(session: Session, ids: set[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {u.id: u.email for u in session.execute(select(User).where(User.id.in_(wanted))).scalars()}


def people_labels(session: Session, ids: set[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    """Emails of the given users (for showing who decided, checked, accepted)."""
    return _people(session, ids)


def _status(grant: PartnerGrant, now: dt.datetime) -> str:
    return rules.grant_status(
        now=now,
        starts_at=grant.starts_at,
        ends_at=grant.ends_at,
        accepted_at=grant.accepted_at,
        revoked_at=grant.revoked_at,
    )


def _audit(
    session: Session,
    principal: Principal,
    action: str,
    object_type: str,
    object_id: uuid.UUID,
    details: dict[str, Any],
) -> None:
    record(session, principal, action, object_type=object_type, object_id=object_id, tlp=TLP, details=details)


# --------------------------------------------------------------------------- nominations


def nominate(session: Session, principal: Principal, data: NominationInput) -> PartnerNomination:
    """Nominate an organisation as trusted partner for a model version (the developer, or an agency).

    Refused: someone neither of an AI developer nor of a government agency (403); an unknown
    organisation, a blank purpose, or a partner that is one of the deciding sides (422); an open or
    approved nomination of the same partner for the same model version (409).
    """
    principal.require_role(Role.MEMBER, "nominating a trusted partner")
    kind = principal.org_kind
    if _is_system(principal) or kind not in (OrgKind.AI_DEVELOPER.value, OrgKind.GOVERNMENT_AGENCY.value):
        raise PermissionDenied("trusted partners are nominated by the model's developer or by an agency")
    assert principal.org_id is not None
    errors: list[FieldError] = []
    name, version = data.model_name.strip(), data.model_version.strip()
    if not IDENTITY_RE.match(name):
        errors.append(FieldError("model_name", "letters, digits and . _ : + - only (at most 200)"))
    if not IDENTITY_RE.match(version) or len(version) > 100:
        errors.append(FieldError("model_version", "letters, digits and . _ : + - only (at most 100)"))
    purpose = data.purpose.strip()
    if not purpose:
        errors.append(FieldError("purpose", "say what the partner will use the model for"))
    if errors:
        raise InvalidInput(errors[0].field + ": " + errors[0].message, errors=errors)

    if kind == OrgKind.AI_DEVELOPER.value:
        developer_id = principal.org_id
        if not data.agency:
            raise InvalidInput.on("agency", "name the government agency that decides with you")
        agency = _org(session, data.agency, "agency")
        if agency.kind != OrgKind.GOVERNMENT_AGENCY.value:
            raise InvalidInput.on("agency", f"{agency.name} is not a government agency")
        agency_id = agency.id
        side = "developer"
    else:
        agency_id = principal.org_id
        side = "agency"
        if data.developer:
            dev = _org(session, data.developer, "developer")
            if dev.kind != OrgKind.AI_DEVELOPER.value:
                raise InvalidInput.on("developer", f"{dev.name} is not an AI developer")
            developer_id = dev.id
        else:
            found = session.execute(
                select(ReviewSubmission.owner_org_id)
                .where(ReviewSubmission.model_name == name, ReviewSubmission.model_version == version)
                .order_by(ReviewSubmission.window_opened_at.desc())
            ).first()
            if found is None:
                raise InvalidInput.on(
                    "developer",
                    f"no pre-release review submission names {name} {version}: name the developer organisation",
                )
            developer_id = found[0]
    partner = _org(session, data.partner, "partner")
    if partner.id in (developer_id, agency_id):
        raise InvalidInput.on("partner", "the partner cannot be the developer or the co-deciding agency")
    dup = session.execute(
        select(PartnerNomination.id).where(
            PartnerNomination.partner_org_id == partner.id,
            PartnerNomination.model_name == name,
            PartnerNomination.model_version == version,
            PartnerNomination.owner_org_id == developer_id,
            PartnerNomination.status.in_(("pending", "approved")),
        )
    ).first()
    if dup is not None:
        raise Conflict(
            f"{partner.name} is already nominated for {name} {version} (nomination {dup[0]})",
            nomination_id=str(dup[0]),
        )
    nom = PartnerNomination(
        id=uuid.uuid4(),
        owner_org_id=developer_id,
        tlp=TLP,
        created_by=principal.user_id,
        model_name=name,
        model_version=version,
        agency_org_id=agency_id,
        partner_org_id=partner.id,
        purpose=purpose,
        nominated_side=side,
        status="pending",
    )
    session.add(nom)
    session.flush()  # no ORM relationships across these tables: the parent row goes first
    for pos, item in enumerate(rules.CHECKLIST):
        session.add(
            PartnerChecklistItem(
                nomination_id=nom.id, key=item.key, label=item.label, required=item.required, position=pos
            )
        )
    # The nomination is the developer's record, shared with the two other parties by name.
    for org_id in {agency_id, partner.id} - {developer_id}:
        session.add(
            Share(
                object_type=OBJECT_NOMINATION, object_id=nom.id, org_id=org_id, created_by=principal.user_id
            )
        )
    session.flush()
    _audit(
        session,
        principal,
        "partners.nominate",
        OBJECT_NOMINATION,
        nom.id,
        {
            "model": f"{name}@{version}",
            "partner": partner.slug,
            "sector": partner.sector,
            "side": side,
            "developer_org_id": str(developer_id),
            "agency_org_id": str(agency_id),
            "shared_with": sorted(str(o) for o in {agency_id, partner.id} - {developer_id}),
        },
    )
    return nom


def _decisions(session: Session, nom_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[PartnerApproval]]:
    out: dict[uuid.UUID, list[PartnerApproval]] = {i: [] for i in nom_ids}
    if not nom_ids:
        return out
    for a in session.execute(
        select(PartnerApproval)
        .where(PartnerApproval.nomination_id.in_(list(nom_ids)))
        .order_by(PartnerApproval.decided_at)
    ).scalars():
        out[a.nomination_id].append(a)
    return out


def _orgs(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, Organization]:
    if not ids:
        return {}
    return {o.id: o for o in session.execute(select(Organization).where(Organization.id.in_(ids))).scalars()}


def _visible_nominations(principal: Principal) -> Any:
    return visible_clause(PartnerNomination, OBJECT_NOMINATION, principal)


def list_nominations(
    session: Session, principal: Principal, *, status: str | None = None, now: dt.datetime | None = None
) -> list[NominationRow]:
    """Nominations the principal takes part in (developer, agency or partner), newest first."""
    stmt = select(PartnerNomination).order_by(PartnerNomination.created_at.desc())
    if not _is_system(principal):
        stmt = stmt.where(_visible_nominations(principal))
    if status:
        if status not in ("pending", "approved", "declined"):
            raise InvalidInput.on("status", "pending, approved or declined")
        stmt = stmt.where(PartnerNomination.status == status)
    noms = [n for n in session.execute(stmt).scalars() if _side(principal, n) is not None]
    ids = [n.id for n in noms]
    decisions = _decisions(session, ids)
    orgs = _orgs(session, {o for n in noms for o in (n.owner_org_id, n.agency_org_id, n.partner_org_id)})
    now = now or utcnow()
    active: dict[uuid.UUID, int] = dict.fromkeys(ids, 0)
    if ids:
        for g in session.execute(select(PartnerGrant).where(PartnerGrant.nomination_id.in_(ids))).scalars():
            if _status(g, now) == "active":
                active[g.nomination_id] += 1
    rows = []
    for n in noms:
        dec = {a.side: a.decision for a in decisions[n.id]}
        partner = orgs.get(n.partner_org_id)
        rows.append(
            NominationRow(
                nomination=n,
                developer=orgs[n.owner_org_id].name if n.owner_org_id in orgs else str(n.owner_org_id),
                agency=orgs[n.agency_org_id].name if n.agency_org_id in orgs else str(n.agency_org_id),
                partner=partner.name if partner else str(n.partner_org_id),
                partner_sector=sectors.sector_of(
                    partner.sector if partner else None, partner.kind if partner else None
                ),
                side=_side(principal, n) or "",
                developer_decision=dec.get("developer"),
                agency_decision=dec.get("agency"),
                active_grants=active[n.id],
            )
        )
    if noms:
        record(
            session,
            principal,
            "read",
            object_type=OBJECT_NOMINATION,
            tlp=TLP,
            details={"list": [str(i) for i in ids]},
        )
    return rows


def _grant_views(
    session: Session,
    principal: Principal,
    noms: dict[uuid.UUID, PartnerNomination],
    grants: Sequence[PartnerGrant],
    now: dt.datetime,
) -> list[GrantView]:
    orgs = _orgs(session, {o for g in grants for o in (g.owner_org_id, g.partner_org_id)})
    return [
        GrantView(
            grant=g,
            status=_status(g, now),
            developer=orgs[g.owner_org_id].name if g.owner_org_id in orgs else str(g.owner_org_id),
            partner=orgs[g.partner_org_id].name if g.partner_org_id in orgs else str(g.partner_org_id),
            side=_side(principal, noms[g.nomination_id]) or "",
        )
        for g in grants
    ]


def get_nomination(
    session: Session, principal: Principal, nom_id: uuid.UUID, *, now: dt.datetime | None = None
) -> NominationDetail:
    """One nomination with both sides' decisions, the vetting checklist (not shown to the partner)
    and its grants (audited read)."""
    nom, side = _load(session, principal, nom_id)
    now = now or utcnow()
    approvals = _decisions(session, [nom.id])[nom.id]
    checklist = (
        []
        if side == "partner"
        else list(
            session.execute(
                select(PartnerChecklistItem)
                .where(PartnerChecklistItem.nomination_id == nom.id)
                .order_by(PartnerChecklistItem.position)
            ).scalars()
        )
    )
    grants = list(
        session.execute(
            select(PartnerGrant)
            .where(PartnerGrant.nomination_id == nom.id)
            .order_by(PartnerGrant.starts_at.desc())
        ).scalars()
    )
    orgs = _orgs(session, {nom.owner_org_id, nom.agency_org_id, nom.partner_org_id})
    partner = orgs.get(nom.partner_org_id)
    people = _people(
        session,
        {a.decided_by for a in approvals}
        | {i.checked_by for i in checklist}
        | {g.accepted_by for g in grants}
        | {g.revoked_by for g in grants}
        | {g.waived_by for g in grants}
        | {nom.created_by},
    )
    record_read(session, principal, object_type=OBJECT_NOMINATION, object_id=nom.id, tlp=nom.tlp)
    return NominationDetail(
        nomination=nom,
        developer=orgs[nom.owner_org_id].name,
        agency=orgs[nom.agency_org_id].name,
        partner=partner.name if partner else str(nom.partner_org_id),
        partner_sector=sectors.sector_of(
            partner.sector if partner else None, partner.kind if partner else None
        ),
        side=side,
        approvals=approvals,
        checklist=checklist,
        grants=_grant_views(session, principal, {nom.id: nom}, grants, now),
        people=people,
    )


def _missing_checks(session: Session, nom_id: uuid.UUID) -> list[str]:
    return list(
        session.execute(
            select(PartnerChecklistItem.label)
            .where(
                PartnerChecklistItem.nomination_id == nom_id,
                PartnerChecklistItem.required.is_(True),
                PartnerChecklistItem.checked_at.is_(None),
            )
            .order_by(PartnerChecklistItem.position)
        ).scalars()
    )


def _decide(
    session: Session,
    principal: Principal,
    nom_id: uuid.UUID,
    decision: str,
    reason: str | None,
    now: dt.datetime | None,
) -> PartnerNomination:
    verb = "approving" if decision == "approved" else "declining"
    nom, side = _load(session, principal, nom_id)
    if side == "system":
        raise PermissionDenied(f"{verb} a nomination is a person's decision: act --as a user of either side")
    _require(side, DECIDING, f"{verb} a nomination")
    principal.require_role(Role.ANALYST, f"{verb} a trusted partner")
    reason = (reason or "").strip() or None
    if decision == "declined" and not reason:
        raise InvalidInput.on("reason", "a decline needs a reason (the other side and the partner see it)")
    decisions = {a.side: a for a in _decisions(session, [nom.id])[nom.id]}
    mine = decisions.get(side)
    if mine is not None:
        who = (
            _people(session, {mine.decided_by}).get(mine.decided_by, "someone")
            if mine.decided_by
            else "someone"
        )
        raise Conflict(
            f"the {side} side already {mine.decision} this nomination on {mine.decided_at.isoformat()} "
            f"(by {who}); each side decides once",
            side=side,
        )
    if nom.status != "pending":
        raise Conflict(f"the nomination is already {nom.status}", status_now=nom.status)
    now = now or utcnow()
    other = "agency" if side == "developer" else "developer"
    if decision == "approved" and other in decisions:
        missing = _missing_checks(session, nom.id)
        if missing:
            raise PreconditionFailed(
                "the vetting checklist is not done; before the second approval, check: " + "; ".join(missing),
                missing=missing,
            )
    assert principal.org_id is not None
    session.add(
        PartnerApproval(
            nomination_id=nom.id,
            side=side,
            org_id=principal.org_id,
            decision=decision,
            reason=reason,
            decided_by=principal.user_id,
            decided_at=now,
        )
    )
    if decision == "declined":
        nom.status = "declined"
        nom.decided_at = now
    elif other in decisions:
        nom.status = "approved"
        nom.decided_at = now
    session.flush()
    _audit(
        session,
        principal,
        "partners.approve" if decision == "approved" else "partners.decline",
        OBJECT_NOMINATION,
        nom.id,
        {"side": side, "reason": reason, "status": nom.status},
    )
    return nom


def approve(
    session: Session,
    principal: Principal,
    nom_id: uuid.UUID,
    *,
    note: str | None = None,
    now: dt.datetime | None = None,
) -> PartnerNomination:
    """Approve a nomination for your side (developer or agency, analysts and up), once per side.

    The second side's approval completes the nomination and needs every required vetting check
    done (412 naming those missing). The same side approving again is a 409.
    """
    return _decide(session, principal, nom_id, "approved", note, now)


def decline(
    session: Session, principal: Principal, nom_id: uuid.UUID, *, reason: str, now: dt.datetime | None = None
) -> PartnerNomination:
    """Decline a nomination for your side, with a reason (422 without one); the nomination ends."""
    return _decide(session, principal, nom_id, "declined", reason, now)


def check_item(
    session: Session,
    principal: Principal,
    nom_id: uuid.UUID,
    key: str,
    *,
    done: bool = True,
    note: str = "",
    now: dt.datetime | None = None,
) -> PartnerChecklistItem:
    """Mark a vetting check done (or not done) with who and when (developer or agency side)."""
    nom, side = _load(session, principal, nom_id)
    _require(side, DECIDING, "vetting a partner")
    principal.require_role(Role.MEMBER, "vetting a partner")
    if nom.status != "pending":
        raise PreconditionFailed(f"the nomination is {nom.status}: its checklist is closed")
    item = session.execute(
        select(PartnerChecklistItem).where(
            PartnerChecklistItem.nomination_id == nom.id, PartnerChecklistItem.key == key
        )
    ).scalar_one_or_none()
    if item is None:
        keys = ", ".join(i.key for i in rules.CHECKLIST)
        raise InvalidInput.on("key", f"no check {key!r} (one of: {keys})")
    if done:
        item.checked_by = principal.user_id
        item.checked_at = now or utcnow()
    else:
        item.checked_by = None
        item.checked_at = None
    item.note = note.strip()[:2000]
    session.flush()
    _audit(
        session,
        principal,
        "partners.checklist",
        OBJECT_NOMINATION,
        nom.id,
        {"key": key, "done": done, "note": item.note, "side": side},
    )
    return item


# --------------------------------------------------------------------------- grants


def _grant_payload(
    session: Session, grant: PartnerGrant, nom: PartnerNomination, issued_by: str, now: dt.datetime
) -> dict[str, Any]:
    orgs = _orgs(session, {nom.owner_org_id, nom.agency_org_id, nom.partner_org_id})

    def org(i: uuid.UUID) -> dict[str, str]:
        return {"id": str(i), "name": orgs[i].name}

    return {
        "type": GRANT_TYPE,
        "version": 1,
        "grant_id": str(grant.id),
        "nomination_id": str(nom.id),
        "model": {"name": grant.model_name, "version": grant.model_version},
        "developer": org(nom.owner_org_id),
        "agency": org(nom.agency_org_id),
        "partner": org(nom.partner_org_id),
        "purpose": grant.purpose,
        "access_level": grant.access_level,
        "starts_at": grant.starts_at.isoformat(),
        "ends_at": grant.ends_at.isoformat(),
        "usage_cap": {"limit": grant.usage_cap, "unit": grant.usage_unit},
        "review_window": {
            "closes_at": grant.review_window_closes_at.isoformat() if grant.review_window_closes_at else None,
            "waived": grant.window_waived,
            "waiver_reason": grant.waiver_reason,
        },
        "terms": {"version": grant.terms_version, "sha256": grant.terms_sha256},
        "issued_at": now.isoformat(),
        "issued_by": issued_by,
    }


def issue_grant(
    session: Session,
    principal: Principal,
    nom_id: uuid.UUID,
    data: GrantInput,
    *,
    box: SecretBox,
    now: dt.datetime | None = None,
) -> PartnerGrant:
    """Issue a signed access grant to the approved partner (the developer, analysts and up).

    The grant may not start in the past, must end after it starts, and may not start before the
    model's review window closes unless the developer waives that explicitly with a reason
    (recorded in the grant and its signature). It activates once the partner accepts the terms.
    """
    nom, side = _load(session, principal, nom_id)
    _require(side, ("developer",), "issuing an access grant")
    principal.require_role(Role.ANALYST, "issuing an access grant")
    if nom.status != "approved":
        raise PreconditionFailed(
            f"the nomination is {nom.status}: a grant needs the approval of both the developer and the agency"
        )
    now = now or utcnow()
    errors: list[FieldError] = []
    if data.access_level not in ACCESS_LEVELS:
        errors.append(FieldError("access_level", "one of " + ", ".join(ACCESS_LEVELS)))
    if data.usage_unit not in rules.USAGE_UNITS:
        errors.append(FieldError("usage_unit", "one of " + ", ".join(rules.USAGE_UNITS)))
    if not isinstance(data.usage_cap, int) or data.usage_cap < 1 or data.usage_cap > MAX_UNITS:
        errors.append(FieldError("usage_cap", f"a whole number from 1 to {MAX_UNITS}"))
    purpose = (data.purpose if data.purpose is not None else nom.purpose).strip()
    if not purpose:
        errors.append(FieldError("purpose", "must not be empty"))
    waiver_reason = (data.waiver_reason or "").strip() or None
    if data.waive_review_window and not waiver_reason:
        errors.append(
            FieldError("waiver_reason", "waiving the review window needs a reason (it is recorded)")
        )
    window = window_for_model(
        session, owner_org_id=nom.owner_org_id, model_name=nom.model_name, model_version=nom.model_version
    )
    closes = window[1] if window else None
    ends_at = _aware(data.ends_at, "ends_at")
    if data.starts_at is not None:
        starts_at = _aware(data.starts_at, "starts_at")
    else:
        starts_at = max(now, closes) if closes is not None and not data.waive_review_window else now
    errors += rules.grant_window_problems(
        now=now,
        starts_at=starts_at,
        ends_at=ends_at,
        window_closes_at=closes,
        waive_window=data.waive_review_window,
    )
    if errors:
        raise InvalidInput(errors[0].field + ": " + errors[0].message, errors=errors)
    waived = bool(data.waive_review_window and closes is not None and starts_at < closes)
    grant = PartnerGrant(
        id=uuid.uuid4(),
        owner_org_id=nom.owner_org_id,
        tlp=TLP,
        created_by=principal.user_id,
        nomination_id=nom.id,
        partner_org_id=nom.partner_org_id,
        model_name=nom.model_name,
        model_version=nom.model_version,
        purpose=purpose,
        access_level=data.access_level,
        starts_at=starts_at,
        ends_at=ends_at,
        usage_cap=data.usage_cap,
        usage_unit=data.usage_unit,
        used_units=0,
        review_window_closes_at=closes,
        window_waived=waived,
        waiver_reason=waiver_reason if waived else None,
        waived_by=principal.user_id if waived else None,
        terms_version=TERMS_VERSION,
        terms_text=TERMS_TEXT,
        terms_sha256=terms_sha256(TERMS_TEXT),
        kid="",
        signed={},
    )
    signed = sign_document(session, box, _grant_payload(session, grant, nom, principal.email, now))
    grant.signed = signed
    grant.kid = signed["signature"]["kid"]
    session.add(grant)
    session.flush()
    _audit(
        session,
        principal,
        "partners.grant.issue",
        OBJECT_GRANT,
        grant.id,
        {
            "nomination_id": str(nom.id),
            "model": f"{grant.model_name}@{grant.model_version}",
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(),
            "usage_cap": grant.usage_cap,
            "usage_unit": grant.usage_unit,
            "access_level": grant.access_level,
            "review_window_closes_at": closes.isoformat() if closes else None,
            "window_waived": waived,
            "waiver_reason": grant.waiver_reason,
            "kid": grant.kid,
        },
    )
    emit_event(
        session,
        "partners.grant.issued",
        {
            "grant_id": str(grant.id),
            "model": f"{grant.model_name}@{grant.model_version}",
            "terms_sha256": grant.terms_sha256,
        },
        org_ids=[nom.partner_org_id],
    )
    return grant


def list_grants(session: Session, principal: Principal, *, now: dt.datetime | None = None) -> list[GrantView]:
    """Grants of the nominations the principal takes part in (partners: their own), newest first."""
    stmt = (
        select(PartnerGrant, PartnerNomination)
        .join(PartnerNomination, PartnerNomination.id == PartnerGrant.nomination_id)
        .order_by(PartnerGrant.starts_at.desc())
    )
    if not _is_system(principal):
        stmt = stmt.where(_visible_nominations(principal))
    pairs = [(g, n) for g, n in session.execute(stmt).all() if _side(principal, n) is not None]
    views = _grant_views(
        session, principal, {n.id: n for _, n in pairs}, [g for g, _ in pairs], now or utcnow()
    )
    if views:
        record(
            session,
            principal,
            "read",
            object_type=OBJECT_GRANT,
            tlp=TLP,
            details={"list": [str(v.grant.id) for v in views]},
        )
    return views


def get_grant(
    session: Session, principal: Principal, grant_id: uuid.UUID, *, now: dt.datetime | None = None
) -> GrantView:
    """One grant with its state now (audited read)."""
    grant, nom, _s = _load_grant(session, principal, grant_id)
    record_read(session, principal, object_type=OBJECT_GRANT, object_id=grant.id, tlp=grant.tlp)
    return _grant_views(session, principal, {nom.id: nom}, [grant], now or utcnow())[0]


def usage_of(session: Session, principal: Principal, grant_id: uuid.UUID) -> list[PartnerUsage]:
    """A grant's usage ledger, newest first."""
    grant, _nom, _s = _load_grant(session, principal, grant_id)
    return list(
        session.execute(
            select(PartnerUsage)
            .where(PartnerUsage.grant_id == grant.id)
            .order_by(PartnerUsage.created_at.desc())
        ).scalars()
    )


def signed_grant(session: Session, principal: Principal, grant_id: uuid.UUID) -> dict[str, Any]:
    """The signed grant document (verify it offline with the published keys)."""
    grant, _nom, _s = _load_grant(session, principal, grant_id)
    record_read(
        session,
        principal,
        object_type=OBJECT_GRANT,
        object_id=grant.id,
        tlp=grant.tlp,
        details={"signed": True},
    )
    return dict(grant.signed)


def verify_grant(document: Any, keyset: dict[str, Any]) -> dict[str, Any]:
    """Verify a signed access grant offline: the Ed25519 signature against ``keyset`` and the
    document type. Returns the payload; raises :class:`InvalidInput` naming what is wrong."""
    if not isinstance(document, dict):
        raise InvalidInput.on("document", "not a JSON object")
    payload = verify_document(document, keyset)
    if payload.get("type") != GRANT_TYPE:
        raise InvalidInput.on("payload.type", f"not an access grant (type {payload.get('type')!r})")
    return payload


def accept_terms(
    session: Session,
    principal: Principal,
    grant_id: uuid.UUID,
    *,
    terms_sha256: str,
    now: dt.datetime | None = None,
) -> PartnerGrant:
    """Accept a grant's terms for the partner (members and up), naming the SHA-256 of the text
    read; a different hash is refused (422), so the acceptance says which words were agreed to."""
    grant, nom, side = _load_grant(session, principal, grant_id)
    _require(side, ("partner",), "accepting the terms")
    principal.require_role(Role.MEMBER, "accepting the terms")
    now = now or utcnow()
    if grant.accepted_at is not None:
        who = _people(session, {grant.accepted_by}).get(grant.accepted_by) if grant.accepted_by else None
        raise Conflict(
            f"the terms were already accepted on {grant.accepted_at.isoformat()} by {who or 'someone'}"
        )
    status = _status(grant, now)
    if status == "revoked" or now >= grant.ends_at:
        raise PreconditionFailed(
            f"the grant is {'revoked' if status == 'revoked' else 'expired'}: nothing to accept"
        )
    if (terms_sha256 or "").strip().lower() != grant.terms_sha256:
        raise InvalidInput.on(
            "terms_sha256",
            f"does not match the grant's terms (version {grant.terms_version}, sha256 {grant.terms_sha256})",
        )
    grant.accepted_by = principal.user_id
    grant.accepted_at = now
    session.flush()
    _audit(
        session,
        principal,
        "partners.grant.accept_terms",
        OBJECT_GRANT,
        grant.id,
        {
            "terms_version": grant.terms_version,
            "terms_sha256": grant.terms_sha256,
            "nomination_id": str(nom.id),
        },
    )
    return grant


def report_usage(
    session: Session,
    principal: Principal,
    grant_id: uuid.UUID,
    *,
    count: int,
    period_start: dt.date,
    period_end: dt.date,
    now: dt.datetime | None = None,
) -> PartnerUsage:
    """The partner reports usage (``count`` units of the grant's unit) for a period of days.

    Refused (422, the field named): a count under 1, an end before the start, a period outside the
    grant or in the future; (412) before the terms were accepted. Usage over the cap is recorded
    (it happened) and the next access check is denied.
    """
    grant, _nom, side = _load_grant(session, principal, grant_id)
    _require(side, ("partner",), "reporting usage")
    principal.require_role(Role.MEMBER, "reporting usage")
    now = now or utcnow()
    if grant.accepted_at is None:
        raise PreconditionFailed("the terms have not been accepted: the grant was never active")
    if not isinstance(count, int) or count < 1 or count > MAX_UNITS:
        raise InvalidInput.on("count", f"a whole number from 1 to {MAX_UNITS}")
    start = dt.datetime.combine(period_start, dt.time(), tzinfo=dt.UTC)
    end = dt.datetime.combine(period_end, dt.time(), tzinfo=dt.UTC) + dt.timedelta(days=1)
    if period_end < period_start:
        raise InvalidInput.on("period_end", f"before the start of the period ({period_start.isoformat()})")
    if period_start > now.date():
        raise InvalidInput.on("period_start", "usage cannot be reported for the future")
    last = min(grant.ends_at, grant.revoked_at) if grant.revoked_at else grant.ends_at
    if end <= grant.starts_at or start >= last:
        raise InvalidInput.on(
            "period_start",
            f"the period {period_start.isoformat()}..{period_end.isoformat()} is outside the grant "
            f"({grant.starts_at.date().isoformat()}..{last.date().isoformat()})",
        )
    usage = PartnerUsage(
        grant_id=grant.id,
        units=count,
        period_start=start,
        period_end=end,
        source="partner",
        reported_by=principal.user_id,
        created_at=now,
    )
    session.add(usage)
    session.execute(
        update(PartnerGrant)
        .where(PartnerGrant.id == grant.id)
        .values(used_units=PartnerGrant.used_units + count)
    )
    session.flush()
    session.refresh(grant)
    _audit(
        session,
        principal,
        "partners.grant.usage",
        OBJECT_GRANT,
        grant.id,
        {
            "count": count,
            "unit": grant.usage_unit,
            "period": f"{period_start.isoformat()}/{period_end.isoformat()}",
            "used": grant.used_units,
            "cap": grant.usage_cap,
            "over_cap": grant.used_units > grant.usage_cap,
        },
    )
    return usage


def check_grant(
    session: Session,
    principal: Principal,
    grant_id: uuid.UUID,
    *,
    units: int = 1,
    now: dt.datetime | None = None,
) -> CheckResult:
    """The developer's gateway asks whether it may serve ``units`` more under a grant.

    Allowed only for an active grant (terms accepted, started, not expired, not revoked) whose
    usage plus ``units`` stays within the cap; the units of an allowed check are counted in the
    usage ledger (``units=0`` only asks). Every answer is audited; a revocation is seen by the very
    next check.
    """
    grant, _nom, side = _load_grant(session, principal, grant_id)
    _require(side, ("developer",), "checking access under a grant")
    principal.require_role(Role.MEMBER, "checking access under a grant")
    if not isinstance(units, int) or units < 0 or units > MAX_UNITS:
        raise InvalidInput.on("units", f"a whole number from 0 to {MAX_UNITS}")
    now = now or utcnow()
    session.refresh(grant)  # the latest revocation and usage, whatever this session saw before
    status = _status(grant, now)
    decision = rules.check_access(
        status=status,
        used=grant.used_units,
        cap=grant.usage_cap,
        units=units,
        unit=grant.usage_unit,
        starts_at=grant.starts_at,
        ends_at=grant.ends_at,
        revoked_at=grant.revoked_at,
    )
    if decision.allowed and units > 0:
        # Counted atomically: two gateways checking at once cannot both pass the cap.
        res = session.execute(
            update(PartnerGrant)
            .where(PartnerGrant.id == grant.id, PartnerGrant.used_units + units <= PartnerGrant.usage_cap)
            .values(used_units=PartnerGrant.used_units + units)
        )
        if res.rowcount == 0:  # type: ignore[attr-defined]
            session.refresh(grant)
            decision = rules.check_access(
                status=status,
                used=grant.used_units,
                cap=grant.usage_cap,
                units=units,
                unit=grant.usage_unit,
                starts_at=grant.starts_at,
                ends_at=grant.ends_at,
            )
        else:
            session.add(
                PartnerUsage(
                    grant_id=grant.id,
                    units=units,
                    period_start=now,
                    period_end=now,
                    source="gateway",
                    reported_by=principal.user_id,
                    created_at=now,
                )
            )
            session.flush()
            session.refresh(grant)
    _audit(
        session,
        principal,
        "partners.grant.check",
        OBJECT_GRANT,
        grant.id,
        {"allowed": decision.allowed, "code": decision.code, "units": units, "used": grant.used_units},
    )
    return CheckResult(
        grant_id=grant.id,
        allowed=decision.allowed,
        code=decision.code,
        reason=decision.reason,
        status=status,
        used=grant.used_units,
        cap=grant.usage_cap,
        unit=grant.usage_unit,
        checked_at=now,
    )


def revoke_grant(
    session: Session,
    principal: Principal,
    grant_id: uuid.UUID,
    *,
    reason: str,
    now: dt.datetime | None = None,
) -> PartnerGrant:
    """Revoke a grant (the developer or the agency, analysts and up) with a reason; it takes effect
    at once: the next access check is denied. Revoking twice is a 409."""
    grant, nom, side = _load_grant(session, principal, grant_id)
    _require(side, DECIDING, "revoking a grant")
    principal.require_role(Role.ANALYST, "revoking a grant")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput.on("reason", "a revocation needs a reason (the partner sees it)")
    if grant.revoked_at is not None:
        raise Conflict(f"the grant was already revoked on {grant.revoked_at.isoformat()}")
    now = now or utcnow()
    grant.revoked_at = now
    grant.revoked_by = principal.user_id
    grant.revoked_side = side
    grant.revoke_reason = reason
    session.flush()
    _audit(
        session,
        principal,
        "partners.grant.revoke",
        OBJECT_GRANT,
        grant.id,
        {"reason": reason, "side": side, "nomination_id": str(nom.id)},
    )
    emit_event(
        session,
        "partners.grant.revoked",
        {"grant_id": str(grant.id), "reason": reason, "revoked_at": now.isoformat()},
        org_ids=[nom.partner_org_id],
    )
    return grant


def import_partner_findings(
    session: Session,
    principal: Principal,
    grant_id: uuid.UUID,
    path: Path | None,
    *,
    fmt: str = "auto",
    filename: str | None = None,
    schemas_dir: Path | None = None,
    now: dt.datetime | None = None,
) -> FindingsImportResult:
    """Import findings the partner made with the model into the clearinghouse, with the model
    version (``name@version``) as their provenance. Only under an active grant (412 otherwise)."""
    grant, _nom, side = _load_grant(session, principal, grant_id)
    _require(side, ("partner",), "importing findings under a grant")
    principal.require_role(Role.MEMBER, "importing findings under a grant")
    status = _status(grant, now or utcnow())
    if status != "active":
        raise PreconditionFailed(
            f"the grant is {rules.STATUS_TEXT[status]}: findings are imported under an active grant"
        )
    if path is None:
        raise InvalidInput.on("file", "a file of findings is required")
    org = session.get(Organization, grant.partner_org_id)
    assert org is not None
    model_id = f"{grant.model_name}@{grant.model_version}"
    result = import_findings(
        session, principal, path, org=org, fmt=fmt, model_id=model_id, schemas_dir=schemas_dir
    )
    _audit(
        session,
        principal,
        "partners.grant.findings",
        OBJECT_GRANT,
        grant.id,
        {
            "batch_id": str(result.batch_id),
            "file": filename or path.name,
            "model_id": model_id,
            "received": result.received,
            "new": result.new,
        },
    )
    return result


# --------------------------------------------------------------------------- dashboard


MAIN_SECTORS = ("banks", "utilities", "hospitals", "state_local")


def sector_counts(
    session: Session, principal: Principal, *, now: dt.datetime | None = None
) -> list[SectorCount]:
    """Approved trusted partners and active grants by sector, over the nominations the principal
    takes part in (operators: all). The four sectors of the order are always listed."""
    stmt = select(PartnerNomination).where(PartnerNomination.status == "approved")
    if not _is_system(principal):
        stmt = stmt.where(_visible_nominations(principal))
    noms = [n for n in session.execute(stmt).scalars() if _side(principal, n) is not None]
    orgs = _orgs(session, {n.partner_org_id for n in noms})
    now = now or utcnow()
    partners: dict[str, set[uuid.UUID]] = {}
    grants: dict[str, int] = {}
    group_of: dict[uuid.UUID, str] = {}
    for n in noms:
        o = orgs.get(n.partner_org_id)
        key = sectors.sector_of(o.sector if o else None, o.kind if o else None)
        group_of[n.id] = key
        partners.setdefault(key, set()).add(n.partner_org_id)
    if noms:
        for g in session.execute(
            select(PartnerGrant).where(PartnerGrant.nomination_id.in_([n.id for n in noms]))
        ).scalars():
            if _status(g, now) == "active":
                key = group_of[g.nomination_id]
                grants[key] = grants.get(key, 0) + 1
    out = []
    for key, label, _kw in sectors.SECTORS:
        p, a = len(partners.get(key, ())), grants.get(key, 0)
        if key in MAIN_SECTORS or p or a:
            out.append(SectorCount(key, label, p, a))
    return out


def grant_count(session: Session) -> int:
    """How many grants exist (for tests and status pages)."""
    return int(session.execute(select(func.count()).select_from(PartnerGrant)).scalar_one())
