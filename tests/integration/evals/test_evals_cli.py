"""``frontiersec evals tasks`` and ``selftest`` as a user runs them."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from frontiersec.cli import app
from frontiersec.evals.catalog import default_tasks_dir


def test_tasks_json_lists_every_task_folder() -> None:
    res = CliRunner().invoke(app, ["evals", "tasks", "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    folders = {p.parent.name for p in default_tasks_dir().glob("*/task.yaml")}
    assert {r["id"] for r in rows} == folders
    assert all(r["family"] in {"discovery", "exploitation", "patching"} for r in rows)
    assert all(r["cwe"].startswith("CWE-") for r in rows)


def test_selftest_of_one_task_passes_and_prints_the_table() -> None:
    res = CliRunner().invoke(app, ["evals", "selftest", "--task", "discovery_sqli_search", "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert rows == [
        {
            "task": "discovery_sqli_search",
            "reference_score": 1.0,
            "null_score": 0.0,
            "passed": True,
            "error": None,
        }
    ]


@pytest.mark.sandbox
def test_sandbox_check_reports_every_probe_contained() -> None:
    res = CliRunner().invoke(app, ["evals", "sandbox-check", "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    assert report["passed"] is True
    names = {p["name"] for p in report["probes"]}
    assert {"network_host_loopback", "write_usr", "read_host_home", "fork_unbounded"} <= names
    assert not any(p["escaped"] for p in report["probes"])
