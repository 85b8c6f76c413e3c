"""The KEV catalog: loaded from the real CISA file, searched, filtered, sorted and paged;
malformed catalogs are refused whole, naming the JSON path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from frontiersec.clearinghouse.models import KevEntry
from frontiersec.clearinghouse.service import load_kev
from frontiersec.demo import load_demo
from frontiersec.platform.auth.principal import SYSTEM
from frontiersec.platform.errors import InvalidInput
from frontiersec.platform.runtime import Runtime
from frontiersec.settings import Settings
from tests.factories import bearer, make_org, make_user


@pytest.fixture(scope="module")
def kev_file(shared_data: Path) -> Path:
    return shared_data / "cisa-kev" / "known_exploited_vulnerabilities.json"


@pytest.fixture(scope="module")
def kev_doc(kev_file: Path) -> dict[str, Any]:
    return dict(json.loads(kev_file.read_bytes()))


def _count(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(KevEntry)).scalar_one())


@pytest.fixture
def loaded(session: Session, settings: Settings, rt: Runtime) -> dict[str, str]:
    load_demo(session, settings, rt.box)
    user = make_user(session, make_org(session), role="viewer")
    headers = bearer(session, user, ("read",))
    session.commit()
    return headers


def _walk(client: TestClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        q = {**params, "limit": 500, **({"cursor": cursor} if cursor else {})}
        r = client.get("/api/v1/kev", params=q, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        out.extend(body["items"])
        cursor = body["next_cursor"]
        if not cursor:
            return out
    raise AssertionError("pagination did not end")


def test_demo_load_counts_and_search(
    client: TestClient, session: Session, loaded: dict[str, str], kev_doc: dict[str, Any]
) -> None:
    vulns = kev_doc["vulnerabilities"]
    assert _count(session) == len(vulns)
    newest = max(vulns, key=lambda v: (v["dateAdded"], v["cveID"]))
    r = client.get("/api/v1/kev", params={"q": newest["cveID"]}, headers=loaded)
    assert r.status_code == 200
    items = r.json()["items"]
    assert newest["cveID"] in [i["cve_id"] for i in items]
    r = client.get(f"/api/v1/kev/{newest['cveID']}", headers=loaded)
    assert r.status_code == 200
    assert r.json()["vendor_project"] == newest["vendorProject"]


def test_filters_match_plain_python(
    client: TestClient, loaded: dict[str, str], kev_doc: dict[str, Any]
) -> None:
    vulns = kev_doc["vulnerabilities"]
    vendor = max(
        {v["vendorProject"] for v in vulns}, key=lambda n: sum(v["vendorProject"] == n for v in vulns)
    )
    want_vendor = sum(v["vendorProject"] == vendor for v in vulns)
    want_rw = sum(v.get("knownRansomwareCampaignUse") == "Known" for v in vulns)
    since = sorted(v["dateAdded"] for v in vulns)[len(vulns) // 2]
    want_since = sum(v["dateAdded"] >= since for v in vulns)
    for params, want in (
        ({"vendor": vendor}, want_vendor),
        ({"ransomware": "true"}, want_rw),
        ({"added_since": since}, want_since),
        ({}, len(vulns)),
    ):
        r = client.get("/api/v1/kev", params={**params, "limit": 1}, headers=loaded)
        assert r.status_code == 200, r.text
        assert r.json()["total"] == want, params
    rows = _walk(client, loaded, vendor=vendor)
    assert len(rows) == want_vendor
    assert {r["vendor_project"] for r in rows} == {vendor}


def test_sorting_and_cursor_walk(client: TestClient, loaded: dict[str, str], kev_doc: dict[str, Any]) -> None:
    vulns = kev_doc["vulnerabilities"]
    asc = _walk(client, loaded, sort="date_added", order="asc")
    assert [r["cve_id"] for r in asc] == [
        v["cveID"] for v in sorted(vulns, key=lambda v: (v["dateAdded"], v["cveID"]))
    ]
    desc = _walk(client, loaded, sort="cve_id", order="desc")
    assert [r["cve_id"] for r in desc] == sorted((v["cveID"] for v in vulns), reverse=True)
    # Small pages walk every entry exactly once.
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 97, "sort": "due_date"}
        if cursor:
            params["cursor"] = cursor
        body = client.get("/api/v1/kev", params=params, headers=loaded).json()
        seen.extend(i["cve_id"] for i in body["items"])
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == len(vulns)


def test_reload_is_idempotent(
    session: Session, settings: Settings, kev_file: Path, kev_doc: dict[str, Any]
) -> None:
    first = load_kev(session, SYSTEM, kev_file.read_bytes())
    session.commit()
    assert first.added == len(kev_doc["vulnerabilities"])
    second = load_kev(session, SYSTEM, kev_file.read_bytes())
    session.commit()
    assert (second.added, second.updated, second.unchanged) == (0, 0, len(kev_doc["vulnerabilities"]))


def _bad_dates(doc: dict[str, Any]) -> tuple[bytes, str]:
    d = json.loads(json.dumps(doc))
    d["vulnerabilities"][3]["dateAdded"] = "2025-13-45"
    return json.dumps(d).encode(), "$.vulnerabilities[3].dateAdded"


def _duplicate(doc: dict[str, Any]) -> tuple[bytes, str]:
    d = json.loads(json.dumps(doc))
    d["vulnerabilities"][5]["cveID"] = d["vulnerabilities"][0]["cveID"]
    return json.dumps(d).encode(), "$.vulnerabilities[5].cveID"


def _truncated(doc: dict[str, Any]) -> tuple[bytes, str]:
    raw = json.dumps(doc).encode()
    return raw[: len(raw) // 2], "$"


@pytest.mark.parametrize(
    "corrupt", [_truncated, _bad_dates, _duplicate], ids=["truncated", "bad-date", "duplicate"]
)
def test_malformed_catalog_changes_nothing(
    session: Session, kev_file: Path, kev_doc: dict[str, Any], corrupt: Any
) -> None:
    # A smaller real catalog already loaded: the bad load must leave it as it was.
    small = {**kev_doc, "vulnerabilities": kev_doc["vulnerabilities"][10:20]}
    load_kev(session, SYSTEM, json.dumps(small).encode())
    session.commit()
    before = _count(session)
    data, pointer = corrupt(kev_doc)
    with pytest.raises(InvalidInput) as info:
        load_kev(session, SYSTEM, data)
    session.rollback()
    assert info.value.errors[0].field == pointer
    assert pointer in info.value.detail
    assert _count(session) == before == 10


def test_filters_reject_bad_sort(client: TestClient, loaded: dict[str, str]) -> None:
    r = client.get("/api/v1/kev", params={"sort": "nope"}, headers=loaded)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "sort"
