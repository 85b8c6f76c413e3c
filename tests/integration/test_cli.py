"""The operator CLI end to end: schema, organisations, users, tokens, keys; and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from frontiersec.cli import app as cli_app
from frontiersec.settings import Settings

PASSWORD = "a long enough password"


@pytest.fixture
def env(tmp_path: Path, shared_data: Path, db_url: str) -> dict[str, str]:
    # db_url is already migrated; `db upgrade` on it must be a harmless no-op.
    return {
        "FRONTIERSEC_DATA_DIR": str(tmp_path / "data"),
        "FRONTIERSEC_DATABASE_URL": db_url,
        "FRONTIERSEC_DEMO_DATA": str(shared_data),
    }


def _ok(env: dict[str, str], *args: str) -> str:
    res = CliRunner().invoke(cli_app, list(args), env=env)
    assert res.exit_code == 0, res.output
    return res.stdout


def _err(env: dict[str, str], *args: str) -> str:
    res = CliRunner().invoke(cli_app, list(args), env=env)
    assert res.exit_code != 0, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output
    return res.output


def test_fresh_database_upgrade(tmp_path: Path, shared_data: Path) -> None:
    db = tmp_path / "fresh.db"
    env = {
        "FRONTIERSEC_DATA_DIR": str(tmp_path / "d"),
        "FRONTIERSEC_DATABASE_URL": f"sqlite:///{db}",
        "FRONTIERSEC_DEMO_DATA": str(shared_data),
    }
    assert "database at head" in _ok(env, "db", "upgrade")
    assert _ok(env, "orgs", "list", "--json").strip() == "[]"


def test_operator_workflow(env: dict[str, str], settings: Settings, client: TestClient) -> None:
    _ok(env, "db", "upgrade")
    org = json.loads(_ok(env, "orgs", "create", "Port Authority", "--kind", "government_agency", "--json"))
    assert org["slug"] == "port-authority"
    listed = json.loads(_ok(env, "orgs", "list", "--json"))
    assert [o["id"] for o in listed] == [org["id"]]

    _ok(
        env,
        "users",
        "create",
        "Ana@Port.example",
        "--org",
        "port-authority",
        "--role",
        "analyst",
        "--password",
        PASSWORD,
    )
    users = json.loads(_ok(env, "users", "list", "--org", org["id"], "--json"))
    assert [(u["email"], u["role"]) for u in users] == [("ana@port.example", "analyst")]

    tok = json.loads(_ok(env, "tokens", "create", "--as", "ana@port.example", "--scope", "read", "--json"))
    headers = {"Authorization": f"Bearer {tok['token']}"}
    r = client.get("/api/v1/me", headers=headers)
    assert r.status_code == 200
    assert r.json()["email"] == "ana@port.example"
    assert r.json()["scopes"] == ["read"]

    _ok(env, "tokens", "revoke", tok["id"], "--as", "ana@port.example")
    assert client.get("/api/v1/me", headers=headers).status_code == 401

    keys = json.loads(_ok(env, "keys", "list", "--json"))
    published = client.get("/.well-known/frontiersec-keys.json").json()["keys"]
    assert [k["kid"] for k in keys] == [k["kid"] for k in published]
    assert len(keys) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["users", "create", "x@y.example", "--org", "no-such-org", "--password", PASSWORD], "no-such-org"),
        (["users", "create", "not-an-email", "--org", "acme", "--password", PASSWORD], "email"),
        (["users", "create", "short@acme.example", "--org", "acme", "--password", "short"], "password"),
        (["tokens", "create", "--as", "ghost@acme.example"], "ghost@acme.example"),
        (["orgs", "create", "Acme", "--kind", "government_agency"], "already exists"),
        (["orgs", "create", "Other", "--kind", "pirate"], "kind"),
        (["tokens", "revoke", "not-a-uuid", "--as", "ghost@acme.example"], "not a token id"),
    ],
    ids=[
        "unknown-org",
        "bad-email",
        "short-password",
        "unknown-as",
        "duplicate-org",
        "bad-kind",
        "bad-token-id",
    ],
)
def test_bad_input_is_a_clear_error(env: dict[str, str], args: list[str], message: str) -> None:
    _ok(env, "orgs", "create", "Acme", "--kind", "government_agency")
    out = _err(env, *args)
    assert "error:" in out
    assert message in out
    # Nothing was added by the failed command.
    assert len(json.loads(_ok(env, "orgs", "list", "--json"))) == 1
    assert json.loads(_ok(env, "users", "list", "--org", "acme", "--json")) == []
