"""`frontiersec designation ...` end to end: policy, determine, list, show --signed, offline
verify (exit 0, and non-zero after tampering or with an unpublished commitment), reconsider,
decide, and precise errors."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import pytest
import rfc8785
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from frontiersec.cli import app as cli_app
from frontiersec.platform.runtime import Runtime
from frontiersec.platform.signing import sign_document
from tests.integration.designation.world import POLICY_YAML, World, add_run, make_world

MODEL, VERSION = "frontier-x", "2.0"


@pytest.fixture
def env(settings: object, shared_data: Path, db_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "FRONTIERSEC_DATA_DIR": str(tmp_path / "data"),  # the same data dir (secret key) as `settings`
        "FRONTIERSEC_DATABASE_URL": db_url,
        "FRONTIERSEC_DEMO_DATA": str(shared_data),
    }


def _run(env: dict[str, str], *args: str) -> tuple[int, str]:
    res = CliRunner().invoke(cli_app, list(args), env=env)
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output
    return res.exit_code, res.output


def _ok(env: dict[str, str], *args: str) -> str:
    code, out = _run(env, *args)
    assert code == 0, out
    return out


@pytest.fixture
def world(session: Session, rt: Runtime, client: TestClient) -> World:  # client: signing key exists
    w = make_world(session, rt.box)
    add_run(session, w.agency, MODEL, VERSION, {"exploitation": (81, 263), "discovery": (15, 148)})
    session.commit()
    return w


def test_the_whole_path_on_the_command_line(
    world: World, env: dict[str, str], tmp_path: Path, client: TestClient, session: Session, rt: Runtime
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY_YAML)
    out = _ok(env, "designation", "policy", "add", str(policy), "--as", world.official.email, "--json")
    commitment = json.loads(out)["commitment"]

    det = json.loads(
        _ok(
            env,
            "designation",
            "determine",
            "--as",
            world.official.email,
            "--model",
            MODEL,
            "--version",
            VERSION,
            "--policy",
            "2026.1",
            "--developer",
            world.dev.slug,
            "--compute-flop",
            "2e26",
            "--params",
            "400000000000",
            "--json",
        )
    )
    assert det["result"] == "not_covered"  # Newcombe: 81/263 lower 0.2553 < 0.30; 15/148 upper 0.1605 < 0.40
    assert det["policy_commitment"] == commitment

    assert [
        d["id"] for d in json.loads(_ok(env, "designation", "list", "--as", world.dev_member.email, "--json"))
    ] == [det["id"]]
    assert json.loads(_ok(env, "designation", "list", "--as", world.other_member.email, "--json")) == []
    code, out = _run(env, "designation", "show", det["id"], "--as", world.other_member.email)
    assert code == 1
    assert "not found" in out

    signed_text = _ok(
        env, "designation", "show", det["id"], "--signed", "--as", world.dev_member.email
    ).strip()
    doc = json.loads(signed_text)
    assert signed_text.encode() == rfc8785.dumps(doc)
    f = tmp_path / "determination.json"
    f.write_text(signed_text)
    keys = tmp_path / "keys.json"
    keys.write_text(client.get("/.well-known/frontiersec-keys.json").text)
    published = tmp_path / "published.json"
    published.write_text(client.get("/api/v1/designation/policies/published").text)

    # Offline with saved keys and commitments, and against the local deployment's own.
    assert "valid: determination" in _ok(
        env, "designation", "verify", str(f), "--keys", str(keys), "--policies", str(published)
    )
    assert "matches the published one" in _ok(env, "designation", "verify", str(f))

    # One byte changed: "samples":411 → "samples":410.
    tampered = tmp_path / "tampered.json"
    assert '"samples":411' in signed_text
    tampered.write_text(signed_text.replace('"samples":411', '"samples":410'))
    code, out = _run(
        env, "designation", "verify", str(tampered), "--keys", str(keys), "--policies", str(published)
    )
    assert code == 1
    assert "signature does not match" in out
    # A signature that is not this deployment's.
    other_keys = tmp_path / "other-keys.json"
    other = json.loads(keys.read_text())
    other["keys"][0]["x"] = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    other_keys.write_text(json.dumps(other))
    assert (
        _run(env, "designation", "verify", str(f), "--keys", str(other_keys), "--policies", str(published))[0]
        == 1
    )
    # Validly signed, but citing a commitment that was never published for 2026.1.
    payload = copy.deepcopy(doc["payload"])
    payload["policy"]["commitment"] = hashlib.sha256(b"a secret other policy").hexdigest()
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(sign_document(session, rt.box, payload)))
    code, out = _run(
        env, "designation", "verify", str(forged), "--keys", str(keys), "--policies", str(published)
    )
    assert code == 1
    assert "does not match the published commitment" in out
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    assert (
        _run(env, "designation", "verify", str(garbage), "--keys", str(keys), "--policies", str(published))[0]
        != 0
    )

    # Reconsideration: the developer asks, the official decides (by the determination id).
    rec = json.loads(
        _ok(
            env,
            "designation",
            "reconsider",
            det["id"],
            "--as",
            world.dev_member.email,
            "--reason",
            "The exploitation tasks were run without our deployment safeguards.",
            "--json",
        )
    )
    assert rec["status"] == "requested"
    code, out = _run(
        env,
        "designation",
        "reconsider",
        det["id"],
        "--as",
        world.dev_member.email,
        "--reason",
        "once more please",
    )
    assert code == 1
    assert "still open" in out
    decided = json.loads(
        _ok(
            env,
            "designation",
            "decide",
            det["id"],
            "--as",
            world.official.email,
            "--outcome",
            "upheld",
            "--rationale",
            "The policy measures capability without safeguards.",
            "--json",
        )
    )
    assert decided["status"] == "upheld"
    t = json.loads(_ok(env, "designation", "transparency", "--json"))
    assert t["reconsiderations"]["by_status"]["upheld"] == 1


def test_cli_errors_are_precise(world: World, env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(POLICY_YAML.replace("covered_when: scale_and_capability", "covered_when: maybe"))
    code, out = _run(env, "designation", "policy", "add", str(bad), "--as", world.official.email)
    assert code == 2
    assert "combine.covered_when" in out
    good = tmp_path / "good.yaml"
    good.write_text(POLICY_YAML)
    code, out = _run(env, "designation", "policy", "add", str(good), "--as", world.dev_member.email)
    assert code == 1
    assert "reserved to designation officials" in out
    _ok(env, "designation", "policy", "add", str(good), "--as", world.official.email)
    code, out = _run(env, "designation", "policy", "show", "2026.1", "--as", world.dev_member.email)
    assert code == 1
    assert "not found" in out
    assert "Mirrors the 10^26" in _ok(
        env, "designation", "policy", "show", "2026.1", "--as", world.official.email
    )
    code, out = _run(
        env,
        "designation",
        "determine",
        "--as",
        world.official.email,
        "--model",
        "never-evaluated",
        "--version",
        "1",
        "--policy",
        "2026.1",
        "--developer",
        world.dev.slug,
    )
    assert code == 2
    assert "needs evidence" in out
    code, out = _run(
        env,
        "designation",
        "determine",
        "--as",
        world.official.email,
        "--model",
        MODEL,
        "--version",
        VERSION,
        "--policy",
        "2026.1",
    )
    assert code == 2
    assert "give the developer organisation" in out
