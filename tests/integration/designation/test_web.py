"""Designation pages: the public transparency report shows counts and commitments but nothing
confidential; the determination page shows reasons, a verify badge and the clock, with
thresholds for officials only; the developer requests reconsideration from it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from frontiersec.designation import service
from frontiersec.designation.models import Determination
from frontiersec.platform.runtime import Runtime
from tests.factories import login
from tests.integration.designation.world import World, add_run, make_world, publish

MODEL, VERSION = "frontier-x", "2.0"
# Strings that would reveal policy 2026.1's confidential thresholds or rationales.
CONFIDENTIAL = [
    "1e+26",
    "1.0e26",
    "10²⁶",
    "10¹¹",
    "0.30",
    "0.4",
    "30.0%",
    "40.0%",
    "Executive Order",
    "junior analysts",
    "uplift",
]


@pytest.fixture
def det(session: Session, rt: Runtime, client: TestClient) -> tuple[World, Determination]:
    w = make_world(session, rt.box)
    publish(session, rt.box, w)
    add_run(session, w.agency, MODEL, VERSION, {"exploitation": (81, 263), "discovery": (15, 148)})
    d = service.issue_determination(
        session,
        w.p(session, w.official),
        rt.box,
        model_name=MODEL,
        model_version=VERSION,
        policy_version="2026.1",
        developer_org_id=w.dev.id,
        training_compute_flop=2e26,
    )
    session.commit()
    return w, d


def test_transparency_is_public_and_has_no_confidential_detail(
    det: tuple[World, Determination], client: TestClient, session: Session
) -> None:
    w, d = det
    r = client.get("/transparency")
    assert r.status_code == 200
    page = r.text
    assert d.policy_commitment in page
    assert "determinations issued" in page
    assert "sign in" in page
    for secret in CONFIDENTIAL:
        assert secret not in page, secret
    assert MODEL not in page  # aggregates only: no model names
    assert w.dev.name not in page
    api = client.get("/api/v1/designation/transparency").json()
    assert api["determinations"]["by_result"] == {"covered": 0, "not_covered": 1, "insufficient_evidence": 0}
    assert api["submissions"] == 0
    for secret in ("rationale", "1e+26", "Executive Order"):
        assert secret not in client.get("/api/v1/designation/transparency").text
        assert secret not in client.get("/api/v1/designation/policies/published").text


def test_determination_page_for_the_developer(det: tuple[World, Determination], client: TestClient) -> None:
    w, d = det
    login(client, w.dev_member.email)
    page = client.get(f"/designation/{d.id}").text
    assert "Signature verified" in page
    assert "CAP_INTERVAL_INCLUDES_THRESHOLD" in page
    assert "25.5% \u2013 36.6%" in page  # Newcombe's 0.2553-0.3662 for 81/263
    assert "confidential" in page
    assert "lower bound ≥ 30.0%" not in page
    assert "Request reconsideration" in page
    r = client.post(
        f"/designation/{d.id}/reconsider",
        data={"reason": "The suite ran without our safeguards.", "csrf_token": client.cookies.get("fs_csrf")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(f"/designation/{d.id}").text
    assert "The suite ran without our safeguards." in page
    assert "decision due" in page
    assert "Request reconsideration" not in page  # one open request at a time
    signed = client.get(f"/designation/{d.id}/signed.json")
    assert signed.headers["content-type"] == "application/json"
    assert '"type":"frontiersec.designation.determination"' in signed.text


def test_determination_page_for_the_official_and_others(
    det: tuple[World, Determination], client: TestClient
) -> None:
    w, d = det
    login(client, w.official.email)
    page = client.get(f"/designation/{d.id}").text
    assert "lower bound ≥ 30.0%" in page
    assert "Signature verified" in page
    assert client.get("/designation/policies").status_code == 200
    client.cookies.clear()
    login(client, w.other_member.email)
    assert client.get(f"/designation/{d.id}").status_code == 404
    assert client.get("/designation/policies").status_code == 403
    assert MODEL not in client.get("/designation").text


def test_tampered_stored_document_shows_a_failing_badge(
    det: tuple[World, Determination], client: TestClient, session: Session
) -> None:
    w, d = det
    doc = dict(d.document)
    doc["payload"] = {**doc["payload"], "result": "covered"}
    d.document = doc
    session.commit()
    login(client, w.dev_member.email)
    page = client.get(f"/designation/{d.id}").text
    assert "Does not verify" in page
