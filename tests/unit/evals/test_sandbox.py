"""The bubblewrap sandbox: isolation self-test, weakened configs, limits, cleanup, services."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from frontiersec.evals.sandbox import (
    BwrapSandbox,
    SandboxConfig,
    SandboxError,
    isolation_selftest,
    memory_cgroup_parent,
    recent_isolation_selftest,
)

pytestmark = [
    pytest.mark.sandbox,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap not installed"),
]


@pytest.fixture
def parent() -> Iterator[Path]:
    """A parent dir the sandbox's unprivileged uid can traverse (pytest's tmp is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="fs-test-sbx-"))
    path.chmod(0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def sb(parent: Path) -> Iterator[BwrapSandbox]:
    with BwrapSandbox(parent) as box:
        yield box


def test_selftest_passes_with_default_config(parent: Path) -> None:
    report = isolation_selftest(parent=parent)
    assert report.passed, report.summary()
    assert {p.name for p in report.probes} == {
        "network_host_loopback",
        "network_external",
        "write_usr",
        "write_etc",
        "write_host_tmp",
        "read_host_home",
        "fork_unbounded",
        "memory_unbounded",
    }


def test_selftest_notices_shared_network(parent: Path) -> None:
    report = isolation_selftest(SandboxConfig(isolate_network=False), parent=parent)
    escaped = {p.name for p in report.escapes}
    # external reachability depends on the machine; the host listener is always there
    assert "network_host_loopback" in escaped
    assert escaped <= {"network_host_loopback", "network_external"}


def test_selftest_notices_writable_host_tmp(parent: Path) -> None:
    report = isolation_selftest(SandboxConfig(bind_host_tmp=True), parent=parent)
    escaped = {p.name for p in report.escapes}
    assert "write_host_tmp" in escaped
    # the self-test's canary home lives under the host's /tmp too
    assert escaped <= {"write_host_tmp", "read_host_home"}


def test_selftest_notices_visible_home(parent: Path) -> None:
    home = parent / "home"
    home.mkdir()
    config = SandboxConfig(extra_ro_binds=((str(home), str(home)),))
    report = isolation_selftest(config, parent=parent, canary_home=home)
    assert [p.name for p in report.escapes] == ["read_host_home"]


def test_selftest_notices_missing_process_limit(parent: Path) -> None:
    report = isolation_selftest(SandboxConfig(max_processes=None), parent=parent)
    assert [p.name for p in report.escapes] == ["fork_unbounded"]


def test_exec_basics(sb: BwrapSandbox) -> None:
    r = sb.exec(["sh", "-c", "id -u; pwd; echo $FOO; cat; exit 3"], input="in", env={"FOO": "bar"})
    assert r.returncode == 3
    assert r.stdout.decode().split("\n") == ["1000", "/work", "bar", "in"]
    assert sb.exec(["pwd"], cwd="sub").returncode != 0  # no such dir yet
    sb.write_file("sub/f.bin", b"\x00\x01")
    assert sb.exec(["pwd"], cwd="sub").stdout == b"/work/sub\n"
    assert sb.read_file("/work/sub/f.bin") == b"\x00\x01"
    assert (sb.work_dir / "sub" / "f.bin").read_bytes() == b"\x00\x01"
    with pytest.raises(FileNotFoundError):
        sb.read_file("missing")
    with pytest.raises(PermissionError):
        sb.write_file("/usr/nope", "x")
    with pytest.raises(PermissionError):
        sb.exec(["true"], user="root")


def test_environment_is_clean(sb: BwrapSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTIERSEC_SECRET", "s3cret")
    out = sb.exec(["env"]).stdout.decode()
    assert "s3cret" not in out
    assert "HOME=/work" in out
    assert sb.exec(["ls", "/root"]).returncode != 0


def test_read_file_does_not_follow_symlinks_to_the_host(sb: BwrapSandbox) -> None:
    sb.exec(["ln", "-s", "/etc/shadow", "/work/link"])
    with pytest.raises(FileNotFoundError):  # /etc/shadow is not in the sandbox at all
        sb.read_file("link")


def test_timeout_kills_the_command_and_its_children(sb: BwrapSandbox) -> None:
    r = sb.exec(["sh", "-c", "sleep 60 & sleep 60 & sleep 60"], timeout=1)
    assert r.timed_out
    assert r.returncode == -9
    assert r.duration_s < 5
    ps = sb.exec(["ps", "-e", "-o", "stat=,comm="]).stdout.decode().splitlines()
    alive = [line.split()[1] for line in ps if not line.startswith("Z")]
    assert "cat" in alive  # the holder's own `cat`
    assert "sleep" not in alive
    assert not [line for line in ps if line.startswith("Z")]  # every killed process was reaped


def test_fork_bomb_is_contained_and_host_unharmed(sb: BwrapSandbox) -> None:
    r = sb.exec(["bash", "-c", ":(){ :|:& };:"], timeout=5)
    assert r.timed_out or b"Resource temporarily unavailable" in r.stderr
    assert r.duration_s < 10
    assert subprocess.run(["true"], check=False).returncode == 0


def test_selftest_notices_missing_memory_limit(parent: Path) -> None:
    report = isolation_selftest(SandboxConfig(memory_bytes=None, memory_max_bytes=None), parent=parent)
    assert [p.name for p in report.escapes] == ["memory_unbounded"]


def test_commands_run_without_capabilities(sb: BwrapSandbox) -> None:
    status = dict(
        line.split(":\t", 1) for line in sb.exec(["cat", "/proc/self/status"]).stdout.decode().splitlines()
    )
    assert status["CapEff"] == status["CapPrm"] == status["CapAmb"] == "0000000000000000"
    assert status["Uid"].split() == ["1000"] * 4


needs_cgroup = pytest.mark.skipif(
    memory_cgroup_parent() is None, reason="no writable memory cgroup on this host (needs root or delegation)"
)


@needs_cgroup
def test_memory_cgroup_kills_the_hog_and_reports_it(parent: Path) -> None:
    # no RLIMIT_AS (as for AddressSanitizer tasks): only the cgroup stands in the way
    config = SandboxConfig(memory_bytes=None, memory_max_bytes=64 * 1024**2)
    with BwrapSandbox(parent, config) as box:
        assert box.memory_limit in ("cgroup-v1", "cgroup-v2")
        hog = "held = [b'x' * (8 << 20) for _ in range(64)]; print('survived')"
        r = box.exec(["python3", "-c", hog], timeout=60)
        assert r.oom_killed
        assert r.returncode == -9
        assert b"survived" not in r.stdout
        assert not r.success
        # the sandbox (and the host) carry on; a small allocation still works
        ok = box.exec(["python3", "-c", "b = b'x' * (16 << 20); print('ok')"], timeout=60)
        assert ok.stdout == b"ok\n"
        assert not ok.oom_killed
        cgroup_dir = box._cgroup.path if box._cgroup is not None else None
    assert cgroup_dir is not None
    assert not cgroup_dir.exists()  # removed on close


@needs_cgroup
def test_address_sanitizer_runs_under_the_memory_cgroup(parent: Path) -> None:
    # ASan reserves terabytes of virtual memory: fine under a cgroup, impossible under RLIMIT_AS
    src = "#include <stdlib.h>\nint main(void){char *p = malloc(8); p[8] = 1; return 0;}\n"
    config = SandboxConfig(memory_bytes=None, memory_max_bytes=512 * 1024**2)
    with BwrapSandbox(parent, config) as box:
        box.write_file("bug.c", src)
        built = box.exec(["gcc", "-fsanitize=address", "-g", "-o", "bug", "bug.c"], timeout=120)
        assert built.returncode == 0, built.stderr
        r = box.exec(["./bug"], timeout=60)
        assert b"ERROR: AddressSanitizer: heap-buffer-overflow" in r.stderr
        assert not r.oom_killed


def test_memory_limit(parent: Path) -> None:
    with BwrapSandbox(parent, SandboxConfig(memory_bytes=256 * 1024**2)) as box:
        r = box.exec(["python3", "-c", "b = bytearray(512 * 1024**2)"], timeout=30)
        assert r.returncode != 0
        assert b"MemoryError" in r.stderr
        assert box.exec(["python3", "-c", "b = bytearray(64 * 1024**2)"], timeout=30).returncode == 0


def test_output_is_truncated_and_flagged(sb: BwrapSandbox) -> None:
    r = sb.exec(["head", "-c", "100000", "/dev/zero"], output_limit=1000)
    assert r.returncode == 0
    assert len(r.stdout) == 1000
    assert r.stdout_truncated
    assert not r.stderr_truncated


def test_cleanup_on_success(parent: Path) -> None:
    with BwrapSandbox(parent) as box:
        box.exec(["sh", "-c", "echo x > /work/f; sleep 300 >/dev/null 2>&1 &"])
        root, uid = box.root, box.host_uid
        assert root.exists()
    assert not root.exists()
    assert list(parent.iterdir()) == []
    assert not [p for p in os.listdir("/proc") if p.isdigit() and _uid(p) == uid]


def test_cleanup_on_exception(parent: Path) -> None:
    box = BwrapSandbox(parent)

    def use() -> None:
        with box:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        use()
    assert not box.root.exists()


def test_cleanup_after_timeout(parent: Path) -> None:
    with BwrapSandbox(parent) as box:
        root = box.root
        assert box.exec(["sleep", "30"], timeout=0.5).timed_out
    assert not root.exists()


def test_loopback_service_shared_between_execs_but_not_host(sb: BwrapSandbox) -> None:
    # Hold the two ports bound (not listening) on the host, so nothing else on the host
    # can serve them while we check the sandbox's servers are invisible from here.
    holds = _reserve_two_ports()
    port = holds[0].getsockname()[1]
    svc = sb.start_service(["python3", "-m", "http.server", str(port), "--bind", "127.0.0.1"])
    fetch = (
        "import sys, time, urllib.request\n"
        "for _ in range(100):\n"
        "    try:\n"
        f"        print(urllib.request.urlopen('http://127.0.0.1:{port}/').status); sys.exit(0)\n"
        "    except OSError: time.sleep(0.05)\n"
        "sys.exit(1)\n"
    )
    r = sb.exec(["python3", "-c", fetch], timeout=20)
    assert r.stdout.strip() == b"200", (r, svc.log())
    # a service backgrounded by an exec keeps running too
    sb.exec(["sh", "-c", f"python3 -m http.server {port + 1} --bind 127.0.0.1 >/dev/null 2>&1 &"])
    r = sb.exec(["python3", "-c", fetch.replace(str(port), str(port + 1))], timeout=20)
    assert r.stdout.strip() == b"200"
    # ... and neither is reachable from the host
    for p in (port, port + 1):
        with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", p), timeout=1):
            pass
    assert svc.running()
    for h in holds:
        h.close()


def _reserve_two_ports() -> list[socket.socket]:
    for _ in range(100):
        a, b = socket.socket(), socket.socket()
        try:
            a.bind(("127.0.0.1", 0))
            b.bind(("127.0.0.1", a.getsockname()[1] + 1))
            return [a, b]
        except OSError:
            a.close()
            b.close()
    raise RuntimeError("no two consecutive free ports")


def _uid(pid: str) -> int | None:
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None


def test_sandbox_outlives_the_thread_that_created_it(parent: Path) -> None:
    # Inspect creates sandboxes in worker threads that retire when idle; the sample's
    # sandbox must live on (a parent-death signal tied to the thread would kill it).
    made: list[BwrapSandbox] = []
    worker = threading.Thread(target=lambda: made.append(BwrapSandbox(parent)))
    worker.start()
    worker.join()
    with made[0] as box:
        time.sleep(0.2)
        assert box.exec(["echo", "alive"]).stdout == b"alive\n"


def test_sandbox_dies_with_its_process(parent: Path) -> None:
    code = (
        "import sys, time\n"
        "from frontiersec.evals.sandbox import BwrapSandbox\n"
        f"box = BwrapSandbox({str(parent)!r})\n"
        "box.exec(['sh', '-c', 'sleep 300 >/dev/null 2>&1 &'])\n"
        "cg = box._cgroup.path if box._cgroup is not None else ''\n"
        "print(box.host_uid, box.root, cg, flush=True)\n"
        "time.sleep(300)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    uid_text, root_text, *cgroup = child.stdout.readline().split()
    uid, root = int(uid_text), Path(root_text)
    assert [p for p in os.listdir("/proc") if p.isdigit() and _uid(p) == uid]
    child.kill()
    child.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and [p for p in os.listdir("/proc") if p.isdigit() and _uid(p) == uid]:
        time.sleep(0.05)
    assert not [p for p in os.listdir("/proc") if p.isdigit() and _uid(p) == uid]
    # the dead process could not clean up; the next sandbox made under that parent does
    assert root.exists()
    with BwrapSandbox(parent):
        assert not root.exists()
    if cgroup:
        Path(cgroup[0]).rmdir()  # empty now; the sweep only takes cgroups two minutes old


def test_a_sandbox_killed_from_inside_says_so(sb: BwrapSandbox) -> None:
    # pid 2 is the holder's `cat`; this very exec may already be reported as cut off
    with contextlib.suppress(SandboxError):
        sb.exec(["sh", "-c", "kill -9 2"])
    deadline = time.monotonic() + 10
    while sb._holder is not None and sb._holder.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    with pytest.raises(SandboxError, match="is gone"):
        sb.exec(["true"])


def test_recent_selftest_reuses_a_pass_but_never_a_failure(parent: Path) -> None:
    config = SandboxConfig(max_processes=200)
    first = isolation_selftest(config, parent=parent)
    assert first.passed
    assert recent_isolation_selftest(config, parent, max_age_s=60) is first
    assert recent_isolation_selftest(config, parent, max_age_s=0) is not first  # too old: runs again
    weak = SandboxConfig(max_processes=None)
    failed = recent_isolation_selftest(weak, parent, max_age_s=60)
    assert not failed.passed
    again = recent_isolation_selftest(weak, parent, max_age_s=60)
    assert again is not failed
    assert not again.passed
