"""Sectors of trusted partners, for the counts on the dashboard and the /partners chart (pure).

An organisation's ``sector`` is free text ("banking", "water", "county government"); it is
put into one of the program's reporting groups by keyword, with the organisation's kind as a
tie-breaker (a government agency that is not state or local counts as federal).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["LABELS", "SECTORS", "Bar", "bars", "sector_of"]

# (key, label, keywords); the first group with a keyword in the sector text wins.
SECTORS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("banks", "Banks and finance", ("bank", "banking", "finance", "financial", "credit union", "insurance")),
    (
        "utilities",
        "Utilities",
        ("water", "wastewater", "energy", "electric", "electricity", "power", "gas", "utility", "utilities"),
    ),
    ("hospitals", "Hospitals and health", ("hospital", "health", "healthcare", "medical")),
    (
        "state_local",
        "State and local government",
        ("state", "local", "county", "city", "municipal", "sltt", "tribal", "territorial"),
    ),
    ("telecom", "Communications", ("telecom", "communications", "telecommunications", "isp")),
    ("transport", "Transportation", ("transport", "transportation", "rail", "aviation", "port", "pipeline")),
    ("federal", "Federal government", ("federal", "national security")),
    ("other", "Other", ()),
)
LABELS = {key: label for key, label, _ in SECTORS}


def sector_of(sector: str | None, kind: str | None = None) -> str:
    """The reporting group of an organisation with this sector text and kind."""
    lowered = (sector or "").lower()
    words = set(re.findall(r"[a-z]+", lowered))
    for key, _label, keywords in SECTORS:
        if any((k in lowered) if " " in k else (k in words) for k in keywords):
            return key
    return "federal" if kind == "government_agency" else "other"


@dataclass(frozen=True)
class Bar:
    """One bar of the server-rendered SVG chart (coordinates in SVG user units)."""

    key: str
    label: str
    partners: int
    active_grants: int
    y: float
    width: float
    grant_width: float


def bars(
    counts: list[tuple[str, int, int]], *, width: float = 360.0, row: float = 34.0, top: float = 8.0
) -> list[Bar]:
    """Bars for ``(sector key, partners, active grants)`` rows, scaled to the widest count."""
    peak = max([1, *(max(p, g) for _k, p, g in counts)])
    out = []
    for i, (key, partners, grants) in enumerate(counts):
        out.append(
            Bar(
                key=key,
                label=LABELS.get(key, key),
                partners=partners,
                active_grants=grants,
                y=top + i * row,
                width=round(width * partners / peak, 1),
                grant_width=round(width * grants / peak, 1),
            )
        )
    return out
