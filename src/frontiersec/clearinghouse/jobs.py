"""Clearinghouse background jobs."""

from __future__ import annotations

import inspect
import json
import uuid
from pathlib import Path
from typing import Any

import structlog

from frontiersec.clearinghouse import clusters
from frontiersec.clearinghouse import similarity as similarity  # registers "clearinghouse.similarity"
from frontiersec.clearinghouse.findings import import_findings
from frontiersec.clearinghouse.service import load_kev, read_kev_file
from frontiersec.platform.auth.models import Organization
from frontiersec.platform.auth.service import principal_for_user_id
from frontiersec.platform.db import session_scope
from frontiersec.platform.errors import InvalidInput
from frontiersec.platform.jobs import JobContext, job

log = structlog.get_logger(__name__)


@job("clearinghouse.load_kev")
def load_kev_job(ctx: JobContext) -> dict[str, Any]:
    """Load the KEV catalog from the configured data folder (idempotent)."""
    path = Path(ctx.params["path"])
    data = read_kev_file(path)
    with session_scope(ctx.sessions) as s:
        principal = principal_for_user_id(s, uuid.UUID(ctx.params["user_id"]))
        res = load_kev(
            s,
            principal,
            data,
            schema_path=path.parent / "known_exploited_vulnerabilities_schema.json",
            source=path.name,
            progress=ctx.progress,
        )
    return dict(res.__dict__)


@job("clearinghouse.import_findings")
def import_findings_job(ctx: JobContext) -> dict[str, Any]:
    """Import an uploaded scanner file (all-or-nothing), then run dedup layer 4 when it is installed.

    The uploaded file is deleted when the job ends, whether the import worked or not; an unusable
    file fails the job with the parser's precise reason (file, JSON path, what is wrong).
    """
    params = ctx.params
    path = Path(params["path"])
    uploads = (Path(ctx.settings.data_dir) / "uploads").resolve()
    if uploads not in path.resolve().parents:
        raise InvalidInput.on("path", "uploads are read from the data folder only")
    try:
        if not path.is_file():
            raise InvalidInput.on("file", f"{params.get('filename', path.name)}: the uploaded file is gone")
        ctx.progress(1, f"importing {path.name}", force=True)
        with session_scope(ctx.sessions) as s:
            principal = principal_for_user_id(s, uuid.UUID(params["user_id"]))
            org = s.get(Organization, uuid.UUID(params["org_id"]))
            if org is None:
                raise InvalidInput.on("org_id", "the finder organisation no longer exists")
            kwargs: dict[str, Any] = {}
            if "progress" in inspect.signature(import_findings).parameters:
                kwargs["progress"] = lambda pct, msg="": ctx.progress(min(90.0, pct * 0.9), msg)
            res = import_findings(
                s,
                principal,
                path,
                org=org,
                fmt=params.get("format") or "auto",
                model_id=params.get("model_id"),
                schemas_dir=ctx.settings.schemas_dir,
                **kwargs,
            )
        out: dict[str, Any] = {
            "batch_id": str(res.batch_id),
            "format": res.format,
            "received": res.received,
            "new": res.new,
            "duplicates": res.duplicates,
            "rejected": res.rejected,
            "clusters_created": res.clusters_created,
            "clusters_joined": res.clusters_joined,
            "identical": res.identical,
            "warnings": len(res.warnings),
        }
        ctx.progress(90, f"{res.received} received, {res.new} new, {res.duplicates} duplicates", force=True)
        layer4 = _similarity_module()
        if layer4 is not None and res.new:
            out["layer4"] = _run_layer4(ctx, layer4, res.batch_id)
        return out
    finally:
        clusters.discard_upload(path)


def _run_layer4(ctx: JobContext, layer4: Any, batch_id: uuid.UUID) -> dict[str, Any]:
    # Layer 4 is a follow-up on an import that is already committed: if it fails, the import
    # stands and the job says what went wrong instead of failing as a whole.
    try:
        with session_scope(ctx.sessions) as s:
            principal = principal_for_user_id(s, uuid.UUID(ctx.params["user_id"]))
            res = layer4.run_layer4(
                s, principal, batch_id, progress=lambda pct, msg="": ctx.progress(90 + pct * 0.1, msg)
            )
    except Exception as exc:
        log.exception("findings.layer4_failed", batch_id=str(batch_id))
        return {"status": "failed", "error": f"{type(exc).__name__}"}
    plain = res if isinstance(res, dict) else getattr(res, "__dict__", {"result": str(res)})
    out: dict[str, Any] = json.loads(json.dumps(plain, default=str))
    return out


def _similarity_module() -> Any:
    """Dedup layer 4 (``frontiersec.clearinghouse.similarity``) when installed and available."""
    try:
        from frontiersec.clearinghouse import similarity  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return None
    available = getattr(similarity, "available", None)
    ok = available() if callable(available) else bool(available)
    return similarity if ok and hasattr(similarity, "run_layer4") else None
