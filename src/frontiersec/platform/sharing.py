"""Sharing a record with a named organisation or user, for every shareable record type.

Areas register their shareable models (``register_shareable("finding", Finding)``); the
platform knows none of them. Sharing needs the record to be visible to the principal and
the principal to be allowed to pass it on (:func:`~frontiersec.platform.auth.visibility.can_reshare`).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from frontiersec.platform.auth.models import Role, Share
from frontiersec.platform.auth.principal import Principal
from frontiersec.platform.auth.service import add_share
from frontiersec.platform.auth.visibility import visible_clause
from frontiersec.platform.errors import InvalidInput, NotFound
from frontiersec.platform.models import JobRecord

__all__ = ["register_shareable", "share_record", "shareable_types"]

_SHAREABLE: dict[str, Any] = {"job": JobRecord}


def register_shareable(object_type: str, model: Any) -> None:
    """Make rows of ``model`` (an ``OwnedMixin`` table with an ``id``) shareable as ``object_type``."""
    _SHAREABLE[object_type] = model


def shareable_types() -> list[str]:
    """The object types that can be shared."""
    return sorted(_SHAREABLE)


def share_record(
    session: Session,
    principal: Principal,
    *,
    object_type: str,
    object_id: uuid.UUID,
    org_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
) -> Share:
    """Share one record the principal can see with a named organisation (AMBER) or user (RED)."""
    principal.require_role(Role.MEMBER, "sharing records")
    model = _SHAREABLE.get(object_type)
    if model is None:
        raise InvalidInput.on("object_type", f"must be one of {', '.join(shareable_types())}")
    row = (
        session.execute(
            select(model).where(model.id == object_id, visible_clause(model, object_type, principal))
        )
        .scalars()
        .first()
    )
    if row is None:
        raise NotFound(f"{object_type} {object_id} not found")
    return add_share(
        session,
        principal,
        object_type=object_type,
        object_id=object_id,
        tlp=row.tlp,
        owner_org_id=row.owner_org_id,
        org_id=org_id,
        user_id=user_id,
    )
