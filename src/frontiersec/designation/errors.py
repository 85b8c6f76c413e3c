"""Designation errors (documented in docs/errors.md)."""

from __future__ import annotations

from frontiersec.platform.errors import PreconditionFailed

__all__ = ["ReconsiderationPeriodClosed"]


class ReconsiderationPeriodClosed(PreconditionFailed):
    """A reconsideration requested after the period set by ``reconsideration_request_days``."""

    code = "reconsideration-period-closed"
    title = "Reconsideration period closed"
