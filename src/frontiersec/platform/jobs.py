"""Background jobs on Huey, with progress users can watch.

A job is a registered function ``fn(ctx) -> dict | None`` named like
``"clearinghouse.import_file"``. Services call :func:`enqueue`, which writes a
:class:`~frontiersec.platform.models.JobRecord` in the caller's transaction and hands the
job to Huey only *after* that transaction commits (a rolled-back use case enqueues
nothing). Jobs take ids and plain parameters, open their own sessions, and must be
idempotent: Huey delivers at least once, and a job interrupted by a restart runs again.

Storage: SQLite file ``jobs.db`` in the data dir (embedded: ``serve`` runs consumer
threads), or Redis when ``FRONTIERSEC_REDIS_URL`` is set (``frontiersec worker`` runs
consumers anywhere). Tests use Huey's immediate mode.

Job states::

    queued ──► running ──► succeeded
      ▲           │  └────► failed
      └─ retry ◄──┘   (RetryLater: re-queued with a delay)
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog
from huey import Huey, RedisHuey, SqliteHuey
from huey.consumer import Consumer
from sqlalchemy import event, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from frontiersec.platform.audit.service import record_read
from frontiersec.platform.auth.principal import Principal
from frontiersec.platform.auth.visibility import visible_clause
from frontiersec.platform.clock import utcnow
from frontiersec.platform.db import session_scope
from frontiersec.platform.errors import FrontiersecError, NotFound
from frontiersec.platform.models import JobRecord
from frontiersec.platform.secrets_box import SecretBox

__all__ = [
    "JobContext",
    "JobQueue",
    "RetryLater",
    "enqueue",
    "get_job",
    "job",
    "registered_jobs",
]

log = structlog.get_logger(__name__)


class RetryLater(Exception):
    """Raised by a job to be run again after ``delay_s`` seconds."""

    def __init__(self, delay_s: float, message: str) -> None:
        super().__init__(message)
        self.delay_s = delay_s
        self.message = message


@dataclass
class JobContext:
    """What a running job gets: its id and parameters, sessions, secrets and progress."""

    job_id: uuid.UUID
    params: dict[str, Any]
    sessions: sessionmaker[Session]
    box: SecretBox
    queue: JobQueue
    attempt: int
    settings: Any
    http_transport: httpx.BaseTransport | None = None
    _last_progress: float = field(default=0.0, repr=False)

    def progress(self, percent: float, message: str = "", *, force: bool = False) -> None:
        """Report progress (0-100) and a short message; written at most twice a second."""
        now = time.monotonic()
        if not force and now - self._last_progress < 0.5 and percent < 100:
            return
        self._last_progress = now
        s = self.sessions()
        sqlite = s.get_bind().dialect.name == "sqlite"
        try:
            if sqlite:
                # Progress is best effort: while the job's own transaction holds SQLite's
                # write lock, skip this update instead of waiting for the lock.
                s.execute(text("PRAGMA busy_timeout=50"))
            rec = s.get(JobRecord, self.job_id)
            if rec is not None:
                rec.percent = max(0, min(100, int(percent)))
                rec.message = message[:500]
                rec.updated_at = utcnow()
            s.commit()
        except OperationalError:
            s.rollback()
            log.debug("job.progress_skipped", job_id=str(self.job_id))
        finally:
            if sqlite:
                s.execute(text("PRAGMA busy_timeout=30000"))
            s.close()


JobFn = Callable[[JobContext], dict[str, Any] | None]
_REGISTRY: dict[str, JobFn] = {}


def job(name: str) -> Callable[[JobFn], JobFn]:
    """Register a job function under a dotted name."""

    def deco(fn: JobFn) -> JobFn:
        if name in _REGISTRY and _REGISTRY[name] is not fn:
            raise ValueError(f"job {name!r} registered twice")
        _REGISTRY[name] = fn
        return fn

    return deco


def registered_jobs() -> dict[str, JobFn]:
    """Every registered job, by name."""
    return dict(_REGISTRY)


class _QuietConsumer(Consumer):  # type: ignore[misc]
    # `serve` runs the consumer beside uvicorn, which owns the process's signal handlers.
    def _set_signal_handlers(self) -> None:
        return None


class JobQueue:
    """The Huey queue plus the runner that executes :class:`JobRecord` s."""

    def __init__(
        self,
        settings: Any,
        sessions: sessionmaker[Session],
        box: SecretBox,
        *,
        immediate: bool = False,
        http_transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.box = box
        self.http_transport = http_transport
        self.huey: Huey
        if settings.redis_url:
            self.huey = RedisHuey("frontiersec", url=settings.redis_url, immediate=immediate)
        else:
            settings.ensure_dirs()
            self.huey = SqliteHuey(
                "frontiersec", filename=str(settings.data_dir / "jobs.db"), immediate=immediate
            )
        self._task = self.huey.task(name="frontiersec.run_job")(self._run)
        self._consumer: Consumer | None = None

    def dispatch(self, job_id: uuid.UUID, delay_s: float | None = None) -> None:
        """Hand a committed job record to Huey."""
        if delay_s and not self.huey.immediate:
            self._task.schedule(args=(str(job_id),), delay=delay_s)
        else:
            self._task(str(job_id))

    def start_consumer(self, workers: int) -> None:
        """Start consumer threads in this process (embedded mode)."""
        self._consumer = _QuietConsumer(self.huey, workers=workers, worker_type="thread", periodic=False)
        self._consumer.start()

    def stop_consumer(self) -> None:
        """Stop consumer threads, letting running jobs finish."""
        if self._consumer is not None:
            self._consumer.stop(graceful=True)
            self._consumer = None

    def run_consumer_forever(self, workers: int) -> None:
        """``frontiersec worker``: run consumers until interrupted (handles SIGINT/SIGTERM)."""
        Consumer(self.huey, workers=workers, worker_type="thread", periodic=False).run()

    def requeue_interrupted(self) -> int:
        """Re-dispatch jobs left ``running`` by a process that died (embedded mode only)."""
        with session_scope(self.sessions) as s:
            ids = list(s.execute(select(JobRecord.id).where(JobRecord.status == "running")).scalars())
            for rec in s.execute(select(JobRecord).where(JobRecord.id.in_(ids))).scalars():
                rec.status = "queued"
                rec.message = "re-queued after a restart"
        for jid in ids:
            self.dispatch(jid)
        return len(ids)

    def _run(self, job_id: str) -> None:
        jid = uuid.UUID(job_id)
        with session_scope(self.sessions) as s:
            rec = s.get(JobRecord, jid)
            if rec is None or rec.status in ("succeeded", "failed"):
                return
            fn = _REGISTRY.get(rec.name)
            if fn is None:
                rec.status, rec.error, rec.finished_at = "failed", f"unknown job {rec.name!r}", utcnow()
                return
            rec.status, rec.attempts, rec.started_at = "running", rec.attempts + 1, utcnow()
            rec.updated_at = utcnow()
            params, attempt, name = dict(rec.params), rec.attempts, rec.name
        ctx = JobContext(
            job_id=jid,
            params=params,
            sessions=self.sessions,
            box=self.box,
            queue=self,
            attempt=attempt,
            settings=self.settings,
            http_transport=self.http_transport,
        )
        log.info("job.start", job=name, job_id=job_id, attempt=attempt)
        status, result, error, delay = "succeeded", None, None, None
        message = "done"
        try:
            result = fn(ctx)
        except RetryLater as exc:
            status, delay, message = "queued", exc.delay_s, exc.message
        except FrontiersecError as exc:
            status, error, message = "failed", exc.detail, exc.detail
        except Exception as exc:
            log.exception("job.crashed", job=name, job_id=job_id)
            status, error, message = "failed", f"internal error ({type(exc).__name__})", "failed"
        with session_scope(self.sessions) as s:
            rec = s.get(JobRecord, jid)
            if rec is None:
                return
            rec.status, rec.message, rec.updated_at = status, message[:500], utcnow()
            if status == "succeeded":
                rec.percent, rec.result, rec.finished_at = 100, result or {}, utcnow()
            elif status == "failed":
                rec.error, rec.finished_at = error, utcnow()
        log.info("job.end", job=name, job_id=job_id, status=status)
        if delay is not None:
            self.dispatch(jid, delay_s=delay)


def _after_commit(session: Session) -> None:
    pending: list[uuid.UUID] = session.info.pop("frontiersec_jobs", [])
    queue: JobQueue | None = session.info.get("job_queue")
    if queue is None:
        return
    for jid in pending:
        queue.dispatch(jid)


def _after_rollback(session: Session) -> None:
    session.info.pop("frontiersec_jobs", None)


event.listen(Session, "after_commit", _after_commit)
event.listen(Session, "after_soft_rollback", lambda s, _t: _after_rollback(s))


def enqueue(
    session: Session,
    principal: Principal,
    name: str,
    params: dict[str, Any],
    *,
    owner_org_id: uuid.UUID,
    tlp: str = "AMBER",
) -> JobRecord:
    """Create a job record now; dispatch it to the queue when the transaction commits."""
    if name not in _REGISTRY:
        raise ValueError(f"no job registered as {name!r}")
    rec = JobRecord(
        name=name,
        params=params,
        owner_org_id=owner_org_id,
        tlp=tlp,
        created_by=principal.user_id,
        message="queued",
    )
    session.add(rec)
    session.flush()
    session.info.setdefault("frontiersec_jobs", []).append(rec.id)
    return rec


def get_job(
    session: Session, principal: Principal, job_id: uuid.UUID, *, audit_read: bool = True
) -> JobRecord:
    """A job the principal may see (its organisation's, or any for operators).

    Reading a confidential (AMBER and up) job is audited; a page's own progress polling
    passes ``audit_read=False`` after its first, audited, load.
    """
    rec = (
        session.execute(
            select(JobRecord).where(JobRecord.id == job_id, visible_clause(JobRecord, "job", principal))
        )
        .scalars()
        .first()
    )
    if rec is None:
        raise NotFound(f"job {job_id} not found")
    if audit_read:
        record_read(session, principal, object_type="job", object_id=rec.id, tlp=rec.tlp)
    return rec


def list_jobs(session: Session, principal: Principal, *, limit: int = 50) -> list[JobRecord]:
    """Recent jobs the principal may see, newest first."""
    return list(
        session.execute(
            select(JobRecord)
            .where(visible_clause(JobRecord, "job", principal))
            .order_by(JobRecord.created_at.desc())
            .limit(limit)
        ).scalars()
    )
