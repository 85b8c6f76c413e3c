"""TLP 2.0 sharing rules, enforced in this one place (both as a predicate and as SQL).

=============  =====================================================================
label          who may see the record inside frontiersec
=============  =====================================================================
CLEAR          everyone, including public pages
GREEN          every signed-in member of the community (any organisation)
AMBER          the owner organisation and organisations it was shared with
AMBER+STRICT   the owner organisation and organisations it was shared with
               (only the owner may share further)
RED            named individuals only: the creator and users it was shared with
=============  =====================================================================

Platform operators see everything (they run the deployment). A record a principal may
not see is reported as *not found* by the services, never as forbidden.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, exists, false, or_, select
from sqlalchemy.sql.elements import ColumnElement

from frontiersec.platform.auth.models import Share
from frontiersec.platform.auth.principal import Principal

__all__ = ["TLP", "can_reshare", "can_see", "visible_clause"]


class TLP(StrEnum):
    """Traffic Light Protocol 2.0 labels."""

    CLEAR = "CLEAR"
    GREEN = "GREEN"
    AMBER = "AMBER"
    AMBER_STRICT = "AMBER+STRICT"
    RED = "RED"


def can_see(
    principal: Principal,
    *,
    tlp: str,
    owner_org_id: uuid.UUID,
    created_by: uuid.UUID | None,
    shared_org_ids: frozenset[uuid.UUID] = frozenset(),
    shared_user_ids: frozenset[uuid.UUID] = frozenset(),
) -> bool:
    """Whether ``principal`` may see a record with these labels and shares."""
    label = TLP(tlp)
    if principal.is_operator or label is TLP.CLEAR:
        return True
    if label is TLP.GREEN:
        return principal.org_id is not None
    if label in (TLP.AMBER, TLP.AMBER_STRICT):
        return principal.org_id == owner_org_id or principal.org_id in shared_org_ids
    # RED: named individuals only.
    return principal.user_id is not None and (
        principal.user_id == created_by or principal.user_id in shared_user_ids
    )


def can_reshare(principal: Principal, *, tlp: str, owner_org_id: uuid.UUID) -> bool:
    """Whether ``principal`` may share a record further."""
    label = TLP(tlp)
    if principal.is_operator:
        return True
    if label in (TLP.CLEAR, TLP.GREEN):
        return principal.org_id is not None
    # AMBER may be passed on by its recipients only inside their own organisation, which
    # within frontiersec means it is already visible to them; sharing to a new
    # organisation is the owner's decision for every label from AMBER up.
    return principal.org_id == owner_org_id


def visible_clause(model: Any, object_type: str, principal: Principal) -> ColumnElement[bool]:
    """SQL condition equivalent to :func:`can_see` for rows of ``model``.

    ``model`` must have ``id``, ``tlp``, ``owner_org_id`` and ``created_by`` columns.
    """
    if principal.is_operator:
        return or_(model.id.is_not(None))
    clauses: list[ColumnElement[bool]] = [model.tlp == TLP.CLEAR.value]
    if principal.org_id is not None:
        org_share = exists(
            select(Share.id).where(
                Share.object_type == object_type,
                Share.object_id == model.id,
                Share.org_id == principal.org_id,
            )
        )
        clauses.append(model.tlp == TLP.GREEN.value)
        clauses.append(
            and_(
                model.tlp.in_([TLP.AMBER.value, TLP.AMBER_STRICT.value]),
                or_(model.owner_org_id == principal.org_id, org_share),
            )
        )
    if principal.user_id is not None:
        user_share = exists(
            select(Share.id).where(
                Share.object_type == object_type,
                Share.object_id == model.id,
                Share.user_id == principal.user_id,
            )
        )
        clauses.append(
            and_(model.tlp == TLP.RED.value, or_(model.created_by == principal.user_id, user_share))
        )
    return or_(false(), *clauses)
