"""Fixtures of the partners integration tests: a developer with a model under review, the
co-deciding agency, a bank (the partner), an unrelated agency and an unrelated organisation."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from frontiersec.partners import service
from frontiersec.partners.models import PartnerGrant
from frontiersec.partners.rules import CHECKLIST
from frontiersec.platform.auth.models import Organization, User
from frontiersec.platform.auth.principal import Principal
from frontiersec.platform.clock import utcnow
from frontiersec.platform.runtime import Runtime
from frontiersec.platform.signing import ensure_signing_key
from frontiersec.review import service as review
from frontiersec.review.models import ReviewSubmission
from tests.factories import make_org, make_user, principal_of

MODEL = "lab-frontier"


@dataclass
class World:
    lab: Organization
    agency: Organization
    bank: Organization
    dev: User  # admin of the AI developer
    dev_viewer: User
    officer: User  # analyst of the co-deciding agency
    agency_member: User  # member of the co-deciding agency (may vet, may not decide)
    partner: User  # member of the bank
    other_agency: User  # analyst of an agency with no part in the nomination
    outsider: User  # admin of an unrelated organisation
    operator: User

    def p(self, session: Session, user: User) -> Principal:
        return principal_of(session, user)


@pytest.fixture
def world(session: Session, rt: Runtime) -> World:
    """Everyone a nomination involves, committed, and the deployment's signing key."""
    lab = make_org(session, kind="ai_developer", name="Test AI Lab")
    agency = make_org(session, kind="government_agency", name="Test Agency")
    bank = make_org(session, kind="critical_infrastructure_operator", name="Test Bank")
    bank.sector = "banking"
    other = make_org(session, kind="government_agency")
    unrelated = make_org(session, kind="security_vendor")
    ops = make_org(session, kind="government_agency")
    w = World(
        lab=lab,
        agency=agency,
        bank=bank,
        dev=make_user(session, lab, role="admin"),
        dev_viewer=make_user(session, lab, role="viewer"),
        officer=make_user(session, agency, role="analyst"),
        agency_member=make_user(session, agency, role="member"),
        partner=make_user(session, bank, role="member"),
        other_agency=make_user(session, other, role="analyst"),
        outsider=make_user(session, unrelated, role="admin"),
        operator=make_user(session, ops, role="admin", operator=True),
    )
    ensure_signing_key(session, rt.box)
    session.commit()
    return w


def submit_model(
    session: Session,
    rt: Runtime,
    w: World,
    *,
    version: str = "2.0",
    days: int = 10,
    now: dt.datetime | None = None,
) -> ReviewSubmission:
    """A pre-release review submission of ``MODEL`` ``version`` whose window closes in ``days``."""
    base = now or utcnow()
    sub = review.submit_model(
        session,
        w.p(session, w.dev),
        review.SubmissionInput(
            model_name=MODEL,
            model_version=version,
            release_date=base.date() + dt.timedelta(days=days),
            reviewers=[w.officer.email],
            schedule_evaluation=False,
        ),
        box=rt.box,
        settings=rt.settings,
        now=now,
    )
    session.commit()
    return sub


def nominate(session: Session, w: World, *, version: str = "2.0") -> uuid.UUID:
    """A committed nomination of the bank by the developer, the agency co-deciding."""
    nom = service.nominate(
        session,
        w.p(session, w.dev),
        service.NominationInput(
            partner=w.bank.slug,
            model_name=MODEL,
            model_version=version,
            purpose="Find and fix vulnerabilities in online banking",
            agency=w.agency.slug,
        ),
    )
    session.commit()
    return nom.id


def approved(session: Session, w: World, *, version: str = "2.0") -> uuid.UUID:
    """A nomination both sides approved after the checklist was done."""
    nid = nominate(session, w, version=version)
    for item in CHECKLIST:
        service.check_item(session, w.p(session, w.agency_member), nid, item.key)
    service.approve(session, w.p(session, w.dev), nid)
    service.approve(session, w.p(session, w.officer), nid)
    session.commit()
    return nid


def active_grant(
    session: Session, rt: Runtime, w: World, *, cap: int = 100, version: str = "2.0"
) -> PartnerGrant:
    """An approved nomination (no review window) with an accepted, running grant."""
    nid = approved(session, w, version=version)
    g = service.issue_grant(
        session,
        w.p(session, w.dev),
        nid,
        service.GrantInput(ends_at=utcnow() + dt.timedelta(days=30), usage_cap=cap),
        box=rt.box,
    )
    service.accept_terms(session, w.p(session, w.partner), g.id, terms_sha256=g.terms_sha256)
    session.commit()
    return g
