"""The partners area's pure decisions: a grant's state, the access check, the grant window rules,
sector groups and the chart's bar geometry."""

from __future__ import annotations

import datetime as dt

import pytest

from frontiersec.partners import rules, sectors

T0 = dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.UTC)
START = T0 + dt.timedelta(days=1)
END = T0 + dt.timedelta(days=31)
ACCEPTED = T0 + dt.timedelta(hours=1)


@pytest.mark.parametrize(
    ("now", "accepted", "revoked", "expected"),
    [
        (START + dt.timedelta(days=1), ACCEPTED, None, "active"),
        (START, ACCEPTED, None, "active"),  # the start instant is inside
        (START - dt.timedelta(seconds=1), ACCEPTED, None, "not_yet_active"),
        (END, ACCEPTED, None, "expired"),  # the end instant is outside
        (END + dt.timedelta(days=1), ACCEPTED, None, "expired"),
        (START + dt.timedelta(days=1), None, None, "awaiting_terms"),
        (END + dt.timedelta(days=1), None, None, "awaiting_terms"),
        (START + dt.timedelta(days=2), ACCEPTED, START + dt.timedelta(days=1), "revoked"),
        (START + dt.timedelta(days=2), None, START + dt.timedelta(days=1), "revoked"),
        # A revocation recorded for a later instant is not in force yet.
        (START + dt.timedelta(days=1), ACCEPTED, START + dt.timedelta(days=2), "active"),
    ],
)
def test_grant_status(
    now: dt.datetime, accepted: dt.datetime | None, revoked: dt.datetime | None, expected: str
) -> None:
    got = rules.grant_status(now=now, starts_at=START, ends_at=END, accepted_at=accepted, revoked_at=revoked)
    assert got == expected


def _check(status: str, used: int, cap: int, units: int) -> rules.CheckDecision:
    return rules.check_access(
        status=status,
        used=used,
        cap=cap,
        units=units,
        unit="calls",
        starts_at=START,
        ends_at=END,
        revoked_at=START + dt.timedelta(days=3),
    )


@pytest.mark.parametrize(
    ("status", "used", "cap", "units", "allowed", "code"),
    [
        ("active", 0, 10, 1, True, "active"),
        ("active", 9, 10, 1, True, "active"),  # exactly reaching the cap is allowed
        ("active", 10, 10, 1, False, "over_cap"),
        ("active", 8, 10, 3, False, "over_cap"),
        ("active", 10, 10, 0, True, "active"),  # units=0 only asks
        ("active", 12, 10, 0, False, "over_cap"),  # reported usage already past the cap
        ("revoked", 0, 10, 1, False, "revoked"),
        ("awaiting_terms", 0, 10, 1, False, "awaiting_terms"),
        ("not_yet_active", 0, 10, 1, False, "not_yet_active"),
        ("expired", 0, 10, 1, False, "expired"),
        # The state wins over the cap: a revoked grant is "revoked", not "over_cap".
        ("revoked", 10, 10, 1, False, "revoked"),
    ],
)
def test_check_access(status: str, used: int, cap: int, units: int, allowed: bool, code: str) -> None:
    d = _check(status, used, cap, units)
    assert (d.allowed, d.code) == (allowed, code)
    assert d.reason


def test_check_reasons_name_the_moment() -> None:
    assert END.isoformat() in _check("expired", 0, 1, 1).reason
    assert START.isoformat() in _check("not_yet_active", 0, 1, 1).reason
    assert "8 of 10 calls used, 3 more" in _check("active", 8, 10, 3).reason


def _problems(
    starts: dt.datetime, ends: dt.datetime, closes: dt.datetime | None, waive: bool = False
) -> dict[str, str]:
    return {
        e.field: e.message
        for e in rules.grant_window_problems(
            now=T0, starts_at=starts, ends_at=ends, window_closes_at=closes, waive_window=waive
        )
    }


def test_window_rules() -> None:
    closes = T0 + dt.timedelta(days=10)
    # After the window: fine.
    assert _problems(closes, closes + dt.timedelta(days=30), closes) == {}
    # Before the window closes: refused on starts_at, unless waived.
    p = _problems(T0 + dt.timedelta(days=1), T0 + dt.timedelta(days=40), closes)
    assert set(p) == {"starts_at"}
    assert "review window" in p["starts_at"]
    assert _problems(T0 + dt.timedelta(days=1), T0 + dt.timedelta(days=40), closes, waive=True) == {}
    # No review window at all: nothing to wait for.
    assert _problems(T0 + dt.timedelta(minutes=1), T0 + dt.timedelta(days=1), None) == {}
    # End before (or at) the start.
    assert set(_problems(closes, closes, closes)) == {"ends_at"}
    assert set(_problems(closes, closes - dt.timedelta(days=1), closes)) == {"ends_at"}
    # Start in the past (beyond the tolerance) is refused even when waived.
    past = T0 - rules.PAST_TOLERANCE - dt.timedelta(seconds=1)
    assert "in the past" in _problems(past, T0 + dt.timedelta(days=1), None, waive=True)["starts_at"]
    assert _problems(T0 - rules.PAST_TOLERANCE, T0 + dt.timedelta(days=1), None) == {}


def test_checklist_keys_are_unique_and_mostly_required() -> None:
    keys = [c.key for c in rules.CHECKLIST]
    assert len(keys) == len(set(keys))
    assert any(c.required for c in rules.CHECKLIST)
    assert any(not c.required for c in rules.CHECKLIST)


@pytest.mark.parametrize(
    ("sector", "kind", "group"),
    [
        # The demo organisations' sectors (src/frontiersec/demo.py).
        ("banking", "critical_infrastructure_operator", "banks"),
        ("water", "critical_infrastructure_operator", "utilities"),
        ("federal civilian", "government_agency", "federal"),
        ("national security", "government_agency", "federal"),
        # CISA's critical-infrastructure sectors, as operators write them.
        ("Financial Services", "critical_infrastructure_operator", "banks"),
        ("Energy", "critical_infrastructure_operator", "utilities"),
        ("Water and Wastewater Systems", "critical_infrastructure_operator", "utilities"),
        ("Healthcare and Public Health", "critical_infrastructure_operator", "hospitals"),
        ("county government", "government_agency", "state_local"),
        ("State, Local, Tribal, and Territorial", "government_agency", "state_local"),
        ("Communications", "critical_infrastructure_operator", "telecom"),
        ("Transportation Systems", "critical_infrastructure_operator", "transport"),
        (None, "government_agency", "federal"),
        (None, "security_vendor", "other"),
        ("Chemical", "critical_infrastructure_operator", "other"),
    ],
)
def test_sector_of(sector: str | None, kind: str, group: str) -> None:
    assert sectors.sector_of(sector, kind) == group


def test_bars_scale_to_the_largest_count() -> None:
    b = sectors.bars(
        [("banks", 4, 2), ("utilities", 1, 0), ("hospitals", 0, 0)], width=300.0, row=30.0, top=5.0
    )
    assert [x.width for x in b] == [300.0, 75.0, 0.0]
    assert [x.grant_width for x in b] == [150.0, 0.0, 0.0]
    assert [x.y for x in b] == [5.0, 35.0, 65.0]
    assert b[0].label == "Banks and finance"
    # All zero: no division by zero, no bar.
    assert [x.width for x in sectors.bars([("banks", 0, 0)])] == [0.0]
