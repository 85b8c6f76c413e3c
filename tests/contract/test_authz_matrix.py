"""The authorization matrix: every route of the app by every kind of principal, with the
status each one must get. Adding a route without adding its row fails
:func:`test_matrix_covers_every_route`.

Principals: anonymous; viewer, member, analyst and admin of organisation A; member and
admin of organisation B; a platform operator (member of a third organisation). API calls
use bearer tokens, web pages a server-side session cookie plus the CSRF double submit.
Path parameters are real records of organisation A created once for the module.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from frontiersec.app import create_app
from frontiersec.clearinghouse.service import load_kev
from frontiersec.platform import webhooks
from frontiersec.platform.auth import service as auth
from frontiersec.platform.auth.principal import SYSTEM
from frontiersec.platform.models import JobRecord
from frontiersec.platform.runtime import Runtime, build_runtime
from frontiersec.settings import Settings
from tests.contract import (
    matrix_clearinghouse,
    matrix_designation,
    matrix_evals,
    matrix_partners,
    matrix_review,
)
from tests.contract.matrix_common import (
    ADMIN_A,
    ADMIN_B,
    ADMINS_A,
    ANALYST_A,
    ANALYSTS,
    ANON,
    CSRF,
    MEMBER_A,
    MEMBER_B,
    OPERATOR,
    OWNERS_A,
    PRINCIPALS,
    SIGNED_IN,
    VIEWER_A,
    Row,
    SeedContext,
    everyone,
    next_n,
    only,
    signed_in,
)
from tests.factories import bearer, make_org, make_user
from tests.integration.conftest import BACKEND, PG_URL, _pg_exec, template_db  # noqa: F401


def _org_body() -> dict[str, Any]:
    return {"name": f"Matrix Org {next_n()}", "kind": "researcher"}


def _user_body_for(org_key: str) -> Callable[[], dict[str, Any]]:
    def body() -> dict[str, Any]:
        return {
            "email": f"new{next_n()}@matrix.example",
            "password": "x" * 14,
            "role": "member",
            "org_id": f"{{{org_key}}}",
        }

    return body


CORE: list[Row] = [
    # --- public
    Row("GET", "/api/v1/openapi.json", everyone(200)),
    Row("GET", "/api/v1/docs", everyone(200)),
    Row("GET", "/healthz", everyone(200)),
    Row("GET", "/metrics", everyone(200)),
    Row("GET", "/.well-known/frontiersec-keys.json", everyone(200)),
    # --- API: identity
    Row("GET", "/api/v1/me", signed_in(200)),
    Row("GET", "/api/v1/orgs", signed_in(200)),
    Row("POST", "/api/v1/orgs", only({OPERATOR}, 201, 403), json=_org_body),
    Row("GET", "/api/v1/orgs/{org_id}", signed_in(200)),
    Row("GET", "/api/v1/orgs/{org_id}/members", only(OWNERS_A, 200, 404)),
    # Without the admin token scope the request is refused before anything else.
    Row("POST", "/api/v1/users", only(ADMINS_A, 201, 403), json=_user_body_for("org_id")),
    Row("GET", "/api/v1/tokens", signed_in(200)),
    Row(
        "POST",
        "/api/v1/tokens",
        signed_in(201),
        json=lambda: {"name": "ro", "scopes": ["read"]},
        variant="read",
    ),
    Row(
        "POST",
        "/api/v1/tokens",
        only({ADMIN_A, ADMIN_B, OPERATOR}, 201, 403),
        json=lambda: {"name": "adm", "scopes": ["read", "admin"]},
        variant="admin-scope",
    ),
    Row("DELETE", "/api/v1/tokens/{token_id}", only({ADMIN_A, OPERATOR}, 204, 404)),
    Row("GET", "/api/v1/audit", only({ADMIN_A, ADMIN_B, OPERATOR}, 200, 403)),
    Row("GET", "/api/v1/audit/verify", only({OPERATOR}, 200, 403)),
    # --- API: jobs and webhooks (organisation-scoped: other organisations get 404)
    Row("GET", "/api/v1/jobs", signed_in(200)),
    Row("GET", "/api/v1/jobs/{job_id}", only(OWNERS_A, 200, 404)),
    Row("GET", "/api/v1/webhooks", signed_in(200)),
    Row(
        "POST",
        "/api/v1/webhooks",
        only({ADMIN_A, ADMIN_B, OPERATOR}, 201, 403),
        json=lambda: {"url": "https://hooks.example/x", "events": ["*"]},
    ),
    # The role check comes first (403 whatever the id); an admin of B learns nothing (404).
    Row("DELETE", "/api/v1/webhooks/{fresh_webhook_id}", only(ADMINS_A, 204, 403, admin_b=404)),
    Row("GET", "/api/v1/webhooks/{webhook_id}/deliveries", only(OWNERS_A, 200, 404)),
    Row("POST", "/api/v1/webhooks/{webhook_id}/ping", only(ADMINS_A, 202, 403, admin_b=404)),
    Row(
        "POST",
        "/api/v1/shares",
        only(OWNERS_A - {VIEWER_A}, 201, 404, viewer_a=403),
        json=lambda: {"object_type": "job", "object_id": "{fresh_job_id}", "org_id": "{org_b_id}"},
    ),
    # --- API: clearinghouse
    Row("GET", "/api/v1/kev", signed_in(200)),
    Row("GET", "/api/v1/kev/{cve_id}", signed_in(200)),
    Row("POST", "/api/v1/kev/imports", only(ANALYSTS, 202, 403)),
    Row(
        "POST",
        "/api/v1/sbom/match",
        signed_in(200),
        json=lambda: {
            "bomFormat": "CycloneDX",
            "specVersion": "1.6",
            "version": 1,
            "components": [
                {"type": "library", "name": "django", "version": "4.2.1", "purl": "pkg:pypi/django@4.2.1"}
            ],
        },
    ),
    # --- web
    Row("GET", "/login", everyone(200)),
    Row(
        "POST",
        "/login",
        everyone(401),
        form=lambda: {"email": "nobody@matrix.example", "password": "wrong password!", "csrf_token": CSRF},
    ),
    Row("POST", "/logout", signed_in(303), form=lambda: {"csrf_token": CSRF}),
    Row("GET", "/", signed_in(200)),
    Row("GET", "/area/{area}", signed_in(200)),
    Row("GET", "/orgs", signed_in(200)),
    Row(
        "POST",
        "/orgs",
        only({OPERATOR}, 303, 403),
        form=lambda: {"name": f"Web Org {next_n()}", "kind": "researcher", "csrf_token": CSRF},
    ),
    Row("GET", "/orgs/{org_id}", signed_in(200)),
    Row(
        "POST",
        "/orgs/{org_id}/users",
        only(ADMINS_A, 303, 403),
        form=lambda: {
            "email": f"web{next_n()}@matrix.example",
            "password": "y" * 14,
            "role": "viewer",
            "csrf_token": CSRF,
        },
    ),
    Row("GET", "/tokens", signed_in(200)),
    Row(
        "POST",
        "/tokens",
        signed_in(200),
        form=lambda: {"name": "web", "scopes": "read", "csrf_token": CSRF},
        variant="read",
    ),
    Row(
        "POST",
        "/tokens",
        only({ADMIN_A, ADMIN_B, OPERATOR}, 200, 403),
        form=lambda: {"name": "web", "scopes": ["read", "admin"], "csrf_token": CSRF},
        variant="admin-scope",
    ),
    Row(
        "POST",
        "/tokens/{token_id}/revoke",
        only({ADMIN_A, OPERATOR}, 303, 404),
        form=lambda: {"csrf_token": CSRF},
    ),
    Row("GET", "/webhooks", signed_in(200)),
    Row(
        "POST",
        "/webhooks",
        only({ADMIN_A, ADMIN_B, OPERATOR}, 200, 403),
        form=lambda: {"url": "https://hooks.example/web", "events": "*", "csrf_token": CSRF},
    ),
    Row("GET", "/audit", only({ADMIN_A, ADMIN_B, OPERATOR}, 200, 403)),
    Row("GET", "/jobs", signed_in(200)),
    Row("GET", "/jobs/{job_id}", only(OWNERS_A, 200, 404)),
    Row("GET", "/kev", signed_in(200)),
    Row("GET", "/kev/{cve_id}", signed_in(200)),
    Row("POST", "/kev/reload", only(ANALYSTS, 303, 403), form=lambda: {"csrf_token": CSRF}),
]

AREAS = [matrix_clearinghouse, matrix_evals, matrix_review, matrix_designation, matrix_partners]
TABLE: list[Row] = CORE + [row for area in AREAS for row in area.ROWS]
FRESH_RE = re.compile(r"\{fresh_(\w+)\}")


def _flat_routes(routes: list[Any]) -> Iterator[Any]:
    for r in routes:
        if hasattr(r, "effective_candidates"):  # FastAPI's included-router branch
            yield from _flat_routes(r.effective_candidates())
        else:
            yield r


def _route_keys(app: Any) -> set[tuple[str, str]]:
    keys = set()
    for r in _flat_routes(list(app.routes)):
        path = getattr(r, "path", None)
        if path is None or path.startswith("/static"):
            continue
        for m in getattr(r, "methods", None) or ():
            if m != "HEAD":
                keys.add((m, path))
    return keys


def _row_key(row: Row) -> tuple[str, str]:
    path = FRESH_RE.sub(r"{\1}", row.path).replace("{area}", "{key}")
    return row.method, path


# --------------------------------------------------------------------------- world


@dataclass
class World:
    client: TestClient
    ids: dict[str, str]
    api_headers: dict[str, dict[str, str]]
    web_cookies: dict[str, str]
    rt: Runtime
    fresh: Callable[[str], str]


@pytest.fixture(scope="module")
def matrix_db(template_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:  # noqa: F811
    if BACKEND == "sqlite":
        dst = tmp_path_factory.mktemp("matrix") / "matrix.db"
        shutil.copyfile(Path(make_url(template_db).database or ""), dst)
        yield f"sqlite:///{dst}"
        return
    name = f"fs_matrix_{os.getpid()}"
    _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _pg_exec(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(template_db).database}"')
    yield make_url(PG_URL or "").set(database=name).render_as_string(hide_password=False)
    _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def world(matrix_db: str, tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[World]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("matrix-data"), database_url=matrix_db, demo_data=shared_data
    )
    rt = build_runtime(settings)  # jobs are queued, not run: the matrix is about who may ask
    with rt.sessions() as s:
        org_a, org_b, org_ops = make_org(s), make_org(s), make_org(s)
        users = {
            VIEWER_A: make_user(s, org_a, role="viewer"),
            MEMBER_A: make_user(s, org_a, role="member"),
            ANALYST_A: make_user(s, org_a, role="analyst"),
            ADMIN_A: make_user(s, org_a, role="admin"),
            MEMBER_B: make_user(s, org_b, role="member"),
            ADMIN_B: make_user(s, org_b, role="admin"),
            OPERATOR: make_user(s, org_ops, role="member", operator=True),
        }
        api_headers = {
            p: bearer(
                s, u, ("read", "write", "admin") if p in (ADMIN_A, ADMIN_B, OPERATOR) else ("read", "write")
            )
            for p, u in users.items()
        }
        principals = {p: auth.principal_for_email(s, u.email, via="session") for p, u in users.items()}
        cookies = {p: auth.start_web_session(s, pr, max_age_s=3600) for p, pr in principals.items()}
        job = JobRecord(
            name="clearinghouse.load_kev",
            params={},
            owner_org_id=org_a.id,
            tlp="AMBER",
            created_by=users[ANALYST_A].id,
            message="queued",
        )
        s.add(job)
        sub, _secret = webhooks.create_subscription(
            s, principals[ADMIN_A], rt.box, url="https://a.example/h", events=["*"]
        )
        target_token, _raw = auth.create_token(s, principals[ADMIN_A], name="target", scopes=["read"])
        kev = (shared_data / "cisa-kev" / "known_exploited_vulnerabilities.json").read_bytes()
        import json

        doc = json.loads(kev)
        doc["vulnerabilities"] = doc["vulnerabilities"][:3]
        load_kev(s, SYSTEM, json.dumps(doc).encode())
        ids = {
            "org_id": str(org_a.id),
            "org_b_id": str(org_b.id),
            "job_id": str(job.id),
            "webhook_id": str(sub.id),
            "token_id": str(target_token.id),
            "cve_id": doc["vulnerabilities"][0]["cveID"],
            "area": "directives",
        }
        ctx = SeedContext(s, rt, org_a, org_b, org_ops, users, principals, shared_data, ids)
        for area in AREAS:
            seed = getattr(area, "seed", None)
            if seed is not None:
                s.flush()
                ids.update(seed(ctx))
        s.commit()
        # Organisation-A template for request bodies.
        principal_a = principals[ADMIN_A]
    area_fresh = {k: f for area in AREAS for k, f in getattr(area, "FRESH", {}).items()}

    def fresh(kind: str) -> str:
        with rt.sessions() as s2:
            if kind == "webhook":
                sub2, _ = webhooks.create_subscription(
                    s2, principal_a, rt.box, url="https://a.example/f", events=["*"]
                )
                out = str(sub2.id)
            elif kind == "job":  # a job of organisation A nobody has shared yet
                job2 = JobRecord(
                    name="clearinghouse.load_kev",
                    params={},
                    owner_org_id=principal_a.org_id,
                    tlp="AMBER",
                    created_by=principal_a.user_id,
                    message="queued",
                )
                s2.add(job2)
                s2.flush()
                out = str(job2.id)
            elif kind in area_fresh:
                out = area_fresh[kind](
                    SeedContext(
                        s2, rt, ctx.org_a, ctx.org_b, ctx.org_ops, users, principals, shared_data, ids
                    )
                )
            else:  # a web session that may be ended
                p = principals[kind]
                out = auth.start_web_session(s2, p, max_age_s=3600)
            s2.commit()
            return out

    app = create_app(settings, runtime=rt)
    with TestClient(app, base_url="http://testserver") as client:
        yield World(client, ids, api_headers, cookies, rt, fresh)
    rt.engine.dispose()


# --------------------------------------------------------------------------- tests


def test_matrix_covers_every_route(world: World) -> None:
    existing = _route_keys(world.client.app)
    covered = {_row_key(r) for r in TABLE}
    assert existing - covered == set(), "routes without a row in the authorization matrix"
    assert covered - existing == set(), "rows for routes that do not exist"
    for row in TABLE:
        assert set(row.expect) | {ANON} >= set(PRINCIPALS), row
        assert set(row.expect) - {ANON} == set(SIGNED_IN), row


def _request(world: World, row: Row, who: str) -> Any:
    ids = dict(world.ids)
    path = row.path
    for m in FRESH_RE.finditer(row.path):
        path = path.replace(m.group(0), world.fresh(m.group(1).removesuffix("_id")))
    path = path.format(**ids)
    headers: dict[str, str] = {}
    cookie = f"fs_csrf={CSRF}"
    if who != ANON:
        if row.api:
            headers.update(world.api_headers[who])
        else:
            raw = world.fresh(who) if row.path == "/logout" else world.web_cookies[who]
            cookie += f"; fs_session={raw}"
    headers["cookie"] = cookie
    kwargs: dict[str, Any] = {}
    if row.json is not None:
        body = row.json()
        for v in body.values():
            if isinstance(v, str) and (fm := FRESH_RE.fullmatch(v)):
                ids[v[1:-1]] = world.fresh(fm.group(1).removesuffix("_id"))
        kwargs["json"] = {k: (v.format(**ids) if isinstance(v, str) else v) for k, v in body.items()}
    if row.form is not None:
        kwargs["data"] = row.form()
    world.client.cookies.clear()
    r = world.client.request(row.method, path, headers=headers, follow_redirects=False, **kwargs)
    world.client.cookies.clear()
    return r


@pytest.mark.parametrize("who", PRINCIPALS)
@pytest.mark.parametrize(
    "row", TABLE, ids=[f"{r.method} {r.path}{' ' + r.variant if r.variant else ''}" for r in TABLE]
)
def test_authorization(world: World, row: Row, who: str) -> None:
    r = _request(world, row, who)
    if who == ANON and who not in row.expect:
        if row.api:
            assert r.status_code == 401, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["code"] == "authentication-required"
        else:
            assert r.status_code == 303, r.text
            assert r.headers["location"].startswith("/login?next=")
        return
    want = row.expect[who]
    assert r.status_code == want, f"{who} {row.method} {row.path}: {r.status_code} {r.text[:300]}"
    if row.api and want >= 400:
        assert r.headers["content-type"].startswith("application/problem+json")
    if row.path == "/logout":
        assert r.headers["location"] == "/login"


def test_other_org_audit_entries_are_not_visible(world: World) -> None:
    """Admins read only their own organisation's audit entries; the operator reads all."""

    def actors(who: str) -> set[str]:
        r = world.client.get("/api/v1/audit", params={"limit": 500}, headers=world.api_headers[who])
        assert r.status_code == 200
        return {e["actor_org_id"] for e in r.json()["items"]}

    a, b = actors(ADMIN_A), actors(ADMIN_B)
    assert a == {world.ids["org_id"]}
    assert world.ids["org_id"] not in b
    assert world.ids["org_id"] in actors(OPERATOR)
