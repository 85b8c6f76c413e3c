"""Outbound webhooks against a fake receiver at the HTTP port (``httpx.MockTransport``):
the secret is shown once and stored encrypted, deliveries are HMAC-signed, failures are
retried with doubling delays and then given up, and the log is the owner's only."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from frontiersec.app import create_app
from frontiersec.platform.jobs import JobContext, RetryLater
from frontiersec.platform.models import JobRecord, WebhookDelivery, WebhookSubscription
from frontiersec.platform.runtime import Runtime, build_runtime
from frontiersec.platform.webhooks import deliver, emit_event
from frontiersec.settings import Settings
from tests.factories import bearer, make_org, make_user

URL = "https://receiver.example/hooks"


@dataclass
class Receiver:
    """A webhook receiver that checks signatures the way a real integrator would."""

    status: int = 200
    secret: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = request.content
        ts = request.headers["X-Frontiersec-Timestamp"]
        want = (
            "sha256=" + hmac.new(self.secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        )
        if not hmac.compare_digest(want, request.headers["X-Frontiersec-Signature"]):
            self.rejected.append("signature")
            return httpx.Response(401)
        if abs(time.time() - int(ts)) > 300:
            self.rejected.append("stale")
            return httpx.Response(401)
        event = json.loads(body)
        assert event["event"] == request.headers["X-Frontiersec-Event"]
        assert event["id"] == request.headers["X-Frontiersec-Delivery"]
        self.received.append(event)
        return httpx.Response(self.status)


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


def _runtime(settings: Settings, receiver: Receiver, *, immediate: bool) -> Runtime:
    return build_runtime(settings, immediate_jobs=immediate, http_transport=httpx.MockTransport(receiver))


@pytest.fixture
def wh_rt(settings: Settings, receiver: Receiver) -> Iterator[Runtime]:
    runtime = _runtime(settings, receiver, immediate=True)
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def wh_client(settings: Settings, wh_rt: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(settings, runtime=wh_rt)) as c:
        yield c


@dataclass
class World:
    org_a: uuid.UUID
    org_b: uuid.UUID
    admin_a: dict[str, str]
    viewer_a: dict[str, str]
    admin_b: dict[str, str]


@pytest.fixture
def world(wh_rt: Runtime) -> World:
    with wh_rt.sessions() as s:
        a, b = make_org(s), make_org(s)
        w = World(
            a.id,
            b.id,
            bearer(s, make_user(s, a, role="admin"), ("read", "write", "admin")),
            bearer(s, make_user(s, a, role="viewer")),
            bearer(s, make_user(s, b, role="admin"), ("read", "write", "admin")),
        )
        s.commit()
    return w


def _subscribe(client: TestClient, world: World, receiver: Receiver, events: list[str] | None = None) -> str:
    r = client.post("/api/v1/webhooks", json={"url": URL, "events": events or ["*"]}, headers=world.admin_a)
    assert r.status_code == 201, r.text
    receiver.secret = r.json()["secret"]
    return str(r.json()["id"])


def test_secret_shown_once_and_stored_encrypted(
    wh_client: TestClient, wh_rt: Runtime, world: World, receiver: Receiver
) -> None:
    sub_id = _subscribe(wh_client, world, receiver)
    secret = receiver.secret
    assert secret.startswith("whsec_")
    listed = wh_client.get("/api/v1/webhooks", headers=world.admin_a).json()
    assert [w["id"] for w in listed] == [sub_id]
    assert "secret" not in listed[0]
    assert secret not in json.dumps(listed)
    with wh_rt.sessions() as s:
        row = s.get(WebhookSubscription, uuid.UUID(sub_id))
        assert row is not None
        assert secret not in row.secret_encrypted
        assert row.secret_encrypted != secret
        assert wh_rt.box.decrypt_str(row.secret_encrypted) == secret


def test_viewer_cannot_subscribe(wh_client: TestClient, world: World) -> None:
    r = wh_client.post("/api/v1/webhooks", json={"url": URL, "events": ["*"]}, headers=world.viewer_a)
    assert r.status_code == 403


def test_signed_delivery_and_event_filter(
    wh_client: TestClient, wh_rt: Runtime, world: World, receiver: Receiver
) -> None:
    sub_id = _subscribe(wh_client, world, receiver, events=["kev.loaded"])
    with wh_rt.sessions() as s:
        emit_event(s, "kev.loaded", {"added": 3}, org_ids=[world.org_a, world.org_b])
        emit_event(s, "other.event", {"x": 1}, org_ids=[world.org_a])  # not subscribed
        s.commit()
    assert receiver.rejected == []
    assert [(e["event"], e["data"]) for e in receiver.received] == [("kev.loaded", {"added": 3})]
    log = wh_client.get(f"/api/v1/webhooks/{sub_id}/deliveries", headers=world.admin_a).json()
    assert [(d["event"], d["status"], d["attempts"], d["last_status_code"]) for d in log] == [
        ("kev.loaded", "delivered", 1, 200)
    ]


def test_wrong_secret_is_rejected_by_the_receiver(
    wh_client: TestClient, wh_rt: Runtime, world: World, receiver: Receiver
) -> None:
    sub_id = _subscribe(wh_client, world, receiver)
    receiver.secret = "whsec_not-the-secret"
    r = wh_client.post(f"/api/v1/webhooks/{sub_id}/ping", headers=world.admin_a)
    assert r.status_code == 202
    assert receiver.rejected == ["signature"] * 3  # every attempt refused
    log = wh_client.get(f"/api/v1/webhooks/{sub_id}/deliveries", headers=world.admin_a).json()
    assert (log[0]["status"], log[0]["attempts"], log[0]["last_status_code"]) == ("failed", 3, 401)


def _ctx(rt: Runtime, delivery_id: uuid.UUID, attempt: int) -> JobContext:
    return JobContext(
        job_id=uuid.uuid4(),
        params={"delivery_id": str(delivery_id)},
        sessions=rt.sessions,
        box=rt.box,
        queue=rt.queue,
        attempt=attempt,
        settings=rt.settings,
        http_transport=rt.queue.http_transport,
    )


def test_failing_endpoint_backs_off_then_fails(
    settings: Settings, receiver: Receiver, world: World, wh_client: TestClient
) -> None:
    sub_id = _subscribe(wh_client, world, receiver)
    receiver.status = 500
    rt = _runtime(settings, receiver, immediate=False)  # jobs wait; the test runs them one by one
    try:
        with rt.sessions() as s:
            [d] = emit_event(s, "ping", {"n": 1}, org_ids=[world.org_a])
            s.commit()
            did = d.id
        with rt.sessions() as s:
            job = (
                s.execute(select(JobRecord).where(JobRecord.name == "platform.webhook_deliver"))
                .scalars()
                .one()
            )
            assert (job.status, job.params) == ("queued", {"delivery_id": str(did)})
        base = settings.webhook_backoff_base_s
        for attempt in range(1, settings.webhook_max_attempts):
            started = dt.datetime.now(dt.UTC)
            with pytest.raises(RetryLater) as info:
                deliver(_ctx(rt, did, attempt))
            want_delay = base * 2 ** (attempt - 1)
            assert info.value.delay_s == want_delay
            with rt.sessions() as s:
                row = s.get(WebhookDelivery, did)
                assert row is not None
                assert (row.status, row.attempts, row.last_status_code) == ("retrying", attempt, 500)
                assert row.next_attempt_at is not None
                nxt = row.next_attempt_at.replace(tzinfo=row.next_attempt_at.tzinfo or dt.UTC)
                assert abs((nxt - started).total_seconds() - want_delay) < 2.0
        out = deliver(_ctx(rt, did, settings.webhook_max_attempts))
        assert out == {"status": "failed", "attempts": settings.webhook_max_attempts, "error": "HTTP 500"}
        with rt.sessions() as s:
            row = s.get(WebhookDelivery, did)
            assert row is not None
            assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 3, None)
        # A failed delivery is not sent again.
        sent = len(receiver.received)
        assert deliver(_ctx(rt, did, 4)) == {"status": "failed"}
        assert len(receiver.received) == sent == settings.webhook_max_attempts
    finally:
        rt.engine.dispose()
    log = wh_client.get(f"/api/v1/webhooks/{sub_id}/deliveries", headers=world.admin_a).json()
    assert [(x["status"], x["attempts"], x["last_error"]) for x in log] == [("failed", 3, "HTTP 500")]


def test_retries_run_as_jobs_until_given_up(
    wh_client: TestClient, wh_rt: Runtime, world: World, receiver: Receiver
) -> None:
    sub_id = _subscribe(wh_client, world, receiver)
    receiver.status = 503
    with wh_rt.sessions() as s:
        emit_event(s, "ping", {}, org_ids=[world.org_a])
        s.commit()
    with wh_rt.sessions() as s:
        job = s.execute(select(JobRecord).where(JobRecord.name == "platform.webhook_deliver")).scalars().one()
        assert (job.status, job.attempts, job.result) == (
            "succeeded",
            3,
            {"status": "failed", "attempts": 3, "error": "HTTP 503"},
        )
    assert len(receiver.received) == 3
    assert (
        wh_client.get(f"/api/v1/webhooks/{sub_id}/deliveries", headers=world.admin_a).json()[0]["status"]
        == "failed"
    )


def test_other_org_cannot_see_or_touch(wh_client: TestClient, world: World, receiver: Receiver) -> None:
    sub_id = _subscribe(wh_client, world, receiver)
    assert wh_client.post(f"/api/v1/webhooks/{sub_id}/ping", headers=world.admin_a).status_code == 202
    b = world.admin_b
    assert wh_client.get("/api/v1/webhooks", headers=b).json() == []
    for method, path in (
        ("GET", f"/api/v1/webhooks/{sub_id}/deliveries"),
        ("POST", f"/api/v1/webhooks/{sub_id}/ping"),
        ("DELETE", f"/api/v1/webhooks/{sub_id}"),
    ):
        r = wh_client.request(method, path, headers=b)
        assert r.status_code == 404, (method, path, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    # Still there for its owner, with the one delivery.
    log = wh_client.get(f"/api/v1/webhooks/{sub_id}/deliveries", headers=world.admin_a).json()
    assert [d["status"] for d in log] == ["delivered"]
    assert wh_client.delete(f"/api/v1/webhooks/{sub_id}", headers=world.admin_a).status_code == 204
    assert wh_client.get(f"/api/v1/webhooks/{sub_id}/deliveries", headers=world.admin_a).status_code == 404
