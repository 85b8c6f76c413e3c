"""A submission schedules the cyber suite against its endpoint (the offline scripted provider
stands in for the developer's model); at window end the run's own copy of the credential is
purged too and listed on the receipt."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from frontiersec.platform.runtime import Runtime
from frontiersec.review import service
from frontiersec.review.models import ReviewSubmission
from tests.factories import bearer
from tests.integration.review.conftest import CREDENTIAL, People, submit

pytestmark = pytest.mark.sandbox


def test_submission_schedules_a_run_and_window_end_purges_its_credential(
    client: TestClient, session: Session, rt: Runtime, people: People, offline: None
) -> None:
    sid = submit(session, rt, people, days=6, eval_model="scripted/reference", schedule_evaluation=True)
    team = bearer(session, people.evaluator)
    session.commit()
    got = client.get(f"/api/v1/review/submissions/{sid}", headers=team).json()
    assert len(got["runs"]) == 1
    run = got["runs"][0]
    assert run["model"] == "scripted/reference"
    assert run["status"] == "succeeded", run  # run at commit (immediate mode): one task, solved
    assert run["samples_done"] == run["samples_total"] == 1
    # The program owns the run (TLP:RED); the named team and the submitter see its results,
    # an official of the same agency who is not on the team does not.
    viewers = [(bearer(session, u), u.email, code) for u, code in ((people.dev, 200), (people.outsider, 404))]
    session.commit()
    for headers, email, status in [(team, people.evaluator.email, 200), *viewers]:
        seen = client.get(f"/api/v1/evals/runs/{run['id']}", headers=headers)
        assert seen.status_code == status, (email, seen.text)
    session.commit()
    row = session.execute(
        text("SELECT model_name, model_version, review_submission_id, credential_id FROM eval_runs")
    ).one()
    assert (row[0], row[1]) == ("lab-frontier", "2.0")
    assert str(row[2]).replace("-", "") == sid.hex
    secret = session.execute(
        text("SELECT secret_encrypted FROM eval_model_credentials WHERE id = :i"), {"i": row[3]}
    ).scalar_one()
    assert secret is not None
    assert CREDENTIAL not in secret
    assert rt.box.decrypt_str(secret) == CREDENTIAL

    sub = session.get(ReviewSubmission, sid)
    assert sub is not None
    receipt = service.close_window(session, sid, box=rt.box, now=sub.window_closes_at)
    session.commit()
    assert receipt is not None
    assert (
        session.execute(
            text("SELECT secret_encrypted FROM eval_model_credentials WHERE id = :i"), {"i": row[3]}
        ).scalar_one()
        is None
    )
    kinds = sorted(d["kind"] for d in receipt.document["payload"]["deleted"])
    assert kinds == ["document", "evaluation_credential", "model_credential"]
