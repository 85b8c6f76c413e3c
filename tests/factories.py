"""Plain typed factories for tests (no mocks of our own components)."""

from __future__ import annotations

import itertools

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from frontiersec.platform.auth import service as auth
from frontiersec.platform.auth.models import Organization, User
from frontiersec.platform.auth.principal import SYSTEM, Principal

PASSWORD = "correct horse battery staple"
_seq = itertools.count(1)


def make_org(session: Session, *, kind: str = "government_agency", name: str | None = None) -> Organization:
    """An organisation with a unique name."""
    return auth.create_org(session, SYSTEM, name=name or f"Org {next(_seq)}", kind=kind)


def make_user(
    session: Session,
    org: Organization,
    *,
    role: str = "analyst",
    email: str | None = None,
    operator: bool = False,
) -> User:
    """A user of ``org`` with the shared test password."""
    return auth.create_user(
        session,
        SYSTEM,
        email=email or f"user{next(_seq)}@test.example",
        display_name="Test User",
        password=PASSWORD,
        org_id=org.id,
        role=role,
        is_operator=operator,
    )


def principal_of(session: Session, user: User) -> Principal:
    """The principal a user acts as."""
    return auth.principal_for_email(session, user.email, via="session")


def login(client: TestClient, email: str, password: str = PASSWORD) -> None:
    """Sign a TestClient in through the real login form (CSRF included)."""
    r = client.get("/login")
    assert r.status_code == 200
    csrf = client.cookies.get("fs_csrf")
    assert csrf
    r = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def bearer(session: Session, user: User, scopes: tuple[str, ...] = ("read", "write")) -> dict[str, str]:
    """An Authorization header with a fresh token of ``user``."""
    _tok, raw = auth.create_token(session, principal_of(session, user), name="test", scopes=scopes)
    return {"Authorization": f"Bearer {raw}"}
