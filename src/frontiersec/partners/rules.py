"""The partners area's decisions, pure (no database, no I/O): a grant's state at a moment, the
answer to a gateway's access check, the window rules of a new grant, and the default vetting
checklist.

Grant states, in the order they are tested (the first that holds is the answer)::

    revoked         revoked_at is set                      (final; takes effect at once)
    awaiting_terms  the partner has not accepted the terms
    not_yet_active  now < starts_at
    expired         now >= ends_at
    active          otherwise

An access check is allowed only for an ``active`` grant whose usage plus the units asked for
stays within the cap; otherwise it is denied with the reason (``over_cap`` for the cap).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from frontiersec.platform.errors import FieldError

__all__ = [
    "CHECKLIST",
    "PAST_TOLERANCE",
    "STATUS_TEXT",
    "USAGE_UNITS",
    "CheckDecision",
    "ChecklistTemplate",
    "check_access",
    "grant_status",
    "grant_window_problems",
]

USAGE_UNITS = ("calls", "tokens")
PAST_TOLERANCE = dt.timedelta(minutes=5)
"""A start this close to now counts as "now" (the form's clock and the server's differ a little)."""

STATUS_TEXT = {
    "revoked": "revoked",
    "awaiting_terms": "waiting for the partner to accept the terms",
    "not_yet_active": "not yet active",
    "expired": "expired",
    "active": "active",
}


@dataclass(frozen=True)
class ChecklistTemplate:
    """One vetting check every nomination starts with."""

    key: str
    label: str
    required: bool = True


CHECKLIST: tuple[ChecklistTemplate, ...] = (
    ChecklistTemplate("identity", "Organisation identity and the signatory's authority verified"),
    ChecklistTemplate(
        "ci_role", "Critical-infrastructure role confirmed (sector risk management agency or ISAC)"
    ),
    ChecklistTemplate("security_contact", "Named security contact and 24/7 incident-response line on file"),
    ChecklistTemplate("data_handling", "Confidentiality and data-handling plan for model outputs reviewed"),
    ChecklistTemplate("screening", "Export-control and sanctions screening passed"),
    ChecklistTemplate("references", "Reference from an ISAC or a sector agency", required=False),
)


def grant_status(
    *,
    now: dt.datetime,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    accepted_at: dt.datetime | None,
    revoked_at: dt.datetime | None,
) -> str:
    """The state of a grant at ``now`` (see the module docstring for the order)."""
    if revoked_at is not None and revoked_at <= now:
        return "revoked"
    if accepted_at is None:
        return "awaiting_terms"
    if now < starts_at:
        return "not_yet_active"
    if now >= ends_at:
        return "expired"
    return "active"


@dataclass(frozen=True)
class CheckDecision:
    """The answer to an access check: allowed or not, a stable code and a sentence."""

    allowed: bool
    code: str
    reason: str


def check_access(
    *,
    status: str,
    used: int,
    cap: int,
    units: int,
    unit: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    revoked_at: dt.datetime | None = None,
) -> CheckDecision:
    """Whether a gateway may serve ``units`` more ``unit`` under a grant in ``status``."""
    if status == "revoked":
        when = revoked_at.isoformat() if revoked_at else "earlier"
        return CheckDecision(False, "revoked", f"the grant was revoked at {when}")
    if status == "awaiting_terms":
        return CheckDecision(False, "awaiting_terms", "the partner has not accepted the terms yet")
    if status == "not_yet_active":
        return CheckDecision(False, "not_yet_active", f"the grant starts at {starts_at.isoformat()}")
    if status == "expired":
        return CheckDecision(False, "expired", f"the grant expired at {ends_at.isoformat()}")
    if used + units > cap:
        return CheckDecision(
            False,
            "over_cap",
            f"usage cap reached: {used} of {cap} {unit} used, {units} more asked for",
        )
    return CheckDecision(True, "active", f"{used + units} of {cap} {unit} used")


def grant_window_problems(
    *,
    now: dt.datetime,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    window_closes_at: dt.datetime | None,
    waive_window: bool,
) -> list[FieldError]:
    """What is wrong with a grant's start and end (empty when nothing is).

    The start may not lie in the past, the end must come after the start, and the start may not
    come before the model's review window closes unless the developer waives that explicitly.
    """
    problems: list[FieldError] = []
    if starts_at < now - PAST_TOLERANCE:
        problems.append(FieldError("starts_at", f"{starts_at.isoformat()} is in the past"))
    if ends_at <= starts_at:
        problems.append(
            FieldError(
                "ends_at", f"must be after the start ({starts_at.isoformat()}); got {ends_at.isoformat()}"
            )
        )
    if window_closes_at is not None and starts_at < window_closes_at and not waive_window:
        problems.append(
            FieldError(
                "starts_at",
                f"before the end of the model's pre-release review window ({window_closes_at.isoformat()}): "
                "start on or after it, or the developer must waive the window explicitly",
            )
        )
    return problems
