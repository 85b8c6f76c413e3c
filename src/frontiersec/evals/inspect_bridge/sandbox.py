# ruff: noqa: ARG002, ARG003  (method signatures are fixed by Inspect's SandboxEnvironment)
"""Inspect sandbox environment ``bwrap``: every sample in its own bubblewrap sandbox.

Use it as ``Task(..., sandbox="bwrap")`` or ``sandbox=("bwrap", BwrapEnvironmentConfig(...))``.

    task_init ── isolation_selftest(config) ── any escape? ── raise SandboxIsolationError
        │
    sample_init ── BwrapSandbox(parent, config)   (holder process, /work, /tmp)
        │
    exec / write_file / read_file  (blocking work runs in a worker thread)
        │
    sample_cleanup ── BwrapSandbox.close()   (kills the PID namespace, removes dirs)

Inspect semantics honoured: a timed-out ``exec`` raises ``TimeoutError``; a command the
memory cgroup killed returns exit status 137 (as in a container) with
:data:`OOM_MESSAGE` appended to its stderr, so the agent and the log both see why; an output
stream above ``SandboxEnvironmentLimits.MAX_EXEC_OUTPUT_SIZE`` raises
``OutputLimitExceededError``; ``read_file`` above ``MAX_READ_FILE_SIZE`` raises it too;
a ``user`` other than the sandbox's own raises ``SandboxUserUnsupportedError``.
Relative paths resolve against ``/work``.
"""

from __future__ import annotations

import functools
import os
from typing import Any, Literal, overload

import anyio
from inspect_ai.util import (
    ExecResult,
    OutputLimitExceededError,
    SandboxEnvironment,
    SandboxEnvironmentConfigType,
    SandboxEnvironmentLimits,
    SandboxUserUnsupportedError,
    sandboxenv,
)
from pydantic import BaseModel, Field

from frontiersec.evals.sandbox import (
    SANDBOX_UID,
    SANDBOX_USER,
    BwrapSandbox,
    SandboxConfig,
    SelfTestReport,
    recent_isolation_selftest,
)

__all__ = ["OOM_MESSAGE", "BwrapEnvironmentConfig", "BwrapSandboxEnvironment", "SandboxIsolationError"]

SELFTEST_MAX_AGE_S = 300.0
OOM_MESSAGE = "[bwrap sandbox] killed: the sample exceeded its memory limit"


class SandboxIsolationError(RuntimeError):
    """The isolation self-test found an escape; no sample may run in this sandbox."""

    def __init__(self, report: SelfTestReport) -> None:
        self.report = report
        names = ", ".join(p.name for p in report.escapes)
        super().__init__(
            f"bwrap sandbox refused to start: isolation self-test escaped ({names}).\n{report.summary()}"
        )


class BwrapEnvironmentConfig(BaseModel, frozen=True):
    """Settings for the ``bwrap`` sandbox (all optional)."""

    parent_dir: str | None = Field(default=None, description="Where per-sample sandbox dirs are created.")
    max_processes: int | None = Field(default=256, description="RLIMIT_NPROC for the sample.")
    memory_bytes: int | None = Field(
        default=4 * 1024**3,
        description="RLIMIT_AS per process; None for AddressSanitizer builds (they reserve terabytes).",
    )
    memory_max_bytes: int | None = Field(
        default=2 * 1024**3,
        description="Resident memory of the whole sample, enforced by a memory cgroup where the host "
        "offers one (works with AddressSanitizer); the process that breaks it is killed.",
    )
    cgroup_parent: str | None = Field(
        default=None, description="Writable cgroup directory for the per-sample memory cgroups."
    )
    file_size_bytes: int | None = Field(default=1024**3, description="RLIMIT_FSIZE per file.")
    env: tuple[tuple[str, str], ...] = Field(
        default=(), description="(name, value) pairs added to every exec's environment."
    )

    def sandbox_config(self) -> SandboxConfig:
        """The core sandbox configuration this maps to (network isolation is not optional)."""
        return SandboxConfig(
            max_processes=self.max_processes,
            memory_bytes=self.memory_bytes,
            memory_max_bytes=self.memory_max_bytes,
            cgroup_parent=self.cgroup_parent,
            file_size_bytes=self.file_size_bytes,
            output_limit_bytes=SandboxEnvironmentLimits.MAX_EXEC_OUTPUT_SIZE,
            env=self.env,
        )


def _config(config: SandboxEnvironmentConfigType | None) -> BwrapEnvironmentConfig:
    if config is None:
        return BwrapEnvironmentConfig()
    if isinstance(config, BwrapEnvironmentConfig):
        return config
    if isinstance(config, BaseModel):
        return BwrapEnvironmentConfig.model_validate(config.model_dump())
    raise ValueError(f"bwrap sandbox expects a BwrapEnvironmentConfig, got {config!r}")


@sandboxenv(name="bwrap")
class BwrapSandboxEnvironment(SandboxEnvironment):
    """One bubblewrap sandbox per sample (see :mod:`frontiersec.evals.sandbox`)."""

    @classmethod
    def config_deserialize(cls, config: dict[str, Any]) -> BaseModel:
        """Build the config model from a dict (e.g. from a YAML task file)."""
        return BwrapEnvironmentConfig(**config)

    @classmethod
    async def task_init(cls, task_name: str, config: SandboxEnvironmentConfigType | None) -> None:
        """Run the isolation self-test once per task; refuse to start if anything escapes.

        A pass of the same configuration in this process within the last five minutes
        counts (``frontiersec evals run`` proves the isolation just before it starts
        Inspect); a failure is never remembered.
        """
        cfg = _config(config)
        report = await anyio.to_thread.run_sync(
            functools.partial(
                recent_isolation_selftest, cfg.sandbox_config(), cfg.parent_dir, SELFTEST_MAX_AGE_S
            )
        )
        if not report.passed:
            raise SandboxIsolationError(report)

    @classmethod
    async def sample_init(
        cls, task_name: str, config: SandboxEnvironmentConfigType | None, metadata: dict[str, str]
    ) -> dict[str, SandboxEnvironment]:
        """Create the sample's sandbox."""
        cfg = _config(config)
        sb = await anyio.to_thread.run_sync(BwrapSandbox, cfg.parent_dir, cfg.sandbox_config())
        return {"default": cls(sb)}

    @classmethod
    async def sample_cleanup(
        cls,
        task_name: str,
        config: SandboxEnvironmentConfigType | None,
        environments: dict[str, SandboxEnvironment],
        interrupted: bool,
    ) -> None:
        """Kill everything the sample started and remove its directories."""
        for env in environments.values():
            await anyio.to_thread.run_sync(env.as_type(BwrapSandboxEnvironment).sandbox.close)

    def __init__(self, sandbox: BwrapSandbox) -> None:
        super().__init__()
        self.sandbox = sandbox

    async def exec(
        self,
        cmd: list[str],
        input: str | bytes | None = None,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        user: str | None = None,
        timeout: int | None = None,
        timeout_retry: bool = True,
        concurrency: bool = True,
    ) -> ExecResult[str]:
        """Run ``cmd`` in the sample's sandbox (Inspect's exec contract)."""
        if user not in (None, SANDBOX_USER, str(SANDBOX_UID)):
            raise SandboxUserUnsupportedError(
                f"the bwrap sandbox runs commands only as {SANDBOX_USER!r} (uid {SANDBOX_UID}), not {user!r}"
            )
        limit = SandboxEnvironmentLimits.MAX_EXEC_OUTPUT_SIZE
        r = await anyio.to_thread.run_sync(
            functools.partial(
                self.sandbox.exec, cmd, input=input, timeout=timeout, env=env, cwd=cwd, output_limit=limit
            )
        )
        if r.timed_out:
            raise TimeoutError(f"command timed out after {timeout} seconds: {cmd!r}")
        stdout = r.stdout.decode("utf-8", errors="replace")
        stderr = r.stderr.decode("utf-8", errors="replace")
        if r.oom_killed:
            # Like a container's OOM kill: exit status 137, and a line saying why.
            limit = self.sandbox.config.memory_max_bytes or 0
            stderr += f"\n{OOM_MESSAGE} ({limit // 1024**2} MiB)\n"
            return ExecResult(success=False, returncode=137, stdout=stdout, stderr=stderr)
        if r.stdout_truncated or r.stderr_truncated:
            raise OutputLimitExceededError(
                limit_str=SandboxEnvironmentLimits.MAX_EXEC_OUTPUT_SIZE_STR,
                truncated_output=stdout if r.stdout_truncated else stderr,
            )
        return ExecResult(success=r.returncode == 0, returncode=r.returncode, stdout=stdout, stderr=stderr)

    async def write_file(self, file: str, contents: str | bytes) -> None:
        """Write ``file`` (relative to ``/work``) inside the sandbox."""
        await anyio.to_thread.run_sync(self.sandbox.write_file, _resolve(file), contents)

    @overload
    async def read_file(self, file: str, text: Literal[True] = True) -> str: ...

    @overload
    async def read_file(self, file: str, text: Literal[False]) -> bytes: ...

    async def read_file(self, file: str, text: bool = True) -> str | bytes:
        """Read ``file`` (relative to ``/work``) from inside the sandbox."""
        limit = SandboxEnvironmentLimits.MAX_READ_FILE_SIZE
        try:
            data = await anyio.to_thread.run_sync(
                functools.partial(self.sandbox.read_file, _resolve(file), limit=limit)
            )
        except ValueError as ex:
            raise OutputLimitExceededError(
                limit_str=SandboxEnvironmentLimits.MAX_READ_FILE_SIZE_STR, truncated_output=None
            ) from ex
        # newline="" semantics: bytes are decoded as-is, CRLF preserved.
        return data.decode("utf-8") if text else data

    def default_polling_interval(self) -> float:
        """Local process: poll quickly."""
        return 0.2


def _resolve(file: str) -> str:
    return file if os.path.isabs(file) else f"/work/{file}"
