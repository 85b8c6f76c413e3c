"""The audit chain: appended by every write, verified end to end, and broken by tampering."""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from frontiersec.cli import app as cli_app
from frontiersec.platform.audit.models import AuditEntry
from frontiersec.platform.audit.service import record, verify_chain
from frontiersec.platform.auth.principal import SYSTEM
from frontiersec.settings import Settings
from tests.factories import make_org, make_user


def test_writes_are_chained_and_verify(session: Session) -> None:
    org = make_org(session)
    make_user(session, org)
    session.commit()
    rows = session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars().all()
    assert [r.action for r in rows] == ["org.create", "user.create"]
    assert rows[1].prev_hash == rows[0].entry_hash
    result = verify_chain(session)
    assert result.ok
    assert result.checked == 2


def test_altered_row_is_named(session: Session) -> None:
    for i in range(5):
        record(session, SYSTEM, "test.event", details={"i": i})
    session.commit()
    session.execute(text("UPDATE audit_entries SET actor_email = 'mallory@evil.example' WHERE seq = 3"))
    session.commit()
    session.expire_all()
    result = verify_chain(session)
    assert not result.ok
    assert result.first_broken_seq == 3
    assert "altered" in (result.reason or "")


def test_deleted_entry_is_detected(session: Session) -> None:
    for i in range(4):
        record(session, SYSTEM, "test.event", details={"i": i})
    session.commit()
    session.execute(text("DELETE FROM audit_entries WHERE seq = 2"))
    session.commit()
    result = verify_chain(session)
    assert not result.ok
    assert result.first_broken_seq == 2


def test_truncated_tail_is_detected(session: Session) -> None:
    for i in range(3):
        record(session, SYSTEM, "test.event", details={"i": i})
    session.commit()
    session.execute(text("DELETE FROM audit_entries WHERE seq = 3"))
    session.commit()
    assert not verify_chain(session).ok


def test_cli_audit_verify_passes_then_fails_after_tampering(
    settings: Settings, session: Session, monkeypatch: object
) -> None:
    env = {
        "FRONTIERSEC_DATA_DIR": str(settings.data_dir),
        "FRONTIERSEC_DATABASE_URL": settings.database_url or "",
        "FRONTIERSEC_DEMO_DATA": str(settings.demo_data),
    }
    runner = CliRunner()
    res = runner.invoke(cli_app, ["demo", "load"], env=env)
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli_app, ["audit", "verify"], env=env)
    assert res.exit_code == 0, res.output
    assert "intact" in res.output
    session.execute(text("UPDATE audit_entries SET details = '{\"x\": 1}' WHERE seq = 7"))
    session.commit()
    res = runner.invoke(cli_app, ["audit", "verify"], env=env)
    assert res.exit_code == 1
    assert "entry 7" in res.output
