"""Process isolation for evaluation runs with bubblewrap (Debian's ``bwrap``).

One :class:`BwrapSandbox` holds one sample's environment. One bubblewrap process, the
*holder*, builds the sandbox once: its user, mount, PID, network (loopback only), IPC,
UTS and cgroup namespaces with every mount in place. Each command then *enters* those
namespaces with ``nsenter`` — no second bwrap and no mounts per command — so a task's
service started by one exec on ``127.0.0.1:PORT`` is reachable from later execs, and a
background process started with ``&`` outlives the exec that started it::

    host (root)                                  sandbox (one per sample)
    ───────────                                  ────────────────────────
    BwrapSandbox.__init__
      [memory cgroup created, limit written]
      sh: join cgroup ─ setpriv --reuid U ─ bwrap ─▶ holder: pid 1 of the PID ns, owns
         --unshare-all --die-with-parent            the user ns (U ↔ uid 1000), the net
         --ro-bind /usr ... --bind work /work       ns (lo only) and the mount ns:
         --remount-ro / -- cat                      read-only /usr and /etc files,
                                                    private /work and /tmp, / read-only
    exec(cmd)
      sh: join cgroup; ulimit (NPROC, AS,  ─┐
          FSIZE, CORE)                      │
        nsenter --user --mount --net --pid  │   held namespace fds (not pids: a
          --ipc --uts --cgroup --root --wd  ├─▶ recycled pid can never be entered)
          --setuid 1000 --setgid 1000       │
          env -i [VAR=...] [-C DIR] cmd  ───┘   cmd: uid 1000, no capabilities,
                                                clean environment, host session of its own
    close()
      SIGKILL the holder (pidfd) ─────────────▶ PID ns init dies: the kernel kills every
                                                process of the sample; dirs and cgroup
                                                removed

Why each limit is enforced the way it is:

* **Unprivileged host uid.** As root, each sandbox gets a fresh random host uid ``U``
  (no passwd entry). ``RLIMIT_NPROC`` is not enforced for uid 0, and inside a user
  namespace created by root the sandbox would still be uid 0 outside; running the holder
  as ``U`` (and every command as the namespace's uid 1000, i.e. ``U``) makes the process
  limit bind to exactly this sandbox and makes host files writable only if
  world-writable.
* **Capabilities.** ``nsenter`` switches to uid 1000 inside the user namespace, which
  clears every capability; every mount is ``nosuid``, so no set-uid or file-capability
  binary can give any back.
* **Processes**: ``RLIMIT_NPROC``, counted per sandbox because of the per-sandbox uid.
  A fork bomb stops at the limit; the host is unaffected.
* **Memory**: a memory cgroup per sandbox (cgroup v2 ``memory.max`` where this process's
  cgroup is delegated, else cgroup v1 ``memory.limit_in_bytes`` when the memory
  hierarchy is writable, i.e. as root) caps the resident memory of the whole sample at
  ``memory_max_bytes``; the kernel's OOM killer kills the sample's biggest process, and
  the exec is reported with ``oom_killed=True``. It counts real memory, not address
  space, so it also holds for AddressSanitizer builds, which reserve terabytes of
  virtual memory and cannot run under ``RLIMIT_AS``. ``memory_bytes`` adds ``RLIMIT_AS``
  per process where a task can live with it. Without a usable cgroup (an unprivileged
  user without delegation) only ``RLIMIT_AS`` remains; :attr:`BwrapSandbox.memory_limit`
  says which applies.
* **File size**: ``RLIMIT_FSIZE`` caps any single file written; core dumps are off.
* **Lifetime**: the holder runs with ``--die-with-parent``, whose parent-death signal
  fires when the *thread* that started bwrap ends. Inspect creates sandboxes from worker
  threads that retire when idle, which would kill a sample's sandbox while its model is
  thinking; so every holder is started from one long-lived spawner thread, which ends
  only with this process. The holder's ``cat`` also reads a pipe whose only write end
  this process holds, so it exits at end-of-file when this process is gone.
* **Wall time**: on timeout every process of the exec's host session is stopped then
  killed. Background processes that left the session survive until
  :meth:`BwrapSandbox.close`, which tears the whole PID namespace down.
* **Output**: each stream is capped at ``output_limit_bytes``; the rest is read and
  discarded, and the result is flagged ``stdout_truncated`` / ``stderr_truncated``.
* **Network**: the holder's net namespace has only ``lo``; no route, no DNS.
* **Filesystem**: ``/usr`` (with the merged-``/usr`` symlinks) read-only; ``/etc`` is
  a read-only directory holding copies of the few host entries programs need (loader
  cache, CA certificates, ...) and a generated ``passwd``/``group``/``hosts``; ``/work`` and ``/tmp``
  are per-sandbox host directories (not a tmpfs, so ``/tmp`` is shared by all execs
  of the sample like a container's) removed on close; host ``/root``, ``/home``, the
  repository and the host ``/tmp`` are simply not mounted.

What is computed once, not per sandbox or per command: the read-only bind list of the
system (``/usr`` and its symlinks), the sandbox ``/etc`` (one bind instead of one per
file; rebuilt when a host entry changes), the cgroup parent (per process); the exec
wrapper argv (per sandbox). Per command there is one ``sh`` (cgroup join and limits, no
other shell), ``nsenter`` and ``env`` — no mounts.

:func:`isolation_selftest` proves the isolation by attempting escapes; each can be
made to succeed with a deliberately weakened :class:`SandboxConfig`, which is how the
tests show the self-test would notice.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import errno
import fcntl
import functools
import hashlib
import json
import os
import secrets
import selectors
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Literal

__all__ = [
    "DEFAULT_PATH",
    "SANDBOX_GID",
    "SANDBOX_UID",
    "SANDBOX_USER",
    "BwrapSandbox",
    "ExecResult",
    "MemoryLimit",
    "ProbeResult",
    "SandboxConfig",
    "SandboxError",
    "SandboxService",
    "SelfTestReport",
    "bwrap_available",
    "isolation_selftest",
    "memory_cgroup_parent",
    "recent_isolation_selftest",
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
# Namespaces every command enters, as nsenter options.
_NAMESPACES = (("user", "--user"), ("mnt", "--mount"), ("net", "--net"), ("pid", "--pid"),
               ("ipc", "--ipc"), ("uts", "--uts"), ("cgroup", "--cgroup"))  # fmt: skip
_DRAIN_GRACE_S = 0.2
_NS_GET_PARENT = 0xB702  # ioctl_ns(2): _IO(0xb7, 0x2)
_WRAPPER_FAILED = 125
_WRAPPER_MARK = "frontiersec-sandbox:"
_HOST_ENV = {"PATH": DEFAULT_PATH}

MemoryLimit = Literal["cgroup-v2", "cgroup-v1", "rlimit-as", "none"]
"""How :attr:`BwrapSandbox.memory_limit` is enforced."""


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
    """RLIMIT_AS per process (address space, bytes); None for none (AddressSanitizer)."""
    memory_max_bytes: int | None = 2 * 1024**3
    """Resident memory of the whole sandbox (memory cgroup); None for no cgroup limit."""
    cgroup_parent: str | None = None
    """A writable cgroup directory for the per-sandbox memory cgroups (v2 with the memory
    controller enabled in its ``cgroup.subtree_control``, or a v1 memory hierarchy dir);
    default: found from this process's own cgroup (see :func:`memory_cgroup_parent`)."""
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
    """What one command did. ``returncode`` is -9 when it was killed (timeout or memory)."""

    returncode: int
    stdout: bytes
    stderr: bytes
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    timed_out: bool = False
    duration_s: float = 0.0
    oom_killed: bool = False
    """The sandbox's memory cgroup killed a process of this exec (``memory_max_bytes``)."""

    @property
    def success(self) -> bool:
        """True when the command exited 0 and was not killed."""
        return self.returncode == 0 and not self.timed_out and not self.oom_killed


@dataclass(slots=True)
class SandboxService:
    """A background process started with :meth:`BwrapSandbox.start_service`."""

    popen: subprocess.Popen[bytes]
    log_path: Path

    def running(self) -> bool:
        """Whether the service's host process is still alive."""
        return self.popen.poll() is None

    def log(self) -> str:
        """Its combined stdout and stderr so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        """Kill the service (every process of its host session)."""
        _stop_entered(self.popen)


@functools.cache
def bwrap_available() -> bool:
    """Whether ``bwrap``, ``nsenter``, ``setpriv`` and ``env`` are on this machine."""
    return all(shutil.which(t) for t in ("bwrap", "nsenter", "setpriv", "env"))


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


def _session_members(session: int) -> list[int]:
    return [p for p in _host_pids() if (st := _proc_stat(p)) is not None and st[2] == session]


def _kill_session(session: int, spare: int | None = None) -> None:
    """Stop, then kill, every host process in ``session`` but ``spare`` (stopped processes
    cannot fork)."""
    for _ in range(50):
        members = [m for m in _session_members(session) if m != spare]
        if not members:
            return
        for pid in members:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGSTOP)
        if {m for m in _session_members(session) if m != spare} <= set(members):
            break
    for pid in _session_members(session):
        if pid != spare:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def _stop_entered(p: subprocess.Popen[bytes], kill: bool = True) -> None:
    """End one exec or service: its sandboxed processes first, ``nsenter`` last.

    ``p`` is the host-side ``nsenter``, the parent of the command it started in the
    sandbox's PID namespace. Killed first, it would orphan that child to the *host's*
    init (reparenting follows the parent's namespace), which here may never reap it —
    and a PID namespace cannot finish dying while one of its processes is an unreaped
    zombie. So kill everything else of its session (``kill``; False when the PID
    namespace is being torn down anyway), let ``nsenter`` reap its child and exit, and
    only kill it if it does not.
    """
    if p.poll() is None:
        if kill:
            _kill_session(p.pid, spare=p.pid)
            # nsenter stops itself when its child is stopped (it waits with WUNTRACED):
            # wake it so it reaps the killed child and exits.
            with contextlib.suppress(ProcessLookupError):
                os.kill(p.pid, signal.SIGCONT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.wait(timeout=2)
    _kill_group(p)


# ── things computed once per process ────────────────────────────────────────
def _system_binds(read_only: bool) -> tuple[str, ...]:
    """bwrap arguments for ``/usr``, the merged-``/usr`` symlinks and ``/etc`` (one bind)."""
    return (*_usr_binds(read_only), "--ro-bind", str(_sandbox_etc(_etc_stamp())), "/etc")


@functools.cache
def _usr_binds(read_only: bool) -> tuple[str, ...]:
    bind = "--ro-bind" if read_only else "--bind"
    args = [bind, "/usr", "/usr"]
    for name in _USR_LINKS:
        p = Path("/") / name
        if p.is_symlink():
            args += ["--symlink", os.readlink(p), str(p)]
        elif p.is_dir():
            args += ["--ro-bind", str(p), str(p)]
    return tuple(args)


def _etc_stamp() -> tuple[tuple[str, int], ...]:
    """Modification times of the host ``/etc`` entries a sandbox gets (a new ``ldconfig``
    or CA bundle makes a new sandbox ``/etc``)."""
    out = []
    for name in _ETC_FILES:
        with contextlib.suppress(OSError):
            out.append((name, os.stat(f"/etc/{name}").st_mtime_ns))
    return tuple(out)


@functools.lru_cache(maxsize=1)
def _sandbox_etc(stamp: tuple[tuple[str, int], ...]) -> Path:
    """The sandbox's whole ``/etc``: copies of the host entries named in ``_ETC_FILES``
    (symlinks kept as symlinks; they point into ``/usr``) plus the generated
    ``passwd``/``group``/``hosts``/``hostname``. One read-only bind instead of one per
    file saves a dozen mounts per sandbox.

    Shared by every process of this user and kept (it is small), named by the host
    entries' modification times: built in a private directory, then renamed into place;
    an existing one is used only if this user owns it and nobody else can write to it."""
    key = hashlib.sha256(repr((stamp, _ETC_LAYOUT)).encode()).hexdigest()[:16]
    final = Path(tempfile.gettempdir()) / f"fs-sbx-etc-{os.geteuid()}-{key}"
    if _trusted_dir(final):
        return final
    etc = Path(tempfile.mkdtemp(prefix="fs-sbx-etc-build-"))
    try:
        _fill_etc(etc, stamp)
        os.chmod(etc, 0o755)
        try:
            os.rename(etc, final)
        except OSError:
            # another process won the race (or a foreign entry squats the name)
            if _trusted_dir(final):
                shutil.rmtree(etc, ignore_errors=True)
                return final
            atexit.register(shutil.rmtree, etc, True)
            return etc
    except BaseException:
        shutil.rmtree(etc, ignore_errors=True)
        raise
    return final


_ETC_LAYOUT = 1  # bump when the generated files change


def _trusted_dir(path: Path) -> bool:
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & 0o022


def _fill_etc(etc: Path, stamp: tuple[tuple[str, int], ...]) -> None:
    for name, _mtime in stamp:
        src, dst = Path("/etc") / name, etc / name
        with contextlib.suppress(OSError, shutil.Error):
            if src.is_symlink():
                os.symlink(os.readlink(src), dst)
            elif src.is_dir():
                # private keys (/etc/ssl/private) stay out
                shutil.copytree(src, dst, symlinks=True, ignore=shutil.ignore_patterns("private"))
            else:
                shutil.copy2(src, dst)
    files = {
        "passwd": f"root:x:0:0:root:/root:/usr/sbin/nologin\n"
        f"{SANDBOX_USER}:x:{SANDBOX_UID}:{SANDBOX_GID}:sandbox:{WORK}:/bin/sh\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
        "group": f"root:x:0:\n{SANDBOX_USER}:x:{SANDBOX_GID}:\nnogroup:x:65534:\n",
        "hosts": "127.0.0.1\tlocalhost sandbox\n::1\tlocalhost ip6-localhost\n",
        "hostname": "sandbox\n",
    }
    for name, text in files.items():
        (etc / name).write_text(text)
    for dirpath, dirnames, filenames in os.walk(etc):
        for d in dirnames:
            if not os.path.islink(os.path.join(dirpath, d)):
                os.chmod(os.path.join(dirpath, d), 0o755)
        for f in filenames:
            path = os.path.join(dirpath, f)
            if not os.path.islink(path):
                os.chmod(path, 0o644)


@functools.cache
def _spawner() -> concurrent.futures.ThreadPoolExecutor:
    """The one thread every holder is started from (see *Lifetime* in the module doc): a
    pool thread lives until the interpreter shuts down, unlike Inspect's idle workers."""
    return concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="fs-sandbox-spawner")


@functools.cache
def _dash() -> str | None:
    """``dash`` if installed: one exec that joins the cgroup AND sets every rlimit."""
    return shutil.which("dash")


def _own_cgroup(version: int) -> str | None:
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        hid, controllers, path = line.split(":", 2)
        if version == 2 and hid == "0" and controllers == "":
            return path
        if version == 1 and "memory" in controllers.split(","):
            return path
    return None


def _cgroup_mount(fstype: str, option: str | None) -> Path | None:
    try:
        lines = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split()
        if len(parts) >= 4 and parts[2] == fstype and (option is None or option in parts[3].split(",")):
            return Path(parts[1])
    return None


def _probe_cgroup_dir(parent: Path, version: int) -> bool:
    """Can we create a child with a memory limit under ``parent``? (creates and removes one)."""
    limit_file = "memory.max" if version == 2 else "memory.limit_in_bytes"
    if version == 2:
        try:
            if "memory" not in (parent / "cgroup.subtree_control").read_text().split():
                return False
        except OSError:
            return False
    probe = parent / f"fs-sbx-probe-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        probe.mkdir()
    except OSError:
        return False
    try:
        (probe / limit_file).write_text(str(64 * 1024**2))
        return True
    except OSError:
        return False
    finally:
        with contextlib.suppress(OSError):
            probe.rmdir()


def _cgroup_version(parent: Path) -> int | None:
    if (parent / "memory.max").exists() or (parent / "cgroup.subtree_control").exists():
        return 2
    if (parent / "memory.limit_in_bytes").exists():
        return 1
    return None


@functools.cache
def memory_cgroup_parent(explicit: str | None = None) -> tuple[Path, int] | None:
    """Where per-sandbox memory cgroups can be made here: ``(directory, version)`` or None.

    ``explicit`` (``SandboxConfig.cgroup_parent``) is used as given. Otherwise, in order:
    this process's cgroup v2 cgroup when its ``cgroup.subtree_control`` already enables
    the ``memory`` controller (a delegated subtree, e.g. under
    ``systemd-run --user -p Delegate=yes``); then this process's cgroup in a v1 ``memory``
    hierarchy when it is writable (root on a v1 or hybrid host). Found once per process
    by creating and removing a probe cgroup.
    """
    if explicit is not None:
        path = Path(explicit)
        version = _cgroup_version(path)
        return (path, version) if version is not None and _probe_cgroup_dir(path, version) else None
    v2_mount = _cgroup_mount("cgroup2", None)
    own2 = _own_cgroup(2)
    if v2_mount is not None and own2 is not None:
        parent = v2_mount / own2.lstrip("/")
        if _probe_cgroup_dir(parent, 2):
            return parent, 2
    v1_mount = _cgroup_mount("cgroup", "memory")
    own1 = _own_cgroup(1)
    if v1_mount is not None and own1 is not None:
        parent = v1_mount / own1.lstrip("/")
        if _probe_cgroup_dir(parent, 1):
            return parent, 1
    return None


_OWNER_FILE = "owner"
_SWEPT: set[Path] = set()
_STALE_CGROUP_S = 120.0


def _owner_stamp(pid: int) -> str | None:
    """``pid`` and its start time (so a recycled pid is not taken for the owner)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    return f"{pid} {raw[raw.rfind(b')') + 2 :].split()[19].decode()}"


def _sweep_once(base: Path) -> None:
    """Remove what sandboxes of dead processes left behind (a process killed with SIGKILL
    cannot clean up): their directories under ``base``, once per ``base`` and process, and
    empty ``fs-sbx-*`` memory cgroups older than two minutes under the cgroup parent."""
    if base in _SWEPT:
        return
    _SWEPT.add(base)
    with contextlib.suppress(OSError):
        for d in base.glob("fs-sbx-*"):
            owner = d / "log" / _OWNER_FILE
            try:
                stamp = owner.read_text().strip()
            except OSError:
                continue  # not ours, or still being set up
            pid = int(stamp.split()[0]) if stamp.split() and stamp.split()[0].isdigit() else -1
            if pid > 0 and _owner_stamp(pid) != stamp:
                shutil.rmtree(d, ignore_errors=True)
    found = memory_cgroup_parent()
    if found is None:
        return
    now = time.time()
    with contextlib.suppress(OSError):
        for cg in found[0].glob("fs-sbx-*"):
            with contextlib.suppress(OSError):
                if (
                    now - cg.stat().st_mtime > _STALE_CGROUP_S
                    and not (cg / "cgroup.procs").read_text().strip()
                ):
                    cg.rmdir()


class _MemoryCgroup:
    """One sandbox's memory cgroup (v1 or v2): limit, OOM-kill counter, removal."""

    def __init__(self, parent: Path, version: int, name: str, limit: int) -> None:
        self.version = version
        self.path = parent / name
        self.path.mkdir()
        try:
            if version == 2:
                (self.path / "memory.max").write_text(str(limit))
                with contextlib.suppress(OSError):
                    (self.path / "memory.swap.max").write_text("0")
                self._events = self.path / "memory.events"
            else:
                (self.path / "memory.limit_in_bytes").write_text(str(limit))
                with contextlib.suppress(OSError):
                    (self.path / "memory.memsw.limit_in_bytes").write_text(str(limit))
                self._events = self.path / "memory.oom_control"
        except BaseException:
            self.remove()
            raise

    @property
    def procs(self) -> Path:
        """The file a process writes its pid to, to join."""
        return self.path / "cgroup.procs"

    def oom_kills(self) -> int:
        """How many processes the kernel has OOM-killed in this cgroup so far."""
        try:
            for line in self._events.read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except OSError:
            pass
        return 0

    def remove(self) -> None:
        """Remove the (empty) cgroup; waits briefly for dying processes to leave it."""
        for _ in range(200):
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError as exc:
                if exc.errno != errno.EBUSY:
                    return
                with contextlib.suppress(OSError):
                    for pid in self.procs.read_text().split():
                        with contextlib.suppress(ProcessLookupError, PermissionError, ValueError):
                            os.kill(int(pid), signal.SIGKILL)
                time.sleep(0.005)


class BwrapSandbox:
    """A long-lived bubblewrap sandbox for one sample. Use as a context manager.

    Args:
        parent: host directory under which the sandbox's private directory (its
            ``/work``, ``/tmp`` and logs) is created; removed on close.
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
        _sweep_once(base.resolve())
        self.root = Path(tempfile.mkdtemp(prefix="fs-sbx-", dir=base))
        self._holder: subprocess.Popen[bytes] | None = None
        self._holder_pidfd = -1
        self._holder_stdin = -1
        self._ns_fds: list[int] = []
        self._outer_userns_fd = -1
        self._cgroup: _MemoryCgroup | None = None
        self.memory_limit: MemoryLimit = "none"
        try:
            self._prepare_dirs()
            self._prepare_cgroup()
            self._start_holder()
            self._exec_prefix = self._build_exec_prefix()
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
        for name, mode in (("work", 0o755), ("tmp", 0o1777), ("log", 0o700)):
            d = self.root / name
            d.mkdir()
            os.chmod(d, mode)
        for name in ("work", "tmp"):
            os.chown(self.root / name, self.host_uid, self.host_gid)
        (self.root / "log" / _OWNER_FILE).write_text(_owner_stamp(os.getpid()) or "")

    def _prepare_cgroup(self) -> None:
        limit = self.config.memory_max_bytes
        if limit is not None:
            found = memory_cgroup_parent(self.config.cgroup_parent)
            if found is not None:
                parent, version = found
                try:
                    self._cgroup = _MemoryCgroup(parent, version, self.root.name, limit)
                except OSError as exc:
                    raise SandboxError(
                        f"cannot create the sandbox's memory cgroup under {parent}: {exc}"
                    ) from exc
                self.memory_limit = "cgroup-v2" if version == 2 else "cgroup-v1"
                return
            if self.config.cgroup_parent is not None:
                raise SandboxError(f"cgroup_parent {self.config.cgroup_parent} is not a usable memory cgroup")
        if self.config.memory_bytes is not None:
            self.memory_limit = "rlimit-as"

    def _join_cgroup(self) -> list[str]:
        """Argv prefix that moves the process into the sandbox's cgroup, then execs the rest."""
        if self._cgroup is None:
            return []
        script = (
            f"echo $$ > {shlex.quote(str(self._cgroup.procs))} || "
            f'{{ echo "{_WRAPPER_MARK} cannot join the memory cgroup" >&2; exit {_WRAPPER_FAILED}; }}; '
            'exec "$@"'
        )
        return [_dash() or "/bin/sh", "-c", script, "sh"]

    def _start_holder(self) -> None:
        c = self.config
        tmp = "/tmp" if c.bind_host_tmp else str(self.root / "tmp")
        args = [
            "bwrap",
            "--unshare-all",
            *([] if c.isolate_network else ["--share-net"]),
            "--die-with-parent",
            "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_GID),
            "--hostname", "sandbox",
            *_system_binds(c.read_only_system),
            "--proc", "/proc",
            "--dev", "/dev",
            "--bind", tmp, "/tmp",
            "--bind", str(self.work_dir), WORK,
        ]  # fmt: skip
        for host, inside in c.extra_ro_binds:
            args += ["--ro-bind", host, inside]
        for host, inside in c.extra_rw_binds:
            args += ["--bind", host, inside]
        # bwrap's root is a tmpfs; make it read-only so nothing outside /work and /tmp
        # is writable, not even ephemerally.
        args += ["--remount-ro", "/", "--chdir", WORK]
        prefix = self._join_cgroup()
        if self._drop_uid:
            prefix += [
                "setpriv",
                f"--reuid={self.host_uid}",
                f"--regid={self.host_gid}",
                "--clear-groups",
                "--",
            ]
        info_r, info_w = os.pipe()
        try:
            # The holder's command is `cat`: it echoes the byte we send once the sandbox is
            # fully set up (the info fd is written before the uid map and the mounts are),
            # then blocks on its stdin for the sandbox's lifetime.
            self._holder = (
                _spawner()
                .submit(
                    subprocess.Popen,
                    [*prefix, *args, "--info-fd", str(info_w), "--", "/usr/bin/cat"],
                    pass_fds=(info_w,),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    env=_HOST_ENV,
                    start_new_session=True,
                )
                .result()
            )
            os.close(info_w)
            info_w = -1
            assert self._holder.stdin is not None
            assert self._holder.stdout is not None
            self._holder_stdin = os.dup(self._holder.stdin.fileno())
            self._holder.stdin.close()
            os.write(self._holder_stdin, b"\n")
            info, ready = self._await_holder(info_r, self._holder.stdout.fileno())
        finally:
            os.close(info_r)
            if info_w >= 0:
                os.close(info_w)
        self._holder.stdout.close()
        if b"}" not in info or ready != b"\n":
            err = b""
            if self._holder.stderr is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._holder.wait(timeout=1)
                if self._holder.poll() is not None:
                    err = self._holder.stderr.read()
            raise SandboxError(f"bwrap failed to start: {err.decode(errors='replace').strip()}")
        if self._holder.stderr is not None:
            self._holder.stderr.close()
        self.holder_pid = int(json.loads(info[: info.index(b"}") + 1])["child-pid"])
        self._holder_pidfd = os.pidfd_open(self.holder_pid)
        flags = os.O_RDONLY | os.O_CLOEXEC
        for ns, _opt in _NAMESPACES:
            self._ns_fds.append(os.open(f"/proc/{self.holder_pid}/ns/{ns}", flags))
        self._ns_fds.append(os.open(f"/proc/{self.holder_pid}/root", flags | os.O_DIRECTORY))
        self._ns_fds.append(os.open(f"/proc/{self.holder_pid}/root{WORK}", flags | os.O_DIRECTORY))
        self._outer_userns_fd = -1
        if not self._root_mode:
            outer = fcntl.ioctl(self._ns_fds[0], _NS_GET_PARENT)
            if os.fstat(outer).st_ino == os.stat("/proc/self/ns/user").st_ino:
                os.close(outer)  # not nested: the sandbox's user ns is a child of ours
            else:
                self._outer_userns_fd = outer
                self._ns_fds.append(outer)
        # The fds were opened by pid: prove the pid still was our holder (not recycled).
        signal.pidfd_send_signal(self._holder_pidfd, 0)

    @staticmethod
    def _await_holder(info_fd: int, ready_fd: int) -> tuple[bytes, bytes]:
        info, ready = b"", b""
        deadline = time.monotonic() + 10
        sel = selectors.DefaultSelector()
        sel.register(info_fd, selectors.EVENT_READ, "info")
        sel.register(ready_fd, selectors.EVENT_READ, "ready")
        try:
            while sel.get_map() and time.monotonic() < deadline:
                for key, _ev in sel.select(max(0.0, deadline - time.monotonic())):
                    chunk = os.read(key.fd, 4096)
                    if key.data == "info":
                        info += chunk
                        if not chunk or b"}" in info:
                            sel.unregister(key.fd)
                    else:
                        ready += chunk
                        sel.unregister(key.fd)
                        if not chunk:
                            return info, ready
        finally:
            sel.close()
        return info, ready

    def _build_exec_prefix(self) -> list[str]:
        """The host-side argv of every exec, up to (not including) the command."""
        c = self.config
        dash = _dash()
        limits: list[str] = []
        if dash is not None:
            # dash's ulimit sets soft and hard limits; -f counts 512-byte blocks, -v KiB.
            parts = ["ulimit -c 0"]
            if c.max_processes is not None:
                parts.append(f"ulimit -p {int(c.max_processes)}")
            if c.memory_bytes is not None:
                parts.append(f"ulimit -v {int(c.memory_bytes) // 1024}")
            if c.file_size_bytes is not None:
                parts.append(f"ulimit -f {max(1, int(c.file_size_bytes) // 512)}")
            join = ""
            if self._cgroup is not None:
                join = (
                    f"echo $$ > {shlex.quote(str(self._cgroup.procs))} || "
                    f'{{ echo "{_WRAPPER_MARK} cannot join the memory cgroup" >&2; exit {_WRAPPER_FAILED}; }}; '
                )
            script = (
                join
                + " && ".join(parts)
                + f' || {{ echo "{_WRAPPER_MARK} cannot set the resource limits" >&2; exit {_WRAPPER_FAILED}; }}; '
                + 'exec "$@"'
            )
            wrapper = [dash, "-c", script, "sh"]
        else:
            limits = ["prlimit", "--core=0"]
            if c.max_processes is not None:
                limits.append(f"--nproc={c.max_processes}")
            if c.memory_bytes is not None:
                limits.append(f"--as={c.memory_bytes}")
            if c.file_size_bytes is not None:
                limits.append(f"--fsize={c.file_size_bytes}")
            wrapper = [*self._join_cgroup(), *limits, "--"]
        ns_fds, (root_fd, wd_fd) = (
            self._ns_fds[: len(_NAMESPACES)],
            self._ns_fds[len(_NAMESPACES) : len(_NAMESPACES) + 2],
        )
        fds = dict(zip((ns for ns, _opt in _NAMESPACES), ns_fds, strict=True))
        opts = dict(_NAMESPACES)
        where = [f"--root=/proc/self/fd/{root_fd}", f"--wd=/proc/self/fd/{wd_fd}"]
        if self._root_mode:
            # Root may join every namespace at once, then become the sandbox user (which
            # drops every capability).
            enter = ["nsenter", *(f"{opts[ns]}=/proc/self/fd/{fd}" for ns, fd in fds.items())]
            enter += [*where, f"--setuid={SANDBOX_UID}", f"--setgid={SANDBOX_GID}"]
            return [*wrapper, *enter]
        # Unprivileged, bwrap nests the sandbox's user namespace inside the one that owns
        # the other namespaces; joining them needs the capabilities of that outer one. So:
        # outer user ns + ipc/net/mount/pid/uts, then the inner user ns. Credentials are
        # kept (setgroups is denied there); uid 1000 is not root inside, so the exec of
        # the command drops the capabilities setns granted. The cgroup namespace is left
        # out (joining it from outside needs CAP_SYS_ADMIN over it): commands see the
        # host's cgroup paths, with no control over them.
        first = ["nsenter", "--preserve-credentials"]
        if self._outer_userns_fd >= 0:
            first.append(f"--user=/proc/self/fd/{self._outer_userns_fd}")
        first += [f"{opts[ns]}=/proc/self/fd/{fds[ns]}" for ns in ("ipc", "net", "mnt", "pid", "uts")]
        second = ["nsenter", "--preserve-credentials", f"--user=/proc/self/fd/{fds['user']}", *where]
        return [*wrapper, *first, "--", *second]

    # ── commands ─────────────────────────────────────────────────────────────
    def _command(self, cmd: Sequence[str], env: Mapping[str, str] | None, cwd: str | None) -> list[str]:
        if self._closed:
            raise SandboxError("sandbox is closed")
        if not cmd:
            raise ValueError("empty command")
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
        assignments = []
        for k, v in environment.items():
            if not k or "=" in k or "\0" in k or "\0" in v:
                raise ValueError(f"invalid environment variable name or value: {k!r}")
            assignments.append(f"{k}={v}")
        # `env -i` inside the sandbox: the host-side wrapper and nsenter (which run as
        # root on the host) never see a variable the caller chose (LD_PRELOAD, ...).
        inner = ["/usr/bin/env", "-i"]
        if cwd is not None and cwd not in (WORK, f"{WORK}/", ".", ""):
            inner.append(f"--chdir={cwd}")
        if "=" in cmd[0]:
            raise ValueError(f"a command name cannot contain '=': {cmd[0]!r}")
        return [*self._exec_prefix, *inner, "--", *assignments, *cmd]

    def _popen(self, argv: list[str], stdin: int, stdout: int, stderr: int) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            argv,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            pass_fds=tuple(self._ns_fds),
            env=_HOST_ENV,
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
            grace period only. ``oom_killed`` is set when the memory cgroup killed a
            process of the sandbox while this command ran and the command died of it.

        Raises:
            SandboxError: the sandbox itself failed (closed, cgroup gone).
        """
        if user not in (None, SANDBOX_USER, str(SANDBOX_UID)):
            raise PermissionError(f"the sandbox can only run commands as {SANDBOX_USER!r}, not {user!r}")
        argv = self._command(cmd, env, cwd)
        limit = self.config.output_limit_bytes if output_limit is None else output_limit
        data = input.encode() if isinstance(input, str) else input
        ooms = self._cgroup.oom_kills() if self._cgroup is not None else 0
        start = time.monotonic()
        p = self._popen(argv, subprocess.PIPE, subprocess.PIPE, subprocess.PIPE)
        self._running.add(p)
        try:
            result = self._communicate(p, data, timeout, limit, start)
        finally:
            self._running.discard(p)
            _stop_entered(p)
        if result.returncode == _WRAPPER_FAILED and result.stderr.startswith(_WRAPPER_MARK.encode()):
            raise SandboxError(result.stderr.decode(errors="replace").strip())
        if result.returncode != 0 and self._holder is not None and self._holder.poll() is not None:
            raise SandboxError(
                f"the sandbox {self.root.name} is gone: its init process exited (was it killed from "
                f"inside?), so {list(cmd)[:3]!r} could not run: {result.stderr.decode(errors='replace').strip()}"
            )
        killed = result.returncode in (-9, 137) and not result.timed_out
        if killed and self._cgroup is not None and self._cgroup.oom_kills() > ooms:
            result = replace(result, oom_killed=True)
        return result

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
        """Kill a timed-out exec: every process of its host session (``start_new_session``)."""
        _stop_entered(p)

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
        if self._holder_pidfd >= 0:
            # Kill the PID namespace's init first: the kernel then kills every process of
            # the sample (services and execs included) before init is reaped, and the
            # outer bwrap (our child) reaps it and exits. A pidfd cannot hit a recycled pid.
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self._holder_pidfd, signal.SIGKILL)
        for p in [*(svc.popen for svc in self._services), *self._running]:
            _stop_entered(p, kill=self._holder_pidfd < 0)
        if self._holder is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._holder.wait(timeout=2)
            _kill_group(self._holder)
        for fd in (*self._ns_fds, self._holder_pidfd, self._holder_stdin):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._ns_fds, self._holder_pidfd, self._holder_stdin = [], -1, -1
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
        if self._cgroup is not None:
            self._cgroup.remove()
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
    skipped: bool = False
    """The probe could not be run meaningfully here (see ``detail``); not an escape."""


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
            f"{'ESCAPED' if p.escaped else 'skipped' if p.skipped else 'contained'}  {p.name}: {p.detail}"
            for p in self.probes
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


_MEMORY = """
import sys
target, chunk, held = int(sys.argv[1]), 8 * 1024 * 1024, []
try:
    while len(held) * chunk < target:
        held.append(b"\\x01" * chunk)
except MemoryError:
    print("MEMORYERROR", len(held) * chunk)
    sys.exit(0)
print("ALLOCATED", len(held) * chunk)
"""
# The memory probe runs against scaled-down limits (same mechanism, less RAM and time).
_PROBE_MEMORY_MAX = 128 * 1024**2
_PROBE_ADDRESS_SPACE = 192 * 1024**2
_PROBE_ALLOCATE = 320 * 1024**2


def _memory_probe(config: SandboxConfig, parent: str | os.PathLike[str] | None) -> ProbeResult:
    probe_config = replace(
        config,
        memory_max_bytes=None
        if config.memory_max_bytes is None
        else min(config.memory_max_bytes, _PROBE_MEMORY_MAX),
        memory_bytes=None if config.memory_bytes is None else min(config.memory_bytes, _PROBE_ADDRESS_SPACE),
    )
    with BwrapSandbox(parent, probe_config) as box:
        if box.memory_limit == "none" and config.memory_max_bytes is not None:
            return ProbeResult(
                "memory_unbounded",
                False,
                "skipped: memory_max_bytes is set but this host offers no writable memory cgroup "
                "(run as root, or in a delegated cgroup v2 subtree) and RLIMIT_AS is off for this "
                "configuration",
                skipped=True,
            )
        r = box.exec(["python3", "-c", _MEMORY, str(_PROBE_ALLOCATE)], timeout=60)
    out = r.stdout.decode(errors="replace").strip()
    escaped = "ALLOCATED" in out
    if escaped:
        detail = f"allocated {_PROBE_ALLOCATE >> 20} MiB with no memory limit ({box.memory_limit})"
    elif r.oom_killed:
        detail = f"killed by the memory cgroup ({box.memory_limit}) at {_PROBE_MEMORY_MAX >> 20} MiB"
    else:
        detail = f"refused ({box.memory_limit}): {out or r.stderr.decode(errors='replace').strip()[-200:]}"
    return ProbeResult("memory_unbounded", escaped, detail)


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
      sandbox; with no limit configured it tries 512);
    * ``memory_unbounded`` — allocate and touch 320 MiB in a throwaway sandbox whose
      memory limits are scaled down to 128 MiB (cgroup) / 192 MiB (address space); it
      is ``skipped`` (not escaped) when the host cannot enforce a cgroup limit and the
      configuration turned ``RLIMIT_AS`` off.

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
        # A sandbox that cannot run anything would "contain" every probe: prove it works.
        alive = sb.exec(["python3", "-c", "print('sandbox-ok')"], timeout=30)
        if alive.stdout != b"sandbox-ok\n":
            raise SandboxError(
                f"the sandbox cannot run commands (exit {alive.returncode}): "
                f"{alive.stderr.decode(errors='replace').strip()[-500:]}"
            )
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
        probes.append(_memory_probe(config, parent))
    report = SelfTestReport(tuple(probes))
    if report.passed:
        _PASSED[_selftest_key(config, parent)] = (time.monotonic(), report)
    return report


_PASSED: dict[tuple[SandboxConfig, str | None, int], tuple[float, SelfTestReport]] = {}


def recent_isolation_selftest(
    config: SandboxConfig | None = None,
    parent: str | os.PathLike[str] | None = None,
    max_age_s: float = 300.0,
) -> SelfTestReport:
    """:func:`isolation_selftest`, unless this process saw the same configuration pass it
    within ``max_age_s`` seconds (then that passing report).

    For a run that has just proved the isolation and then starts Inspect, whose per-task
    ``task_init`` would prove it again, seconds later, with the very same configuration. A
    failed self-test is never remembered: it runs again every time.
    """
    config = config or SandboxConfig()
    seen = _PASSED.get(_selftest_key(config, parent))
    if seen is not None and time.monotonic() - seen[0] <= max_age_s:
        return seen[1]
    return isolation_selftest(config, parent)


def _selftest_key(
    config: SandboxConfig, parent: str | os.PathLike[str] | None
) -> tuple[SandboxConfig, str | None, int]:
    return config, None if parent is None else os.fspath(parent), os.geteuid()
