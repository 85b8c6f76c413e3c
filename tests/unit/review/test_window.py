"""The review window rule (at most 30 days, release after today) and the countdown."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from frontiersec.review.window import closes_at, countdown, window_problem

SUBMITTED = dt.datetime(2026, 11, 23, 15, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("release", "expected"),
    [
        (dt.date(2026, 11, 24), None),  # tomorrow
        (dt.date(2026, 12, 23), None),  # exactly 30 days
        (
            dt.date(2026, 12, 24),
            "is 31 days after submission (2026-11-23); the review window may not exceed 30 days",
        ),
        (dt.date(2026, 12, 30), "release date 2026-12-30 is 37 days after submission"),
        (dt.date(2026, 11, 23), "is today"),
        (dt.date(2026, 11, 1), "release date 2026-11-01 is in the past"),
    ],
)
def test_window_limit(release: dt.date, expected: str | None) -> None:
    problem = window_problem(release, SUBMITTED, 30)
    if expected is None:
        assert problem is None
    else:
        assert problem is not None
        assert expected in problem


def test_the_limit_is_a_setting_and_the_reason_cites_the_order() -> None:
    problem = window_problem(dt.date(2026, 12, 8), SUBMITTED, 14)
    assert problem is not None
    assert "may not exceed 14 days" in problem
    assert "executive order" in problem
    assert window_problem(dt.date(2026, 12, 7), SUBMITTED, 14) is None


def test_the_day_is_taken_in_utc() -> None:
    # 23:30 on the 23rd in New York is already the 24th in UTC: the 24th is "today".
    ny = dt.datetime(2026, 11, 23, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert window_problem(dt.date(2026, 11, 24), ny, 30) is not None
    with pytest.raises(ValueError, match="aware"):
        window_problem(dt.date(2026, 11, 24), dt.datetime(2026, 11, 23), 30)  # noqa: DTZ001


def test_window_closes_at_the_start_of_the_release_day() -> None:
    assert closes_at(dt.date(2026, 12, 1)) == dt.datetime(2026, 12, 1, 0, 0, tzinfo=dt.UTC)


def test_countdown() -> None:
    end = closes_at(dt.date(2026, 12, 1))
    c = countdown(end, end - dt.timedelta(days=12, hours=4, minutes=5))
    assert (c.days, c.hours, c.minutes, c.closed) == (12, 4, 5, False)
    assert c.text == "12 days 4 hours left"
    assert countdown(end, end - dt.timedelta(minutes=35)).text == "35 minutes left"
    assert countdown(end, end - dt.timedelta(hours=1, minutes=1)).text == "1 hour 1 minute left"
    done = countdown(end, end)
    assert done.closed
    assert done.seconds_left == 0
    assert done.text == "closed"


@given(st.integers(min_value=1, max_value=40 * 86400))
def test_countdown_parts_add_up(seconds: int) -> None:
    end = closes_at(dt.date(2026, 12, 1))
    c = countdown(end, end - dt.timedelta(seconds=seconds))
    assert c.seconds_left == seconds
    assert (
        c.days * 86400 + c.hours * 3600 + c.minutes * 60
        <= seconds
        < c.days * 86400 + c.hours * 3600 + (c.minutes + 1) * 60
    )
