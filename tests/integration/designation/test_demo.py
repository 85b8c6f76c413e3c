"""The demo's designation records: an official, policy 2026.1, a determination of the demo
submission's model version on the evidence that exists (no invented numbers), its notice, and a
decided reconsideration; loading twice adds nothing."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from frontiersec.demo import load_demo
from frontiersec.designation import service
from frontiersec.designation.models import Determination, Notice, Reconsideration
from frontiersec.platform.runtime import Runtime
from frontiersec.platform.signing import ensure_signing_key, jwks
from frontiersec.settings import Settings


def test_demo_designation(session: Session, rt: Runtime, settings: Settings) -> None:
    ensure_signing_key(session, rt.box)
    load_demo(session, settings, rt.box)
    session.commit()
    (det,) = session.execute(select(Determination)).scalars().all()
    runs = det.evidence["runs"]
    if not runs:  # no evaluation of this version in the demo: capability is unknown, not invented
        caps = [c for c in det.criteria if c["kind"] == "capability"]
        assert {(c["status"], c["reason"], c["measured"]) for c in caps} == {
            ("unknown", "NOT_EVALUATED", None)
        }
    assert det.evidence["declared"]["source"] == "review_submission"
    assert det.submission_id is not None
    assert session.execute(select(func.count()).select_from(Notice)).scalar_one() == 1
    (rec,) = session.execute(select(Reconsideration)).scalars().all()
    assert rec.status == "upheld"
    published = {p.version: p.commitment for p in service.published_policies(session)}
    assert service.verify_signed_determination(det.document, jwks(session), published).ok

    again = load_demo(session, settings, rt.box)
    session.commit()
    assert "determinations" not in again["designation"]
    assert session.execute(select(func.count()).select_from(Determination)).scalar_one() == 1
    assert session.execute(select(func.count()).select_from(Reconsideration)).scalar_one() == 1
