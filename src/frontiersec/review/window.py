"""The review window: when it closes, whether a requested one is allowed, and the countdown.

Pure: no database, no settings. The executive order ("Promoting Advanced Artificial
Intelligence Innovation and Security", 2026-06-02) lets a developer give agencies access
*up to 30 days* before the model's release to trusted partners; the deployment may set a
shorter or longer limit (``review_window_max_days``), and the reason quoted to the developer
names the limit in force.

The window runs from the moment of submission to 00:00 UTC of the planned release date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = ["ORDER_CITATION", "Countdown", "closes_at", "countdown", "window_problem"]

ORDER_CITATION = (
    "executive order 'Promoting Advanced Artificial Intelligence Innovation and Security' (2026-06-02), "
    "voluntary pre-release review: access up to 30 days before release to trusted partners"
)


def closes_at(release_date: dt.date) -> dt.datetime:
    """The end of the window: the start (00:00 UTC) of the planned release date."""
    return dt.datetime.combine(release_date, dt.time(0, 0), tzinfo=dt.UTC)


def window_problem(release_date: dt.date, submitted_at: dt.datetime, max_days: int) -> str | None:
    """Why a window ending on ``release_date`` may not be opened at ``submitted_at``; ``None`` if it may."""
    if submitted_at.tzinfo is None:
        raise ValueError("submitted_at must be timezone-aware")
    today = submitted_at.astimezone(dt.UTC).date()
    days = (release_date - today).days
    if days <= 0:
        when = "today" if days == 0 else "in the past"
        return (
            f"release date {release_date.isoformat()} is {when} (submission on {today.isoformat()}); "
            "the review window runs from submission to a planned release date after today"
        )
    if days > max_days:
        return (
            f"release date {release_date.isoformat()} is {days} days after submission "
            f"({today.isoformat()}); the review window may not exceed {max_days} days ({ORDER_CITATION})"
        )
    return None


@dataclass(frozen=True)
class Countdown:
    """Time left in a window, for pages and the API."""

    seconds_left: int
    days: int
    hours: int
    minutes: int
    closed: bool

    @property
    def text(self) -> str:
        """'12 days 4 hours left', '35 minutes left' or 'closed'."""
        if self.closed:
            return "closed"
        parts = []
        if self.days:
            parts.append(f"{self.days} day{'s' if self.days != 1 else ''}")
        if self.hours or self.days:
            parts.append(f"{self.hours} hour{'s' if self.hours != 1 else ''}")
        if not self.days:
            parts.append(f"{self.minutes} minute{'s' if self.minutes != 1 else ''}")
        return " ".join(parts) + " left"


def countdown(closes: dt.datetime, now: dt.datetime) -> Countdown:
    """Days, hours and minutes from ``now`` until ``closes`` (zero and closed once past)."""
    secs = int((closes - now).total_seconds())
    if secs <= 0:
        return Countdown(0, 0, 0, 0, True)
    days, rest = divmod(secs, 86400)
    hours, rest = divmod(rest, 3600)
    return Countdown(secs, days, hours, rest // 60, False)
