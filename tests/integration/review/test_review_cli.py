"""`frontiersec review ...` end to end with --as: submit (and the refused long window), show,
team, report, respond, two-person export, receipt, and the overdue sweep."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from frontiersec.cli import app as cli_app
from frontiersec.platform.audit.models import AuditEntry
from frontiersec.platform.runtime import Runtime
from frontiersec.settings import Settings
from tests.integration.review.conftest import CREDENTIAL, People, release_in


@pytest.fixture
def env(settings: Settings) -> dict[str, str]:
    return {
        "FRONTIERSEC_DATA_DIR": str(settings.data_dir),
        "FRONTIERSEC_DATABASE_URL": settings.resolved_database_url,
        "FRONTIERSEC_DEMO_DATA": str(settings.demo_data),
        "LAB_KEY": CREDENTIAL,
    }


def _run(env: dict[str, str], *args: str, code: int = 0) -> str:
    res = CliRunner().invoke(cli_app, list(args), env=env)
    assert res.exit_code == code, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    return res.output


def test_submit_refuses_a_release_date_more_than_30_days_ahead(
    env: dict[str, str], session: Session, people: People
) -> None:
    far = release_in(45).isoformat()
    out = _run(
        env,
        "review",
        "submit",
        "--as",
        people.dev.email,
        "--model",
        "lab-frontier",
        "--version",
        "2.0",
        "--release-date",
        far,
        "--endpoint",
        "https://api.ailab.example/v1",
        "--json",
        code=2,
    )
    assert f"release date {far} is 45 days after submission" in out
    assert "may not exceed 30 days" in out
    assert session.execute(text("SELECT count(*) FROM review_submissions")).scalar_one() == 0
    out = _run(
        env,
        "review",
        "submit",
        "--as",
        people.dev.email,
        "--model",
        "m",
        "--version",
        "1",
        "--release-date",
        "2020-01-01",
        code=2,
    )
    assert "is in the past" in out
    _run(
        env,
        "review",
        "submit",
        "--as",
        people.dev.email,
        "--model",
        "m",
        "--version",
        "1",
        "--release-date",
        "next week",
        code=2,
    )


def test_the_whole_review_from_the_cli(
    env: dict[str, str], session: Session, rt: Runtime, people: People, tmp_path: Path
) -> None:
    card = tmp_path / "card.md"
    card.write_text("# System card\n")
    out = _run(
        env,
        "review",
        "submit",
        "--as",
        people.dev.email,
        "--model",
        "lab-frontier",
        "--version",
        "2.0",
        "--release-date",
        release_in(12).isoformat(),
        "--endpoint",
        "https://api.ailab.example/v1",
        "--access",
        "white-box",
        "--credential-env",
        "LAB_KEY",
        "--compute-flop",
        "3e25",
        "--params",
        "400000000000",
        "--reviewer",
        people.evaluator.email,
        "--system-card",
        str(card),
        "--no-evaluate",
        "--json",
    )
    assert CREDENTIAL not in out
    sub = json.loads(out)
    sid = sub["id"]
    assert sub["access_level"] == "white-box"
    assert sub["credential_stored"] is True
    assert sub["training_compute_flop"] == 3e25
    assert sub["parameter_count"] == 400_000_000_000
    assert sub["countdown"]["days"] == 11

    listed = json.loads(_run(env, "review", "list", "--as", people.evaluator.email, "--json"))
    assert [r["id"] for r in listed] == [sid]
    assert "not found" in _run(env, "review", "show", sid, "--as", people.outsider.email, code=1)
    with rt.sessions() as s:
        flagged = (
            s.execute(select(AuditEntry).where(AuditEntry.action == "review.access_refused")).scalars().all()
        )
    assert [(e.actor_email, e.via) for e in flagged] == [(people.outsider.email, "cli")]

    _run(env, "review", "team", "add", sid, people.analyst.email, "--as", people.evaluator.email)
    shown = _run(env, "review", "show", sid, "--as", people.analyst.email)
    assert "lab-frontier 2.0" in shown
    assert people.analyst.email in shown

    rep = json.loads(
        _run(
            env,
            "review",
            "report",
            sid,
            "--as",
            people.evaluator.email,
            "--summary",
            "Findings attached.",
            "--finding",
            "high|Exploit generation|Solved 4 of 5 exploitation tasks.",
            "--finding",
            "info|Patching|Solid.",
            "--json",
        )
    )
    fids = [f["id"] for f in rep["findings"]]
    assert [f["severity"] for f in rep["findings"]] == ["high", "info"]
    _run(env, "review", "respond", sid, fids[0], "disputed", "--as", people.dev.email, code=2)  # no comment
    _run(
        env, "review", "respond", sid, fids[0], "disputed", "--comment", "scaffold", "--as", people.dev.email
    )
    _run(env, "review", "respond", sid, fids[1], "acknowledged", "--as", people.dev.email)

    exp = json.loads(
        _run(
            env,
            "review",
            "export-request",
            sid,
            "--material",
            "report",
            "--reason",
            "brief",
            "--as",
            people.evaluator.email,
            "--json",
        )
    )
    _run(env, "review", "export-approve", sid, exp["id"], "--as", people.evaluator.email, code=1)
    _run(env, "review", "export-approve", sid, exp["id"], "--as", people.analyst.email)
    target = tmp_path / "export.json"
    _run(
        env, "review", "export-download", sid, exp["id"], "--out", str(target), "--as", people.evaluator.email
    )
    exported = json.loads(target.read_text())
    assert exported["frontiersec_export"]["recipient"]["user_id"] == str(people.evaluator.id)
    assert [f["response"] for f in exported["content"]["findings"]] == ["disputed", "acknowledged"]

    # No receipt before the window closes; the sweep leaves an open window alone.
    _run(env, "review", "receipt", sid, "--as", people.dev.email, code=1)
    assert "closed 0" in _run(env, "review", "close-overdue")
