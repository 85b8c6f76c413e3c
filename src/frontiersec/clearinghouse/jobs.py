"""Clearinghouse background jobs."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from frontiersec.clearinghouse.service import load_kev, read_kev_file
from frontiersec.platform.auth.service import principal_for_user_id
from frontiersec.platform.db import session_scope
from frontiersec.platform.jobs import JobContext, job


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
