"""The review pages as a browser uses them (real sign-in, CSRF, forms)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from frontiersec.platform.audit.models import AuditEntry
from frontiersec.platform.runtime import Runtime
from tests.factories import login
from tests.integration.review.conftest import CREDENTIAL, People, release_in, submit


def _csrf(client: TestClient) -> str:
    token = client.cookies.get("fs_csrf")
    assert token
    return token


def test_developer_submits_through_the_form_and_sees_the_countdown(
    client: TestClient, session: Session, people: People
) -> None:
    login(client, people.dev.email)
    page = client.get("/review/new")
    assert page.status_code == 200
    assert 'name="release_date"' in page.text
    form = {
        "csrf_token": _csrf(client),
        "model_name": "lab-frontier",
        "model_version": "3.1",
        "release_date": release_in(40).isoformat(),
        "access_level": "grey-box",
        "endpoint_url": "https://api.ailab.example/v1",
        "credential": CREDENTIAL,
        "reviewers": people.evaluator.email,
    }
    refused = client.post(
        "/review/new", data=form, files={"system_card": ("card.md", b"# Card\n", "text/markdown")}
    )
    assert refused.status_code == 422
    assert "is 40 days after submission" in refused.text
    assert "may not exceed 30 days" in refused.text
    assert 'value="lab-frontier"' in refused.text  # the form keeps what was typed
    form["release_date"] = release_in(14).isoformat()
    r = client.post(
        "/review/new",
        data=form,
        files={"system_card": ("card.md", b"# Card\n", "text/markdown")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    detail = client.get(r.headers["location"])
    assert detail.status_code == 200
    assert CREDENTIAL not in detail.text
    assert re.search(r"13<small>days</small>", detail.text)
    assert people.evaluator.email in detail.text
    assert "card.md" in detail.text
    listing = client.get("/review")
    assert "lab-frontier" in listing.text
    assert "13 days" in listing.text


def test_non_team_browser_gets_not_found_and_is_flagged(
    client: TestClient, session: Session, rt: Runtime, people: People
) -> None:
    sid = submit(session, rt, people)
    login(client, people.outsider.email)
    r = client.get(f"/review/{sid}")
    assert r.status_code == 404
    assert "lab-frontier" not in r.text
    assert "lab-frontier" not in client.get("/review").text
    with rt.sessions() as s:
        entry = s.execute(select(AuditEntry).where(AuditEntry.action == "review.access_refused")).scalar_one()
    assert entry.actor_email == people.outsider.email
    assert entry.details["flagged"] is True


def test_report_and_acknowledge_through_the_pages(
    client: TestClient, session: Session, rt: Runtime, people: People
) -> None:
    sid = submit(session, rt, people)
    login(client, people.evaluator.email)
    page = client.get(f"/review/{sid}")
    assert "Issue the report to the developer" in page.text
    r = client.post(
        f"/review/{sid}/report",
        data={
            "csrf_token": _csrf(client),
            "summary": "One finding.",
            "finding_title": ["Exploit generation", ""],
            "finding_severity": ["high", "medium"],
            "finding_detail": ["4 of 5 tasks.", ""],
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    client.cookies.clear()
    login(client, people.dev.email)
    page = client.get(f"/review/{sid}")
    assert "Exploit generation" in page.text
    assert "Acknowledge" in page.text
    fid = re.search(r"/findings/([0-9a-f-]{36})/respond", page.text)
    assert fid
    r = client.post(
        f"/review/{sid}/findings/{fid.group(1)}/respond",
        data={"csrf_token": _csrf(client), "response": "acknowledged", "comment": ""},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "Developer acknowledged" in client.get(f"/review/{sid}").text
