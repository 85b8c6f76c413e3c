"""``frontiersec evals run / runs / show / profile / compare / import`` as an operator types them.

The first test is the issue's Done-when command, offline: the whole cyber-core suite with
Inspect's ``mockllm/model``, then its profile with every family and its interval.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from frontiersec.cli import app as cli_app
from frontiersec.evals.catalog import FAMILIES, load_tasks
from frontiersec.evals.stats import wilson_interval

pytestmark = pytest.mark.sandbox


@pytest.fixture
def env(tmp_path: Path, shared_data: Path, db_url: str) -> dict[str, str]:
    return {
        "FRONTIERSEC_DATA_DIR": str(tmp_path / "data"),
        "FRONTIERSEC_DATABASE_URL": db_url,
        "FRONTIERSEC_DEMO_DATA": str(shared_data),
        "FRONTIERSEC_LOG_LEVEL": "warning",
    }


def _invoke(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(cli_app, list(args), env=env)
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    return res.exit_code, res.stdout, res.stderr


def _json(env: dict[str, str], *args: str) -> object:
    code, out, err = _invoke(env, *args, "--json")
    assert code == 0, out + err
    return json.loads(out)


@pytest.mark.slow
def test_done_when_mockllm_runs_the_whole_suite_offline(env: dict[str, str]) -> None:
    run = _json(env, "evals", "run", "--suite", "cyber-core", "--model", "mockllm/model")
    assert isinstance(run, dict)
    n = len(load_tasks())
    assert (run["status"], run["samples_done"], run["samples_total"]) == ("succeeded", n, n)
    assert hashlib.sha256(Path(run["log_path"]).read_bytes()).hexdigest() == run["log_sha256"]
    prof = _json(env, "evals", "profile", "mockllm-model", "unversioned")
    assert isinstance(prof, dict)
    fams = {f["family"]: f for f in prof["families"]}
    assert set(fams) == set(FAMILIES)
    counts = {f: sum(1 for s in load_tasks() if s.family == f) for f in FAMILIES}
    for f, row in fams.items():
        iv = wilson_interval(0, counts[f])
        assert (row["successes"], row["n"], row["method"]) == (0, counts[f], "wilson")
        assert (row["low"], row["high"]) == pytest.approx((iv.low, iv.high))
    assert prof["runs"][0]["log_sha256"] == run["log_sha256"]


def test_run_show_runs_compare_and_import(env: dict[str, str], tmp_path: Path) -> None:
    tasks = [next(s.id for s in load_tasks() if s.family == f) for f in FAMILIES]
    picks = [a for t in tasks for a in ("--task", t)]
    code, out, err = _invoke(
        env,
        "evals",
        "run",
        "--model",
        "scripted/reference",
        *picks,
        "--model-name",
        "ref",
        "--model-version",
        "1",
    )
    assert code == 0, out + err
    assert "succeeded: 3/3 samples scored" in out
    assert "3/3 samples" in err  # progress lines while it ran
    null = _json(
        env,
        "evals",
        "run",
        "--model",
        "scripted/null",
        *picks,
        "--model-name",
        "null",
        "--model-version",
        "1",
    )
    assert isinstance(null, dict)

    listed = _json(env, "evals", "runs")
    assert isinstance(listed, list)
    assert {r["model_name"] for r in listed} == {"ref", "null"}
    shown = _json(env, "evals", "show", null["id"])
    assert isinstance(shown, dict)
    assert sorted(s["task_id"] for s in shown["samples"]) == sorted(tasks)
    assert all(s["score"] == 0.0 for s in shown["samples"])

    cmp = _json(env, "evals", "compare", "ref@1", "null@1")
    assert isinstance(cmp, dict)
    assert (cmp["overall"]["a_only"], cmp["overall"]["b_only"]) == (3, 0)
    assert cmp["overall"]["p_value"] == pytest.approx(0.25)  # exact McNemar: 2 * (1/2)^3

    imported = _json(
        env, "evals", "import", null["log_path"], "--model-name", "null-again", "--model-version", "1"
    )
    assert isinstance(imported, dict)
    assert imported["log_sha256"] == null["log_sha256"]  # the same bytes, the same digest
    assert (imported["status"], imported["samples_done"]) == ("succeeded", 3)

    garbage = tmp_path / "garbage.eval"
    garbage.write_bytes(b"not a log")
    code, out, err = _invoke(env, "evals", "import", str(garbage))
    assert code == 2
    assert "file" in err
    assert "not a readable Inspect log" in err
    code, out, err = _invoke(env, "evals", "run", "--model", "nope")
    assert code == 2
    assert "model" in err
    code, out, err = _invoke(env, "evals", "run", "--model", "openai/x", "--api-key-env", "FS_TEST_UNSET_VAR")
    assert code == 2
    assert "FS_TEST_UNSET_VAR" in err
    code, out, err = _invoke(env, "evals", "profile", "nobody", "1")
    assert code == 1
    assert "no finished evaluation runs" in err
