"""A run survives its worker being killed, and real OpenAI-compatible endpoints: the key reaches
the endpoint in-process and nowhere else; an endpoint failing some samples gives a partial run.

The endpoint is a local fake OpenAI server on 127.0.0.1 (the edge of the world); everything
on our side (job queue, worker process, Inspect, sandbox, database) is real.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from inspect_ai.log import read_eval_log
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from frontiersec.db_models import Base
from frontiersec.evals import runs
from frontiersec.evals.catalog import load_tasks
from frontiersec.evals.models import EvalRun, EvalSample, ModelCredential
from frontiersec.platform.auth.models import User
from frontiersec.platform.models import JobRecord
from frontiersec.platform.runtime import Runtime, build_runtime
from frontiersec.settings import Settings
from tests.factories import bearer, principal_of

pytestmark = pytest.mark.sandbox
VENV_BIN = Path(sys.executable).parent


# --------------------------------------------------------------------------- resume after a kill


def _worker_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTIERSEC_")}
    env.update(
        FRONTIERSEC_DATA_DIR=str(settings.data_dir),
        FRONTIERSEC_DATABASE_URL=settings.resolved_database_url,
        FRONTIERSEC_DEMO_DATA=str(settings.demo_data),
        FRONTIERSEC_LOG_LEVEL="warning",
    )
    return env


def test_a_killed_worker_resumes_without_rerunning_scored_samples(
    settings: Settings, rt: Runtime, session: Session, analyst: User
) -> None:
    # Queue the run on the real (SQLite) Huey queue, as the API does, for a worker process.
    queued_rt = build_runtime(settings)
    with queued_rt.sessions() as s:
        run = runs.start_run(
            s, principal_of(s, analyst), model="scripted/reference", limit=6, max_samples=1, box=queued_rt.box
        )
        rid, job_id = run.id, run.job_id
        s.commit()
    queued_rt.engine.dispose()

    exe = VENV_BIN / "frontiersec"
    proc = subprocess.Popen(
        [str(exe), "worker", "--workers", "1"],
        env=_worker_env(settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            session.expire_all()
            done = session.get(EvalRun, rid)
            if done is not None and done.samples_done >= 2:
                break
            time.sleep(0.1)
        else:
            pytest.fail("the worker scored fewer than 2 samples in time")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the whole worker, as a crash would
        proc.wait(timeout=30)

    session.expire_all()
    before = {
        (r.sample_id, r.epoch): (r.id, r.completed_at, r.attempt)
        for r in session.execute(
            select(EvalSample).where(EvalSample.run_id == rid, EvalSample.score.is_not(None))
        ).scalars()
    }
    interrupted = session.get(EvalRun, rid)
    assert interrupted is not None
    assert interrupted.status == "running"
    assert 2 <= len(before) < 6
    job = session.get(JobRecord, job_id)
    assert job is not None
    assert job.status == "running"
    session.rollback()

    # What `serve` does at start: re-queue jobs left running; here Huey runs them at once.
    assert rt.queue.requeue_interrupted() == 1

    session.expire_all()
    run = session.get(EvalRun, rid)
    assert run is not None
    assert run.status == "succeeded", run.error
    assert (run.samples_done, run.attempts) == (6, 2)
    after = {
        (r.sample_id, r.epoch): r
        for r in session.execute(select(EvalSample).where(EvalSample.run_id == rid)).scalars()
    }
    assert len(after) == 6
    assert all(r.score == 1.0 for r in after.values())
    for key, (row_id, completed, attempt) in before.items():
        kept = after[key]
        assert (
            (kept.id, kept.completed_at, kept.attempt)
            == (row_id, completed, attempt)
            == (row_id, completed, 1)
        )
    # The resumed attempt's Inspect log holds exactly the samples that were not scored before the kill.
    second = [lg for lg in run.logs if lg["attempt"] == 2]
    assert len(second) == 1
    resumed_ids = {(str(s.id), s.epoch) for s in read_eval_log(second[0]["path"]).samples or []}
    assert resumed_ids == set(after) - set(before)
    assert all(after[k].attempt == 2 for k in resumed_ids)
    # The killed attempt's log is kept with its digest, marked interrupted.
    assert [lg["status"] for lg in run.logs if lg["attempt"] is None] == ["interrupted"]
    job = session.get(JobRecord, job_id)
    assert job is not None
    assert job.status == "succeeded"


# --------------------------------------------------------------------------- a fake OpenAI endpoint


class FakeOpenAI:
    """An OpenAI-compatible chat endpoint: first turn runs `env` in the sandbox, second submits.

    Requests whose prompt names a task in ``fail_tasks`` get HTTP 500.
    """

    def __init__(self, fail_tasks: frozenset[str] = frozenset()) -> None:
        self.auth: list[str] = []
        self.fail_tasks = fail_tasks
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                return None

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                outer.auth.append(self.headers.get("authorization", ""))
                prompt = json.dumps(body["messages"])
                if any(f"[frontiersec task: {t}]" in prompt for t in outer.fail_tasks):
                    self.send_response(500)
                    self.send_header("content-type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"error": {"message": "model overloaded", "type": "server_error"}}')
                    return
                turn = sum(1 for m in body["messages"] if m["role"] == "assistant")
                call = (
                    {"name": "bash", "arguments": json.dumps({"command": "env; cat /proc/self/environ"})}
                    if turn == 0
                    else {"name": "submit", "arguments": json.dumps({"answer": "nothing found"})}
                )
                out = {
                    "id": f"chatcmpl-{turn}",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "message": {
                                "role": "assistant",
                                "content": None,
                                "tool_calls": [{"id": f"call_{turn}", "type": "function", "function": call}],
                            },
                            "finish_reason": "tool_calls",
                        }
                    ],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
                }
                data = json.dumps(out).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"


@pytest.fixture
def fake_openai(request: pytest.FixtureRequest) -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI(getattr(request, "param", frozenset()))
    t = threading.Thread(target=fake.server.serve_forever, daemon=True)
    t.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def _all_rows_text(session: Session) -> str:
    chunks = []
    for table in Base.metadata.sorted_tables:
        for row in session.execute(text(f"SELECT * FROM {table.name}")):
            chunks.append(repr(tuple(row)))
    return "\n".join(chunks)


def test_api_key_reaches_the_endpoint_and_is_stored_only_encrypted(
    rt: Runtime,
    session: Session,
    analyst: User,
    fake_openai: FakeOpenAI,
    client: TestClient,
    capfd: pytest.CaptureFixture[str],
) -> None:
    key = f"sk-frontiersec-{secrets.token_hex(16)}"
    task = load_tasks()[0].id
    headers = bearer(session, analyst)
    session.commit()
    r = client.post(
        "/api/v1/evals/runs",
        headers=headers,
        json={
            "model": "openai/fake-model",
            "model_base_url": fake_openai.url,
            "api_key": key,
            "task_ids": [task],
            "model_name": "fake-model",
            "model_version": "2026-11",
        },
    )
    assert r.status_code == 202, r.text
    assert key not in r.text
    rid = uuid.UUID(r.json()["run"]["id"])
    session.expire_all()
    run = session.get(EvalRun, rid)
    assert run is not None
    assert run.status == "succeeded", run.error
    # The endpoint got the key, in-process (the Authorization header of every request).
    assert fake_openai.auth
    assert all(a == f"Bearer {key}" for a in fake_openai.auth)
    # At rest: only a Fernet token; the deployment key decrypts it.
    cred = session.get(ModelCredential, run.credential_id)
    assert cred is not None
    assert cred.secret_encrypted
    assert key not in cred.secret_encrypted
    assert rt.box.decrypt_str(cred.secret_encrypted) == key
    assert key not in _all_rows_text(session)
    # Not in the sandbox (the agent ran `env` there), the Inspect log, any response, or the process output.
    log_bytes = Path(run.log_path or "").read_bytes()
    log = read_eval_log(run.log_path or "")
    tool_out = json.dumps([m.model_dump(mode="json") for s in log.samples or [] for m in s.messages])
    assert "PATH=" in tool_out
    assert key not in tool_out
    assert key.encode() not in log_bytes
    for path in (f"/api/v1/evals/runs/{rid}", f"/api/v1/evals/runs/{rid}/samples", "/api/v1/evals/runs"):
        got = client.get(path, headers=headers)
        assert got.status_code == 200
        assert key not in got.text
    assert got.json()[0]["has_credential"] is True
    out, err = capfd.readouterr()
    assert key not in out
    assert key not in err


@pytest.mark.parametrize("fake_openai", [frozenset({"discovery_double_free"})], indirect=True)
def test_an_endpoint_failing_some_samples_gives_a_partial_run(
    session: Session, analyst: User, fake_openai: FakeOpenAI
) -> None:
    tasks = ["discovery_double_free", "discovery_heap_overflow"]
    run = runs.start_run(
        session,
        principal_of(session, analyst),
        model="openai-api/local/fake-model",  # Inspect's provider for OpenAI-compatible servers
        model_base_url=fake_openai.url,
        task_ids=tasks,
        max_retries=0,
        timeout_s=10,
    )
    rid = run.id
    session.commit()
    session.expire_all()
    finished = session.get(EvalRun, rid)
    assert finished is not None
    run = finished
    assert run.status == "partial"
    assert "task discovery_double_free epoch 1" in (run.error or "")
    rows = {
        r.task_id: r for r in session.execute(select(EvalSample).where(EvalSample.run_id == rid)).scalars()
    }
    assert rows["discovery_heap_overflow"].score == 0.0
    assert rows["discovery_double_free"].score is None
    assert rows["discovery_double_free"].error
    assert run.samples_done == 1
