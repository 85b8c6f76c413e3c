"""The ``bwrap`` sandbox inside a real Inspect eval (no model generation: model ``none``)."""

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
from inspect_ai.util import OutputLimitExceededError, SandboxUserUnsupportedError, sandbox

import frontiersec.evals.inspect_bridge.sandbox as bridge  # registers "bwrap"

pytestmark = [
    pytest.mark.sandbox,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap not installed"),
]

PROBE = r"""
set -u
echo "uid=$(id -u)"
touch /work/ok && echo work_writable
python3 -c "import socket; socket.create_connection(('1.1.1.1', 53), timeout=1)" 2>/dev/null && echo NET_REACHABLE
ls /sys/class/net 2>/dev/null | tr '\n' ' '; echo
touch /usr/x 2>/dev/null && echo USR_WRITABLE
[ -e /root ] && echo ROOT_VISIBLE
"""


@solver
def probe_solver() -> Solver:
    async def solve(state: TaskState, generate: Generate) -> TaskState:
        sb = sandbox()
        res = await sb.exec(["sh", "-c", PROBE])
        state.metadata["probe"] = res.stdout
        await sb.write_file("sub/file.txt", "written via write_file\r\n")
        state.metadata["read_back"] = await sb.read_file("sub/file.txt")
        try:
            await sb.exec(["sleep", "10"], timeout=1)
            state.metadata["timeout"] = "no error"
        except TimeoutError:
            state.metadata["timeout"] = "TimeoutError"
        try:
            await sb.exec(["true"], user="root")
            state.metadata["user"] = "accepted"
        except SandboxUserUnsupportedError:
            state.metadata["user"] = "unsupported"
        try:
            await sb.exec(["head", "-c", str(11 * 1024 * 1024), "/dev/zero"])
            state.metadata["output"] = "no error"
        except OutputLimitExceededError:
            state.metadata["output"] = "limit"
        # a service started by one exec is reachable from the next
        await sb.exec(
            ["sh", "-c", "python3 -m http.server 8765 --bind 127.0.0.1 >/tmp/srv.log 2>&1 &"], timeout=5
        )
        fetch = (
            "import time, urllib.request\n"
            "for _ in range(50):\n"
            "    try:\n"
            "        print(urllib.request.urlopen('http://127.0.0.1:8765/').status); break\n"
            "    except OSError: time.sleep(0.1)\n"
        )
        state.metadata["service"] = (await sb.exec(["python3", "-c", fetch], timeout=10)).stdout.strip()
        return state

    return solve


@scorer(metrics=[accuracy()])
def in_sandbox() -> Scorer:
    async def score(state: TaskState, target: Target) -> Score:
        out = state.metadata["probe"]
        checks = {
            "uid 1000": "uid=1000" in out,
            "work writable": "work_writable" in out,
            "no network": "NET_REACHABLE" not in out,
            "loopback only": out.splitlines()[2].split() in ([], ["lo"]),
            "usr read-only": "USR_WRITABLE" not in out,
            "no /root": "ROOT_VISIBLE" not in out,
            "crlf kept": state.metadata["read_back"] == "written via write_file\r\n",
            "timeout": state.metadata["timeout"] == "TimeoutError",
            "user": state.metadata["user"] == "unsupported",
            "output": state.metadata["output"] == "limit",
            "service": state.metadata["service"] == "200",
        }
        failed = [k for k, ok in checks.items() if not ok]
        return Score(
            value=INCORRECT if failed else CORRECT, explanation=f"failed: {failed} | {state.metadata}"
        )

    return score


@pytest.fixture
def sandbox_parent() -> Iterator[Path]:
    """A parent dir the sandbox's unprivileged uid can traverse (pytest's tmp is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="fs-test-sbx-"))
    path.chmod(0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_bwrap_sandbox_in_inspect_eval(tmp_path: Path, sandbox_parent: Path) -> None:
    assert bridge.BwrapSandboxEnvironment is not None
    task = Task(
        dataset=[Sample(input="probe", target="sandboxed"), Sample(input="probe again", target="sandboxed")],
        solver=probe_solver(),
        scorer=in_sandbox(),
        sandbox=("bwrap", bridge.BwrapEnvironmentConfig(parent_dir=str(sandbox_parent))),
    )
    (log,) = eval(task, model="none/none", log_dir=str(tmp_path / "logs"), display="none")
    assert log.status == "success", log.error
    assert log.samples is not None
    for s in log.samples:
        assert s.scores is not None
        score = s.scores["in_sandbox"]
        assert score.value == CORRECT, score.explanation
    # every sample's directory is gone after cleanup
    assert list(sandbox_parent.iterdir()) == []


def test_task_refuses_to_start_when_selftest_escapes(tmp_path: Path, sandbox_parent: Path) -> None:
    # no process limit: the fork probe gets out, so task_init must refuse the task
    config = bridge.BwrapEnvironmentConfig(parent_dir=str(sandbox_parent), max_processes=None)
    task = Task(dataset=[Sample(input="x")], solver=probe_solver(), sandbox=("bwrap", config))
    with pytest.raises(bridge.SandboxIsolationError, match=r"self-test escaped \(fork_unbounded\)"):
        eval(task, model="none/none", log_dir=str(tmp_path / "logs"), display="none")
