"""Designation background jobs."""

from __future__ import annotations

import uuid
from typing import Any

from frontiersec.designation import service
from frontiersec.platform.auth.service import principal_for_user_id
from frontiersec.platform.db import session_scope
from frontiersec.platform.jobs import JobContext, job

__all__ = ["reevaluate_due"]


@job("designation.reevaluate")
def reevaluate_due(ctx: JobContext) -> dict[str, Any]:
    """Re-run every determination marked re-evaluation due, acting for the official who asked.
    Idempotent: a determination re-run once is superseded and no longer due."""
    ctx.progress(5, "finding determinations due for re-evaluation", force=True)
    with session_scope(ctx.sessions) as s:
        principal = principal_for_user_id(s, uuid.UUID(ctx.params["user_id"]))
        new = service.reevaluate_due(s, principal, ctx.box)
        out = {
            "reevaluated": len(new),
            "determinations": [
                {"id": str(d.id), "model": d.model_name, "version": d.model_version, "result": d.result}
                for d in new
            ],
        }
    ctx.progress(100, f"{out['reevaluated']} determinations re-evaluated", force=True)
    return out
