"""The partners pages (list with the sector chart, the nomination page per side, the forms) and
`frontiersec partners ...` with --as (exit codes and messages)."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from frontiersec.cli import app as cli_app
from frontiersec.partners import service
from frontiersec.partners import web as partners_web
from frontiersec.partners.models import PartnerGrant, PartnerNomination
from frontiersec.platform.clock import utcnow
from frontiersec.platform.runtime import Runtime
from frontiersec.settings import Settings
from tests.factories import login
from tests.integration.partners.conftest import MODEL, World, active_grant, approved, submit_model


def _csrf(client: TestClient) -> str:
    token = client.cookies.get("fs_csrf")
    assert token
    return token


def test_list_page_shows_the_sector_chart_and_rows(
    client: TestClient, session: Session, rt: Runtime, world: World
) -> None:
    w = world
    active_grant(session, rt, w)
    login(client, w.officer.email)
    r = client.get("/partners")
    assert r.status_code == 200
    html = r.text
    assert '<svg class="sector-chart"' in html
    assert "Banks and finance: 1 partners, 1 active grants." in html
    assert "State and local government: 0 partners" in html
    card = partners_web.dashboard_card(session, w.p(session, w.officer))
    assert card["big"] == 1
    assert card["lines"][0] == "approved partners: 1 banks and finance"
    assert w.bank.name in html
    assert f"{MODEL}" in html


def test_nomination_page_per_side(client: TestClient, session: Session, rt: Runtime, world: World) -> None:
    w = world
    nid = approved(session, w)
    g = service.issue_grant(
        session,
        w.p(session, w.dev),
        nid,
        service.GrantInput(ends_at=utcnow() + dt.timedelta(days=10), usage_cap=50),
        box=rt.box,
    )
    session.commit()
    # The partner sees the accept button, not the checklist nor the revoke form.
    login(client, w.partner.email)
    html = client.get(f"/partners/{nid}").text
    assert "Accept the terms" in html
    assert "Revoke now" not in html
    assert "Export-control and sanctions screening passed" not in html
    r = client.post(
        f"/partners/grants/{g.id}/accept",
        data={"csrf_token": _csrf(client), "terms_sha256": g.terms_sha256},
        follow_redirects=False,
    )
    assert r.status_code == 303
    html = client.get(f"/partners/{nid}").text
    assert "Accept the terms" not in html
    assert ">active<" in html

    # The agency sees the checklist and may revoke from the page.
    client.cookies.clear()
    login(client, w.officer.email)
    html = client.get(f"/partners/{nid}").text
    assert "Export-control and sanctions screening passed" in html
    assert "Revoke now" in html
    r = client.post(
        f"/partners/grants/{g.id}/revoke",
        data={"csrf_token": _csrf(client), "reason": "ended early"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "ended early" in client.get(f"/partners/{nid}").text

    # Someone unrelated: 404.
    client.cookies.clear()
    login(client, w.outsider.email)
    assert client.get(f"/partners/{nid}").status_code == 404


def test_web_forms_show_field_errors(client: TestClient, session: Session, rt: Runtime, world: World) -> None:
    w = world
    submit_model(session, rt, w, days=10)
    nid = approved(session, w)
    login(client, w.dev.email)
    start = (utcnow() + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    end = (utcnow() + dt.timedelta(days=60)).strftime("%Y-%m-%dT%H:%M")
    r = client.post(
        f"/partners/{nid}/grants",
        data={"csrf_token": _csrf(client), "starts_at": start, "ends_at": end, "usage_cap": "100"},
    )
    assert r.status_code == 422
    assert "review window" in r.text
    assert 'aria-invalid="true"' in r.text
    assert session.execute(select(func.count()).select_from(PartnerGrant)).scalar_one() == 0
    r = client.post(
        "/partners",
        data={"csrf_token": _csrf(client), "partner": w.bank.slug, "model_name": MODEL, "model_version": "9"},
    )
    assert r.status_code == 422
    assert "purpose" in r.text


# --------------------------------------------------------------------------- CLI


@pytest.fixture
def env(settings: Settings) -> dict[str, str]:
    return {
        "FRONTIERSEC_DATA_DIR": str(settings.data_dir),
        "FRONTIERSEC_DATABASE_URL": settings.resolved_database_url,
        "FRONTIERSEC_DEMO_DATA": str(settings.demo_data),
    }


def _run(env: dict[str, str], *args: str, code: int = 0) -> str:
    res = CliRunner().invoke(cli_app, ["partners", *args], env=env)
    assert res.exit_code == code, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    return res.output


def test_cli_end_to_end(env: dict[str, str], session: Session, rt: Runtime, world: World) -> None:
    w = world
    sub = submit_model(session, rt, w, days=10)
    out = _run(
        env,
        "nominate",
        "--as",
        w.dev.email,
        "--partner",
        w.bank.slug,
        "--model",
        MODEL,
        "--version",
        "2.0",
        "--purpose",
        "defend payments",
        "--agency",
        w.agency.slug,
        "--json",
    )
    nid = json.loads(out)["id"]
    _run(env, "approve", nid, "--as", w.dev.email)
    out = _run(env, "approve", nid, "--as", w.dev.email, code=1)
    assert "developer side already approved" in out
    out = _run(env, "decline", nid, "--as", w.officer.email, code=2)
    assert "reason" in out
    out = _run(env, "approve", nid, "--as", w.officer.email, code=1)
    assert "checklist is not done" in out
    for key in ("identity", "ci_role", "security_contact", "data_handling", "screening"):
        _run(env, "checklist", nid, key, "--as", w.agency_member.email)
    out = _run(env, "checklist", nid, "--as", w.officer.email, "--json")
    assert sum(1 for i in json.loads(out) if i["done"]) == 5
    _run(env, "approve", nid, "--as", w.officer.email)

    # Inside the review window without a waiver: exit 2 naming starts_at.
    ends = (sub.window_closes_at + dt.timedelta(days=30)).isoformat()
    out = _run(
        env,
        "grant",
        nid,
        "--as",
        w.dev.email,
        "--starts",
        utcnow().isoformat(),
        "--ends",
        ends,
        "--cap",
        "5",
        code=2,
    )
    assert "starts_at" in out
    assert "review window" in out
    out = _run(
        env,
        "grant",
        nid,
        "--as",
        w.dev.email,
        "--starts",
        (utcnow() + dt.timedelta(minutes=1)).isoformat(),
        "--ends",
        ends,
        "--cap",
        "5",
        "--waive-review-window",
        "--waiver-reason",
        "urgent sector need",
        "--json",
    )
    g = json.loads(out)
    gid = g["id"]
    assert g["window_waived"] is True

    out = _run(env, "check", gid, "--as", w.dev.email, "--json")
    assert json.loads(out)["code"] == "awaiting_terms"
    _run(env, "accept", gid, "--as", w.partner.email, "--terms-sha256", "bad", code=2)
    _run(env, "accept", gid, "--as", w.partner.email, "--terms-sha256", g["terms"]["sha256"])
    # The grant starts a minute from now: not yet active.
    out = _run(env, "check", gid, "--as", w.dev.email, "--json")
    assert json.loads(out)["code"] == "not_yet_active"
    today = utcnow().date().isoformat()
    _run(env, "usage", gid, "--as", w.partner.email, "--count", "7", "--period", f"{today}/{today}")
    out = _run(env, "list", "--grants", "--as", w.partner.email, "--json")
    assert json.loads(out)[0]["used"] == 7

    signed = _run(env, "show-grant", gid, "--signed", "--as", w.partner.email)
    path = rt.settings.data_dir / "grant.json"
    path.write_text(signed)
    assert "valid: grant" in _run(env, "verify", str(path))
    path.write_text(re.sub(r'"limit": 5\b', '"limit": 500', signed))
    assert "NOT VALID" in _run(env, "verify", str(path), code=1)

    out = _run(env, "revoke", gid, "--as", w.officer.email, "--reason", "done", "--json")
    assert json.loads(out)["status"] == "revoked"
    out = _run(env, "check", gid, "--as", w.dev.email, "--units", "0", "--json")
    assert json.loads(out)["decision"] == "denied"
    _run(env, "show", nid, "--as", w.outsider.email, code=1)
    out = _run(env, "sectors", "--as", w.officer.email, "--json")
    assert {c["key"]: c["partners"] for c in json.loads(out)}["banks"] == 1


def test_cli_nominate_without_agency_is_bad_input(
    env: dict[str, str], session: Session, world: World
) -> None:
    w = world
    out = _run(
        env,
        "nominate",
        "--as",
        w.dev.email,
        "--partner",
        w.bank.slug,
        "--model",
        MODEL,
        "--version",
        "2.0",
        "--purpose",
        "x",
        code=2,
    )
    assert "agency" in out
    assert session.execute(select(func.count()).select_from(PartnerNomination)).scalar_one() == 0
