"""``frontiersec findings list / vulns / vuln / merge / split`` through the real CLI."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from frontiersec.clearinghouse.models import Finding
from frontiersec.cli import app as cli_app
from frontiersec.settings import Settings
from tests.integration.clearinghouse.clusters_world import RAPID_RESET, World, build_world, cluster_of


@pytest.fixture
def world(session: Session, settings: Settings, tmp_path: Path) -> World:
    return build_world(session, settings, tmp_path)


@pytest.fixture
def env(settings: Settings) -> dict[str, str]:
    return {
        "FRONTIERSEC_DATA_DIR": str(settings.data_dir),
        "FRONTIERSEC_DATABASE_URL": settings.resolved_database_url,
        "FRONTIERSEC_DEMO_DATA": str(settings.demo_data),
    }


def _run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(cli_app, list(args), env=env)
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    return res.exit_code, res.stdout, res.stderr


def _json(env: dict[str, str], *args: str) -> Any:
    code, out, err = _run(env, *args, "--json")
    assert code == 0, out + err
    return json.loads(out)


def test_lists_filter_and_respect_visibility(env: dict[str, str], world: World) -> None:
    a = world.analyst_a.email
    high = _json(env, "findings", "list", "--severity", "high", "--limit", "500", "--as", a)
    assert high["total"] == len(high["items"]) > 0
    assert {f["severity"] for f in high["items"]} == {"high"}
    kev = _json(env, "findings", "vulns", "--kev", "--limit", "500", "--as", a)
    assert any(RAPID_RESET in v["aliases"] for v in kev["items"])
    assert all(v["kev"] for v in kev["items"])
    assert _json(env, "findings", "vulns", "--as", world.member_c.email)["total"] == 0
    shown = _json(env, "findings", "vuln", RAPID_RESET, "--as", a)
    assert [(c["org"], c["first"]) for c in shown["credit"]] == [("Lab A", True), ("Vendor B", False)]
    code, _out, err = _run(env, "findings", "vuln", RAPID_RESET, "--as", world.member_c.email)
    assert code == 2
    assert "no vulnerability" in err
    code, _out, err = _run(env, "findings", "list", "--severity", "urgent", "--as", a)
    assert code == 2
    assert "severity" in err


def test_merge_and_split_round_trip(env: dict[str, str], session: Session, world: World) -> None:
    a = world.analyst_a.email
    code, _out, err = _run(env, "findings", "merge", "CVE-2021-44228", "GHSA-jfh8-c2jp-5v3q", "--as", a)
    assert code == 2
    assert "reason" in err
    code, _out, err = _run(
        env,
        "findings",
        "merge",
        "CVE-2021-44228",
        "GHSA-jfh8-c2jp-5v3q",
        "--reason",
        "x",
        "--as",
        world.member_a.email,
    )
    assert code == 1
    assert "analyst" in err
    merged = _json(
        env,
        "findings",
        "merge",
        "CVE-2021-44228",
        "GHSA-jfh8-c2jp-5v3q",
        "--reason",
        "GitHub id of it",
        "--as",
        a,
    )
    assert "GHSA-jfh8-c2jp-5v3q" in merged["aliases"]
    assert merged["history"][-1]["layer"] == 0
    assert merged["history"][-1]["actor"] == a
    moved = merged["history"][-1]["findings_moved"]
    holder = str(
        session.execute(select(Finding.cluster_id).where(Finding.id == uuid.UUID(moved[0]))).scalar_one()
    )
    assert holder == merged["id"]  # the GHSA finding now sits in the CVE's cluster
    restored = _json(
        env,
        "findings",
        "split",
        merged["id"],
        *moved,
        "--reason",
        "undo",
        "--restore",
        merged["history"][-1]["other_vuln"],
        "--as",
        a,
    )
    assert restored["aliases"] == ["GHSA-jfh8-c2jp-5v3q"]
    assert restored["status"] == "new"
    session.expire_all()
    assert str(cluster_of(session, "GHSA-jfh8-c2jp-5v3q")) == restored["id"]
