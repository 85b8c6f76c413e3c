"""Log imports (a real Inspect log made here, and a malformed one), the API views and the pages."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from inspect_ai import Task
from inspect_ai import eval as inspect_eval
from inspect_ai.dataset import Sample
from inspect_ai.scorer import includes
from inspect_ai.solver import generate
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from frontiersec.evals import runs
from frontiersec.evals.catalog import load_tasks
from frontiersec.evals.inspect_bridge import provider as _provider  # registers scripted/*
from frontiersec.evals.inspect_bridge.tasks import build_task
from frontiersec.evals.models import EvalRun, EvalSample
from frontiersec.evals.stats import wilson_interval
from frontiersec.platform.auth.models import User
from frontiersec.settings import Settings
from tests.factories import bearer, login, make_org, make_user, principal_of

pytestmark = pytest.mark.sandbox
_ = _provider


def _counts(session: Session) -> tuple[int, int]:
    return (
        session.execute(select(func.count()).select_from(EvalRun)).scalar_one(),
        session.execute(select(func.count()).select_from(EvalSample)).scalar_one(),
    )


@pytest.fixture
def suite_log(tmp_path: Path, one_per_family: list[str]) -> Path:
    """A real .eval log: Inspect runs three of our tasks with the reference agent."""
    specs = [s for s in load_tasks() if s.id in one_per_family]
    (log,) = inspect_eval(
        build_task(specs, name="cyber_core"),
        model="scripted/reference",
        log_dir=str(tmp_path / "elsewhere"),
        display="none",
        log_level="warning",
    )
    assert log.status == "success"
    return Path(log.location)


@pytest.fixture
def external_log(tmp_path: Path) -> Path:
    """A real .eval log of a task that is not ours (two samples, the null agent answers nothing)."""
    task = Task(
        dataset=[
            Sample(id="s1", input="Say ok", target="ok"),
            Sample(id="s2", input="Say yes", target="yes"),
        ],
        solver=generate(tool_calls="none"),
        scorer=includes(),
        message_limit=4,
        name="ctf_elsewhere",
    )
    (log,) = inspect_eval(
        task, model="scripted/null", log_dir=str(tmp_path / "ext"), display="none", log_level="warning"
    )
    return Path(log.location)


def test_import_of_a_real_log_through_the_api(
    client: TestClient,
    session: Session,
    analyst: User,
    suite_log: Path,
    external_log: Path,
    settings: Settings,
) -> None:
    headers = bearer(session, analyst)
    session.commit()
    r = client.post(
        "/api/v1/evals/imports",
        headers=headers,
        files={"file": (suite_log.name, suite_log.read_bytes(), "application/octet-stream")},
        data={"model_name": "reference-elsewhere", "model_version": "7"},
    )
    assert r.status_code == 201, r.text
    run = r.json()
    assert (run["source"], run["status"], run["samples_done"], run["samples_total"]) == (
        "import",
        "succeeded",
        3,
        3,
    )
    assert run["log_sha256"] == hashlib.sha256(suite_log.read_bytes()).hexdigest()
    detail = client.get(f"/api/v1/evals/runs/{run['id']}", headers=headers).json()
    assert {f["family"]: (f["successes"], f["n"]) for f in detail["families"]} == {
        "discovery": (1, 1),
        "exploitation": (1, 1),
        "patching": (1, 1),
    }
    prof = client.get("/api/v1/evals/profiles/reference-elsewhere/7", headers=headers).json()
    iv = wilson_interval(1, 1)
    assert all((f["low"], f["high"]) == pytest.approx((iv.low, iv.high)) for f in prof["families"])
    assert prof["runs"][0]["log_sha256"] == run["log_sha256"]

    r = client.post(
        "/api/v1/evals/imports",
        headers=headers,
        files={"file": (external_log.name, external_log.read_bytes(), "application/octet-stream")},
    )
    assert r.status_code == 201, r.text
    ext = r.json()
    assert ext["model_name"] == "scripted-null"
    assert ext["suite"] == "import:ctf_elsewhere"
    samples = client.get(f"/api/v1/evals/runs/{ext['id']}/samples", headers=headers).json()
    assert {(s["task_id"], s["family"], s["score"]) for s in samples} == {
        ("ctf_elsewhere:s1", "external:ctf_elsewhere", 0.0),
        ("ctf_elsewhere:s2", "external:ctf_elsewhere", 0.0),
    }
    # Both are now profiles one can compare: no shared samples, so no paired statistics.
    cmp = client.get(
        "/api/v1/evals/compare",
        params={"a": "reference-elsewhere@7", "b": "scripted-null@unversioned"},
        headers=headers,
    )
    assert cmp.status_code == 200, cmp.text
    assert cmp.json()["overall"]["shared"] == 0
    assert cmp.json()["overall"]["p_value"] is None


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("broken.eval", b"PK\x03\x04 this is not a zip archive"),
        ("notes.eval", b"just some text"),
        ("log.txt", b"{}"),
    ],
)
def test_a_malformed_log_is_refused_and_nothing_is_written(
    client: TestClient, session: Session, analyst: User, settings: Settings, name: str, content: bytes
) -> None:
    headers = bearer(session, analyst)
    session.commit()
    before = _counts(session)
    r = client.post(
        "/api/v1/evals/imports", headers=headers, files={"file": (name, content, "application/octet-stream")}
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in r.json()["errors"]] == ["file"]
    session.expire_all()
    assert _counts(session) == before
    imports = settings.data_dir / "eval-logs" / "imports"
    assert not imports.exists() or not any(imports.iterdir())


def test_run_api_validation_and_visibility(client: TestClient, session: Session, analyst: User) -> None:
    headers = bearer(session, analyst)
    other = make_user(session, make_org(session, kind="government_agency"), role="analyst")
    other_headers = bearer(session, other)
    session.commit()
    r = client.post("/api/v1/evals/runs", headers=headers, json={"model": "nope", "epochs": 1})
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["model"]
    r = client.post(
        "/api/v1/evals/runs",
        headers=headers,
        json={
            "model": "scripted/null",
            "task_ids": [load_tasks()[0].id],
            "model_name": "null",
            "model_version": "1",
        },
    )
    assert r.status_code == 202, r.text
    rid = r.json()["run"]["id"]
    assert r.json()["job"]["name"] == "evals.run"
    got = client.get(f"/api/v1/evals/runs/{rid}", headers=headers)
    assert got.status_code == 200
    assert got.json()["status"] == "succeeded"
    # Another organisation does not learn the run exists (AMBER).
    assert client.get(f"/api/v1/evals/runs/{rid}", headers=other_headers).status_code == 404
    assert client.get("/api/v1/evals/profiles/null/1", headers=other_headers).status_code == 404
    assert rid not in client.get("/api/v1/evals/runs", headers=other_headers).text
    # Shared with that organisation, it becomes visible (the platform's sharing API).
    share = client.post(
        "/api/v1/shares",
        headers=headers,
        json={
            "object_type": "eval_run",
            "object_id": rid,
            "org_id": str(principal_of(session, other).org_id),
        },
    )
    assert share.status_code == 201, share.text
    assert client.get("/api/v1/evals/profiles/null/1", headers=other_headers).status_code == 200
    r = client.get(f"/api/v1/evals/runs/{rid}/samples", headers=headers, params={"sort": "bogus"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "sort"
    r = client.get("/api/v1/evals/compare", headers=headers, params={"a": "null", "b": "null@1"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "a"


def test_pages_show_runs_profile_chart_and_comparison(
    client: TestClient, session: Session, analyst: User, one_per_family: list[str]
) -> None:
    p = principal_of(session, analyst)
    runs.start_run(
        session, p, model="scripted/reference", task_ids=one_per_family, model_name="ref", model_version="1"
    )
    session.commit()
    runs.start_run(
        session, p, model="scripted/null", task_ids=one_per_family, model_name="null", model_version="1"
    )
    session.commit()
    login(client, analyst.email)
    page = client.get("/evals")
    assert page.status_code == 200
    assert 'type="password"' in page.text
    assert "Start run" in page.text
    run_id = session.execute(select(EvalRun.id).where(EvalRun.model_name == "ref")).scalar_one()
    detail = client.get(f"/evals/runs/{run_id}")
    assert detail.status_code == 200
    assert all(t in detail.text for t in one_per_family)
    only_patching = client.get(f"/evals/runs/{run_id}", params={"family": "patching"})
    assert sum(t in only_patching.text for t in one_per_family) == 1
    prof = client.get("/evals/profiles/ref/1")
    assert prof.status_code == 200
    assert prof.text.count("<circle") == 3  # one point per family on the chart
    for fam in ("discovery", "exploitation", "patching"):
        assert fam in prof.text
    assert "20.7%" in prof.text  # Wilson 95% interval of 1/1 is [20.7%, 100%]
    cmp = client.get("/evals/compare", params={"a": "ref@1", "b": "null@1"})
    assert cmp.status_code == 200
    assert "0.250" in cmp.text  # exact McNemar p for 3 discordant pairs
    assert client.get("/evals/profiles").status_code == 200
    # The form: bad input comes back with the field's message, and the key is not echoed.
    csrf = client.cookies.get("fs_csrf")
    bad = client.post(
        "/evals/runs",
        data={"model": "x", "api_key": "sk-never-echo", "epochs": "1", "csrf_token": csrf or ""},
    )
    assert bad.status_code == 422
    assert "PROVIDER/MODEL" in bad.text
    assert "sk-never-echo" not in bad.text
    ok = client.post(
        "/evals/runs",
        data={"model": "scripted/null", "limit": "1", "epochs": "1", "csrf_token": csrf or ""},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert ok.headers["location"].startswith("/evals/runs/")
    new_id = uuid.UUID(ok.headers["location"].rsplit("/", 1)[1])
    session.expire_all()
    assert session.get(EvalRun, new_id) is not None


def test_purge_credential_removes_the_ciphertext(session: Session, analyst: User) -> None:
    from frontiersec.evals.credentials import purge_credential
    from frontiersec.evals.models import ModelCredential

    p = principal_of(session, analyst)
    run = runs.start_run(session, p, model="scripted/null", api_key="sk-to-purge", limit=1)
    session.info.pop("frontiersec_jobs", None)
    session.flush()
    cred = purge_credential(session, p, run.id)
    assert cred.secret_encrypted is None
    assert cred.purged_at is not None
    stranger = make_user(session, make_org(session), role="admin")
    from frontiersec.platform.errors import NotFound

    with pytest.raises(NotFound):
        purge_credential(session, principal_of(session, stranger), cred.id)
    assert session.get(ModelCredential, cred.id) is not None
