"""Findings, vulnerability and import pages, as a signed-in user uses them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from frontiersec.clearinghouse.models import Finding
from frontiersec.settings import Settings
from tests.factories import login, make_org, make_user
from tests.integration.clearinghouse.clusters_world import (
    CODEQL,
    RAPID_RESET,
    World,
    build_world,
    cluster_of,
    kev_of_lab_a,
    manifest_results,
)


@pytest.fixture
def world(session: Session, settings: Settings, tmp_path: Path) -> World:
    return build_world(session, settings, tmp_path)


def _csrf(client: TestClient) -> str:
    token = client.cookies.get("fs_csrf")
    assert token
    return token


def _rows(html: str) -> int:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return body.count("<tr>") - body.count("Nothing matches")


def test_empty_findings_page_points_to_the_import_page(client: TestClient, session: Session) -> None:
    org = make_org(session)
    user = make_user(session, org, role="member")
    session.commit()
    login(client, user.email)
    html = client.get("/findings").text
    assert "No findings yet" in html
    assert 'href="/findings/import"' in html
    assert "No vulnerabilities yet" in client.get("/vulns").text


def test_findings_page_filters_and_sorts(client: TestClient, session: Session, world: World) -> None:
    login(client, world.analyst_a.email)
    everything = client.get("/findings").text
    total = int(re.search(r"(\d+) matching", everything).group(1))  # type: ignore[union-attr]
    high = session.execute(
        select(Finding.id).where(Finding.owner_org_id == world.org_a.id, Finding.severity == "high")
    ).all()
    page = client.get("/findings", params={"severity": "high"}).text
    assert f"{len(high)} matching" in page
    assert 0 < len(high) < total
    assert _rows(page) == min(50, len(high))
    assert page.count('class="sev sev-high"') == _rows(page)
    kev_page = client.get("/findings", params={"kev": "yes"}).text
    assert 'class="badge kev">KEV' in kev_page
    assert "Nothing matches" in client.get("/findings", params={"q": "no-such-text-anywhere"}).text
    sorted_page = client.get("/findings", params={"sort": "severity", "order": "desc"}).text
    assert sorted_page.index("sev-critical") < sorted_page.index("sev-low")
    # Filter options come from the data: CWE names from MITRE's list.
    assert "Cross-site Scripting" in everything or "SQL Injection" in everything or "CWE-" in everything


def test_vulns_page_chart_kev_badge_and_filters(
    client: TestClient, session: Session, world: World, shared_data: Path
) -> None:
    login(client, world.analyst_a.email)
    html = client.get("/vulns").text
    assert "By severity" in html
    assert "Top weaknesses" in html
    kev_only = client.get("/vulns", params={"kev": "yes"}).text
    assert f'href="/kev/{RAPID_RESET}"' in kev_only
    assert 'href="/kev/CVE-2021-44228"' in kev_only
    assert _rows(kev_only) == len(kev_of_lab_a(shared_data))  # one cluster per KEV CVE here
    assert f"{len(kev_of_lab_a(shared_data))} hold a CVE in CISA" in html
    assert "1 reported by more than one finder" in html  # CVE-2023-44487: Lab A and Vendor B
    dashboard = client.get("/").text
    assert 'href="/vulns"' in dashboard
    vulns = re.search(r"(\d+) matching", html)
    findings = re.search(r"(\d+) matching", client.get("/findings").text)
    assert vulns
    assert findings
    assert f"{vulns.group(1)} vulnerabilities from {findings.group(1)} findings you may see" in dashboard
    by_finder = client.get("/vulns", params={"finder": str(world.org_b.id)}).text
    assert "0 matching" in by_finder  # A sees none of B's findings, so cannot filter by them


def test_vuln_page_credit_history_and_analyst_forms(
    client: TestClient, session: Session, world: World
) -> None:
    cid = cluster_of(session, RAPID_RESET)
    login(client, world.analyst_a.email)
    html = client.get(f"/vulns/{cid}").text
    assert "first finder" in html
    assert "Lab A" in html
    assert "Vendor B" in html
    assert html.index("Lab A") < html.index("Vendor B")
    assert "layer 2 · shared alias" in html
    assert "joined." in html
    assert f"shared alias {RAPID_RESET}" in html
    assert f'href="/kev/{RAPID_RESET}"' in html
    assert "more by organisations whose records you may not see" in html
    assert 'id="split-form"' in html
    assert 'action="/vulns/' in html


def test_viewer_sees_no_forms_and_other_org_gets_404(
    client: TestClient, session: Session, world: World
) -> None:
    cid = cluster_of(session, "CVE-2021-44228")
    login(client, world.viewer_a.email)
    html = client.get(f"/vulns/{cid}").text
    assert 'id="split-form"' not in html
    assert "Merge into this one" not in html
    client.cookies.clear()
    login(client, world.member_c.email)
    assert client.get(f"/vulns/{cid}").status_code == 404


def test_merge_and_split_through_the_pages(client: TestClient, session: Session, world: World) -> None:
    cve, ghsa = cluster_of(session, "CVE-2021-44228"), cluster_of(session, "GHSA-jfh8-c2jp-5v3q")
    login(client, world.analyst_a.email)
    r = client.post(
        f"/vulns/{cve}/merge",
        data={
            "csrf_token": _csrf(client),
            "source": "GHSA-jfh8-c2jp-5v3q",
            "reason": "GitHub id of Log4Shell",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"] == f"/vulns/{cve}"
    html = client.get(f"/vulns/{cve}").text
    assert "GitHub id of Log4Shell" in html
    assert "layer 0 · manual" in html
    assert world.analyst_a.email in html
    assert "Undo merge" in html
    moved = [str(i) for i in session.execute(select(Finding.id).where(Finding.cluster_id == ghsa)).scalars()]
    assert moved == []  # moved to the CVE's cluster
    session.expire_all()
    ids = [str(i) for i in session.execute(select(Finding.id).where(Finding.cluster_id == cve)).scalars()]
    assert len(ids) == 2
    r = client.post(
        f"/vulns/{cve}/split",
        data={"csrf_token": _csrf(client), "finding_ids": ids[:1], "reason": "different bug"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    new_page = client.get(r.headers["location"]).text
    assert "different bug" in new_page
    assert "Undo split" in new_page
    # An htmx submit gets an HX-Redirect instead; a missing reason is refused (toast).
    r = client.post(
        f"/vulns/{cve}/merge",
        data={"csrf_token": _csrf(client), "source": str(ghsa), "reason": ""},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 422
    assert "toast" in r.text


def test_import_page_upload_shows_progress_and_results(
    client: TestClient, session: Session, world: World, shared_data: Path
) -> None:
    login(client, world.member_b.email)
    page = client.get("/findings/import").text
    assert 'class="dropzone"' in page
    assert 'type="file"' in page
    assert 'enctype="multipart/form-data"' in page
    raw = (shared_data / CODEQL).read_bytes()
    r = client.post(
        "/findings/import",
        data={"csrf_token": _csrf(client), "format": "auto", "model": ""},
        files={"file": ("codeQL-output.sarif", raw, "application/octet-stream")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"].startswith("/findings/imports/")
    html = client.get(r.headers["location"]).text
    assert "succeeded" in html
    expected = manifest_results(shared_data, CODEQL)
    assert re.search(rf"<b>{expected}</b><span class=\"muted\">received", html)
    link = re.search(r'href="(/findings\?batch=[0-9a-f-]+)"', html)
    assert link
    listing = client.get(link.group(1)).text
    assert "codeQL-output.sarif" in listing
    # The recent-imports table shows it too.
    assert "codeQL-output.sarif" in client.get("/findings/import").text


def test_import_page_errors(client: TestClient, session: Session, world: World) -> None:
    login(client, world.member_b.email)
    r = client.post("/findings/import", data={"csrf_token": _csrf(client)}, files={})
    assert r.status_code == 422
    assert "Choose a file" in r.text
    r = client.post(
        "/findings/import",
        data={"csrf_token": _csrf(client), "format": "auto"},
        files={"file": ("empty.json", b"", "application/json")},
    )
    assert r.status_code == 422
    assert "empty" in r.text
    r = client.post(
        "/findings/import",
        data={"csrf_token": _csrf(client), "format": "auto"},
        files={"file": ("junk.json", b'{"not": "a scanner report"}', "application/json")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    html = client.get(r.headers["location"]).text
    assert "failed" in html
    assert "could not be imported" in html
    assert "junk.json" in html
    client.cookies.clear()
    login(client, world.viewer_a.email)
    assert "needs the member role" in client.get("/findings/import").text
    r = client.post(
        "/findings/import",
        data={"csrf_token": _csrf(client)},
        files={"file": ("a.json", b"{}", "application/json")},
    )
    assert r.status_code == 403
