"""TLP 2.0 visibility: ``can_see`` for every label and every kind of principal, per the
table in ``frontiersec.platform.auth.visibility``'s docstring."""

from __future__ import annotations

import uuid

import pytest

from frontiersec.platform.auth.models import Role
from frontiersec.platform.auth.principal import Principal
from frontiersec.platform.auth.visibility import TLP, can_see

OWNER_ORG = uuid.uuid4()
SHARED_ORG = uuid.uuid4()
OTHER_ORG = uuid.uuid4()
CREATOR = uuid.uuid4()
NAMED_USER = uuid.uuid4()


def _p(user_id: uuid.UUID | None, org_id: uuid.UUID | None, *, operator: bool = False) -> Principal:
    return Principal(
        user_id=user_id,
        email="x@test.example",
        org_id=org_id,
        org_kind=None,
        role=Role.MEMBER,
        is_operator=operator,
    )


PRINCIPALS = {
    "owner_member": _p(uuid.uuid4(), OWNER_ORG),
    "shared_org": _p(uuid.uuid4(), SHARED_ORG),
    "other_org": _p(uuid.uuid4(), OTHER_ORG),
    "creator": _p(CREATOR, OWNER_ORG),
    "named_user": _p(NAMED_USER, OTHER_ORG),
    "operator": _p(uuid.uuid4(), OTHER_ORG, operator=True),
    "anonymous": _p(None, None),
}

# label -> the principals that may see the record (everyone else may not).
EXPECTED: dict[str, set[str]] = {
    "CLEAR": set(PRINCIPALS),
    "GREEN": set(PRINCIPALS) - {"anonymous"},
    "AMBER": {"owner_member", "shared_org", "creator", "operator"},
    "AMBER+STRICT": {"owner_member", "shared_org", "creator", "operator"},
    "RED": {"creator", "named_user", "operator"},
}


def test_table_covers_every_label() -> None:
    assert set(EXPECTED) == {t.value for t in TLP}


@pytest.mark.parametrize("label", list(EXPECTED))
@pytest.mark.parametrize("who", list(PRINCIPALS))
def test_can_see(label: str, who: str) -> None:
    seen = can_see(
        PRINCIPALS[who],
        tlp=label,
        owner_org_id=OWNER_ORG,
        created_by=CREATOR,
        shared_org_ids=frozenset({SHARED_ORG}),
        shared_user_ids=frozenset({NAMED_USER}),
    )
    assert seen is (who in EXPECTED[label])


@pytest.mark.parametrize("label", ["AMBER", "AMBER+STRICT", "RED"])
def test_without_shares_only_owner_or_creator(label: str) -> None:
    kw = {"tlp": label, "owner_org_id": OWNER_ORG, "created_by": CREATOR}
    assert not can_see(PRINCIPALS["shared_org"], **kw)  # type: ignore[arg-type]
    assert not can_see(PRINCIPALS["named_user"], **kw)  # type: ignore[arg-type]
    assert can_see(PRINCIPALS["creator"], **kw)  # type: ignore[arg-type]


def test_unknown_label_is_refused() -> None:
    with pytest.raises(ValueError, match="PURPLE"):
        can_see(PRINCIPALS["operator"], tlp="PURPLE", owner_org_id=OWNER_ORG, created_by=None)
