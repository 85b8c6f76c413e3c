"""A grant's life in time, through the service with an explicit clock: not yet active, active,
expired; revocation takes effect at once for a check made in another session."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from frontiersec.partners import service
from frontiersec.platform.clock import utcnow
from frontiersec.platform.errors import PreconditionFailed
from frontiersec.platform.runtime import Runtime
from tests.integration.partners.conftest import World, active_grant, approved


def test_expired_and_not_yet_active_grants_are_denied(session: Session, rt: Runtime, world: World) -> None:
    w = world
    nid = approved(session, w)
    dev, bank = w.p(session, w.dev), w.p(session, w.partner)
    now = utcnow()
    start, end = now + dt.timedelta(days=2), now + dt.timedelta(days=9)
    g = service.issue_grant(
        session, dev, nid, service.GrantInput(starts_at=start, ends_at=end, usage_cap=10), box=rt.box, now=now
    )
    service.accept_terms(session, bank, g.id, terms_sha256=g.terms_sha256, now=now)
    session.commit()

    early = service.check_grant(session, dev, g.id, now=start - dt.timedelta(seconds=1))
    assert (early.allowed, early.code) == (False, "not_yet_active")
    ok = service.check_grant(session, dev, g.id, now=start + dt.timedelta(days=1))
    assert (ok.allowed, ok.code, ok.used) == (True, "active", 1)
    late = service.check_grant(session, dev, g.id, now=end)
    assert (late.allowed, late.code) == (False, "expired")
    assert end.isoformat() in late.reason
    assert late.used == 1  # denied checks are not counted
    # Findings need an active grant.
    sarif = rt.settings.demo_data / "scanner-reports" / "sarif" / "njsscan.sarif"
    with pytest.raises(PreconditionFailed, match="expired"):
        service.import_partner_findings(session, bank, g.id, sarif, now=end)


def test_revocation_is_seen_by_a_check_in_another_session(
    session: Session, rt: Runtime, world: World
) -> None:
    w = world
    g = active_grant(session, rt, w)
    gateway = rt.sessions()  # the gateway's own connection, opened before the revocation
    try:
        dev_gw = w.p(gateway, w.dev)
        assert service.check_grant(gateway, dev_gw, g.id).allowed
        gateway.commit()
        service.revoke_grant(session, w.p(session, w.dev), g.id, reason="partner offboarded")
        session.commit()
        nxt = service.check_grant(gateway, dev_gw, g.id)
        assert (nxt.allowed, nxt.code) == (False, "revoked")
        assert "revoked" in nxt.reason
        gateway.commit()
    finally:
        gateway.close()
