"""Shared vocabulary of the authorization matrix (``test_authz_matrix.py``): the principals,
the :class:`Row` type, expectation helpers, and the seed context that area row modules
(``matrix_<area>.py``) receive to create the records their paths name.

An area module defines ``ROWS: list[Row]`` and may define ``seed(ctx: SeedContext) -> dict[str, str]``
(ids its paths and bodies use) and ``FRESH: dict[str, Callable[[SeedContext], str]]`` (a new record
per request, for paths written ``{fresh_<name>}``; the route's own parameter is ``{<name>}``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from frontiersec.platform.auth.models import Organization, User
from frontiersec.platform.auth.principal import Principal
from frontiersec.platform.runtime import Runtime

ANON, VIEWER_A, MEMBER_A, ANALYST_A, ADMIN_A, MEMBER_B, ADMIN_B, OPERATOR = (
    "anonymous",
    "viewer_a",
    "member_a",
    "analyst_a",
    "admin_a",
    "member_b",
    "admin_b",
    "operator",
)
PRINCIPALS = [ANON, VIEWER_A, MEMBER_A, ANALYST_A, ADMIN_A, MEMBER_B, ADMIN_B, OPERATOR]
SIGNED_IN = PRINCIPALS[1:]
ORG_A = {VIEWER_A, MEMBER_A, ANALYST_A, ADMIN_A}
CSRF = "matrix-csrf-token-0123456789"
_n = itertools.count(1)


def next_n() -> int:
    return next(_n)


@dataclass(frozen=True)
class Row:
    """One route (and one way to call it) with the status every principal must get."""

    method: str
    path: str
    expect: dict[str, int]
    form: Callable[[], dict[str, Any]] | None = None
    json: Callable[[], dict[str, Any]] | None = None
    variant: str = ""
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def api(self) -> bool:
        return self.path.startswith("/api/") and self.path not in PUBLIC_PATHS


PUBLIC_PATHS = {
    "/api/v1/openapi.json",
    "/api/v1/docs",
    "/healthz",
    "/metrics",
    "/.well-known/frontiersec-keys.json",
}


def everyone(code: int) -> dict[str, int]:
    return dict.fromkeys(PRINCIPALS, code)


def signed_in(code: int, **overrides: int) -> dict[str, int]:
    """``code`` for every signed-in principal (anonymous gets the default refusal)."""
    out = dict.fromkeys(SIGNED_IN, code)
    out.update(overrides)
    return out


def only(allowed: set[str], ok: int, denied: int, **overrides: int) -> dict[str, int]:
    out = {p: (ok if p in allowed else denied) for p in SIGNED_IN}
    out.update(overrides)
    return out


ADMINS_A = {ADMIN_A, OPERATOR}
ANALYSTS = {ANALYST_A, ADMIN_A, ADMIN_B, OPERATOR}
OWNERS_A = ORG_A | {OPERATOR}


@dataclass
class SeedContext:
    """What a seed function gets: an open session (committed after all seeds ran) and the world."""

    session: Session
    rt: Runtime
    org_a: Organization
    org_b: Organization
    org_ops: Organization
    users: dict[str, User]
    principals: dict[str, Principal]
    shared_data: Path
    ids: dict[str, str]
