"""Inspect logs kept in the data dir: where they go, their SHA-256, and importing logs from elsewhere.

Every log a run writes lives under ``<data_dir>/eval-logs/<run id>/``; an imported log is
copied to ``<data_dir>/eval-logs/imports/<run id>.eval``. The SHA-256 of each file is
stored with the run, so anyone holding the file can check it is the one the profile
rests on (``sha256sum`` gives the same digest).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from sqlalchemy.orm import Session

from frontiersec.evals.catalog import load_tasks
from frontiersec.evals.common import aware
from frontiersec.evals.models import EvalRun, EvalSample
from frontiersec.platform.audit.service import record
from frontiersec.platform.auth.principal import Principal
from frontiersec.platform.clock import utcnow
from frontiersec.platform.errors import FieldError, InvalidInput

__all__ = ["EVAL_LOG_DIR", "import_log", "log_dir_for", "sha256_file"]

EVAL_LOG_DIR = "eval-logs"
_CHUNK = 1024 * 1024
_SUFFIXES = (".eval", ".json")


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def log_dir_for(settings: Any, run_id: uuid.UUID) -> Path:
    """The folder that holds the Inspect logs of one run."""
    return Path(settings.data_dir) / EVAL_LOG_DIR / str(run_id)


def _catalog_families() -> dict[str, str]:
    return {s.id: s.family for s in load_tasks()}


def import_log(
    session: Session,
    principal: Principal,
    settings: Any,
    source: str | Path | IO[bytes],
    *,
    filename: str,
    model_name: str | None = None,
    model_version: str | None = None,
    tlp: str = "AMBER",
    review_submission_id: uuid.UUID | None = None,
) -> EvalRun:
    """Import an Inspect log produced elsewhere as a finished run with its per-sample results.

    ``source`` is a path or a binary stream (an upload). Samples whose task id is in our
    catalog keep its family; others are grouped as ``external:<task>``. A file that is
    not a readable log is refused with a precise error and nothing is written.
    """
    from frontiersec.evals.common import check_identity, owner_org_for, require_runner
    from frontiersec.evals.inspect_bridge.runner import LogReadError, read_log

    require_runner(principal, "importing an evaluation log")
    suffix = Path(filename).suffix.lower()
    if suffix not in _SUFFIXES:
        raise InvalidInput.on("file", "must be an Inspect log: a .eval (or .json) file")
    tmpdir = Path(tempfile.mkdtemp(prefix="frontiersec-import-"))
    try:
        staged = tmpdir / f"upload{suffix}"
        if isinstance(source, str | Path):
            try:
                shutil.copyfile(source, staged)
            except OSError as exc:
                raise InvalidInput.on("file", f"cannot be read: {exc.strerror}") from exc
        else:
            with staged.open("wb") as out:
                shutil.copyfileobj(source, out, _CHUNK)
        try:
            parsed = read_log(staged, _catalog_families())
        except LogReadError as exc:
            raise InvalidInput.on("file", str(exc)) from exc
        default_name = re.sub(r"[^A-Za-z0-9._:+-]", "-", parsed.model)[:200]
        name = model_name or default_name
        version = model_version or "unversioned"
        errors: list[FieldError] = check_identity(name, version)
        if errors:
            raise InvalidInput("invalid model identity", errors=errors)
        run = EvalRun(
            source="import",
            suite=f"import:{parsed.task}"[:60],
            model=parsed.model[:300],
            model_name=name,
            model_version=version,
            epochs=max((s.epoch for s in parsed.samples), default=1),
            status="queued",
            owner_org_id=owner_org_for(session, principal),
            tlp=tlp,
            created_by=principal.user_id,
            review_submission_id=review_submission_id,
            note=f"imported from {Path(filename).name} (Inspect eval {parsed.eval_id}, status {parsed.status})",
            logs=[],
        )
        session.add(run)
        session.flush()
        dest_dir = Path(settings.data_dir) / EVAL_LOG_DIR / "imports"
        dest_dir.mkdir(parents=True, exist_ok=True)
        dest = dest_dir / f"{run.id}{suffix}"
        shutil.copyfile(staged, dest)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    try:
        return _finish_import(session, principal, run, parsed, dest, filename)
    except BaseException:
        dest.unlink(missing_ok=True)  # the transaction rolls back: leave no orphan file either
        raise


def _finish_import(
    session: Session, principal: Principal, run: EvalRun, parsed: Any, dest: Path, filename: str
) -> EvalRun:
    digest = sha256_file(dest)
    _store_samples(session, run, parsed.samples)
    scored = sum(1 for s in parsed.samples if s.score is not None)
    failed = [s for s in parsed.samples if s.score is None]
    now = utcnow()
    run.samples_total = len(parsed.samples)
    run.samples_done = scored
    run.progress = 100
    run.status = "succeeded" if not failed else ("partial" if scored else "failed")
    if failed:
        first = failed[0]
        run.error = (
            f"{len(failed)} samples have no score; first: {first.task_id} epoch {first.epoch}: {first.error}"
        )
    run.log_path, run.log_sha256 = str(dest), digest
    run.logs = [
        {
            "path": str(dest),
            "sha256": digest,
            "attempt": 1,
            "status": parsed.status,
            "samples": len(parsed.samples),
        }
    ]
    run.started_at = run.finished_at = run.updated_at = now
    session.flush()
    record(
        session,
        principal,
        "evals.log.imported",
        object_type="eval_run",
        object_id=run.id,
        tlp=run.tlp,
        details={
            "file": Path(filename).name,
            "sha256": digest,
            "samples": len(parsed.samples),
            "model": run.model,
        },
    )
    return run


def _store_samples(session: Session, run: EvalRun, samples: Iterable[Any]) -> None:
    for s in samples:
        session.add(
            EvalSample(
                run_id=run.id,
                task_id=s.task_id[:200],
                sample_id=s.sample_id[:200],
                family=(s.family or "unknown")[:120],
                epoch=s.epoch,
                score=s.score,
                answer=s.answer,
                explanation=s.explanation,
                error=s.error,
                attempt=1,
                started_at=aware(s.started_at),
                completed_at=aware(s.completed_at),
            )
        )
    session.flush()
