"""Background jobs: progress and results users can watch, failures recorded, and queued
jobs that survive a restart (SQLite queue file, and Redis when available)."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from frontiersec.platform.auth.principal import SYSTEM
from frontiersec.platform.errors import InvalidInput
from frontiersec.platform.jobs import JobContext, enqueue, job
from frontiersec.platform.models import JobRecord
from frontiersec.platform.runtime import build_runtime
from frontiersec.settings import Settings
from tests.factories import bearer, make_org, make_user


@job("tests.echo")
def _echo(ctx: JobContext) -> dict[str, Any]:
    ctx.progress(50, "half way", force=True)
    return {"echo": ctx.params["value"], "attempt": ctx.attempt}


@job("tests.refuse")
def _refuse(ctx: JobContext) -> None:
    raise InvalidInput(f"cannot import {ctx.params['what']}: the file is empty")


@job("tests.crash")
def _crash(ctx: JobContext) -> None:
    raise ZeroDivisionError("secret internals")


def test_kev_reload_job_through_the_api(client: TestClient, session: Session, shared_data: Path) -> None:
    vulns = json.loads((shared_data / "cisa-kev" / "known_exploited_vulnerabilities.json").read_bytes())
    n = len(vulns["vulnerabilities"])
    analyst = make_user(session, make_org(session), role="analyst")
    headers = bearer(session, analyst)
    session.commit()
    r = client.post("/api/v1/kev/imports", headers=headers)
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    r = client.get(f"/api/v1/jobs/{job_id}", headers=headers)
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "succeeded", body
    assert body["percent"] == 100
    assert body["result"]["total"] == n
    assert body["result"]["added"] == n
    assert body["result"]["catalog_version"] == vulns["catalogVersion"]
    assert job_id in [j["id"] for j in client.get("/api/v1/jobs", headers=headers).json()]


def _enqueue(session: Session, name: str, params: dict[str, Any]) -> uuid.UUID:
    org = make_org(session)
    rec = enqueue(session, SYSTEM, name, params, owner_org_id=org.id)
    session.commit()
    return rec.id


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("tests.refuse", "cannot import feed.json: the file is empty"),
        ("tests.crash", "internal error (ZeroDivisionError)"),
    ],
)
def test_failing_job_is_recorded(session: Session, name: str, error: str) -> None:
    jid = _enqueue(session, name, {"what": "feed.json"})
    session.expire_all()
    rec = session.get(JobRecord, jid)
    assert rec is not None
    assert (rec.status, rec.error, rec.attempts) == ("failed", error, 1)
    assert rec.finished_at is not None
    assert "secret internals" not in (rec.error or "") + rec.message


def test_rolled_back_transaction_enqueues_nothing(session: Session) -> None:
    org = make_org(session)
    session.commit()
    rec = enqueue(session, SYSTEM, "tests.echo", {"value": 1}, owner_org_id=org.id)
    jid = rec.id
    session.rollback()
    assert session.get(JobRecord, jid) is None


def _wait_succeeded(settings: Settings, jid: uuid.UUID, timeout_s: float = 30.0) -> JobRecord:
    rt2 = build_runtime(settings)
    rt2.queue.start_consumer(1)
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with rt2.sessions() as s:
                rec = s.get(JobRecord, jid)
                assert rec is not None
                if rec.status in ("succeeded", "failed"):
                    s.expunge(rec)
                    return rec
            time.sleep(0.1)
        raise AssertionError(f"job {jid} did not finish within {timeout_s}s")
    finally:
        rt2.queue.stop_consumer()
        rt2.engine.dispose()


def _restart_roundtrip(settings: Settings) -> None:
    rt1 = build_runtime(settings)  # not immediate: the job waits in the queue's storage
    s = rt1.sessions()
    jid = _enqueue(s, "tests.echo", {"value": "survives"})
    s.close()
    with rt1.sessions() as s2:
        queued = s2.get(JobRecord, jid)
        assert queued is not None
        assert queued.status == "queued"
    rt1.engine.dispose()
    del rt1  # the process that enqueued is gone
    done = _wait_succeeded(settings, jid)
    assert done.status == "succeeded", done.error
    assert done.result == {"echo": "survives", "attempt": 1}
    assert done.percent == 100


def test_queued_job_survives_a_restart_sqlite(settings: Settings) -> None:
    assert settings.redis_url is None
    _restart_roundtrip(settings)
    assert (settings.data_dir / "jobs.db").exists()


@pytest.mark.redis
def test_queued_job_survives_a_restart_redis(settings: Settings) -> None:
    url = os.environ.get("FRONTIERSEC_TEST_REDIS_URL")
    if not url:
        pytest.skip("FRONTIERSEC_TEST_REDIS_URL is not set")
    # A database number of our own, so concurrent runs do not consume each other's tasks.
    u = make_url(url.replace("redis://", "postgresql://"))
    db = 1 + os.getpid() % 14
    redis_url = f"redis://{u.host}:{u.port or 6379}/{db}"
    _restart_roundtrip(settings.model_copy(update={"redis_url": redis_url}))
    assert not (settings.data_dir / "jobs.db").exists()
