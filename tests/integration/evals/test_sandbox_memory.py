"""A sample that exceeds its memory limit is killed and reported inside a real Inspect eval.

The limit is the sandbox's memory cgroup (``memory_max_bytes``) with ``RLIMIT_AS`` off, as
for the AddressSanitizer tasks: the hog's process is killed by the kernel, the exec comes
back with exit status 137 and a line saying why, the eval, its other sample and this
test's process (the host) carry on.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from inspect_ai import Task, eval
from inspect_ai.dataset import Sample
from inspect_ai.scorer import CORRECT, INCORRECT, Score, Scorer, Target, accuracy, scorer
from inspect_ai.solver import Generate, Solver, TaskState, solver
from inspect_ai.util import SandboxEnvironmentSpec, sandbox

from frontiersec.evals.inspect_bridge.sandbox import OOM_MESSAGE, BwrapEnvironmentConfig
from frontiersec.evals.sandbox import memory_cgroup_parent

pytestmark = [
    pytest.mark.sandbox,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap not installed"),
    pytest.mark.skipif(
        memory_cgroup_parent() is None,
        reason="no writable memory cgroup on this host (needs root or delegation)",
    ),
]

LIMIT = 96 * 1024**2
HOG = "held = [b'x' * (8 << 20) for _ in range(64)]; print('survived 512 MiB')"  # 512 MiB, touched
SMALL = "b = b'x' * (16 << 20); print('fine')"


@solver
def allocate() -> Solver:
    async def solve(state: TaskState, generate: Generate) -> TaskState:
        res = await sandbox().exec(["python3", "-c", str(state.metadata["code"])], timeout=60)
        state.metadata.update(rc=res.returncode, stdout=res.stdout, stderr=res.stderr)
        after = await sandbox().exec(["python3", "-c", "print('still here')"], timeout=60)
        state.metadata["after"] = after.stdout
        return state

    return solve


@scorer(metrics=[accuracy()])
def as_expected() -> Scorer:
    async def score(state: TaskState, target: Target) -> Score:
        m = state.metadata
        if target.text == "killed":
            ok = m["rc"] == 137 and OOM_MESSAGE in m["stderr"] and "survived" not in m["stdout"]
        else:
            ok = m["rc"] == 0 and m["stdout"] == "fine\n" and OOM_MESSAGE not in m["stderr"]
        ok = ok and m["after"] == "still here\n"
        return Score(value=CORRECT if ok else INCORRECT, explanation=repr(m))

    return score


@pytest.fixture
def sandbox_parent() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="fs-test-sbx-"))
    path.chmod(0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_memory_hog_is_killed_and_reported_not_the_host(tmp_path: Path, sandbox_parent: Path) -> None:
    config = BwrapEnvironmentConfig(parent_dir=str(sandbox_parent), memory_bytes=None, memory_max_bytes=LIMIT)
    task = Task(
        dataset=[
            Sample(id="hog", input="allocate", target="killed", metadata={"code": HOG}),
            Sample(id="small", input="allocate", target="fine", metadata={"code": SMALL}),
        ],
        solver=allocate(),
        scorer=as_expected(),
        sandbox=SandboxEnvironmentSpec("bwrap", config),
    )
    (log,) = eval(task, model="none/none", log_dir=str(tmp_path / "logs"), display="none")
    assert log.status == "success", log.error
    assert log.samples is not None
    for s in log.samples:
        assert s.error is None, s.error
        assert s.scores is not None
        verdict = s.scores["as_expected"]
        assert verdict.value == CORRECT, f"{s.id}: {verdict.explanation}"
    hog = next(s for s in log.samples if s.id == "hog")
    assert f"({LIMIT // 1024**2} MiB)" in str(hog.metadata["stderr"])
    assert list(sandbox_parent.iterdir()) == []  # both samples cleaned up
