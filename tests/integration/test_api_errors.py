"""Every malformed request is answered with problem+json naming what is wrong, and writes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from frontiersec.app import create_app
from frontiersec.platform.audit.models import AuditEntry
from frontiersec.platform.auth.models import ApiToken, Organization
from frontiersec.platform.models import JobRecord, WebhookSubscription
from frontiersec.platform.runtime import Runtime
from frontiersec.settings import Settings
from tests.factories import bearer, make_org, make_user

TABLES = (ApiToken, Organization, AuditEntry, WebhookSubscription, JobRecord)


def _counts(session: Session) -> dict[str, int]:
    session.expire_all()
    return {
        m.__tablename__: int(session.execute(select(func.count()).select_from(m)).scalar_one())
        for m in TABLES
    }


@pytest.fixture
def admin(session: Session) -> dict[str, str]:
    user = make_user(session, make_org(session), role="admin", operator=True)
    headers = bearer(session, user, ("read", "write", "admin"))
    session.commit()
    return headers


def _problem(r: object) -> dict[str, object]:
    assert r.headers["content-type"].startswith("application/problem+json")  # type: ignore[attr-defined]
    body = r.json()  # type: ignore[attr-defined]
    assert body["status"] == r.status_code  # type: ignore[attr-defined]
    return dict(body)


@pytest.mark.parametrize(
    ("path", "content", "status", "field"),
    [
        ("/api/v1/tokens", b'{"name": "x", "scopes": [', 400, "body"),
        ("/api/v1/tokens", b'{"name": "x", "colour": "red"}', 422, "colour"),
        ("/api/v1/tokens", b'{"name": "x", "expires_in_days": "soon"}', 422, "expires_in_days"),
        ("/api/v1/tokens", b'{"name": "x", "scopes": "read"}', 422, "scopes"),
        ("/api/v1/orgs", b'{"name": "Acme", "kind": "government_agency", "extra": 1}', 422, "extra"),
        ("/api/v1/webhooks", b'{"url": "https://x.example/h", "events": 5}', 422, "events"),
    ],
    ids=[
        "malformed",
        "unknown-field",
        "wrong-type-int",
        "wrong-type-list",
        "org-unknown-field",
        "webhook-type",
    ],
)
def test_bad_bodies(
    client: TestClient,
    session: Session,
    admin: dict[str, str],
    path: str,
    content: bytes,
    status: int,
    field: str,
) -> None:
    before = _counts(session)
    r = client.post(path, content=content, headers={**admin, "content-type": "application/json"})
    assert r.status_code == status, r.text
    body = _problem(r)
    assert body["errors"][0]["field"] == field  # type: ignore[index]
    assert _counts(session) == before


def test_unknown_route_is_problem_json(client: TestClient, admin: dict[str, str]) -> None:
    r = client.get("/api/v1/no-such-thing", headers=admin)
    assert r.status_code == 404
    body = _problem(r)
    assert "/api/v1/no-such-thing" in str(body["detail"])


def test_bad_cursor_and_path(client: TestClient, session: Session, admin: dict[str, str]) -> None:
    before = _counts(session)
    r = client.get("/api/v1/kev", params={"cursor": "%%%not-a-cursor"}, headers=admin)
    assert r.status_code == 422
    assert _problem(r)["errors"][0]["field"] == "cursor"  # type: ignore[index]
    r = client.get("/api/v1/audit", params={"cursor": "abc"}, headers=admin)
    assert r.status_code == 422
    assert _problem(r)["errors"][0]["field"] == "cursor"  # type: ignore[index]
    r = client.get("/api/v1/jobs/not-a-uuid", headers=admin)
    assert r.status_code == 422
    assert _problem(r)["errors"][0]["field"] == "job_id"  # type: ignore[index]
    assert _counts(session) == before


@pytest.fixture
def small_client(settings: Settings, rt: Runtime) -> Iterator[TestClient]:
    small = settings.model_copy(update={"max_json_bytes": 256})
    with TestClient(create_app(small, runtime=rt)) as c:
        yield c


def test_oversized_json_is_413(small_client: TestClient, session: Session, admin: dict[str, str]) -> None:
    before = _counts(session)
    body = json.dumps({"name": "x" * 400, "scopes": ["read"]}).encode()
    r = small_client.post(
        "/api/v1/tokens", content=body, headers={**admin, "content-type": "application/json"}
    )
    assert r.status_code == 413
    assert _problem(r)["code"] == "payload-too-large"
    # Within the limit the same route works, so the 413 came from the size alone.
    r = small_client.post("/api/v1/tokens", json={"name": "ok", "scopes": ["read"]}, headers=admin)
    assert r.status_code == 201
    after = _counts(session)
    assert after["api_tokens"] == before["api_tokens"] + 1
