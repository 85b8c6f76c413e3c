"""Pre-release review through the API: submission and its window limit, need-to-know (404 and a
flagged audit entry for anyone else), audited reads, the report and the developer's responses,
and the two-person export rule."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid

from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from frontiersec.platform.audit.models import AuditEntry
from frontiersec.platform.runtime import Runtime
from frontiersec.review.models import ReviewSubmission
from tests.factories import bearer
from tests.integration.review.conftest import CREDENTIAL, SYSTEM_CARD, People, release_in, submit


def _body(**kw: object) -> dict[str, object]:
    body: dict[str, object] = {
        "model_name": "lab-frontier",
        "model_version": "2.0",
        "release_date": release_in(20).isoformat(),
        "access_level": "grey-box",
        "endpoint_url": "https://api.ailab.example/v1",
        "credential": CREDENTIAL,
        "training_compute_flop": 3e25,
        "parameter_count": 400_000_000_000,
        "schedule_evaluation": False,
    }
    body.update(kw)
    return body


def _submissions(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(ReviewSubmission)).scalar_one())


def test_submission_opens_a_window_with_countdown_and_never_returns_the_credential(
    client: TestClient, session: Session, rt: Runtime, people: People
) -> None:
    dev = bearer(session, people.dev)
    session.commit()
    r = client.post("/api/v1/review/submissions", json=_body(reviewers=[people.evaluator.email]), headers=dev)
    assert r.status_code == 201, r.text
    assert CREDENTIAL not in r.text
    got = r.json()
    assert got["status"] == "open"
    assert got["credential_stored"] is True
    assert got["access_level"] == "grey-box"
    assert got["release_date"] == release_in(20).isoformat()
    assert got["window_closes_at"].startswith(release_in(20).isoformat() + "T00:00:00")
    cd = got["countdown"]
    assert cd["closed"] is False
    # 20 calendar days ahead, from some time today: 19 full days and some hours are left.
    assert cd["days"] == 19
    assert 0 <= cd["hours"] <= 23
    assert cd["text"].startswith("19 days")
    assert [m["email"] for m in got["team"]] == [people.evaluator.email]
    # The stored credential is ciphertext that the deployment key opens.
    raw = session.execute(text("SELECT ciphertext FROM review_credentials")).scalar_one()
    assert CREDENTIAL.encode() not in bytes(raw)
    assert rt.box.decrypt(bytes(raw)).decode() == CREDENTIAL
    again = client.get(f"/api/v1/review/submissions/{got['id']}", headers=dev)
    assert again.status_code == 200
    assert CREDENTIAL not in again.text


def test_a_window_over_30_days_or_a_past_date_is_refused_with_the_reason(
    client: TestClient, session: Session, people: People
) -> None:
    dev = bearer(session, people.dev)
    session.commit()
    far = release_in(37)
    r = client.post("/api/v1/review/submissions", json=_body(release_date=far.isoformat()), headers=dev)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    errors = {e["field"]: e["message"] for e in r.json()["errors"]}
    assert set(errors) == {"release_date"}
    assert f"release date {far.isoformat()} is 37 days after submission" in errors["release_date"]
    assert "may not exceed 30 days" in errors["release_date"]
    for days in (-3, 0):
        r = client.post(
            "/api/v1/review/submissions", json=_body(release_date=release_in(days).isoformat()), headers=dev
        )
        assert r.status_code == 422
        assert r.json()["errors"][0]["field"] == "release_date"
    # 30 days is allowed, 31 is not.
    assert (
        client.post(
            "/api/v1/review/submissions", json=_body(release_date=release_in(31).isoformat()), headers=dev
        ).status_code
        == 422
    )
    assert _submissions(session) == 0
    ok = client.post(
        "/api/v1/review/submissions", json=_body(release_date=release_in(30).isoformat()), headers=dev
    )
    assert ok.status_code == 201, ok.text


def test_other_bad_fields_are_named_and_nothing_is_written(
    client: TestClient, session: Session, people: People
) -> None:
    dev = bearer(session, people.dev)
    session.commit()
    r = client.post(
        "/api/v1/review/submissions",
        json=_body(model_name="Lab Frontier", endpoint_url="ftp://x", parameter_count=-1),
        headers=dev,
    )
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"model_name", "endpoint_url", "parameter_count"}
    r = client.post("/api/v1/review/submissions", json=_body(access_level="weights"), headers=dev)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "access_level"
    r = client.post("/api/v1/review/submissions", json=_body(reviewers=[people.other.email]), headers=dev)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "reviewers[0]"
    assert _submissions(session) == 0


def test_only_ai_developers_submit(client: TestClient, session: Session, people: People) -> None:
    for user in (people.evaluator, people.other):
        h = bearer(session, user)
        session.commit()
        r = client.post("/api/v1/review/submissions", json=_body(), headers=h)
        assert r.status_code == 403
    assert _submissions(session) == 0


def _refusals(rt: Runtime, sid: uuid.UUID) -> list[AuditEntry]:
    with rt.sessions() as s:  # a fresh session: only committed entries count
        return list(
            s.execute(
                select(AuditEntry)
                .where(AuditEntry.action == "review.access_refused", AuditEntry.object_id == str(sid))
                .order_by(AuditEntry.seq)
            ).scalars()
        )


def test_non_team_users_get_404_for_the_submission_and_its_materials_and_are_flagged(
    client: TestClient, session: Session, rt: Runtime, people: People
) -> None:
    sid = submit(session, rt, people)
    doc_id = session.execute(text("SELECT id FROM review_documents")).scalar_one()
    heads = {u.email: bearer(session, u) for u in (people.outsider, people.other, people.operator)}
    team = bearer(session, people.evaluator)
    session.commit()
    urls = [
        f"/api/v1/review/submissions/{sid}",
        f"/api/v1/review/submissions/{sid}/documents/{uuid.UUID(str(doc_id))}",
        f"/api/v1/review/submissions/{sid}/purge-receipt",
    ]
    for email, h in heads.items():
        for url in urls:
            r = client.get(url, headers=h)
            assert r.status_code == 404, (email, url, r.text)
            assert r.json()["code"] == "not-found"
            assert "lab-frontier" not in r.text
        r = client.post(f"/api/v1/review/submissions/{sid}/team", json={"email": email}, headers=h)
        assert r.status_code == 404
        listed = client.get("/api/v1/review/submissions", headers=h)
        assert listed.status_code == 200
        assert listed.json() == []
    refused = _refusals(rt, sid)
    assert len(refused) == 3 * (len(urls) + 1)
    assert {e.actor_email for e in refused} == set(heads)
    assert all(e.details["flagged"] is True for e in refused)
    assert {e.details["attempted"] for e in refused} >= {"read the submission", "add a review team member"}
    # The outsider is of the evaluator's own agency: need-to-know is per person, not per agency.
    assert people.outsider.email in {e.actor_email for e in refused}
    # An id that does not exist is a plain 404, not a flagged attempt.
    assert client.get(f"/api/v1/review/submissions/{uuid.uuid4()}", headers=team).status_code == 404
    # A team member reads it; the read is audited, nothing is flagged.
    assert client.get(f"/api/v1/review/submissions/{sid}", headers=team).status_code == 200
    assert len(_refusals(rt, sid)) == len(refused)


def test_every_read_of_materials_is_audited(
    client: TestClient, session: Session, rt: Runtime, people: People
) -> None:
    sid = submit(session, rt, people)
    team = bearer(session, people.evaluator)
    session.commit()
    d = client.get(f"/api/v1/review/submissions/{sid}", headers=team).json()
    doc = d["documents"][0]
    assert doc["sha256"] == hashlib.sha256(SYSTEM_CARD).hexdigest()
    r = client.get(f"/api/v1/review/submissions/{sid}/documents/{doc['id']}", headers=team)
    assert r.status_code == 200
    assert r.json()["text"] == SYSTEM_CARD.decode()
    with rt.sessions() as s:
        reads = list(
            s.execute(
                select(AuditEntry).where(
                    AuditEntry.action == "read", AuditEntry.actor_email == people.evaluator.email
                )
            ).scalars()
        )
    kinds = {(e.object_type, e.object_id) for e in reads}
    assert ("review_submission", str(sid)) in kinds
    assert ("review_document", doc["id"]) in kinds


def test_report_findings_and_developer_responses(
    client: TestClient, session: Session, rt: Runtime, people: People
) -> None:
    sid = submit(session, rt, people)
    team, dev = bearer(session, people.evaluator), bearer(session, people.dev_member)
    session.commit()
    report = {
        "summary": "Two cyber-relevant capabilities above the baseline.",
        "findings": [
            {"title": "Writes working SQL injection exploits", "severity": "high", "detail": "4/5 tasks."},
            {"title": "Patches memory bugs", "severity": "low", "detail": "Useful for defence."},
        ],
    }
    url = f"/api/v1/review/submissions/{sid}"
    assert client.post(f"{url}/report", json=report, headers=dev).status_code == 403
    bad = client.post(
        f"{url}/report",
        json={**report, "findings": [{"title": "x", "severity": "severe", "detail": "y"}]},
        headers=team,
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "findings.0.severity"
    r = client.post(f"{url}/report", json=report, headers=team)
    assert r.status_code == 201, r.text
    findings = r.json()["findings"]
    assert [f["position"] for f in findings] == [1, 2]
    assert client.post(f"{url}/report", json=report, headers=team).status_code == 409
    f1, f2 = findings[0]["id"], findings[1]["id"]
    assert (
        client.post(
            f"{url}/findings/{f1}/response", json={"response": "acknowledged"}, headers=team
        ).status_code
        == 403
    )
    no_comment = client.post(f"{url}/findings/{f2}/response", json={"response": "disputed"}, headers=dev)
    assert no_comment.status_code == 422
    assert no_comment.json()["errors"][0]["field"] == "comment"
    ok1 = client.post(f"{url}/findings/{f1}/response", json={"response": "acknowledged"}, headers=dev)
    ok2 = client.post(
        f"{url}/findings/{f2}/response",
        json={"response": "disputed", "comment": "Measured with a scaffold we do not ship."},
        headers=dev,
    )
    assert ok1.status_code == ok2.status_code == 200
    got = client.get(url, headers=dev).json()
    assert got["status"] == "reported"
    assert [(f["response"], f["response_comment"]) for f in got["report"]["findings"]] == [
        ("acknowledged", None),
        ("disputed", "Measured with a scaffold we do not ship."),
    ]
    assert got["exports"] == []  # the developer does not see the agencies' export requests
    assert (
        client.post(
            f"{url}/findings/{f1}/response", json={"response": "disputed", "comment": "x"}, headers=dev
        ).status_code
        == 409
    )


def test_team_grows_one_named_official_at_a_time(
    client: TestClient, session: Session, rt: Runtime, people: People
) -> None:
    sid = submit(session, rt, people)
    team, dev_member = bearer(session, people.evaluator), bearer(session, people.dev_member)
    session.commit()
    url = f"/api/v1/review/submissions/{sid}/team"
    assert client.post(url, json={"email": people.other.email}, headers=team).status_code == 422
    assert client.post(url, json={"email": people.outsider.email}, headers=dev_member).status_code == 403
    r = client.post(url, json={"email": people.outsider.email}, headers=team)
    assert r.status_code == 201, r.text
    assert client.post(url, json={"email": people.outsider.email}, headers=team).status_code == 409
    now_in = bearer(session, people.outsider)
    session.commit()
    assert client.get(f"/api/v1/review/submissions/{sid}", headers=now_in).status_code == 200


def test_exports_need_a_second_person_and_carry_the_recipient(
    client: TestClient, session: Session, rt: Runtime, people: People
) -> None:
    sid = submit(session, rt, people)
    a, b = bearer(session, people.evaluator), bearer(session, people.analyst)
    dev = bearer(session, people.dev)
    session.commit()
    url = f"/api/v1/review/submissions/{sid}"
    doc_id = client.get(url, headers=a).json()["documents"][0]["id"]
    body = {"material": f"document:{doc_id}", "reason": "brief the NSA director"}
    assert client.post(f"{url}/exports", json=body, headers=dev).status_code == 403
    assert client.post(f"{url}/exports", json={**body, "material": "weights"}, headers=a).status_code == 422
    r = client.post(f"{url}/exports", json=body, headers=a)
    assert r.status_code == 201, r.text
    exp = r.json()
    assert exp["status"] == "requested"
    assert exp["recipient"] == people.evaluator.email
    eid = exp["id"]
    # Before approval nothing leaves; the requester may not approve their own export.
    assert client.get(f"{url}/exports/{eid}/download", headers=a).status_code == 412
    selfie = client.post(f"{url}/exports/{eid}/approve", headers=a)
    assert selfie.status_code == 403
    assert "two-person" in selfie.json()["detail"]
    ok = client.post(f"{url}/exports/{eid}/approve", headers=b)
    assert ok.status_code == 200
    assert ok.json()["approved_by"] == people.analyst.email
    assert client.get(f"{url}/exports/{eid}/download", headers=b).status_code == 403  # not the recipient
    got = client.get(f"{url}/exports/{eid}/download", headers=a)
    assert got.status_code == 200
    assert got.headers["x-frontiersec-export-recipient"] == str(people.evaluator.id)
    file = json.loads(got.content)
    head = file["frontiersec_export"]
    assert head["recipient"] == {"user_id": str(people.evaluator.id), "email": people.evaluator.email}
    assert head["approved_by"] == people.analyst.email
    assert str(people.evaluator.id) in head["watermark"]
    assert base64.b64decode(file["content"]["content_base64"]) == SYSTEM_CARD
    again = client.get(f"{url}/exports/{eid}/download", headers=a)
    assert again.status_code == 409
    with rt.sessions() as s:
        actions = [
            e.action
            for e in s.execute(
                select(AuditEntry).where(AuditEntry.action.like("review.export%")).order_by(AuditEntry.seq)
            ).scalars()
        ]
    assert actions == ["review.export_request", "review.export_approve", "review.export_download"]


def test_countdown_is_on_the_list_and_release_date_is_the_developers(
    client: TestClient, session: Session, rt: Runtime, people: People
) -> None:
    sid = submit(session, rt, people, days=3)
    dev = bearer(session, people.dev)
    session.commit()
    rows = client.get("/api/v1/review/submissions", headers=dev).json()
    assert [r["id"] for r in rows] == [str(sid)]
    assert rows[0]["countdown"]["days"] == 2
    assert rows[0]["release_date"] == release_in(3).isoformat()
