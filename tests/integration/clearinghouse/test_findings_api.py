"""Findings and vulnerability API: filters, TLP 404s, manual merge/split, and uploads run as jobs."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from frontiersec.app import create_app
from frontiersec.platform.runtime import build_runtime
from frontiersec.settings import Settings
from tests.factories import bearer
from tests.integration.clearinghouse.clusters_world import (
    CODEQL,
    RAPID_RESET,
    World,
    build_world,
    cluster_of,
    manifest_results,
)


@pytest.fixture
def world(session: Session, settings: Settings, tmp_path: Path) -> World:
    return build_world(session, settings, tmp_path)


def _h(session: Session, user: Any) -> dict[str, str]:
    headers = bearer(session, user)
    session.commit()
    return headers


def _problem(r: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body
    return body


def _pages(client: TestClient, url: str, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        r = client.get(
            url, params={**params, "limit": 25, **({"cursor": cursor} if cursor else {})}, headers=headers
        )
        assert r.status_code == 200, r.text
        body = r.json()
        items.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            assert len(items) == body["total"]
            return items


def test_findings_filters_filter(client: TestClient, session: Session, world: World) -> None:
    h = _h(session, world.analyst_a)
    everything = _pages(client, "/api/v1/findings", h)
    assert len({f["id"] for f in everything}) == len(everything)
    cases: list[tuple[dict[str, str], Callable[[dict[str, Any]], bool]]] = [
        ({"severity": "high"}, lambda f: f["severity"] == "high"),
        ({"tool": "CodeQL"}, lambda f: f["tool_name"] == "CodeQL"),
        ({"target": "log4j-core"}, lambda f: "log4j-core" in (f["target_purl"] or "")),
        ({"kev": "true"}, lambda f: f["kev"]),
        ({"kev": "false"}, lambda f: not f["kev"]),
        ({"finder": "Lab A"}, lambda f: f["finder"] == "Lab A"),
    ]
    for params, keep in cases:
        got = {f["id"] for f in _pages(client, "/api/v1/findings", h, **params)}
        want = {f["id"] for f in everything if keep(f)}
        assert want, params
        assert got == want, params
    sev = _pages(client, "/api/v1/findings", h, sort="severity", order="desc")
    ranks = ["critical", "high", "medium", "low", "info", "unknown"]
    assert [ranks.index(f["severity"]) for f in sev] == sorted(ranks.index(f["severity"]) for f in sev)
    _problem(client.get("/api/v1/findings", params={"severity": "bad"}, headers=h), 422, "severity")
    _problem(client.get("/api/v1/findings", params={"cwe": "xss"}, headers=h), 422, "cwe")
    _problem(client.get("/api/v1/findings", params={"finder": "nobody-org"}, headers=h), 422, "finder")


def test_vulns_list_and_detail_with_credit_and_kev(
    client: TestClient, session: Session, world: World
) -> None:
    h = _h(session, world.analyst_a)
    rows = _pages(client, "/api/v1/vulns", h, q=RAPID_RESET)
    assert [r["aliases"] for r in rows] == [[RAPID_RESET]]
    assert rows[0]["kev"] == [RAPID_RESET]
    assert rows[0]["finders"] == 2
    assert rows[0]["first_finder"] == "Lab A"
    d = client.get(f"/api/v1/vulns/{rows[0]['id']}", headers=h).json()
    assert [(c["org"], c["found_at"][:10], c["first"]) for c in d["credit"]] == [
        ("Lab A", "2024-03-12", True),
        ("Vendor B", "2024-08-13", False),
    ]
    assert {f["finder"] for f in d["findings_list"]} == {"Lab A"}
    assert d["hidden_findings"] > 0  # Vendor B's findings exist but are not A's to see
    assert any(e["layer"] == 2 and e["reason"] == f"shared alias {RAPID_RESET}" for e in d["history"])


def test_other_organisation_gets_404_for_amber_cluster(
    client: TestClient, session: Session, world: World
) -> None:
    cid = cluster_of(session, "CVE-2021-44228")
    hc = _h(session, world.member_c)
    _problem(client.get(f"/api/v1/vulns/{cid}", headers=hc), 404)
    assert client.get("/api/v1/vulns", headers=hc).json()["total"] == 0
    assert client.get("/api/v1/findings", headers=hc).json()["total"] == 0
    hb = _h(session, world.analyst_b)
    ghsa = cluster_of(session, "GHSA-jfh8-c2jp-5v3q")
    _problem(
        client.post(f"/api/v1/vulns/{cid}/merge", json={"source_id": str(ghsa), "reason": "x"}, headers=hb),
        404,
    )
    batch = world.batches["log4j"]
    _problem(client.get(f"/api/v1/findings/imports/{batch}", headers=hb), 404)


def test_merge_split_round_trip_over_the_api(client: TestClient, session: Session, world: World) -> None:
    h = _h(session, world.analyst_a)
    cve, ghsa = cluster_of(session, "CVE-2021-44228"), cluster_of(session, "GHSA-jfh8-c2jp-5v3q")
    before = client.get(f"/api/v1/vulns/{cve}", headers=h).json()
    _problem(
        client.post(f"/api/v1/vulns/{cve}/merge", json={"source_id": str(ghsa), "reason": ""}, headers=h),
        422,
        "reason",
    )
    _problem(
        client.post(
            f"/api/v1/vulns/{cve}/merge",
            json={"source_id": str(ghsa), "reason": "x"},
            headers=_h(session, world.member_a),
        ),
        403,
    )
    r = client.post(
        f"/api/v1/vulns/{cve}/merge",
        json={"source_id": str(ghsa), "reason": "GitHub's id of Log4Shell"},
        headers=h,
    )
    assert r.status_code == 200, r.text
    merged = r.json()
    assert "GHSA-jfh8-c2jp-5v3q" in merged["aliases"]
    assert merged["kev"] == ["CVE-2021-44228"]
    assert merged["findings"] == before["findings"] + 1
    last = merged["history"][-1]
    assert (last["kind"], last["layer"], last["layer_name"], last["actor"], last["reason"]) == (
        "merge",
        0,
        "manual",
        world.analyst_a.email,
        "GitHub's id of Log4Shell",
    )
    _problem(
        client.post(
            f"/api/v1/vulns/{cve}/merge", json={"source_id": str(ghsa), "reason": "again"}, headers=h
        ),
        409,
    )
    assert client.get(f"/api/v1/vulns/{ghsa}", headers=h).json()["merged_into_id"] == str(cve)
    r = client.post(
        f"/api/v1/vulns/{cve}/split",
        json={"finding_ids": last["finding_ids"], "reason": "undo", "restore_id": str(ghsa)},
        headers=h,
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["created"]["id"] == str(ghsa)
    assert out["created"]["status"] == "new"
    assert out["source"]["findings"] == before["findings"]
    assert out["source"]["aliases"] == before["aliases"]
    assert out["source"]["credit"] == before["credit"]
    _problem(
        client.post(f"/api/v1/vulns/{cve}/split", json={"finding_ids": [], "reason": "x"}, headers=h),
        422,
        "finding_ids",
    )
    listed = {v["id"] for v in _pages(client, "/api/v1/vulns", h)}
    assert str(ghsa) in listed
    assert str(cve) in listed


# ---------------------------------------------------------------- uploads


def _upload(client: TestClient, headers: dict[str, str], name: str, content: bytes, **form: str) -> Any:
    return client.post(
        "/api/v1/findings/imports",
        files={"file": (name, content, "application/json")},
        data=form,
        headers=headers,
    )


def test_upload_runs_the_import_as_a_job(
    client: TestClient, session: Session, world: World, settings: Settings, shared_data: Path
) -> None:
    h = _h(session, world.member_b)
    raw = (shared_data / CODEQL).read_bytes()
    r = _upload(client, h, "codeQL-output.sarif", raw, format="sarif", model="example/model-1")
    assert r.status_code == 202, r.text
    job_url = r.headers["location"]
    assert job_url == f"/api/v1/jobs/{r.json()['id']}"
    job = client.get(job_url, headers=h).json()
    assert job["status"] == "succeeded", job
    expected = manifest_results(shared_data, CODEQL)
    assert job["result"]["received"] == expected
    batch = client.get(f"/api/v1/findings/imports/{job['result']['batch_id']}", headers=h).json()
    assert (batch["received"], batch["filename"], batch["format"], batch["model_id"]) == (
        expected,
        "codeQL-output.sarif",
        "sarif",
        "example/model-1",
    )
    # Lab A imported the same file already: B's copy is all duplicates (layer 1).
    assert (batch["new"], batch["duplicates"]) == (0, expected)
    uploads = settings.data_dir / "uploads"
    assert not any(p.is_file() for p in uploads.rglob("*"))
    # A gzip of a file it has never seen: new findings, with the model as provenance.
    r = _upload(client, h, "findings.sarif.gz", gzip.compress(raw.replace(b"good/", b"other/")), model="m-2")
    job = client.get(r.headers["location"], headers=h).json()
    assert job["status"] == "succeeded", job
    assert job["result"]["received"] == expected
    assert job["result"]["new"] > 0
    found = client.get(
        "/api/v1/findings", params={"batch_id": job["result"]["batch_id"], "limit": 500}, headers=h
    )
    assert found.json()["total"] == job["result"]["new"]
    assert {f["model_id"] for f in found.json()["items"]} == {"m-2"}


def test_bad_uploads_get_precise_errors(
    client: TestClient, session: Session, world: World, settings: Settings
) -> None:
    h = _h(session, world.member_b)
    _problem(_upload(client, h, "empty.sarif", b""), 422, "file")
    _problem(_upload(client, h, "a.sarif", b"{}", format="docx"), 422, "format")
    _problem(_upload(client, _h(session, world.viewer_a), "a.sarif", b"{}"), 403)
    r = client.post("/api/v1/findings/imports", data={"format": "auto"}, headers=h)
    _problem(r, 422, "file")
    # Truncated JSON: accepted for import, and the job fails saying where and why; nothing stored.
    before = client.get("/api/v1/findings", headers=h).json()["total"]
    r = _upload(
        client,
        h,
        "cut.sarif",
        b'{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [',
    )
    assert r.status_code == 202
    job = client.get(r.headers["location"], headers=h).json()
    assert job["status"] == "failed"
    assert job["error"].startswith("cut.sarif: $"), job["error"]
    assert client.get("/api/v1/findings", headers=h).json()["total"] == before
    # SARIF of an unknown version: the job names the field.
    doc = json.dumps({"version": "9.9", "runs": []}).encode()
    job = client.get(
        _upload(client, h, "v9.sarif", doc, format="sarif").headers["location"], headers=h
    ).json()
    assert job["status"] == "failed", job
    assert "version" in job["error"], job
    assert not any(p.is_file() for p in (settings.data_dir / "uploads").rglob("*"))


def test_upload_over_the_limit_is_refused(settings: Settings, session: Session, world: World) -> None:
    small = settings.model_copy(update={"max_upload_bytes": 4096})
    rt = build_runtime(small, immediate_jobs=True)
    try:
        with TestClient(create_app(small, runtime=rt)) as c:
            h = _h(session, world.member_b)
            r = _upload(c, h, "big.sarif", b"{" + b" " * 10_000 + b"}")
            _problem(r, 413)
    finally:
        rt.engine.dispose()
