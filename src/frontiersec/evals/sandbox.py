"""Process isolation for evaluation runs with bubblewrap (Debian's ``bwrap``).

One :class:`BwrapSandbox` holds one sample's environment. All of its commands share a
network namespace (loopback only), a PID namespace and a user namespace, so a task's
service started by one exec on ``127.0.0.1:PORT`` is reachable from later execs, and a
background process started with ``&`` outlives the exec that started it::

    host (root)                             sandbox (one per sample)
    ───────────                             ────────────────────────
    BwrapSandbox.__init__
      setpriv --reuid U ── bwrap ─────────▶ holder: pid 1 of the PID ns, owns the
         --unshare-all --die-with-parent      user ns (U ↔ uid 1000) and the net ns
         sleep infinity                       (lo only)
    exec(cmd)
      prlimit (AS, NPROC, FSIZE, CORE) ──┐
        nsenter --net=<holder>          │
          --setuid U --setgid U         │
          bwrap --userns <holder>  ─────┴──▶ cmd: joins holder's user, PID and net
                --pidns <holder>            namespaces; fresh mount/IPC/UTS ns;
                --new-session               read-only /usr, private /work and /tmp,
                --die-with-parent           clean environment, no capabilities
    close()
      SIGKILL the holder ─────────────────▶ PID ns init dies: the kernel kills every
      SIGKILL anything left with uid U      process of the sample; dirs removed

Why each limit is enforced the way it is:

* **Unprivileged host uid.** As root, each sandbox gets a fresh random host uid ``U``
  (no passwd entry). ``RLIMIT_NPROC`` is not enforced for uid 0, and inside a user
  namespace created by root the sandbox would still be uid 0 outside; running bwrap
  as ``U`` makes the process limit bind (it counts the processes of ``U``, i.e. of
  exactly this sandbox), makes host files writable only if world-writable, and lets
  :meth:`BwrapSandbox.close` kill every leftover process by uid.
* **Processes**: ``RLIMIT_NPROC`` through ``prlimit``, counted per sandbox because of
  the per-sandbox uid. A fork bomb stops at the limit; the host is unaffected.
* **Memory**: ``RLIMIT_AS`` through ``prlimit`` (per process, not per sandbox: the
  machine's cgroup hierarchy is v1/hybrid here and not delegated, so a per-sandbox
  memory cgroup is not available).
* **File size**: ``RLIMIT_FSIZE`` caps any single file written; core dumps are off.
* **Wall time**: on timeout every process of the exec's session (``--new-session``)
  is stopped then killed, then the exec's host process group. Background processes
  that left the session survive until :meth:`BwrapSandbox.close`, which tears the
  whole PID namespace down.
* **Output**: each stream is capped at ``output_limit_bytes``; the rest is read and
  discarded, and the result is flagged ``stdout_truncated`` / ``stderr_truncated``.
* **Network**: the holder's net namespace has only ``lo``; no route, no DNS.
* **Filesystem**: ``/usr`` (with the merged-``/usr`` symlinks) and a few files of
  ``/etc`` read-only; generated ``passwd``/``group``/``hosts``; ``/work`` and ``/tmp``
  are per-sandbox host directories (not a tmpfs, so ``/tmp`` is shared by all execs
  of the sample like a container's) removed on close; host ``/root``, ``/home``, the
  repository and the host ``/tmp`` are simply not mounted.

:func:`isolation_selftest` proves the isolation by attempting escapes; each can be
made to succeed with a deliberately weakened :class:`SandboxConfig`, which is how the
tests show the self-test would notice.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

__all__ = [
    "DEFAULT_PATH",
    "SANDBOX_GID",
    "SANDBOX_UID",
    "SANDBOX_USER",
    "BwrapSandbox",
    "ExecResult",
    "ProbeResult",
    "SandboxConfig",
    "SandboxError",
    "SandboxService",
    "SelfTestReport",
    "bwrap_available",
    "isolation_selftest",
]

SANDBOX_USER = "sandbox"
SANDBOX_UID = 1000
SANDBOX_GID = 1000
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
WORK = "/work"

# /etc entries the dynamic loader, Python and common tools need; bound read-only if present.
_ETC_FILES = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "alternatives",
    "nsswitch.conf",
    "localtime",
    "mime.types",
    "protocols",
    "services",
    "ssl",
    "ca-certificates",
    "python3",
    "python3.11",
)
_USR_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
_DRAIN_GRACE_S = 0.2


class SandboxError(RuntimeError):
    """The sandbox could not be created or used (not a failure of the command run in it)."""


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    """How a sandbox is isolated and limited. The defaults are the safe ones.

    The ``isolate_*``, ``read_only_system`` and ``extra_*_binds`` knobs exist so the
    self-test can be run against a deliberately weakened sandbox; production code
    keeps the defaults.
    """

    isolate_network: bool = True
    """Own network namespace with loopback only; False shares the host's network."""
    read_only_system: bool = True
    """Bind ``/usr`` read-only; False binds it read-write (host DAC still applies)."""
    unprivileged_uid: bool = True
    """As root, run the sandbox as a fresh unprivileged host uid (needed for NPROC)."""
    max_processes: int | None = 256
    """RLIMIT_NPROC for the sandbox's uid; None for no limit."""
    memory_bytes: int | None = 4 * 1024**3
    """RLIMIT_AS per process (address space, bytes); None for no limit."""
    file_size_bytes: int | None = 1024**3
    """RLIMIT_FSIZE: the largest file a sandboxed process may write."""
    output_limit_bytes: int = 10 * 1024**2
    """Cap per output stream of one exec; beyond it output is dropped and flagged."""
    bind_host_tmp: bool = False
    """Weakening: bind the host's ``/tmp`` read-write at ``/tmp``."""
    extra_ro_binds: tuple[tuple[str, str], ...] = ()
    """``(host_path, sandbox_path)`` pairs bound read-only."""
    extra_rw_binds: tuple[tuple[str, str], ...] = ()
    """``(host_path, sandbox_path)`` pairs bound read-write."""
    env: tuple[tuple[str, str], ...] = ()
    """Variables added to the clean environment of every exec."""


@dataclass(frozen=True, slots=True)
class ExecResult:
    """What one command did. ``returncode`` is -9 when it was killed for its timeout."""

    returncode: int
    stdout: bytes
    stderr: bytes
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    timed_out: bool = False
    duration_s: float = 0.0

    @property
    def success(self) -> bool:
        """True when the command exited 0 and was not killed."""
        return self.returncode == 0 and not self.timed_out


@dataclass(slots=True)
class SandboxService:
    """A background process started with :meth:`BwrapSandbox.start_service`."""

    popen: subprocess.Popen[bytes]
    log_path: Path

    def running(self) -> bool:
        """Whether the service's bwrap process is still alive."""
        return self.popen.poll() is None

    def log(self) -> str:
        """Its combined stdout and stderr so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        """Kill the service (its whole host process group)."""
        _kill_group(self.popen)


def bwrap_available() -> bool:
    """Whether ``bwrap``, ``nsenter`` and ``prlimit`` are on this machine."""
    return all(shutil.which(t) for t in ("bwrap", "nsenter", "prlimit"))


def _kill_group(p: subprocess.Popen[bytes]) -> None:
    if p.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(p.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            p.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        p.wait(timeout=5)


def _proc_stat(pid: int) -> tuple[int, int, int] | None:
    """(ppid, pgrp, session) of a host pid, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    fields = raw[raw.rfind(b")") + 2 :].split()
    return int(fields[1]), int(fields[2]), int(fields[3])


def _host_pids() -> list[int]:
    return [int(e) for e in os.listdir("/proc") if e.isdigit()]


def _pids_of_uid(uid: int) -> list[int]:
    out = []
    for pid in _host_pids():
        with contextlib.suppress(OSError):
            if os.stat(f"/proc/{pid}").st_uid == uid:
                out.append(pid)
    return out


def _kill_session(session: int) -> None:
    """Stop, then kill, every host process in ``session`` (stopped processes cannot fork)."""
    for _ in range(50):
        members = [p for p in _host_pids() if (st := _proc_stat(p)) is not None and st[2] == session]
        if not members:
            return
        for pid in members:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGSTOP)
        again = [p for p in _host_pids() if (st := _proc_stat(p)) is not None and st[2] == session]
        if set(again) <= set(members):
            break
    for pid in [p for p in _host_pids() if (st := _proc_stat(p)) is not None and st[2] == session]:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


class BwrapSandbox:
    """A long-lived bubblewrap sandbox for one sample. Use as a context manager.

    Args:
        parent: host directory under which the sandbox's private directory (its
            ``/work``, ``/tmp`` and generated ``/etc`` files) is created; removed on close.
        config: isolation and limits.

    Raises:
        SandboxError: bwrap is missing or the sandbox could not start.
    """

    def __init__(self, parent: str | os.PathLike[str] | None = None, config: SandboxConfig | None = None):
        self.config = config or SandboxConfig()
        if not bwrap_available():
            raise SandboxError("bubblewrap is not installed (apt-get install bubblewrap)")
        self._closed = False
        self._services: list[SandboxService] = []
        self._running: set[subprocess.Popen[bytes]] = set()
        self._root_mode = os.geteuid() == 0
        self._drop_uid = self._root_mode and self.config.unprivileged_uid
        self.host_uid = secrets.randbelow(900_000_000) + 100_000_000 if self._drop_uid else os.getuid()
        self.host_gid = self.host_uid if self._drop_uid else os.getgid()
        base = Path(parent) if parent is not None else Path(tempfile.gettempdir())
        base.mkdir(parents=True, exist_ok=True)
        if self._drop_uid:
            _check_traversable(base.resolve())
        self.root = Path(tempfile.mkdtemp(prefix="fs-sbx-", dir=base))
        self._holder: subprocess.Popen[bytes] | None = None
        self._ns_fds: list[int] = []
        try:
            self._prepare_dirs()
            self._start_holder()
        except BaseException:
            self.close()
            raise

    # ── setup ────────────────────────────────────────────────────────────────
    @property
    def work_dir(self) -> Path:
        """Host path of the sandbox's ``/work``."""
        return self.root / "work"

    def _prepare_dirs(self) -> None:
        os.chmod(self.root, 0o711)
        for name, mode in (("work", 0o755), ("tmp", 0o1777), ("etc", 0o755), ("log", 0o700)):
            d = self.root / name
            d.mkdir()
            os.chmod(d, mode)
        for name in ("work", "tmp"):
            os.chown(self.root / name, self.host_uid, self.host_gid)
        etc = self.root / "etc"
        (etc / "passwd").write_text(
            f"root:x:0:0:root:/root:/usr/sbin/nologin\n"
            f"{SANDBOX_USER}:x:{SANDBOX_UID}:{SANDBOX_GID}:sandbox:{WORK}:/bin/sh\n"
            "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
        )
        (etc / "group").write_text(f"root:x:0:\n{SANDBOX_USER}:x:{SANDBOX_GID}:\nnogroup:x:65534:\n")
        (etc / "hosts").write_text("127.0.0.1\tlocalhost sandbox\n::1\tlocalhost ip6-localhost\n")
        (etc / "hostname").write_text("sandbox\n")
        for f in etc.iterdir():
            os.chmod(f, 0o644)

    def _system_args(self) -> list[str]:
        bind = "--ro-bind" if self.config.read_only_system else "--bind"
        args = [bind, "/usr", "/usr"]
        for name in _USR_LINKS:
            p = Path("/") / name
            if p.is_symlink():
                args += ["--symlink", os.readlink(p), str(p)]
            elif p.is_dir():
                args += ["--ro-bind", str(p), str(p)]
        return args

    def _start_holder(self) -> None:
        args = [
            "bwrap",
            "--unshare-all",
            *([] if self.config.isolate_network else ["--share-net"]),
            "--die-with-parent",
            "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_GID),
            *self._system_args(),
        ]  # fmt: skip
        prefix: list[str] = []
        if self._drop_uid:
            prefix = [
                "setpriv",
                f"--reuid={self.host_uid}",
                f"--regid={self.host_gid}",
                "--clear-groups",
                "--",
            ]
        r, w = os.pipe()
        try:
            self._holder = subprocess.Popen(
                # The info fd is written before bwrap's child has finished setting up (uid
                # map, loopback); the line on stdout says the command itself is running.
                [*prefix, *args, "--info-fd", str(w), "--", "/usr/bin/sh", "-c", "echo; exec sleep infinity"],
                pass_fds=(w,),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env={"PATH": DEFAULT_PATH},
                start_new_session=True,
            )
            os.close(w)
            w = -1
            info = b""
            deadline = time.monotonic() + 10
            while b"}" not in info and time.monotonic() < deadline:
                chunk = os.read(r, 4096)
                if not chunk:
                    break
                info += chunk
        finally:
            os.close(r)
            if w >= 0:
                os.close(w)
        ready = b""
        if b"}" in info and self._holder.stdout is not None:
            ready = self._holder.stdout.read(1)
        if self._holder.stdout is not None:
            self._holder.stdout.close()
        if b"}" not in info or ready != b"\n":
            err = b""
            if self._holder.poll() is not None and self._holder.stderr is not None:
                err = self._holder.stderr.read()
            raise SandboxError(f"bwrap failed to start: {err.decode(errors='replace').strip()}")
        if self._holder.stderr is not None:
            self._holder.stderr.close()
        self.holder_pid = int(json.loads(info)["child-pid"])
        for ns in ("user", "pid"):
            self._ns_fds.append(os.open(f"/proc/{self.holder_pid}/ns/{ns}", os.O_RDONLY | os.O_CLOEXEC))

    # ── commands ─────────────────────────────────────────────────────────────
    def _limits(self) -> list[str]:
        c = self.config
        out = ["prlimit", "--core=0"]
        if c.max_processes is not None:
            out.append(f"--nproc={c.max_processes}")
        if c.memory_bytes is not None:
            out.append(f"--as={c.memory_bytes}")
        if c.file_size_bytes is not None:
            out.append(f"--fsize={c.file_size_bytes}")
        return [*out, "--"]

    def _command(self, cmd: Sequence[str], env: Mapping[str, str] | None, cwd: str | None) -> list[str]:
        if self._closed:
            raise SandboxError("sandbox is closed")
        if not cmd:
            raise ValueError("empty command")
        user_fd, pid_fd = self._ns_fds
        if self._root_mode:
            enter = ["nsenter", f"--net=/proc/{self.holder_pid}/ns/net"]
            if self._drop_uid:
                enter += [f"--setuid={self.host_uid}", f"--setgid={self.host_gid}"]
        else:
            # Without root we cannot join a net namespace owned by another user namespace
            # from outside it; enter both and let bwrap nest (best effort, see module doc).
            enter = [
                "nsenter",
                "--preserve-credentials",
                f"--user=/proc/{self.holder_pid}/ns/user",
                f"--net=/proc/{self.holder_pid}/ns/net",
            ]
        workdir = WORK if cwd is None else (cwd if cwd.startswith("/") else f"{WORK}/{cwd}")
        environment = {
            "PATH": DEFAULT_PATH,
            "HOME": WORK,
            "USER": SANDBOX_USER,
            "LOGNAME": SANDBOX_USER,
            "LANG": "C.UTF-8",
            "TMPDIR": "/tmp",
            "TERM": "dumb",
            **dict(self.config.env),
            **(env or {}),
        }
        args = [
            "bwrap",
            *(["--userns", str(user_fd)] if self._root_mode else ["--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_GID)]),
            "--pidns", str(pid_fd),
            "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session",
            "--hostname", "sandbox",
            *self._system_args(),
        ]  # fmt: skip
        for name in _ETC_FILES:
            if os.path.exists(f"/etc/{name}"):
                args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
        etc = self.root / "etc"
        tmp = "/tmp" if self.config.bind_host_tmp else str(self.root / "tmp")
        for name in ("passwd", "group", "hosts", "hostname"):
            args += ["--ro-bind", str(etc / name), f"/etc/{name}"]
        args += [
            "--proc", "/proc",
            "--dev", "/dev",
            "--bind", tmp, "/tmp",
            "--bind", str(self.work_dir), WORK,
        ]  # fmt: skip
        for host, inside in self.config.extra_ro_binds:
            args += ["--ro-bind", host, inside]
        for host, inside in self.config.extra_rw_binds:
            args += ["--bind", host, inside]
        # bwrap's root is a tmpfs; make it read-only so nothing outside /work and /tmp
        # is writable, not even ephemerally.
        args += ["--remount-ro", "/", "--chdir", workdir, "--clearenv"]
        for k, v in environment.items():
            args += ["--setenv", k, v]
        return [*self._limits(), *enter, *args, "--", *cmd]

    def _popen(self, argv: list[str], stdin: int, stdout: int, stderr: int) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            argv,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            pass_fds=tuple(self._ns_fds),
            env={"PATH": DEFAULT_PATH},
            start_new_session=True,
        )

    def exec(
        self,
        cmd: Sequence[str],
        input: str | bytes | None = None,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        user: str | None = None,
        output_limit: int | None = None,
    ) -> ExecResult:
        """Run ``cmd`` inside the sandbox and wait for it.

        Args:
            cmd: program and arguments (``cmd[0]`` is looked up on the sandbox's PATH).
            input: bytes (or UTF-8 text) for its standard input.
            timeout: wall-clock seconds; on expiry the command's session is killed and
                the result has ``timed_out=True`` and ``returncode=-9``.
            env: extra environment variables (the environment is otherwise clean).
            cwd: working directory; relative paths are relative to ``/work``.
            user: ``None``, ``"sandbox"`` or ``"1000"`` (the only user there is).
            output_limit: per-stream cap in bytes (default ``config.output_limit_bytes``).

        Returns:
            :class:`ExecResult`. The exec returns when the command exits; output that
            background children keep writing to inherited pipes is read for a short
            grace period only.
        """
        if user not in (None, SANDBOX_USER, str(SANDBOX_UID)):
            raise PermissionError(f"the sandbox can only run commands as {SANDBOX_USER!r}, not {user!r}")
        argv = self._command(cmd, env, cwd)
        limit = self.config.output_limit_bytes if output_limit is None else output_limit
        data = input.encode() if isinstance(input, str) else input
        start = time.monotonic()
        p = self._popen(argv, subprocess.PIPE, subprocess.PIPE, subprocess.PIPE)
        self._running.add(p)
        try:
            return self._communicate(p, data, timeout, limit, start)
        finally:
            self._running.discard(p)
            _kill_group(p)

    def _communicate(
        self, p: subprocess.Popen[bytes], data: bytes | None, timeout: float | None, limit: int, start: float
    ) -> ExecResult:
        assert p.stdin is not None
        assert p.stdout is not None
        assert p.stderr is not None
        bufs = {"out": bytearray(), "err": bytearray()}
        trunc = {"out": False, "err": False}
        sel = selectors.DefaultSelector()
        sel.register(p.stdout, selectors.EVENT_READ, "out")
        sel.register(p.stderr, selectors.EVENT_READ, "err")
        pending = memoryview(data or b"")
        if pending:
            os.set_blocking(p.stdin.fileno(), False)
            sel.register(p.stdin, selectors.EVENT_WRITE, "in")
        else:
            p.stdin.close()
        deadline = None if timeout is None else start + timeout
        drain_until: float | None = None
        timed_out = False
        try:
            while sel.get_map():
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    timed_out = True
                    break
                if drain_until is None and p.poll() is not None:
                    drain_until = now + _DRAIN_GRACE_S
                if drain_until is not None and now >= drain_until:
                    break
                waits = [0.05 if drain_until is None else drain_until - now]
                if deadline is not None:
                    waits.append(deadline - now)
                for key, _ev in sel.select(max(0.0, min(waits))):
                    tag = key.data
                    if tag == "in":
                        try:
                            n = os.write(p.stdin.fileno(), pending[:65536])
                        except (BrokenPipeError, OSError):
                            n = len(pending)
                        pending = pending[n:]
                        if not pending:
                            sel.unregister(p.stdin)
                            p.stdin.close()
                        continue
                    chunk = os.read(key.fd, 65536)
                    if not chunk:
                        sel.unregister(key.fileobj)
                        continue
                    room = limit - len(bufs[tag])
                    if len(chunk) > room:
                        trunc[tag] = True
                    if room > 0:
                        bufs[tag] += chunk[:room]
        finally:
            sel.close()
        if timed_out:
            self._kill_exec(p)
            rc = -9
        else:
            try:
                rc = p.wait(timeout=max(0.0, deadline - time.monotonic()) if deadline else None)
            except subprocess.TimeoutExpired:
                self._kill_exec(p)
                rc, timed_out = -9, True
        for f in (p.stdin, p.stdout, p.stderr):
            with contextlib.suppress(OSError):
                f.close()
        return ExecResult(
            returncode=rc,
            stdout=bytes(bufs["out"]),
            stderr=bytes(bufs["err"]),
            stdout_truncated=trunc["out"],
            stderr_truncated=trunc["err"],
            timed_out=timed_out,
            duration_s=time.monotonic() - start,
        )

    def _kill_exec(self, p: subprocess.Popen[bytes]) -> None:
        """Kill a timed-out exec: the sandboxed command's session, then the host group."""
        # bwrap's child (the command) is the host child of the outer bwrap, and is the
        # leader of its own session thanks to --new-session.
        children = [q for q in _host_pids() if (st := _proc_stat(q)) is not None and st[0] == p.pid]
        for child in children:
            _kill_session(child)
        _kill_group(p)

    def start_service(
        self, cmd: Sequence[str], env: Mapping[str, str] | None = None, cwd: str | None = None
    ) -> SandboxService:
        """Start a long-running process (e.g. a task's server on 127.0.0.1) and return at once.

        It shares the network namespace of every exec of this sandbox and is killed on
        :meth:`close` at the latest. Its output goes to a host-side log, not ``/work``.
        """
        argv = self._command(cmd, env, cwd)
        log_path = self.root / "log" / f"service-{len(self._services)}.log"
        with open(log_path, "wb") as log:
            p = self._popen(argv, subprocess.DEVNULL, log.fileno(), subprocess.STDOUT)
        svc = SandboxService(popen=p, log_path=log_path)
        self._services.append(svc)
        return svc

    # ── files (through the sandbox, so symlinks planted inside cannot reach the host) ──
    def write_file(self, path: str, contents: str | bytes, timeout: float | None = 60) -> None:
        """Write a file inside the sandbox, creating parent directories.

        Raises:
            PermissionError, IsADirectoryError, FileNotFoundError: as the sandbox reports it.
            TimeoutError: the write took longer than ``timeout``.
        """
        data = contents.encode() if isinstance(contents, str) else contents
        script = 'd=$(dirname -- "$1") && mkdir -p -- "$d" && cat > "$1"'
        r = self.exec(["/bin/sh", "-c", script, "sh", path], input=data, timeout=timeout)
        if r.timed_out:
            raise TimeoutError(f"writing {path} timed out")
        if r.returncode != 0:
            _raise_file_error(path, r.stderr)

    def read_file(self, path: str, limit: int | None = None, timeout: float | None = 60) -> bytes:
        """Read a file from inside the sandbox.

        Args:
            limit: refuse files larger than this many bytes (``ValueError``).

        Raises:
            FileNotFoundError, IsADirectoryError, PermissionError: as the sandbox reports it.
            TimeoutError: the read took longer than ``timeout``.
        """
        cap = limit if limit is not None else 1024**3
        r = self.exec(["/bin/cat", "--", path], timeout=timeout, output_limit=cap)
        if r.timed_out:
            raise TimeoutError(f"reading {path} timed out")
        if r.returncode != 0:
            _raise_file_error(path, r.stderr)
        if r.stdout_truncated:
            raise ValueError(f"{path} is larger than {cap} bytes")
        return r.stdout

    # ── teardown ─────────────────────────────────────────────────────────────
    def close(self) -> None:
        """Kill every process of the sandbox and remove its directories. Idempotent."""
        if self._closed:
            return
        self._closed = True
        for svc in self._services:
            svc.stop()
        for p in list(self._running):
            _kill_group(p)
        if self._holder is not None:
            # Kill the PID namespace's init first: the kernel then kills every process of
            # the sample, and the outer bwrap (our child) reaps it and exits, so nothing is
            # left as an orphan zombie of the host's init.
            if self._holder.poll() is None and hasattr(self, "holder_pid"):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.holder_pid, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._holder.wait(timeout=2)
            _kill_group(self._holder)
        for fd in self._ns_fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._ns_fds = []
        if self._drop_uid:
            # The uid is this sandbox's alone: anything still running under it is ours.
            for _ in range(20):
                pids = _pids_of_uid(self.host_uid)
                if not pids:
                    break
                for pid in pids:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, signal.SIGKILL)
                time.sleep(0.002)
        if sys.version_info >= (3, 12):
            shutil.rmtree(self.root, onexc=_force_remove)
        else:
            shutil.rmtree(self.root, onerror=_force_remove_legacy)

    def __enter__(self) -> BwrapSandbox:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            if not getattr(self, "_closed", True):
                self.close()


def _force_remove(_func: object, path: str, exc: BaseException) -> None:
    """rmtree fallback for directories a sandboxed process made unreadable (non-root hosts)."""
    if isinstance(exc, FileNotFoundError):
        return
    with contextlib.suppress(OSError):
        os.chmod(os.path.dirname(path), 0o700)
        os.chmod(path, 0o700)
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _force_remove_legacy(
    func: object, path: str, exc_info: tuple[type[BaseException], BaseException, object]
) -> None:
    _force_remove(func, path, exc_info[1])


def _check_traversable(path: Path) -> None:
    """bwrap runs as the sandbox's unprivileged uid, so it must be able to reach ``path``."""
    for d in (path, *path.parents):
        if not os.stat(d).st_mode & 0o001:
            raise SandboxError(
                f"sandbox parent {path} is not reachable by an unprivileged user: {d} lacks o+x "
                "(choose a parent such as /tmp or /var/tmp/..., or chmod o+x it)"
            )


def _raise_file_error(path: str, stderr: bytes) -> None:
    msg = stderr.decode(errors="replace").strip()
    if "No such file" in msg:
        raise FileNotFoundError(msg or path)
    if "Is a directory" in msg:
        raise IsADirectoryError(msg or path)
    if "Permission denied" in msg or "Read-only file system" in msg:
        raise PermissionError(msg or path)
    raise OSError(f"{path}: {msg}")


# ── isolation self-test ─────────────────────────────────────────────────────
@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One escape attempt. ``escaped`` is True when isolation FAILED."""

    name: str
    escaped: bool
    detail: str


@dataclass(frozen=True, slots=True)
class SelfTestReport:
    """All probes of :func:`isolation_selftest`; ``passed`` when none escaped."""

    probes: tuple[ProbeResult, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        """True when every escape attempt failed."""
        return bool(self.probes) and not any(p.escaped for p in self.probes)

    @property
    def escapes(self) -> list[ProbeResult]:
        """The probes that got out."""
        return [p for p in self.probes if p.escaped]

    def probe(self, name: str) -> ProbeResult:
        """The probe called ``name``."""
        return next(p for p in self.probes if p.name == name)

    def summary(self) -> str:
        """One line per probe, for logs and error messages."""
        return "\n".join(
            f"{'ESCAPED' if p.escaped else 'contained'}  {p.name}: {p.detail}" for p in self.probes
        )


_CONNECT = """
import socket, sys
ok = []
for host, port in [(sys.argv[1], int(sys.argv[2]))]:
    try:
        socket.create_connection((host, port), timeout=2).close(); ok.append(f"{host}:{port}")
    except OSError as e:
        print(f"{host}:{port} {e}")
print("CONNECTED " + " ".join(ok) if ok else "NOCONNECT")
"""

_EXTERNAL = """
import socket
ok = []
for host, port in [("1.1.1.1", 53), ("8.8.8.8", 53), ("9.9.9.9", 443)]:
    try:
        socket.create_connection((host, port), timeout=1).close(); ok.append(host)
    except OSError:
        pass
try:
    socket.getaddrinfo("example.com", 80); ok.append("dns")
except OSError:
    pass
print("CONNECTED " + " ".join(ok) if ok else "NOCONNECT")
"""

_FORK = """
import os, sys, time
limit = int(sys.argv[1])
kids = []
for _ in range(limit):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(30); os._exit(0)
    kids.append(pid)
print(len(kids))
for k in kids:
    os.kill(k, 9)
"""


def isolation_selftest(
    config: SandboxConfig | None = None,
    parent: str | os.PathLike[str] | None = None,
    canary_home: str | os.PathLike[str] | None = None,
) -> SelfTestReport:
    """Attempt every escape the sandbox must stop; report which got out.

    Probes (each must report ``escaped=False``):

    * ``network_host_loopback`` — connect to a TCP listener opened on the host's 127.0.0.1;
    * ``network_external`` — connect to public addresses and resolve a name;
    * ``write_usr``, ``write_etc`` — create a file under ``/usr`` and ``/etc``;
    * ``write_host_tmp`` — create a file in a world-writable directory of the host's /tmp;
    * ``read_host_home`` — read a world-readable canary in a HOME-like host directory
      (``canary_home``, created if not given) and list the host's real ``$HOME``;
    * ``fork_unbounded`` — fork more processes than ``max_processes`` (in a throwaway
      sandbox; with no limit configured it tries 512).

    Args:
        config: the configuration to test (defaults to the safe one).
        parent: where the probe sandboxes put their directories.
        canary_home: a directory to plant the home canary in (a test passes one it also
            binds, to prove the probe notices).
    """
    config = config or SandboxConfig()
    probes: list[ProbeResult] = []
    token = secrets.token_hex(16)
    with contextlib.ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fs-selftest-")))
        os.chmod(scratch, 0o711)
        home = Path(canary_home) if canary_home is not None else scratch / "home"
        home.mkdir(parents=True, exist_ok=True)
        os.chmod(home, 0o755)
        canary = home / "canary.txt"
        canary.write_text(token)
        os.chmod(canary, 0o644)
        stack.callback(canary.unlink, missing_ok=True)
        host_tmp = Path(tempfile.mkdtemp(prefix="fs-selftest-tmp-", dir="/tmp"))
        os.chmod(host_tmp, 0o777)
        stack.callback(shutil.rmtree, host_tmp, True)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        stack.callback(listener.close)
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        port = listener.getsockname()[1]

        sb = stack.enter_context(BwrapSandbox(parent, config))
        r = sb.exec(["python3", "-c", _CONNECT, "127.0.0.1", str(port)], timeout=10)
        out = r.stdout.decode(errors="replace").strip()
        probes.append(
            ProbeResult("network_host_loopback", "CONNECTED" in out, out or r.stderr.decode()[-200:])
        )
        r = sb.exec(["python3", "-c", _EXTERNAL], timeout=10)
        out = r.stdout.decode(errors="replace").strip()
        probes.append(ProbeResult("network_external", "CONNECTED" in out, out or r.stderr.decode()[-200:]))

        name = f"fs-selftest-{token}"
        for probe, target in (
            ("write_usr", f"/usr/{name}"),
            ("write_etc", f"/etc/{name}"),
            ("write_host_tmp", str(host_tmp / name)),
        ):
            r = sb.exec(["/bin/sh", "-c", 'echo x > "$1" && echo WROTE', "sh", target], timeout=10)
            on_host = Path(target).exists()
            if on_host:
                with contextlib.suppress(OSError):
                    Path(target).unlink()
            escaped = on_host or b"WROTE" in r.stdout
            detail = (
                "created on host"
                if on_host
                else (r.stderr.decode(errors="replace").strip()[-200:] or "refused")
            )
            probes.append(ProbeResult(probe, escaped, detail))

        host_home = os.path.expanduser("~")
        script = 'cat "$1" 2>&1; ls -A "$2" >/dev/null 2>&1 && echo LISTED_HOME'
        r = sb.exec(["/bin/sh", "-c", script, "sh", str(canary), host_home], timeout=10)
        out = r.stdout.decode(errors="replace")
        escaped = token in out or "LISTED_HOME" in out
        detail = (
            "read the canary"
            if token in out
            else ("listed host home" if "LISTED_HOME" in out else "not visible")
        )
        probes.append(ProbeResult("read_host_home", escaped, detail))

        limit = config.max_processes
        attempts = (limit + 32) if limit is not None else 512
        with BwrapSandbox(parent, config) as fork_sb:
            r = fork_sb.exec(["python3", "-c", _FORK, str(attempts)], timeout=30)
        try:
            spawned = int(r.stdout.decode().strip() or "0")
        except ValueError:
            spawned = 0
        escaped = spawned >= attempts
        probes.append(
            ProbeResult(
                "fork_unbounded", escaped, f"spawned {spawned} of {attempts} attempted (limit {limit})"
            )
        )
    return SelfTestReport(tuple(probes))
