"""Reconsideration: the request period and the decision clock, visible to both sides; outcomes
that issue new signed determinations; re-evaluation after a new policy or model version."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from frontiersec.designation import service
from frontiersec.designation.errors import ReconsiderationPeriodClosed
from frontiersec.designation.models import Determination
from frontiersec.platform.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from frontiersec.platform.models import JobRecord
from frontiersec.platform.runtime import Runtime
from tests.factories import bearer
from tests.integration.designation.world import POLICY_YAML, World, add_run, make_world, publish

MODEL, VERSION = "frontier-x", "2.0"
REASON = "Our declared compute was mis-entered; the correct figure is attached."


@pytest.fixture
def world(session: Session, rt: Runtime) -> World:
    w = make_world(session, rt.box)
    publish(session, rt.box, w)
    session.commit()
    return w


def _issue(session: Session, rt: Runtime, w: World, **kw: Any) -> Determination:
    args: dict[str, Any] = {"training_compute_flop": 2e26, **kw}
    return service.issue_determination(
        session,
        w.p(session, w.official),
        rt.box,
        model_name=MODEL,
        model_version=VERSION,
        policy_version="2026.1",
        developer_org_id=w.dev.id,
        **args,
    )


def _request(session: Session, w: World, det: Determination, now: dt.datetime, **kw: Any) -> Any:
    return service.request_reconsideration(
        session,
        w.p(session, w.dev_member),
        det.id,
        reason=REASON,
        request_days=30,
        decision_days=30,
        now=now,
        **kw,
    )


def test_request_period(world: World, session: Session, rt: Runtime) -> None:
    det = _issue(session, rt, world)
    late = det.issued_at + dt.timedelta(days=30, seconds=1)
    with pytest.raises(ReconsiderationPeriodClosed) as exc:
        _request(session, world, det, late)
    deadline = det.issued_at + dt.timedelta(days=30)
    assert f"ended on {deadline:%Y-%m-%d %H:%M} UTC" in exc.value.detail
    assert "30 days after it was issued" in exc.value.detail
    # On the last day it is accepted, with the decision due 30 days later.
    on_time = det.issued_at + dt.timedelta(days=29, hours=23)
    rec = _request(session, world, det, on_time)
    assert rec.status == "requested"
    assert rec.decision_due == on_time + dt.timedelta(days=30)
    assert rec.request_deadline == deadline
    with pytest.raises(Conflict):
        _request(session, world, det, on_time)


def test_who_may_request(world: World, session: Session, rt: Runtime) -> None:
    det = _issue(session, rt, world)
    now = det.issued_at
    with pytest.raises(NotFound):
        service.request_reconsideration(
            session,
            world.p(session, world.other_member),
            det.id,
            reason=REASON,
            request_days=30,
            decision_days=30,
        )
    with pytest.raises(PermissionDenied):  # a viewer reads, a member asks
        service.request_reconsideration(
            session,
            world.p(session, world.dev_viewer),
            det.id,
            reason=REASON,
            request_days=30,
            decision_days=30,
        )
    with pytest.raises(PermissionDenied):  # officials see it but do not ask for the developer
        service.request_reconsideration(
            session,
            world.p(session, world.official),
            det.id,
            reason=REASON,
            request_days=30,
            decision_days=30,
        )
    with pytest.raises(InvalidInput):
        service.request_reconsideration(
            session,
            world.p(session, world.dev_member),
            det.id,
            reason="no",
            request_days=30,
            decision_days=30,
            now=now,
        )


def test_clock_status_and_outcome_visible_to_both_sides(
    world: World, session: Session, rt: Runtime, client: TestClient
) -> None:
    det = _issue(session, rt, world)
    session.commit()
    dev_h = bearer(session, world.dev_member)
    off_h = bearer(session, world.official)
    other_h = bearer(session, world.other_member)
    session.commit()
    r = client.post(
        f"/api/v1/designation/determinations/{det.id}/reconsiderations",
        json={"reason": REASON},
        headers=dev_h,
    )
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    assert client.get(f"/api/v1/designation/reconsiderations/{rid}", headers=other_h).status_code == 404
    r = client.post(
        f"/api/v1/designation/reconsiderations/{rid}/decision",
        json={"outcome": "upheld", "rationale": "x" * 12},
        headers=dev_h,
    )
    assert r.status_code == 403
    assert (
        client.post(f"/api/v1/designation/reconsiderations/{rid}/review", headers=off_h).json()["status"]
        == "under_review"
    )
    seen = client.get(f"/api/v1/designation/reconsiderations/{rid}", headers=dev_h).json()
    assert seen["status"] == "under_review"
    assert seen["decision_due"]
    r = client.post(
        f"/api/v1/designation/reconsiderations/{rid}/decision",
        json={"outcome": "upheld", "rationale": "Applied as published; compute was declared correctly."},
        headers=off_h,
    )
    assert r.status_code == 200, r.text
    dev_view = client.get(f"/api/v1/designation/reconsiderations/{rid}", headers=dev_h).json()
    assert dev_view["status"] == "upheld"
    assert dev_view["decision_rationale"].startswith("Applied as published")
    assert dev_view["new_determination_id"] is None
    again = client.post(
        f"/api/v1/designation/reconsiderations/{rid}/decision",
        json={"outcome": "reversed", "rationale": "changed our mind entirely"},
        headers=off_h,
    )
    assert again.status_code == 409


def test_late_request_via_api_is_412_with_the_reason(
    world: World, session: Session, rt: Runtime, client: TestClient
) -> None:
    det = _issue(session, rt, world)
    det.issued_at = det.issued_at - dt.timedelta(days=31)  # issued 31 days ago
    session.commit()
    h = bearer(session, world.dev_member)
    session.commit()
    r = client.post(
        f"/api/v1/designation/determinations/{det.id}/reconsiderations", json={"reason": REASON}, headers=h
    )
    assert r.status_code == 412
    body = r.json()
    assert body["code"] == "reconsideration-period-closed"
    assert "reconsideration period" in body["detail"]
    assert client.get("/api/v1/designation/reconsiderations", headers=h).json() == []


def test_modified_reapplies_the_policy_to_corrected_declarations(
    world: World, session: Session, rt: Runtime
) -> None:
    det = _issue(session, rt, world)  # 2e26 FLOP declared, no evaluations: insufficient evidence
    assert det.result == "insufficient_evidence"
    rec = _request(
        session, world, det, det.issued_at, training_compute_flop=3e24, parameter_count=7_000_000_000
    )
    decided = service.decide_reconsideration(
        session,
        world.p(session, world.official),
        rt.box,
        rec.id,
        outcome="modified",
        rationale="Corrected declarations accepted; both below the scale thresholds.",
    )
    assert decided.status == "modified"
    new = session.get(Determination, decided.new_determination_id)
    assert new is not None
    assert (new.result, new.basis, new.supersedes_id) == ("not_covered", "reconsideration", det.id)
    assert det.status == "superseded"
    assert new.document["payload"]["supersedes"] == str(det.id)
    assert new.evidence["declared"] == {
        "training_compute_flop": 3e24,
        "parameter_count": 7_000_000_000,
        "source": "reconsideration_request",
    }


def test_reversed_overrides_with_the_rationale_signed(world: World, session: Session, rt: Runtime) -> None:
    # Upper limits 0.1605 (15/148) and 0.1611 (0/20): both capability criteria unmet.
    add_run(session, world.agency, MODEL, VERSION, {"exploitation": (15, 148), "discovery": (0, 20)})
    det = _issue(session, rt, world)
    assert det.result == "not_covered"
    rec = _request(session, world, det, det.issued_at)
    decided = service.decide_reconsideration(
        session,
        world.p(session, world.official),
        rt.box,
        rec.id,
        outcome="reversed",
        rationale="Agency red team reproduced exploitation uplift outside the suite.",
    )
    new = session.get(Determination, decided.new_determination_id)
    assert new is not None
    assert new.result == "covered"
    payload = new.document["payload"]
    assert payload["computed_result"] == "not_covered"
    assert payload["override"]["rationale"].startswith("Agency red team")


def test_late_decision_is_accepted_and_counted(world: World, session: Session, rt: Runtime) -> None:
    det = _issue(session, rt, world)
    rec = _request(session, world, det, det.issued_at)
    service.decide_reconsideration(
        session,
        world.p(session, world.official),
        rt.box,
        rec.id,
        outcome="upheld",
        rationale="Upheld after the deadline.",
        now=rec.decision_due + dt.timedelta(days=2),
    )
    t = service.transparency(session)
    assert t["reconsiderations"]["decided_late"] == 1
    assert t["median_days"]["request_to_decision"] == 32.0


def test_new_policy_version_marks_reevaluation_due_and_the_job_reruns(
    world: World, session: Session, rt: Runtime, client: TestClient
) -> None:
    det = _issue(session, rt, world, parameter_count=7_000_000_000)
    session.commit()
    v2 = POLICY_YAML.replace('version: "2026.1"', 'version: "2026.2"').replace(
        "threshold: 1.0e26", "threshold: 1.0e27"
    )
    h = bearer(session, world.official)
    session.commit()
    assert client.post("/api/v1/designation/policies", json={"yaml": v2}, headers=h).status_code == 201
    session.expire_all()
    flagged = session.get(Determination, det.id)
    assert flagged is not None
    assert flagged.reevaluation_reason == "policy 2026.2 published"
    r = client.post("/api/v1/designation/reevaluations", headers=h)
    assert r.status_code == 202
    job = session.get(JobRecord, uuid.UUID(r.json()["id"]))
    session.refresh(job)
    assert job is not None
    assert job.status == "succeeded", job.error
    assert job.result is not None
    assert job.result["reevaluated"] == 1
    session.expire_all()
    new = session.execute(select(Determination).where(Determination.supersedes_id == det.id)).scalars().one()
    # Under 2026.2 the 2e26 FLOP, 7e9-parameter model is below both scale lines: not covered.
    assert (new.policy_version, new.result, new.basis) == ("2026.2", "not_covered", "re-evaluation")
    old = session.get(Determination, det.id)
    assert old is not None
    assert (old.status, old.reevaluation_due_at) == ("superseded", None)


def test_new_model_version_marks_reevaluation_due(world: World, session: Session, rt: Runtime) -> None:
    det = _issue(session, rt, world)
    n = service.flag_new_model_version(
        session,
        world.p(session, world.official),
        model_name=MODEL,
        new_version="2.1",
        developer_org_id=world.dev.id,
    )
    assert n == 1
    assert det.reevaluation_reason == "new model version 2.1"
    official = world.p(session, world.official)
    # Without any evidence on 2.1 yet, the re-run waits (stays due) instead of failing.
    assert service.reevaluate_due(session, official, rt.box) == []
    assert det.reevaluation_due_at is not None
    add_run(session, world.agency, MODEL, "2.1", {"exploitation": (0, 20), "discovery": (0, 20)})
    (new,) = service.reevaluate_due(session, official, rt.box)
    assert (new.model_version, new.result) == ("2.1", "not_covered")  # no scale declared; both unmet
    old = session.get(Determination, det.id)  # the 2.0 determination stays in force for 2.0
    assert old is not None
    assert (old.status, old.reevaluation_due_at) == ("current", None)
