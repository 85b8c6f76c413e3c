"""Who is acting: the principal every service function takes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from frontiersec.platform.auth.models import ROLE_RANK, Role
from frontiersec.platform.errors import PermissionDenied

__all__ = ["SYSTEM", "Principal"]


@dataclass(frozen=True)
class Principal:
    """An authenticated user acting for one organisation (or the system itself).

    ``via`` says how they came in: ``session`` (web), ``token`` (API), ``cli`` (operator
    acting ``--as`` a user on the server) or ``system`` (jobs, demo loader).
    """

    user_id: uuid.UUID | None
    email: str
    org_id: uuid.UUID | None
    org_kind: str | None
    role: Role
    is_operator: bool = False
    scopes: frozenset[str] = field(default_factory=lambda: frozenset({"read", "write", "admin"}))
    via: str = "session"
    ip: str | None = None

    def has_role(self, role: Role) -> bool:
        """Whether this principal's role is at least ``role``."""
        return self.is_operator or ROLE_RANK[self.role] >= ROLE_RANK[role]

    def require_role(self, role: Role, action: str) -> None:
        """Raise :class:`PermissionDenied` unless the role is at least ``role``."""
        if not self.has_role(role):
            raise PermissionDenied(f"{action} needs the {role.value} role; you are {self.role.value}")

    def require_scope(self, scope: str) -> None:
        """Raise unless an API token carries ``scope``."""
        if scope not in self.scopes:
            raise PermissionDenied(f"this API token lacks the '{scope}' scope")

    def require_operator(self, action: str) -> None:
        """Raise unless this is a platform operator."""
        if not self.is_operator:
            raise PermissionDenied(f"{action} is reserved to platform operators")


SYSTEM = Principal(
    user_id=None, email="system", org_id=None, org_kind=None, role=Role.ADMIN, is_operator=True, via="system"
)
