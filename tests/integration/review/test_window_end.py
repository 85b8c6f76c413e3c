"""Window end: the credential is gone from the database (raw SQL, raw files), the documents'
content too, and a signed purge receipt verifies offline with the published keys and fails
after any change. The window closes without a report when the agencies did not finish, the
close job closes overdue windows, and nothing ever moves the developer's release date."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from frontiersec.cli import app as cli_app
from frontiersec.platform.errors import InvalidInput, PreconditionFailed
from frontiersec.platform.models import JobRecord
from frontiersec.platform.runtime import Runtime
from frontiersec.platform.signing import ensure_signing_key, verify_document
from frontiersec.review import service
from frontiersec.review.models import ReviewSubmission
from frontiersec.settings import Settings
from tests.factories import bearer, principal_of
from tests.integration.review.conftest import CREDENTIAL, SYSTEM_CARD, People, submit


def _sub(session: Session, sid: uuid.UUID) -> ReviewSubmission:
    session.expire_all()
    sub = session.get(ReviewSubmission, sid)
    assert sub is not None
    return sub


def _files_containing(roots: list[Path], needles: list[bytes]) -> list[str]:
    hits = []
    for root in roots:
        for path in [root] if root.is_file() else root.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                hits += [f"{path}: {n[:12]!r}" for n in needles if n in data]
    return hits


def test_window_end_purges_the_credential_and_issues_a_verifiable_receipt(
    client: TestClient, session: Session, rt: Runtime, settings: Settings, people: People, db_backend: str
) -> None:
    sid = submit(session, rt, people, days=5)
    cred_id, ciphertext = session.execute(text("SELECT id, ciphertext FROM review_credentials")).one()
    doc_cipher = bytes(session.execute(text("SELECT ciphertext FROM review_documents")).scalar_one())
    ciphertext = bytes(ciphertext)
    sub = _sub(session, sid)
    release, closes = sub.release_date, sub.window_closes_at
    # Not due yet: nothing happens.
    assert service.close_window(session, sid, box=rt.box, now=closes - dt.timedelta(seconds=1)) is None
    session.commit()
    assert session.execute(text("SELECT count(*) FROM review_credentials")).scalar_one() == 1

    receipt = service.close_window(session, sid, box=rt.box, now=closes)
    session.commit()
    assert receipt is not None

    # Proved on the raw tables: the credential row is gone, the documents' content is gone.
    assert session.execute(text("SELECT count(*) FROM review_credentials")).scalar_one() == 0
    assert session.execute(text("SELECT ciphertext FROM review_documents")).scalar_one() is None
    sub = _sub(session, sid)
    assert sub.status == "closed_without_report"
    assert sub.release_date == release
    assert sub.window_closes_at == closes

    # ... and on the raw files: neither the key nor its ciphertext is anywhere on disk.
    service.flush_purged_pages(session)  # as the close job does after its commit
    if db_backend == "sqlite":
        db_file = Path(make_url(settings.resolved_database_url).database or "")
        roots = [settings.data_dir, db_file, *db_file.parent.glob(db_file.name + "-*")]
    else:
        roots = [settings.data_dir]
    needles = [CREDENTIAL.encode(), ciphertext, doc_cipher, SYSTEM_CARD]
    assert _files_containing(roots, needles) == []

    # The developer fetches the receipt and verifies it with the published keys only.
    dev = bearer(session, people.dev)
    session.commit()
    doc = client.get(f"/api/v1/review/submissions/{sid}/purge-receipt", headers=dev).json()
    keys = client.get("/.well-known/frontiersec-keys.json").json()
    payload = verify_document(doc, keys)
    assert payload["type"] == "frontiersec.review.purge-receipt"
    assert payload["signing_key_id"] == doc["signature"]["kid"]
    assert payload["window"]["release_date"] == release.isoformat()
    deleted = {d["kind"]: d for d in payload["deleted"]}
    assert deleted["model_credential"]["id"] == str(uuid.UUID(str(cred_id)))
    assert deleted["model_credential"]["sha256_ciphertext"] == hashlib.sha256(ciphertext).hexdigest()
    assert deleted["document"]["sha256"] == hashlib.sha256(SYSTEM_CARD).hexdigest()
    # A changed byte anywhere in the payload breaks the signature.
    tampered = copy.deepcopy(doc)
    tampered["payload"]["purged_at"] = tampered["payload"]["purged_at"].replace("2", "3", 1)
    with pytest.raises(InvalidInput):
        verify_document(tampered, keys)
    raw = json.dumps(doc).encode()
    flipped = raw.replace(b'"model_credential"', b'"model_credentiaL"')
    with pytest.raises(InvalidInput):
        verify_document(json.loads(flipped), keys)

    # Idempotent: closing again returns the same receipt and changes nothing.
    again = service.close_window(session, sid, box=rt.box, now=closes + dt.timedelta(days=1))
    assert again is not None
    assert again.id == receipt.id


def test_receipt_verifies_offline_from_the_cli(
    client: TestClient, session: Session, rt: Runtime, settings: Settings, people: People, tmp_path: Path
) -> None:
    sid = submit(session, rt, people, days=2)
    service.close_window(session, sid, box=rt.box, now=_sub(session, sid).window_closes_at)
    dev = bearer(session, people.dev)
    session.commit()
    doc = client.get(f"/api/v1/review/submissions/{sid}/purge-receipt", headers=dev).json()
    keys = tmp_path / "keys.json"
    keys.write_text(client.get("/.well-known/frontiersec-keys.json").text)
    good, bad = tmp_path / "receipt.json", tmp_path / "forged.json"
    good.write_text(json.dumps(doc))
    bad.write_text(json.dumps(doc).replace("closed_without_report", "closed_without_repors"))
    env = {
        "FRONTIERSEC_DATA_DIR": str(settings.data_dir),
        "FRONTIERSEC_DATABASE_URL": settings.resolved_database_url,
        "FRONTIERSEC_DEMO_DATA": str(settings.demo_data),
    }
    ok = CliRunner().invoke(cli_app, ["review", "verify-receipt", str(good), "--keys", str(keys)], env=env)
    assert ok.exit_code == 0, ok.output
    assert "valid purge receipt" in ok.output
    forged = CliRunner().invoke(cli_app, ["review", "verify-receipt", str(bad), "--keys", str(keys)], env=env)
    assert forged.exit_code == 1
    assert "NOT VALID" in forged.output


def test_the_window_closes_on_time_without_a_report_and_a_late_report_is_refused(
    session: Session, rt: Runtime, people: People
) -> None:
    sid = submit(session, rt, people, days=1, credential=None, documents=False)
    closes = _sub(session, sid).window_closes_at
    with pytest.raises(PreconditionFailed, match="window closed"):
        service.issue_report(
            session,
            principal_of(session, people.evaluator),
            sid,
            summary="late",
            findings=[],
            now=closes + dt.timedelta(minutes=1),
        )
    session.rollback()
    receipt = service.close_window(session, sid, box=rt.box, now=closes)
    session.commit()
    assert receipt is not None
    assert receipt.document["payload"]["deleted"] == []
    assert _sub(session, sid).status == "closed_without_report"


def test_the_close_job_closes_an_overdue_window(session: Session, rt: Runtime, people: People) -> None:
    ensure_signing_key(session, rt.box)
    session.commit()
    # Submitted 10 days ago with a release date 5 days ago: the window is overdue when the
    # close job (queued at submission, run at commit in immediate mode) looks at it.
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    sid = submit(session, rt, people, days=5, now=past)
    sub = _sub(session, sid)
    assert sub.status == "closed_without_report"
    assert session.execute(text("SELECT count(*) FROM review_credentials")).scalar_one() == 0
    job = session.execute(select(JobRecord).where(JobRecord.name == "review.close_window")).scalars().one()
    assert job.status == "succeeded"
    assert job.result is not None
    assert job.result["closed"] is True


def test_a_pending_close_job_waits_and_a_sweep_closes_after_a_restart(
    session: Session, rt: Runtime, people: People
) -> None:
    ensure_signing_key(session, rt.box)
    session.commit()
    sid = submit(session, rt, people, days=3)
    job = session.execute(select(JobRecord).where(JobRecord.name == "review.close_window")).scalars().one()
    assert job.status == "succeeded"
    assert job.result == {
        "closed": False,
        "closes_at": _sub(session, sid).window_closes_at.isoformat(),
    }
    assert _sub(session, sid).status == "open"
    # Later (another process, after a restart): the sweep closes what is overdue, once.
    later = _sub(session, sid).window_closes_at + dt.timedelta(hours=1)
    assert service.close_overdue(session, box=rt.box, now=later) == [sid]
    session.commit()
    assert service.close_overdue(session, box=rt.box, now=later) == []
    assert _sub(session, sid).status == "closed_without_report"
