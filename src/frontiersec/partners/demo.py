"""Demo content for the partners area (called by ``frontiersec demo load`` after the organisations,
users and the review demo exist; idempotent).

Example AI Lab nominated Example Regional Bank as trusted partner for ``ailab-frontier 2.0``, whose
review window closed two days ago; the lab and CISA both approved after the vetting checklist was
done, the lab issued a signed grant, the bank accepted the terms, reported a day of usage, and the
lab's gateway has been checking calls against the cap. Example Water Utility is nominated for
``ailab-frontier 2.1`` (under review now): the lab approved, CISA has not decided yet.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from frontiersec.partners import service
from frontiersec.partners.models import PartnerNomination
from frontiersec.partners.rules import CHECKLIST
from frontiersec.platform.auth.models import User
from frontiersec.platform.auth.service import principal_for_email
from frontiersec.platform.clock import utcnow
from frontiersec.platform.secrets_box import SecretBox
from frontiersec.platform.signing import ensure_signing_key

DEVELOPER = "security@ailab.example"
AGENCY = "analyst@cisa.example"
BANK = "soc@bank.example"
WATER = "ot@water.example"
MODEL = "ailab-frontier"


def seed_demo(session: Session, settings: Any, box: SecretBox) -> dict[str, Any]:
    """Create this area's demo records once; return counts for the summary."""
    emails = {DEVELOPER, AGENCY, BANK, WATER}
    found = set(session.execute(select(User.email).where(User.email.in_(emails))).scalars())
    if found != emails:
        return {"skipped": "demo users are missing"}
    existing = session.execute(
        select(PartnerNomination.id).where(PartnerNomination.model_name == MODEL)
    ).all()
    if existing:
        return {"nominations": 0, "existing": len(existing)}
    ensure_signing_key(session, box)
    dev = principal_for_email(session, DEVELOPER, via="system")
    agency = principal_for_email(session, AGENCY, via="system")
    bank = principal_for_email(session, BANK, via="system")
    now = utcnow()
    day_ago = now - dt.timedelta(days=1)

    # 1. Example Regional Bank: approved by both sides, vetted, an active grant with usage.
    bank_nom = service.nominate(
        session,
        dev,
        service.NominationInput(
            partner="Example Regional Bank",
            model_name=MODEL,
            model_version="2.0",
            purpose="Find and fix vulnerabilities in the bank's online-banking and payment services, and "
            "triage its SBOM findings, before the model's general release.",
            agency="CISA (demo)",
        ),
    )
    for i, item in enumerate(CHECKLIST):
        who = dev if i % 2 == 0 else agency
        service.check_item(
            session, who, bank_nom.id, item.key, note="demo", now=day_ago - dt.timedelta(hours=6 - i)
        )
    service.approve(session, dev, bank_nom.id, note="Partner since the 2.0 review", now=day_ago)
    service.approve(session, agency, bank_nom.id, now=day_ago + dt.timedelta(minutes=30))
    grant = service.issue_grant(
        session,
        dev,
        bank_nom.id,
        service.GrantInput(
            starts_at=day_ago + dt.timedelta(hours=1),
            ends_at=day_ago + dt.timedelta(days=90),
            usage_cap=50_000,
            usage_unit="calls",
            access_level="black-box",
        ),
        box=box,
        now=day_ago + dt.timedelta(hours=1),
    )
    service.accept_terms(
        session, bank, grant.id, terms_sha256=grant.terms_sha256, now=day_ago + dt.timedelta(hours=2)
    )
    service.report_usage(
        session, bank, grant.id, count=1_840, period_start=grant.starts_at.date(), period_end=now.date()
    )
    for units in (120, 75, 310):
        service.check_grant(session, dev, grant.id, units=units)

    # 2. Example Water Utility: nominated for the version under review; the agency has not decided.
    water_nom = service.nominate(
        session,
        dev,
        service.NominationInput(
            partner="Example Water Utility",
            model_name=MODEL,
            model_version="2.1",
            purpose="Review the utility's SCADA-adjacent web services and OT network configurations for "
            "exploitable weaknesses.",
            agency="CISA (demo)",
        ),
    )
    for item in CHECKLIST[:3]:
        service.check_item(session, dev, water_nom.id, item.key, note="demo")
    service.approve(session, dev, water_nom.id, note="Sector risk management agency confirmed the role")
    return {"nominations": 2, "grants": 1}
