"""``kb sync``: incremental, verified fetches of KEV, OSV and EPSS, against a fake publisher.

The publisher is an ``httpx.MockTransport`` serving the REAL data in ``shared/data`` (CISA's KEV
catalog and its earlier snapshot, OSV zips built from the real PyPA and Go vulndb records) and EPSS
files in FIRST's exact layout; it honours ``If-None-Match`` like the real servers. The network is
never touched: an unexpected host fails the test.
"""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from frontiersec.clearinghouse.feeds import FeedOutcome, sync_feeds
from frontiersec.clearinghouse.kb_models import EpssScore, FeedState
from frontiersec.clearinghouse.models import Advisory, KevEntry
from frontiersec.cli import app as cli_app
from frontiersec.platform.audit.models import AuditEntry
from frontiersec.platform.auth.principal import SYSTEM
from frontiersec.platform.runtime import Runtime
from frontiersec.settings import Settings
from tests.factories import bearer, make_org, make_user
from tests.unit.clearinghouse.test_feeds_formats import epss_csv, kev_cves

KEV_URL = "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"
OSV_HOST = "osv-vulnerabilities.storage.googleapis.com"
EPSS_CURRENT = "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz"
N_OSV = 150


class Publisher:
    """A fake of the three publishers: one body and ETag per URL, 304 on a matching If-None-Match.

    ``/epss_scores-current.csv.gz`` redirects to the dated file, as FIRST's server does.
    """

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        self.requests: list[httpx.Request] = []
        self.down = False

    def serve(self, url: str, body: bytes, etag: str) -> None:
        self.files[url] = (body, etag)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.down:
            raise httpx.ConnectError("[Errno -3] Temporary failure in name resolution", request=request)
        url = str(request.url)
        if url == EPSS_CURRENT:
            return httpx.Response(302, headers={"Location": "/epss_scores-2025-08-25.csv.gz"})
        if url not in self.files:
            raise AssertionError(f"unexpected request to {url}")
        body, etag = self.files[url]
        if request.headers.get("if-none-match") == etag:
            return httpx.Response(304, headers={"ETag": etag})
        return httpx.Response(
            200, content=body, headers={"ETag": etag, "Last-Modified": "Mon, 25 Aug 2025 17:04:19 GMT"}
        )

    def sent(self, host_path: str) -> list[httpx.Request]:
        return [r for r in self.requests if host_path in str(r.url)]


def _osv_zip(shared_data: Path, rel: str, n: int) -> tuple[bytes, list[str]]:
    buf = io.BytesIO()
    ids: list[str] = []
    with gzip.open(shared_data / rel) as fh, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for line in fh:
            if not line.strip():
                continue
            rec = json.loads(line)
            zf.writestr(f"{rec['id']}.json", json.dumps(rec))
            ids.append(rec["id"])
            if len(ids) == n:
                break
    return buf.getvalue(), ids


def _kev_docs(shared_data: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    d = shared_data / "cisa-kev"
    old = json.loads(gzip.decompress((d / "known_exploited_vulnerabilities_2025-07-28.json.gz").read_bytes()))
    cur = json.loads((d / "known_exploited_vulnerabilities.json").read_bytes())
    return old, cur


@pytest.fixture
def publisher(shared_data: Path) -> Publisher:
    pub = Publisher()
    _old, cur = _kev_docs(shared_data)
    pub.serve(KEV_URL, json.dumps(cur).encode(), '"kev-current"')
    pypi, _ = _osv_zip(shared_data, "osv-pypi/pypa-advisories.osv.jsonl.gz", N_OSV)
    go, _ = _osv_zip(shared_data, "osv-other/go-vulndb.osv.jsonl.gz", N_OSV)
    pub.serve(f"https://{OSV_HOST}/PyPI/all.zip", pypi, '"pypi-1"')
    pub.serve(f"https://{OSV_HOST}/Go/all.zip", go, '"go-1"')
    cves = kev_cves(shared_data, 40)
    rows = [(c, f"{(i + 1) / 100:.5f}", f"{(i + 50) / 100:.5f}") for i, c in enumerate(cves)]
    pub.serve(
        "https://epss.empiricalsecurity.com/epss_scores-2025-08-25.csv.gz", epss_csv(rows, gz=True), '"e1"'
    )
    return pub


def _sync(rt: Runtime, settings: Settings, pub: Publisher, *feeds: str) -> dict[str, FeedOutcome]:
    out = sync_feeds(
        rt.sessions,
        SYSTEM,
        settings,
        feeds=feeds or ("all",),
        ecosystems=["PyPI", "Go"],
        transport=httpx.MockTransport(pub),
    )
    return {o.feed: o for o in out}


def _count(session: Session, model: Any, *where: Any) -> int:
    session.expire_all()
    return int(session.execute(select(func.count()).select_from(model).where(*where)).scalar_one())


def _state(session: Session, feed: str) -> FeedState:
    session.expire_all()
    row = session.get(FeedState, feed)
    assert row is not None
    return row


@pytest.fixture
def synced(rt: Runtime, settings: Settings, publisher: Publisher) -> dict[str, FeedOutcome]:
    return _sync(rt, settings, publisher)


def test_first_sync_loads_every_feed_and_stores_validators(
    synced: dict[str, FeedOutcome], session: Session, shared_data: Path, publisher: Publisher
) -> None:
    _old, cur = _kev_docs(shared_data)
    assert {k: o.status for k, o in synced.items()} == {
        "kev": "loaded",
        "osv:PyPI": "loaded",
        "osv:Go": "loaded",
        "epss": "loaded",
    }
    assert synced["kev"].result["total"] == len(cur["vulnerabilities"]) == _count(session, KevEntry)
    assert synced["osv:PyPI"].result["added"] == N_OSV
    assert _count(session, Advisory) == 2 * N_OSV
    assert synced["epss"].result["rows"] == 40 == _count(session, EpssScore)
    assert _state(session, "kev").etag == '"kev-current"'
    assert _state(session, "osv:Go").etag == '"go-1"'
    assert _state(session, "epss").etag == '"e1"'
    assert _state(session, "kev").last_modified == "Mon, 25 Aug 2025 17:04:19 GMT"
    # no conditional headers on a first fetch
    assert all("if-none-match" not in r.headers for r in publisher.requests)
    actions = session.execute(select(AuditEntry.action).where(AuditEntry.action == "kb.sync")).scalars().all()
    assert len(actions) == 4


def test_second_sync_sends_validators_and_loads_nothing(
    synced: dict[str, FeedOutcome], rt: Runtime, settings: Settings, publisher: Publisher, session: Session
) -> None:
    audits_before = _count(session, AuditEntry)
    publisher.requests.clear()
    again = _sync(rt, settings, publisher)
    assert {o.status for o in again.values()} == {"unchanged"}
    kev_req = publisher.sent("cisa.gov")[0]
    assert kev_req.headers["if-none-match"] == '"kev-current"'
    assert kev_req.headers["if-modified-since"] == "Mon, 25 Aug 2025 17:04:19 GMT"
    # the conditional header survives FIRST's redirect to the dated file
    assert [r.headers.get("if-none-match") for r in publisher.sent("epss")] == ['"e1"', '"e1"']
    assert _count(session, AuditEntry) == audits_before  # nothing loaded, nothing audited
    assert _state(session, "osv:PyPI").last_status == "unchanged"


def test_changed_kev_loads_only_the_difference(
    rt: Runtime, settings: Settings, publisher: Publisher, session: Session, shared_data: Path
) -> None:
    old, cur = _kev_docs(shared_data)
    publisher.serve(KEV_URL, json.dumps(old).encode(), '"kev-2025-07-28"')
    first = _sync(rt, settings, publisher, "kev")["kev"]
    assert first.result["added"] == len(old["vulnerabilities"]) == _count(session, KevEntry)
    publisher.serve(KEV_URL, json.dumps(cur).encode(), '"kev-2025-08-25"')
    second = _sync(rt, settings, publisher, "kev")["kev"]
    old_ids = {v["cveID"] for v in old["vulnerabilities"]}
    cur_ids = {v["cveID"] for v in cur["vulnerabilities"]}
    assert second.status == "loaded"
    assert second.result["added"] == len(cur_ids - old_ids)
    assert second.result["added"] > 0
    assert second.result["total"] == len(cur_ids)
    assert _count(session, KevEntry) == len(old_ids | cur_ids)
    assert publisher.sent("cisa.gov")[-1].headers["if-none-match"] == '"kev-2025-07-28"'
    assert _state(session, "kev").etag == '"kev-2025-08-25"'


def test_same_bytes_under_a_new_etag_are_unchanged(
    synced: dict[str, FeedOutcome], rt: Runtime, settings: Settings, publisher: Publisher, session: Session
) -> None:
    body, _etag = publisher.files[KEV_URL]
    publisher.serve(KEV_URL, body, '"kev-rebuilt"')
    out = _sync(rt, settings, publisher, "kev")["kev"]
    assert out.status == "unchanged"
    assert _state(session, "kev").etag == '"kev-rebuilt"'


def test_schema_invalid_kev_loads_nothing_and_keeps_the_old_etag(
    synced: dict[str, FeedOutcome],
    rt: Runtime,
    settings: Settings,
    publisher: Publisher,
    session: Session,
    shared_data: Path,
) -> None:
    _old, cur = _kev_docs(shared_data)
    bad = json.loads(json.dumps(cur))
    first_cve = bad["vulnerabilities"][0]["cveID"]
    bad["vulnerabilities"][0]["product"] = "CHANGED BY A BROKEN FEED"
    extra = dict(bad["vulnerabilities"][1], cveID="CVE-2099-00001")
    bad["vulnerabilities"].append(extra)
    del bad["count"]  # required by CISA's schema
    publisher.serve(KEV_URL, json.dumps(bad).encode(), '"kev-broken"')
    before = _count(session, KevEntry)
    out = _sync(rt, settings, publisher, "kev")["kev"]
    assert out.status == "failed"
    assert out.error is not None
    assert "'count' is a required property" in out.error
    assert _count(session, KevEntry) == before
    assert _count(session, KevEntry, KevEntry.cve_id == "CVE-2099-00001") == 0
    row = session.execute(select(KevEntry).where(KevEntry.cve_id == first_cve)).scalar_one()
    assert row.product == cur["vulnerabilities"][0]["product"]
    st = _state(session, "kev")
    assert (st.etag, st.last_status) == ('"kev-current"', "failed")
    assert st.last_error == out.error
    # the next sync still asks with the last good ETag, so the broken copy is fetched again
    publisher.requests.clear()
    _sync(rt, settings, publisher, "kev")
    assert publisher.sent("cisa.gov")[0].headers["if-none-match"] == '"kev-current"'


def test_truncated_osv_zip_loads_nothing(
    synced: dict[str, FeedOutcome],
    rt: Runtime,
    settings: Settings,
    publisher: Publisher,
    session: Session,
    shared_data: Path,
) -> None:
    bigger, _ids = _osv_zip(shared_data, "osv-pypi/pypa-advisories.osv.jsonl.gz", N_OSV + 50)
    publisher.serve(f"https://{OSV_HOST}/PyPI/all.zip", bigger[: len(bigger) // 2], '"pypi-2"')
    out = _sync(rt, settings, publisher, "osv")
    assert out["osv:PyPI"].status == "failed"
    assert "not a readable zip archive" in (out["osv:PyPI"].error or "")
    assert out["osv:Go"].status == "unchanged"
    assert _count(session, Advisory) == 2 * N_OSV
    assert _state(session, "osv:PyPI").etag == '"pypi-1"'
    # the whole export, served correctly, then adds exactly the 50 new records
    publisher.serve(f"https://{OSV_HOST}/PyPI/all.zip", bigger, '"pypi-3"')
    fixed = _sync(rt, settings, publisher, "osv")["osv:PyPI"]
    assert (fixed.status, fixed.result["added"], fixed.result["unchanged"]) == ("loaded", 50, N_OSV)


def test_bad_epss_row_loads_nothing(
    synced: dict[str, FeedOutcome],
    rt: Runtime,
    settings: Settings,
    publisher: Publisher,
    session: Session,
    shared_data: Path,
) -> None:
    # real CVE ids (KEV + PyPA advisories' aliases): more than one write batch (2000 rows) before the bad row
    with gzip.open(shared_data / "osv-pypi/pypa-advisories.osv.jsonl.gz") as fh:
        aliases = [a for line in fh for a in json.loads(line).get("aliases", [])]
    cves = list(dict.fromkeys([*kev_cves(shared_data, 2000), *(a for a in aliases if a.startswith("CVE-"))]))
    assert len(cves) > 2500
    rows = [(c, "0.50000", "0.90000") for c in cves[:2500]]
    rows.append((cves[2500], "1.5", "0.9"))  # line 2503: the first two lines are the comment and header
    url = "https://epss.empiricalsecurity.com/epss_scores-2025-08-25.csv.gz"
    publisher.serve(url, epss_csv(rows, gz=True), '"e2"')
    out = _sync(rt, settings, publisher, "epss")["epss"]
    assert out.status == "failed"
    assert "line 2503, column epss" in (out.error or "")
    assert _count(session, EpssScore) == 40
    assert _count(session, EpssScore, EpssScore.epss == 0.5) == 0
    assert _state(session, "epss").etag == '"e1"'
    publisher.serve(url, gzip.compress(epss_csv(rows[:10]))[:-20], '"e3"')  # truncated gzip
    out = _sync(rt, settings, publisher, "epss")["epss"]
    assert out.status == "failed"
    assert _count(session, EpssScore, EpssScore.epss == 0.5) == 0


def test_offline_http_error_and_oversized_downloads_fail_cleanly(
    rt: Runtime, settings: Settings, publisher: Publisher, session: Session
) -> None:
    publisher.down = True
    out = _sync(rt, settings, publisher, "kev")["kev"]
    assert out.status == "failed"
    assert out.error == f"cannot reach {KEV_URL}: [Errno -3] Temporary failure in name resolution"
    assert _state(session, "kev").etag is None

    publisher.down = False
    small = settings.model_copy(update={"kb_feed_max_bytes": 1000})
    out = _sync(rt, small, publisher, "kev")["kev"]
    assert out.status == "failed"
    assert "1000-byte limit" in (out.error or "")

    def server_error(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, request=request)

    res = sync_feeds(
        rt.sessions, SYSTEM, settings, feeds=["kev"], transport=httpx.MockTransport(server_error)
    )
    assert res[0].error == f"{KEV_URL} answered HTTP 503 Service Unavailable"
    assert _count(session, KevEntry) == 0


# ------------------------------------------------------------------------------------------------ CLI


@pytest.fixture
def env(settings: Settings) -> dict[str, str]:
    return {
        "FRONTIERSEC_DATA_DIR": str(settings.data_dir),
        "FRONTIERSEC_DATABASE_URL": settings.resolved_database_url,
        "FRONTIERSEC_DEMO_DATA": str(settings.demo_data),
        "FRONTIERSEC_KB_OSV_ECOSYSTEMS": '["PyPI"]',
    }


def _cli(env: dict[str, str], pub: Publisher, *args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(cli_app, list(args), env=env, obj={"http_transport": httpx.MockTransport(pub)})
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    return res.exit_code, res.stdout, res.stderr


def test_cli_sync_prints_progress_and_exit_codes(
    env: dict[str, str], publisher: Publisher, session: Session, shared_data: Path
) -> None:
    _old, cur = _kev_docs(shared_data)
    n_kev = len(cur["vulnerabilities"])
    code, out, err = _cli(env, publisher, "kb", "sync")
    assert code == 0, out + err
    lines = out.splitlines()
    assert lines[0] == f"kev: GET {KEV_URL}"
    assert f"kev: loaded {n_kev} ({n_kev} added, 0 updated, 0 unchanged)" in lines
    assert f"osv:PyPI: loaded {N_OSV} ({N_OSV} added, 0 updated, 0 unchanged)" in lines
    assert "epss: loaded 40 (40 added, 0 updated, 0 unchanged)" in lines
    assert lines[-1] == "3 feeds: 3 loaded, 0 unchanged, 0 failed"

    code, out, err = _cli(env, publisher, "kb", "sync", "--feed", "kev", "--json")
    assert code == 0, out + err
    assert [o["status"] for o in json.loads(out)] == ["unchanged"]
    assert "kev: unchanged (304 Not Modified); nothing loaded" in err

    publisher.down = True
    code, out, err = _cli(env, publisher, "kb", "sync", "--feed", "epss")
    assert code == 1
    assert (
        "epss: FAILED: cannot reach https://epss.empiricalsecurity.com/epss_scores-current.csv.gz: "
        "[Errno -3] Temporary failure in name resolution"
    ) in out
    assert out.splitlines()[-1] == "1 feeds: 0 loaded, 0 unchanged, 1 failed"

    code, out, err = _cli(env, publisher, "kb", "feeds", "--json")
    assert code == 0
    states = {r["feed"]: r for r in json.loads(out)}
    assert states["kev"]["status"] == "unchanged"
    assert states["epss"]["status"] == "failed"
    assert states["epss"]["etag"] == '"e1"'

    code, _out, err = _cli(env, publisher, "kb", "sync", "--feed", "nvd")
    assert code == 2
    assert "unknown feed 'nvd'" in err


def test_api_lists_feed_state(
    synced: dict[str, FeedOutcome], client: TestClient, session: Session, publisher: Publisher
) -> None:
    user = make_user(session, make_org(session), role="viewer")
    headers = bearer(session, user, ("read",))
    session.commit()
    r = client.get("/api/v1/kb/feeds", headers=headers)
    assert r.status_code == 200, r.text
    items = {i["feed"]: i for i in r.json()["items"]}
    assert set(items) == {"epss", "kev", "osv:Go", "osv:PyPI"}
    assert items["kev"]["etag"] == publisher.files[KEV_URL][1]
    assert items["kev"]["last_status"] == "loaded"
    assert items["epss"]["last_result"]["rows"] == 40
    assert client.get("/api/v1/kb/feeds").status_code == 401
