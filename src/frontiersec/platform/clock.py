"""Time: timezone-aware UTC only, behind a small port tests can freeze."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

__all__ = ["Clock", "FrozenClock", "SystemClock", "utcnow"]


class Clock(Protocol):
    """Something that tells the time."""

    def now(self) -> dt.datetime: ...


class SystemClock:
    """The real clock (UTC)."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class FrozenClock:
    """A clock that stands still until moved; for tests."""

    def __init__(self, at: dt.datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self.at = at

    def now(self) -> dt.datetime:
        return self.at

    def advance(self, **kwargs: float) -> None:
        self.at += dt.timedelta(**kwargs)


def utcnow() -> dt.datetime:
    """Current UTC time, timezone-aware."""
    return dt.datetime.now(dt.UTC)
