"""``visible_clause`` selects exactly the rows ``can_see`` allows (exhaustive small grid on
the ``jobs`` table, real database)."""

from __future__ import annotations

import itertools
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from frontiersec.platform.auth.models import Role, Share
from frontiersec.platform.auth.principal import Principal
from frontiersec.platform.auth.visibility import TLP, can_see, visible_clause
from frontiersec.platform.models import JobRecord
from tests.factories import make_org, make_user, principal_of


def test_visible_clause_equals_can_see(session: Session) -> None:
    owner, shared, other = make_org(session), make_org(session), make_org(session)
    creator = make_user(session, owner)
    owner_member = make_user(session, owner)
    shared_member = make_user(session, shared)
    named = make_user(session, other)
    outsider = make_user(session, other)
    operator = make_user(session, other, operator=True)
    session.flush()

    rows: list[tuple[JobRecord, frozenset[uuid.UUID], frozenset[uuid.UUID]]] = []
    share_kinds = ["none", "org", "user", "both"]
    for label, owner_org, made_by, shares in itertools.product(
        [t.value for t in TLP], [owner, other], [creator, None], share_kinds
    ):
        rec = JobRecord(
            name="test.grid",
            params={},
            owner_org_id=owner_org.id,
            tlp=label,
            created_by=made_by.id if made_by else None,
        )
        session.add(rec)
        session.flush()
        org_ids: set[uuid.UUID] = set()
        user_ids: set[uuid.UUID] = set()
        if shares in ("org", "both"):
            session.add(Share(object_type="job", object_id=rec.id, org_id=shared.id))
            org_ids.add(shared.id)
        if shares in ("user", "both"):
            session.add(Share(object_type="job", object_id=rec.id, user_id=named.id))
            user_ids.add(named.id)
        # A share of another object type must not count.
        session.add(Share(object_type="webhook", object_id=rec.id, org_id=other.id))
        rows.append((rec, frozenset(org_ids), frozenset(user_ids)))
    session.commit()

    principals: list[Principal] = [
        principal_of(session, u) for u in (creator, owner_member, shared_member, named, outsider, operator)
    ]
    principals.append(Principal(user_id=None, email="anon", org_id=None, org_kind=None, role=Role.VIEWER))
    for p in principals:
        got = set(session.execute(select(JobRecord.id).where(visible_clause(JobRecord, "job", p))).scalars())
        want = {
            rec.id
            for rec, org_ids, user_ids in rows
            if can_see(
                p,
                tlp=rec.tlp,
                owner_org_id=rec.owner_org_id,
                created_by=rec.created_by,
                shared_org_ids=org_ids,
                shared_user_ids=user_ids,
            )
        }
        assert got == want, f"{p.email}: SQL and can_see disagree on {len(got ^ want)} rows"
    # Sanity: the grid is not trivial (some rows hidden from the outsider, all visible to the operator).
    outsider_p = principals[4]
    hidden = [
        r
        for r, o, u in rows
        if not can_see(
            outsider_p,
            tlp=r.tlp,
            owner_org_id=r.owner_org_id,
            created_by=r.created_by,
            shared_org_ids=o,
            shared_user_ids=u,
        )
    ]
    assert hidden
