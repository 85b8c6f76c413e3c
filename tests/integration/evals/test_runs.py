"""Evaluation runs end to end through the ``evals.run`` job, Inspect and the bubblewrap sandbox.

The models are the offline scripted agents (``scripted/reference`` replays each task's
reference solution, ``scripted/null`` submits nothing) and Inspect's ``mockllm/model``;
known answers come from the tasks' oracles (reference solves all, null none) and from
published formulas (Wilson, exact McNemar), never from the code under test.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from inspect_ai.log import read_eval_log
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from frontiersec.evals import profile as profiles
from frontiersec.evals import runs
from frontiersec.evals.catalog import load_tasks
from frontiersec.evals.models import EvalRun, EvalSample
from frontiersec.evals.sandbox import SandboxConfig
from frontiersec.evals.stats import mcnemar_exact, wilson_interval
from frontiersec.platform.auth.models import User
from frontiersec.platform.errors import InvalidInput, PermissionDenied
from frontiersec.platform.models import JobRecord
from frontiersec.platform.runtime import Runtime
from tests.factories import make_org, make_user, principal_of

pytestmark = pytest.mark.sandbox


def _run(session: Session, user: User, **kw: Any) -> uuid.UUID:
    run = runs.start_run(session, principal_of(session, user), **kw)
    rid: uuid.UUID = run.id
    session.commit()  # the job runs now (Huey immediate mode), after the commit
    session.expire_all()
    return rid


def test_reference_and_null_runs_store_samples_hashes_and_profile(
    session: Session, analyst: User, one_per_family: list[str]
) -> None:
    ref_id = _run(
        session,
        analyst,
        model="scripted/reference",
        task_ids=one_per_family,
        model_name="reference-agent",
        model_version="1",
    )
    null_id = _run(
        session,
        analyst,
        model="scripted/null",
        task_ids=one_per_family,
        model_name="null-agent",
        model_version="1",
    )
    for rid, expected in ((ref_id, 1.0), (null_id, 0.0)):
        run = session.get(EvalRun, rid)
        assert run is not None
        assert run.status == "succeeded", run.error
        assert (run.samples_done, run.samples_total, run.progress) == (3, 3, 100)
        samples = list(session.execute(select(EvalSample).where(EvalSample.run_id == rid)).scalars())
        assert sorted(s.task_id for s in samples) == sorted(one_per_family)
        assert {s.family for s in samples} == {"discovery", "exploitation", "patching"}
        assert all(s.score == expected and s.error is None for s in samples)
        # The stored digest is the file's SHA-256, and the file is the Inspect log of these samples.
        assert run.log_path
        assert run.log_sha256
        assert hashlib.sha256(Path(run.log_path).read_bytes()).hexdigest() == run.log_sha256
        log = read_eval_log(run.log_path)
        assert log.status == "success"
        assert sorted(str(s.id) for s in log.samples or []) == sorted(one_per_family)
        job = session.get(JobRecord, run.job_id)
        assert job is not None
        assert job.status == "succeeded"
        assert job.percent == 100

    principal = principal_of(session, analyst)
    ref = profiles.capability_profile(session, principal, "reference-agent", "1")
    null = profiles.capability_profile(session, principal, "null-agent", "1")
    for prof, successes in ((ref, 1), (null, 0)):
        assert set(prof.families) == {"discovery", "exploitation", "patching"}
        for fam in prof.families.values():
            iv = wilson_interval(successes, 1)
            assert (fam.successes, fam.n, fam.method) == (successes, 1, "wilson")
            assert (fam.rate, fam.low, fam.high) == pytest.approx((iv.point, iv.low, iv.high))
        assert [r.log_sha256 for r in prof.runs] == [session.get(EvalRun, prof.runs[0].id).log_sha256]  # type: ignore[union-attr]

    cmp = profiles.compare_profiles(session, principal, ("reference-agent", "1"), ("null-agent", "1"))
    assert (cmp.overall.shared, cmp.overall.a_only, cmp.overall.b_only) == (3, 3, 0)
    # exact McNemar with 3 discordant pairs all one way: 2 * (1/2)^3 = 0.25
    assert cmp.overall.p_value == pytest.approx(0.25)
    assert mcnemar_exact(3, 0) == pytest.approx(0.25)
    assert cmp.overall.diff == pytest.approx(1.0)


def test_mockllm_model_runs_offline(session: Session, analyst: User, one_per_family: list[str]) -> None:
    rid = _run(session, analyst, model="mockllm/model", task_ids=one_per_family)
    run = session.get(EvalRun, rid)
    assert run is not None
    assert run.status == "succeeded", run.error
    assert (run.model_name, run.model_version) == ("mockllm-model", "unversioned")
    assert run.note
    assert "mockllm" in run.note
    scores = session.execute(select(EvalSample.score).where(EvalSample.run_id == rid)).scalars().all()
    assert sorted(scores) == [0.0, 0.0, 0.0]
    prof = profiles.capability_profile(
        session, principal_of(session, analyst), "mockllm-model", "unversioned"
    )
    assert set(prof.families) == {"discovery", "exploitation", "patching"}
    assert all(f.rate == 0.0 and f.low == 0.0 and f.high > 0.5 for f in prof.families.values())


def test_epochs_repeat_samples_and_switch_to_clustered_intervals(session: Session, analyst: User) -> None:
    task = load_tasks()[0].id
    rid = _run(session, analyst, model="scripted/reference", task_ids=[task], epochs=2)
    rows = session.execute(select(EvalSample.epoch, EvalSample.score).where(EvalSample.run_id == rid)).all()
    assert sorted(rows) == [(1, 1.0), (2, 1.0)]
    run = session.get(EvalRun, rid)
    assert run is not None
    prof = profiles.capability_profile(
        session, principal_of(session, analyst), run.model_name, run.model_version
    )
    (fam,) = prof.families.values()
    assert (fam.n, fam.method, fam.rate) == (2, "clustered", 1.0)


def test_a_weakened_sandbox_refuses_the_run_before_any_sample(
    rt: Runtime, session: Session, analyst: User
) -> None:
    run = runs.start_run(session, principal_of(session, analyst), model="scripted/reference", limit=1)
    rid = run.id
    # Commit without dispatching: the job is executed below with a deliberately weakened sandbox.
    session.info.pop("frontiersec_jobs", None)
    session.commit()
    with pytest.raises(runs.RunFailed, match="isolation self-test failed"):
        runs.execute_run(
            rt.sessions,
            rid,
            box=rt.box,
            settings=rt.settings,
            sandbox_config=SandboxConfig(isolate_network=False),
        )
    session.expire_all()
    run2 = session.get(EvalRun, rid)
    assert run2 is not None
    assert run2.status == "failed"
    assert "escaped: network" in (run2.error or "")
    assert session.execute(select(func.count()).select_from(EvalSample)).scalar_one() == 0
    assert run2.logs == []
    assert run2.log_sha256 is None


def test_refused_endpoint_fails_the_run_naming_the_sample(
    session: Session, analyst: User, unused_tcp_port: int
) -> None:
    task = load_tasks()[0].id
    rid = _run(
        session,
        analyst,
        model="openai/some-model",
        model_base_url=f"http://127.0.0.1:{unused_tcp_port}/v1",
        api_key="sk-local-test",
        task_ids=[task],
        max_retries=0,
        timeout_s=5,
    )
    run = session.get(EvalRun, rid)
    assert run is not None
    assert run.status == "failed"
    assert f"task {task} epoch 1" in (run.error or "")
    assert "Connection" in (run.error or "") or "connect" in (run.error or "").lower()
    (row,) = session.execute(select(EvalSample).where(EvalSample.run_id == rid)).scalars()
    assert row.score is None
    assert row.error
    job = session.get(JobRecord, run.job_id)
    assert job is not None
    assert job.status == "failed"
    assert task in (job.error or "")


def test_bad_requests_are_refused_with_the_field_and_write_nothing(session: Session, analyst: User) -> None:
    p = principal_of(session, analyst)
    with pytest.raises(InvalidInput) as exc:
        runs.start_run(
            session,
            p,
            model="no-provider",
            epochs=0,
            model_base_url="ftp://x",
            suite="nope",
            model_name="a/b",
            task_ids=["nope"],
        )
    fields = {e.field for e in exc.value.errors}
    assert fields == {"model", "epochs", "model_base_url", "suite", "model_name", "task_ids"}
    session.rollback()
    assert session.execute(select(func.count()).select_from(EvalRun)).scalar_one() == 0


def test_only_agency_analysts_start_runs(session: Session) -> None:
    lab = make_org(session, kind="ai_developer")
    dev = make_user(session, lab, role="admin")
    agency = make_org(session, kind="government_agency")
    member = make_user(session, agency, role="member")
    session.commit()
    for user in (dev, member):
        with pytest.raises(PermissionDenied):
            runs.start_run(session, principal_of(session, user), model="scripted/null")


@pytest.fixture
def unused_tcp_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _dump(obj: object) -> str:
    return json.dumps(obj, default=str)
