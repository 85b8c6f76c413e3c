"""Sharing a record with a named organisation: before it, the other organisation gets 404."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from frontiersec.platform.audit.models import AuditEntry
from frontiersec.platform.auth.models import Share
from tests.factories import bearer, make_org, make_user


def test_share_job_with_named_org(client: TestClient, session: Session) -> None:
    org_a, org_b, org_c = make_org(session), make_org(session), make_org(session)
    analyst_a = make_user(session, org_a, role="analyst")
    member_b = make_user(session, org_b, role="member")
    h_a, h_b = bearer(session, analyst_a), bearer(session, member_b)
    session.commit()
    job = client.post("/api/v1/kev/imports", headers=h_a).json()
    assert client.get(f"/api/v1/jobs/{job['id']}", headers=h_b).status_code == 404

    r = client.post(
        "/api/v1/shares",
        headers=h_a,
        json={"object_type": "job", "object_id": job["id"], "org_id": str(org_b.id)},
    )
    assert r.status_code == 201, r.text
    assert client.get(f"/api/v1/jobs/{job['id']}", headers=h_b).status_code == 200
    entry = session.execute(select(AuditEntry).where(AuditEntry.action == "share.create")).scalars().one()
    assert entry.object_id == job["id"]
    assert entry.details["org_id"] == str(org_b.id)

    # A recipient may not pass AMBER material on to a new organisation.
    r = client.post(
        "/api/v1/shares",
        headers=h_b,
        json={"object_type": "job", "object_id": job["id"], "org_id": str(org_c.id)},
    )
    assert r.status_code == 403
    assert session.execute(select(func.count()).select_from(Share)).scalar_one() == 1


def test_share_refuses_bad_input_and_changes_nothing(client: TestClient, session: Session) -> None:
    org_a, org_b = make_org(session), make_org(session)
    analyst_a = make_user(session, org_a, role="analyst")
    h_a = bearer(session, analyst_a)
    session.commit()
    job = client.post("/api/v1/kev/imports", headers=h_a).json()
    r = client.post(
        "/api/v1/shares",
        headers=h_a,
        json={"object_type": "spaceship", "object_id": job["id"], "org_id": str(org_b.id)},
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "object_type"
    r = client.post(
        "/api/v1/shares",
        headers=h_a,
        json={
            "object_type": "job",
            "object_id": "00000000-0000-4000-8000-000000000000",
            "org_id": str(org_b.id),
        },
    )
    assert r.status_code == 404
    r = client.post("/api/v1/shares", headers=h_a, json={"object_type": "job", "object_id": job["id"]})
    assert r.status_code == 422
    assert session.execute(select(func.count()).select_from(Share)).scalar_one() == 0


def test_reading_amber_material_is_audited(client: TestClient, session: Session) -> None:
    analyst = make_user(session, make_org(session), role="analyst")
    h = bearer(session, analyst)
    session.commit()
    job = client.post("/api/v1/kev/imports", headers=h).json()
    assert job["id"]
    before = session.execute(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "read")
    ).scalar_one()
    assert client.get(f"/api/v1/jobs/{job['id']}", headers=h).status_code == 200
    reads = session.execute(select(AuditEntry).where(AuditEntry.action == "read")).scalars().all()
    assert len(reads) == before + 1
    assert reads[-1].object_id == job["id"]
    assert reads[-1].tlp == "AMBER"
    assert reads[-1].actor_email == analyst.email
