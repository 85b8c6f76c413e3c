"""Evaluation runs: start one, execute it as the ``evals.run`` job, list and read them.

::

    start_run ── validates, stores the encrypted key, creates the run (queued), enqueues evals.run
        │            (one transaction with its audit entry; the job is dispatched after commit)
    execute_run (the job; also after a crash, when the platform re-queues it)
        ├─ isolation self-test of the bubblewrap sandbox ── any escape: run failed, nothing runs
        ├─ plan: every (task, epoch) of the run not yet scored in the database
        ├─ Inspect runs the plan (inspect_bridge.runner) ── each finished sample is committed
        │     at once (EvalSample), with the run's samples_done and the job's progress
        └─ logs hashed (SHA-256) and recorded; status succeeded / partial / failed, with the
              first failing task and epoch named in the error

A resumed run never re-runs a scored sample: only the missing ones go to Inspect, into a
new log of the same run (``EvalRun.logs`` lists every log with its digest).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from frontiersec.evals.catalog import SUITE_NAME, TaskSpec, load_tasks
from frontiersec.evals.common import (
    aware,
    check_identity,
    default_identity,
    owner_org_for,
    require_runner,
)
from frontiersec.evals.credentials import reveal_secret, store_credential
from frontiersec.evals.logs import log_dir_for, sha256_file
from frontiersec.evals.models import EvalRun, EvalSample
from frontiersec.platform.audit.service import record, record_read
from frontiersec.platform.auth.principal import SYSTEM, Principal
from frontiersec.platform.auth.service import principal_for_user_id
from frontiersec.platform.auth.visibility import TLP, visible_clause
from frontiersec.platform.clock import utcnow
from frontiersec.platform.db import session_scope
from frontiersec.platform.errors import FieldError, InvalidInput, NotFound, PreconditionFailed
from frontiersec.platform.jobs import enqueue
from frontiersec.platform.secrets_box import SecretBox
from frontiersec.platform.sharing import register_shareable

__all__ = [
    "JOB_NAME",
    "SUITES",
    "RunFailed",
    "SampleQuery",
    "execute_run",
    "get_run",
    "list_runs",
    "list_samples",
    "plan_samples",
    "run_now",
    "selected_specs",
    "start_run",
]

log = structlog.get_logger(__name__)
JOB_NAME = "evals.run"
SUITES = (SUITE_NAME,)
TERMINAL = ("succeeded", "partial", "failed")
MAX_EPOCHS = 100
# Inspect retries a failing model request forever by default; a run against a dead endpoint
# must end (failed or partial) instead.
DEFAULT_MAX_RETRIES = 5
DEFAULT_TIMEOUT_S = 600
register_shareable("eval_run", EvalRun)


class RunFailed(PreconditionFailed):
    """An evaluation run ended without any scored sample (the reason names the task or sample)."""

    code = "eval-run-failed"
    title = "Evaluation run failed"


# --------------------------------------------------------------------------- starting


def _check_url(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an absolute http(s) URL, e.g. http://127.0.0.1:8080/v1"
    if parts.username or parts.password:
        return "must not carry credentials; give the API key separately"
    return None


def selected_specs(task_ids: Sequence[str] | None, limit: int | None) -> list[TaskSpec]:
    """The catalog tasks a run covers: ``task_ids`` (catalog order) or all, then the first ``limit``."""
    specs = load_tasks()
    if task_ids:
        wanted = set(task_ids)
        specs = [s for s in specs if s.id in wanted]
    return specs[:limit] if limit else specs


def _box_of(session: Session, box: SecretBox | None) -> SecretBox:
    if box is not None:
        return box
    queue = session.info.get("job_queue")
    if queue is None:
        raise RuntimeError("no SecretBox: pass box= or use a session from the runtime")
    found: SecretBox = queue.box
    return found


def start_run(
    session: Session,
    principal: Principal,
    *,
    suite: str = SUITE_NAME,
    model: str,
    model_base_url: str | None = None,
    api_key: str | None = None,
    epochs: int = 1,
    limit: int | None = None,
    model_name: str | None = None,
    model_version: str | None = None,
    max_connections: int | None = None,
    review_submission_id: uuid.UUID | None = None,
    tlp: str = "AMBER",
    task_ids: Sequence[str] | None = None,
    max_samples: int | None = None,
    max_retries: int | None = None,
    timeout_s: int | None = None,
    box: SecretBox | None = None,
) -> EvalRun:
    """Create a run of ``suite`` against ``model`` (any Inspect ``provider/model``) and enqueue its job.

    ``api_key`` is encrypted at once and never shown again. ``model_name`` / ``model_version``
    name the model version the capability profile is about (default: from ``model``).
    ``task_ids`` restricts the run to some tasks; ``limit`` keeps the first N tasks.
    """
    require_runner(principal, "starting an evaluation run")
    errors: list[FieldError] = []
    model = (model or "").strip()
    if suite not in SUITES:
        errors.append(FieldError("suite", f"unknown suite; known: {', '.join(SUITES)}"))
    provider, _, rest = model.partition("/")
    if not provider or not rest or len(model) > 300 or any(c.isspace() for c in model):
        errors.append(FieldError("model", "must be an Inspect model PROVIDER/MODEL, e.g. openai/gpt-4o"))
    base_url = (model_base_url or "").strip() or None
    if base_url is not None and (problem := _check_url(base_url)):
        errors.append(FieldError("model_base_url", problem))
    if not 1 <= epochs <= MAX_EPOCHS:
        errors.append(FieldError("epochs", f"must be between 1 and {MAX_EPOCHS}"))
    for field, value, high in (
        ("limit", limit, 10_000),
        ("max_connections", max_connections, 1024),
        ("max_samples", max_samples, 256),
        ("timeout_s", timeout_s, 86_400),
    ):
        if value is not None and not 1 <= value <= high:
            errors.append(FieldError(field, f"must be between 1 and {high}"))
    if max_retries is not None and not 0 <= max_retries <= 100:
        errors.append(FieldError("max_retries", "must be between 0 and 100"))
    if tlp not in {t.value for t in TLP}:
        errors.append(FieldError("tlp", f"must be one of {', '.join(t.value for t in TLP)}"))
    if task_ids:
        unknown = sorted(set(task_ids) - {s.id for s in load_tasks()})
        if unknown:
            errors.append(FieldError("task_ids", f"unknown tasks: {', '.join(unknown)}"))
    name_default, version_default = default_identity(model)
    name = (model_name or "").strip() or name_default
    version = (model_version or "").strip() or version_default
    errors += check_identity(name, version)
    if api_key is not None and not api_key.strip():
        api_key = None
    if errors:
        raise InvalidInput("the run request is invalid", errors=errors)
    specs = selected_specs(task_ids, limit)
    if not specs:
        raise InvalidInput.on("task_ids", "selects no task")
    owner = owner_org_for(session, principal)
    credential_id = None
    if api_key is not None:
        cred = store_credential(
            session,
            principal,
            _box_of(session, box),
            api_key=api_key,
            label=f"{model} ({name} {version})",
            base_url=base_url,
            owner_org_id=owner,
        )
        credential_id = cred.id
    run = EvalRun(
        source="run",
        suite=suite,
        model=model,
        base_url=base_url,
        model_name=name,
        model_version=version,
        epochs=epochs,
        sample_limit=limit,
        task_ids=list(task_ids) if task_ids else None,
        max_connections=max_connections,
        max_samples=max_samples,
        max_retries=max_retries,
        timeout_s=timeout_s,
        status="queued",
        samples_total=len(specs) * epochs,
        logs=[],
        credential_id=credential_id,
        review_submission_id=review_submission_id,
        owner_org_id=owner,
        tlp=tlp,
        created_by=principal.user_id,
    )
    session.add(run)
    session.flush()
    job = enqueue(session, principal, JOB_NAME, {"run_id": str(run.id)}, owner_org_id=owner, tlp=tlp)
    run.job_id = job.id
    session.flush()
    record(
        session,
        principal,
        "evals.run.started",
        object_type="eval_run",
        object_id=run.id,
        tlp=run.tlp,
        details={
            "suite": suite,
            "model": model,
            "base_url": base_url,
            "model_name": name,
            "model_version": version,
            "epochs": epochs,
            "limit": limit,
            "samples": run.samples_total,
            "credential": credential_id is not None,
        },
    )
    return run


# --------------------------------------------------------------------------- executing


def plan_samples(specs: Sequence[TaskSpec], epochs: int, done: set[tuple[str, int]]) -> dict[str, list[int]]:
    """Task id → the epochs still to run, given the ``(task id, epoch)`` pairs already scored."""
    plan: dict[str, list[int]] = {}
    for spec in specs:
        missing = [e for e in range(1, epochs + 1) if (spec.id, e) not in done]
        if missing:
            plan[spec.id] = missing
    return plan


def _scored(session: Session, run_id: uuid.UUID) -> set[tuple[str, int]]:
    rows = session.execute(
        select(EvalSample.sample_id, EvalSample.epoch).where(
            EvalSample.run_id == run_id, EvalSample.score.is_not(None)
        )
    ).all()
    return {(sid, ep) for sid, ep in rows}


def _acting(session: Session, run: EvalRun) -> Principal:
    if run.created_by is None:
        return SYSTEM
    try:
        return principal_for_user_id(session, run.created_by)
    except NotFound:
        return SYSTEM


def _fail(sessions: sessionmaker[Session], run_id: uuid.UUID, message: str) -> None:
    with session_scope(sessions) as s:
        run = s.get(EvalRun, run_id)
        if run is None:
            return
        run.status, run.error = "failed", message
        run.finished_at = run.updated_at = utcnow()
        record(
            s,
            _acting(s, run),
            "evals.run.finished",
            object_type="eval_run",
            object_id=run.id,
            tlp=run.tlp,
            details={"status": "failed", "error": message[:500]},
        )


def _summary(run: EvalRun) -> dict[str, Any]:
    return {
        "run_id": str(run.id),
        "status": run.status,
        "samples_done": run.samples_done,
        "samples_total": run.samples_total,
        "log_sha256": run.log_sha256,
    }


def execute_run(
    sessions: sessionmaker[Session],
    run_id: uuid.UUID,
    *,
    box: SecretBox,
    settings: Any,
    progress: Callable[..., None] | None = None,
    sandbox_config: Any = None,
) -> dict[str, Any]:
    """Run (or resume) a run to its end; the body of the ``evals.run`` job.

    Idempotent: a finished run is left as it is; a run left ``running`` by a killed process
    continues with the samples it has not scored. ``sandbox_config`` is for the isolation
    self-test only (tests pass a deliberately weakened one to prove the refusal).
    """
    from frontiersec.evals.sandbox import SandboxError, isolation_selftest

    with session_scope(sessions) as s:
        run = s.get(EvalRun, run_id)
        if run is None:
            raise NotFound(f"evaluation run {run_id} not found")
        if run.status in TERMINAL:
            return _summary(run)
        run.status, run.error = "running", None
        run.attempts += 1
        run.started_at = run.started_at or utcnow()
        run.updated_at = utcnow()
        attempt = run.attempts
        model, base_url = run.model, run.base_url
        epochs, total = run.epochs, run.samples_total
        specs = selected_specs(run.task_ids, run.sample_limit)
        config = {
            "max_retries": DEFAULT_MAX_RETRIES if run.max_retries is None else run.max_retries,
            "timeout": run.timeout_s or DEFAULT_TIMEOUT_S,
        }
        max_connections, max_samples = run.max_connections, run.max_samples
        done = _scored(s, run_id)
        credential_id = run.credential_id

    api_key = None
    if credential_id is not None:
        try:
            with session_scope(sessions) as s:
                api_key = reveal_secret(s, credential_id, box)
        except PreconditionFailed as exc:
            _fail(sessions, run_id, exc.detail)
            raise RunFailed(exc.detail) from exc

    try:
        report = isolation_selftest(sandbox_config) if sandbox_config is not None else isolation_selftest()
    except SandboxError as exc:
        message = f"the bubblewrap sandbox cannot start, so no sample ran: {exc}"
        _fail(sessions, run_id, message)
        raise RunFailed(message) from exc
    if not report.passed:
        names = ", ".join(p.name for p in report.escapes)
        message = (
            f"the sandbox isolation self-test failed (escaped: {names}); refusing to run any sample. "
            "Check with `frontiersec evals sandbox-check`."
        )
        _fail(sessions, run_id, message)
        raise RunFailed(message)

    plan = plan_samples(specs, epochs, done)
    note: str | None = None
    logged: list[dict[str, Any]] = []
    eval_error: str | None = None
    if plan:
        from frontiersec.evals.inspect_bridge.runner import resolve_model, run_suite

        try:
            inspect_model, note = resolve_model(
                model,
                base_url=base_url,
                api_key=api_key,
                max_retries=config["max_retries"],
                timeout=config["timeout"],
            )
        except Exception as exc:  # Inspect raises plain errors for unknown providers / missing keys
            message = f"the model {model!r} cannot be used: {str(exc).strip().splitlines()[0][:500]}"
            _fail(sessions, run_id, message)
            raise RunFailed(message) from exc

        def on_sample(outcome: Any) -> None:
            _store_outcome(sessions, run_id, outcome, attempt, total, progress)

        if progress is not None:
            progress(100 * len(done) / max(total, 1), f"{len(done)}/{total} samples", force=True)
        suite = run_suite(
            model=inspect_model,
            plan=plan,
            log_dir=log_dir_for(settings, run_id),
            on_sample=on_sample,
            run_tag=f"{run_id}:{attempt}",
            max_connections=max_connections,
            max_samples=max_samples,
        )
        eval_error = suite.error
        for lg in suite.logs:
            entry: dict[str, Any] = {
                "attempt": attempt,
                "status": lg.status,
                "samples": lg.samples,
                "path": lg.path,
                "sha256": sha256_file(lg.path) if lg.path else None,
            }
            if lg.error:
                entry["error"] = lg.error
            logged.append(entry)
    return _finish(sessions, run_id, settings=settings, logged=logged, note=note, eval_error=eval_error)


def _store_outcome(
    sessions: sessionmaker[Session],
    run_id: uuid.UUID,
    outcome: Any,
    attempt: int,
    total: int,
    progress: Callable[..., None] | None,
) -> None:
    """Commit one finished sample (insert, or replace a failed earlier attempt) and the run's count."""
    with session_scope(sessions) as s:
        row = (
            s.execute(
                select(EvalSample).where(
                    EvalSample.run_id == run_id,
                    EvalSample.sample_id == outcome.sample_id,
                    EvalSample.epoch == outcome.epoch,
                )
            )
            .scalars()
            .first()
        )
        if row is None:
            row = EvalSample(run_id=run_id, sample_id=outcome.sample_id[:200], epoch=outcome.epoch)
            s.add(row)
        elif row.score is not None:
            return  # scored before: never overwritten
        row.task_id = outcome.task_id[:200]
        row.family = (outcome.family or "unknown")[:120]
        row.score, row.answer, row.explanation = outcome.score, outcome.answer, outcome.explanation
        row.error, row.attempt = outcome.error, attempt
        row.started_at, row.completed_at = aware(outcome.started_at), aware(outcome.completed_at)
        s.flush()
        scored = s.execute(
            select(func.count()).where(EvalSample.run_id == run_id, EvalSample.score.is_not(None))
        ).scalar_one()
        run = s.get(EvalRun, run_id)
        if run is not None:
            run.samples_done = int(scored)
            run.progress = min(99, int(100 * scored / max(total, 1)))
            run.updated_at = utcnow()
    if progress is not None:
        progress(100 * scored / max(total, 1), f"{scored}/{total} samples")


def _finish(
    sessions: sessionmaker[Session],
    run_id: uuid.UUID,
    *,
    settings: Any,
    logged: list[dict[str, Any]],
    note: str | None,
    eval_error: str | None,
) -> dict[str, Any]:
    with session_scope(sessions) as s:
        run = s.get(EvalRun, run_id)
        if run is None:
            raise NotFound(f"evaluation run {run_id} not found")
        rows = list(s.execute(select(EvalSample).where(EvalSample.run_id == run_id)).scalars())
        scored = [r for r in rows if r.score is not None]
        failed = sorted((r for r in rows if r.score is None), key=lambda r: (r.task_id, r.epoch))
        known = {lg.get("path") for lg in [*(run.logs or []), *logged]}
        # Logs of an attempt whose process was killed were never recorded: keep their digests too.
        folder = log_dir_for(settings, run_id)
        orphans = sorted(p for p in folder.glob("*.eval") if str(p) not in known) if folder.is_dir() else []
        interrupted = [
            {
                "attempt": None,
                "status": "interrupted",
                "samples": None,
                "path": str(p),
                "sha256": sha256_file(p),
            }
            for p in orphans
        ]
        run.logs = [*(run.logs or []), *interrupted, *logged]
        last = next((lg for lg in reversed(run.logs) if lg.get("sha256")), None)
        if last is not None:
            run.log_path, run.log_sha256 = last["path"], last["sha256"]
        if note:
            run.note = note
        run.samples_done = len(scored)
        missing = run.samples_total - len(scored)
        problems: list[str] = []
        if failed:
            first = failed[0]
            problems.append(
                f"{len(failed)} of {run.samples_total} samples failed; first: task {first.task_id} "
                f"epoch {first.epoch}: {first.error}"
            )
        if eval_error:
            problems.append(f"Inspect: {eval_error}")
        if missing > len(failed) and not problems:
            problems.append(f"{missing - len(failed)} samples did not run")
        if missing <= 0:
            run.status = "succeeded"
        else:
            run.status = "partial" if scored else "failed"
        run.error = "; ".join(problems)[:4000] if run.status != "succeeded" else None
        run.progress = 100
        run.finished_at = run.updated_at = utcnow()
        record(
            s,
            _acting(s, run),
            "evals.run.finished",
            object_type="eval_run",
            object_id=run.id,
            tlp=run.tlp,
            details={
                "status": run.status,
                "samples_done": run.samples_done,
                "samples_total": run.samples_total,
                "logs": [{"sha256": lg.get("sha256"), "attempt": lg.get("attempt")} for lg in logged],
            },
        )
        summary = _summary(run)
        status, error = run.status, run.error
    log.info("evals.run.finished", run_id=str(run_id), status=status, samples=summary["samples_done"])
    if status == "failed":
        raise RunFailed(error or "no sample was scored")
    return summary


def run_now(
    session: Session,
    principal: Principal,
    settings: Any,
    *,
    model: str,
    model_name: str,
    model_version: str,
    task_ids: Sequence[str] | None = None,
    limit: int | None = None,
    tlp: str = "AMBER",
) -> EvalRun:
    """Run the suite here and now, inside the caller's transaction (no job, no API key).

    For the demo loader, whose organisations are not committed yet when it runs: the
    samples are collected from Inspect in memory and written with ``session``. The same
    checks as a queued run apply (isolation self-test first; real logs, hashed).
    """
    from frontiersec.evals.inspect_bridge.runner import resolve_model, run_suite
    from frontiersec.evals.sandbox import isolation_selftest

    require_runner(principal, "starting an evaluation run")
    specs = selected_specs(task_ids, limit)
    run = EvalRun(
        source="run",
        suite=SUITE_NAME,
        model=model,
        model_name=model_name,
        model_version=model_version,
        epochs=1,
        sample_limit=limit,
        task_ids=list(task_ids) if task_ids else None,
        status="running",
        samples_total=len(specs),
        attempts=1,
        logs=[],
        owner_org_id=owner_org_for(session, principal),
        tlp=tlp,
        created_by=principal.user_id,
        started_at=utcnow(),
    )
    session.add(run)
    session.flush()
    report = isolation_selftest()
    if not report.passed:
        names = ", ".join(p.name for p in report.escapes)
        raise RunFailed(f"the sandbox isolation self-test failed (escaped: {names}); refusing to run")
    inspect_model, note = resolve_model(model)
    collected: list[Any] = []
    suite = run_suite(
        model=inspect_model,
        plan=plan_samples(specs, 1, set()),
        log_dir=log_dir_for(settings, run.id),
        on_sample=collected.append,
        run_tag=f"{run.id}:1",
    )
    for o in collected:
        session.add(
            EvalSample(
                run_id=run.id,
                task_id=o.task_id[:200],
                sample_id=o.sample_id[:200],
                family=(o.family or "unknown")[:120],
                epoch=o.epoch,
                score=o.score,
                answer=o.answer,
                explanation=o.explanation,
                error=o.error,
                attempt=1,
                started_at=aware(o.started_at),
                completed_at=aware(o.completed_at),
            )
        )
    logs: list[dict[str, Any]] = [
        {
            "attempt": 1,
            "status": lg.status,
            "samples": lg.samples,
            "path": lg.path,
            "sha256": sha256_file(lg.path) if lg.path else None,
        }
        for lg in suite.logs
    ]
    scored = [o for o in collected if o.score is not None]
    failed = sorted((o for o in collected if o.score is None), key=lambda o: (o.task_id, o.epoch))
    run.logs = logs
    last = next((lg for lg in reversed(logs) if lg["sha256"]), None)
    if last is not None:
        run.log_path, run.log_sha256 = last["path"], last["sha256"]
    run.note = note
    run.samples_done = len(scored)
    run.status = "succeeded" if len(scored) == run.samples_total else ("partial" if scored else "failed")
    if run.status != "succeeded":
        first = (
            f"; first: task {failed[0].task_id} epoch {failed[0].epoch}: {failed[0].error}" if failed else ""
        )
        run.error = f"{run.samples_total - len(scored)} of {run.samples_total} samples not scored{first}"
        if suite.error:
            run.error += f"; Inspect: {suite.error}"
    run.progress = 100
    run.finished_at = run.updated_at = utcnow()
    session.flush()
    record(
        session,
        principal,
        "evals.run.finished",
        object_type="eval_run",
        object_id=run.id,
        tlp=run.tlp,
        details={"status": run.status, "samples_done": run.samples_done, "log_sha256": run.log_sha256},
    )
    return run


# --------------------------------------------------------------------------- reading


def list_runs(
    session: Session,
    principal: Principal,
    *,
    model_name: str | None = None,
    model_version: str | None = None,
    status: str | None = None,
    limit: int = 100,
) -> list[EvalRun]:
    """Runs the principal may see, newest first."""
    stmt = select(EvalRun).where(visible_clause(EvalRun, "eval_run", principal))
    if model_name:
        stmt = stmt.where(EvalRun.model_name == model_name)
    if model_version:
        stmt = stmt.where(EvalRun.model_version == model_version)
    if status:
        stmt = stmt.where(EvalRun.status == status)
    return list(session.execute(stmt.order_by(EvalRun.created_at.desc()).limit(limit)).scalars())


def get_run(session: Session, principal: Principal, run_id: uuid.UUID, *, audit_read: bool = True) -> EvalRun:
    """One run the principal may see (reading a confidential one is audited); else NotFound."""
    run = (
        session.execute(
            select(EvalRun).where(EvalRun.id == run_id, visible_clause(EvalRun, "eval_run", principal))
        )
        .scalars()
        .first()
    )
    if run is None:
        raise NotFound(f"evaluation run {run_id} not found")
    if audit_read:
        record_read(session, principal, object_type="eval_run", object_id=run.id, tlp=run.tlp)
    return run


@dataclass(frozen=True)
class SampleQuery:
    """Filters and order of a run's samples table."""

    family: str | None = None
    task: str | None = None
    score: str | None = None  # "1", "0" or "error"
    sort: str = "task"
    descending: bool = False


SAMPLE_SORTS = {
    "task": (EvalSample.task_id, EvalSample.epoch),
    "family": (EvalSample.family, EvalSample.task_id, EvalSample.epoch),
    "score": (EvalSample.score, EvalSample.task_id, EvalSample.epoch),
    "epoch": (EvalSample.epoch, EvalSample.task_id),
    "completed": (EvalSample.completed_at, EvalSample.task_id),
}


def list_samples(
    session: Session, principal: Principal, run_id: uuid.UUID, query: SampleQuery | None = None
) -> list[EvalSample]:
    """The stored samples of a run the principal may see, filtered and sorted."""
    q = query or SampleQuery()
    if q.sort not in SAMPLE_SORTS:
        raise InvalidInput.on("sort", f"must be one of {', '.join(SAMPLE_SORTS)}")
    if q.score not in (None, "", "1", "0", "error"):
        raise InvalidInput.on("score", "must be 1, 0 or error")
    run = get_run(session, principal, run_id)
    stmt = select(EvalSample).where(EvalSample.run_id == run.id)
    if q.family:
        stmt = stmt.where(EvalSample.family == q.family)
    if q.task:
        stmt = stmt.where(EvalSample.task_id.contains(q.task))
    if q.score == "1":
        stmt = stmt.where(EvalSample.score >= 0.5)
    elif q.score == "0":
        stmt = stmt.where(EvalSample.score < 0.5)
    elif q.score == "error":
        stmt = stmt.where(EvalSample.score.is_(None))
    cols = SAMPLE_SORTS[q.sort]
    stmt = stmt.order_by(*(c.desc() if q.descending else c.asc() for c in cols))
    return list(session.execute(stmt).scalars())
