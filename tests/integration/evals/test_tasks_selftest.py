"""The self-test over every cyber-core task: references score 1, the null agent scores 0.

Runs offline (scripted provider, no tokenizer download) in the tasks' sandbox.
"""

import shutil
from pathlib import Path

import pytest
import yaml

from frontiersec.evals.catalog import load_tasks
from frontiersec.evals.inspect_bridge.selftest import run_selftest

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "/nonexistent")


def test_every_task_passes_selftest(tmp_path: Path) -> None:
    rows = run_selftest(log_dir=tmp_path / "logs")
    assert {r.task for r in rows} == {s.id for s in load_tasks()}
    failed = [r for r in rows if not r.passed]
    assert failed == [], failed
    assert all(r.reference_score == 1.0 and r.null_score == 0.0 for r in rows)


@pytest.mark.parametrize("family", ["discovery", "exploitation", "patching"])
def test_broken_reference_is_reported_failed(tmp_path: Path, family: str) -> None:
    spec = next(s for s in load_tasks() if s.family == family)
    tasks_dir = tmp_path / "tasks"
    shutil.copytree(spec.directory, tasks_dir / spec.id)
    task_yaml = tasks_dir / spec.id / "task.yaml"
    data = yaml.safe_load(task_yaml.read_text())
    if family == "exploitation":
        # submits a flag of the right shape that is not this sample's flag
        data["reference"]["steps"] = [{"bash": "echo FLAG{00000000000000000000000000000000}"}]
    elif family == "discovery":
        data["reference"]["steps"] = [{"bash": "echo harmless > pov"}]
    else:
        # a patch that applies but fixes nothing
        target = next(iter(spec.app_files()))
        patch = tasks_dir / spec.id / "files" / "reference.patch"
        original = (spec.files_dir / "app" / target).read_text().splitlines()
        patch.write_text(f"--- a/{target}\n+++ b/{target}\n@@ -1,1 +1,2 @@\n {original[0]}\n+\n")
    task_yaml.write_text(yaml.safe_dump(data))
    (row,) = run_selftest(log_dir=tmp_path / "logs", tasks_dir=tasks_dir)
    assert row.task == spec.id
    assert not row.passed
    assert row.reference_score != 1.0
