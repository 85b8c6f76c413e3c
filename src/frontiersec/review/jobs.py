"""Review background jobs: the window-end job.

``review.close_window`` is queued when a submission opens its window. Until the deadline it
re-queues itself with a delay (Huey keeps the schedule in its storage, so a restart does not
lose it); at the deadline it purges the credential and signs the receipt. Any read of an
overdue open window queues it again, and ``frontiersec review close-overdue`` closes every
overdue window at once (for cron), so a window is closed even if its job was lost.
"""

from __future__ import annotations

import uuid
from typing import Any

from frontiersec.platform.clock import utcnow
from frontiersec.platform.db import session_scope
from frontiersec.platform.jobs import JobContext, RetryLater, job
from frontiersec.review import service
from frontiersec.review.models import ReviewSubmission

__all__ = ["MAX_WAIT_S", "close_window_job"]

MAX_WAIT_S = 6 * 3600
"""Longest single delay before the job looks at the clock again."""


@job("review.close_window")
def close_window_job(ctx: JobContext) -> dict[str, Any]:
    """Close one review window when its deadline has passed (idempotent)."""
    sub_id = uuid.UUID(str(ctx.params["submission_id"]))
    with session_scope(ctx.sessions) as s:
        sub = s.get(ReviewSubmission, sub_id)
        if sub is None:
            return {"closed": False, "reason": "submission no longer exists"}
        now = utcnow()
        if sub.status not in service.CLOSED and now < sub.window_closes_at:
            wait = (sub.window_closes_at - now).total_seconds()
            if ctx.queue.huey.immediate:
                # Immediate mode (tests) has no delayed delivery: report and stop.
                return {"closed": False, "closes_at": sub.window_closes_at.isoformat()}
            raise RetryLater(
                min(wait, MAX_WAIT_S) + 1, f"window closes at {sub.window_closes_at.isoformat()}"
            )
        ctx.progress(50, "purging the credential and signing the receipt", force=True)
        receipt = service.close_window(s, sub_id, box=ctx.box, now=now)
        out = {"closed": True, "status": sub.status, "receipt_id": str(receipt.id) if receipt else None}
    with ctx.sessions() as s:
        service.flush_purged_pages(s)
    return out
