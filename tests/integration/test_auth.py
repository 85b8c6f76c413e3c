"""Sign-in, sessions, CSRF and API tokens, including every way to get them wrong."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from frontiersec.platform.audit.models import AuditEntry
from frontiersec.platform.auth.models import ApiToken, User
from tests.factories import PASSWORD, bearer, login, make_org, make_user


def _count(session: Session, model: type) -> int:
    return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def test_password_is_stored_as_argon2(session: Session) -> None:
    user = make_user(session, make_org(session))
    session.commit()
    assert user.password_hash is not None
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_wrong_password_is_refused_and_audited(client: TestClient, session: Session) -> None:
    user = make_user(session, make_org(session))
    session.commit()
    client.get("/login")
    r = client.post(
        "/login",
        data={"email": user.email, "password": "wrong password!!", "csrf_token": client.cookies["fs_csrf"]},
    )
    assert r.status_code == 401
    assert "wrong email or password" in r.text
    assert "fs_session" not in client.cookies
    failed = (
        session.execute(select(AuditEntry).where(AuditEntry.action == "auth.login_failed")).scalars().all()
    )
    assert [e.actor_email for e in failed] == [user.email]


def test_login_without_csrf_is_refused(client: TestClient, session: Session) -> None:
    user = make_user(session, make_org(session))
    session.commit()
    client.get("/login")
    r = client.post(
        "/login", data={"email": user.email, "password": PASSWORD}, headers={"accept": "application/json"}
    )
    assert r.status_code == 403
    assert "CSRF" in r.json()["detail"]


def test_session_cookie_is_httponly_and_logout_ends_it(client: TestClient, session: Session) -> None:
    user = make_user(session, make_org(session))
    session.commit()
    client.get("/login")
    r = client.post(
        "/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": client.cookies["fs_csrf"]},
        follow_redirects=False,
    )
    cookie = r.headers["set-cookie"]
    assert "fs_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert client.get("/", follow_redirects=False).status_code == 200
    raw = client.cookies["fs_session"]
    r = client.post("/logout", data={"csrf_token": client.cookies["fs_csrf"]}, follow_redirects=False)
    assert r.status_code == 303
    client.cookies.set("fs_session", raw)
    assert client.get("/", follow_redirects=False).status_code == 303  # back to /login


def test_web_form_without_csrf_changes_nothing(client: TestClient, session: Session) -> None:
    user = make_user(session, make_org(session), role="admin")
    session.commit()
    login(client, user.email)
    before = _count(session, ApiToken)
    r = client.post("/tokens", data={"name": "x", "scopes": "read"})
    assert r.status_code == 403
    session.expire_all()
    assert _count(session, ApiToken) == before


def test_token_lifecycle(client: TestClient, session: Session) -> None:
    user = make_user(session, make_org(session))
    headers = bearer(session, user, ("read", "write"))
    session.commit()
    r = client.get("/api/v1/me", headers=headers)
    assert r.status_code == 200
    assert r.json()["email"] == user.email
    r = client.post("/api/v1/tokens", json={"name": "ci", "scopes": ["read"]}, headers=headers)
    assert r.status_code == 201
    new = r.json()
    assert new["token"].startswith("fsk_")
    stored = session.get(ApiToken, __import__("uuid").UUID(new["id"]))
    assert stored is not None
    assert new["token"] not in stored.token_hash
    listed = client.get("/api/v1/tokens", headers=headers).json()
    assert all("token" not in t for t in listed)
    read_only = {"Authorization": f"Bearer {new['token']}"}
    assert client.get("/api/v1/me", headers=read_only).status_code == 200
    r = client.post("/api/v1/tokens", json={"name": "x"}, headers=read_only)
    assert r.status_code == 403
    assert "write" in r.json()["detail"]
    assert client.delete(f"/api/v1/tokens/{new['id']}", headers=headers).status_code == 204
    r = client.get("/api/v1/me", headers=read_only)
    assert r.status_code == 401
    assert r.json()["detail"] == "this API token was revoked"


def test_expired_and_unknown_tokens(client: TestClient, session: Session) -> None:
    user = make_user(session, make_org(session))
    headers = bearer(session, user)
    session.commit()
    session.execute(update(ApiToken).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    session.commit()
    r = client.get("/api/v1/me", headers=headers)
    assert r.status_code == 401
    assert r.json()["detail"] == "this API token has expired"
    r = client.get("/api/v1/me", headers={"Authorization": "Bearer fsk_nope"})
    assert r.status_code == 401
    assert r.json()["detail"] == "unknown API token"
    assert r.headers["content-type"].startswith("application/problem+json")


def test_disabled_user_cannot_sign_in(client: TestClient, session: Session) -> None:
    user = make_user(session, make_org(session))
    session.commit()
    session.execute(update(User).where(User.id == user.id).values(is_active=False))
    session.commit()
    client.get("/login")
    r = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": client.cookies["fs_csrf"]}
    )
    assert r.status_code == 401
