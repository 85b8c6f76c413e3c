"""Recording and verifying the audit chain.

Every write and every read of AMBER, AMBER+STRICT or RED material calls :func:`record`
inside the same transaction as the action, so the action and its entry commit together.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from frontiersec.platform.audit.chain import GENESIS_HASH, entry_digest
from frontiersec.platform.audit.models import AuditEntry, AuditHead
from frontiersec.platform.auth.models import Role
from frontiersec.platform.auth.principal import SYSTEM, Principal
from frontiersec.platform.clock import utcnow

__all__ = ["CONFIDENTIAL_TLP", "VerifyResult", "list_entries", "record", "record_read", "verify_chain"]

CONFIDENTIAL_TLP = frozenset({"AMBER", "AMBER+STRICT", "RED"})


def _lock_head(session: Session) -> AuditHead:
    # Updating the single head row takes a row lock (PostgreSQL) or the write lock (SQLite)
    # before the head is read, so concurrent writers in any process chain in order.
    res = session.execute(update(AuditHead).where(AuditHead.id == 1).values(last_seq=AuditHead.last_seq))
    if res.rowcount == 0:  # type: ignore[attr-defined]
        session.add(AuditHead(id=1, last_seq=0, last_hash=GENESIS_HASH))
        session.flush()
    head = session.execute(
        select(AuditHead).where(AuditHead.id == 1).execution_options(populate_existing=True)
    ).scalar_one()
    return head


def record(
    session: Session,
    principal: Principal,
    action: str,
    *,
    object_type: str | None = None,
    object_id: uuid.UUID | str | None = None,
    tlp: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry to the chain (flushes, never commits)."""
    head = _lock_head(session)
    seq = head.last_seq + 1
    at = utcnow()
    oid = str(object_id) if object_id is not None else None
    det = details or {}
    digest = entry_digest(
        seq=seq,
        at=at,
        actor_user_id=str(principal.user_id) if principal.user_id else None,
        actor_email=principal.email,
        actor_org_id=str(principal.org_id) if principal.org_id else None,
        via=principal.via,
        action=action,
        object_type=object_type,
        object_id=oid,
        tlp=tlp,
        ip=principal.ip,
        details=det,
        prev_hash=head.last_hash,
    )
    entry = AuditEntry(
        seq=seq,
        at=at,
        actor_user_id=principal.user_id,
        actor_email=principal.email,
        actor_org_id=principal.org_id,
        via=principal.via,
        action=action,
        object_type=object_type,
        object_id=oid,
        tlp=tlp,
        ip=principal.ip,
        details=det,
        prev_hash=head.last_hash,
        entry_hash=digest,
    )
    session.add(entry)
    head.last_seq = seq
    head.last_hash = digest
    session.flush()
    return entry


def record_read(
    session: Session,
    principal: Principal,
    *,
    object_type: str,
    object_id: uuid.UUID | str,
    tlp: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Audit a read when the material is confidential (AMBER, AMBER+STRICT, RED)."""
    if tlp in CONFIDENTIAL_TLP:
        record(
            session, principal, "read", object_type=object_type, object_id=object_id, tlp=tlp, details=details
        )


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of :func:`verify_chain`."""

    ok: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str | None = None


def verify_chain(session: Session, principal: Principal = SYSTEM, *, batch: int = 5000) -> VerifyResult:
    """Recompute every entry's hash in order; name the first entry that does not match.

    Organisation admins and operators may verify (the CLI acts as the system operator).
    """
    principal.require_role(Role.ADMIN, "verifying the audit chain")
    prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    last_seq = 0
    while True:
        rows: Sequence[AuditEntry] = (
            session.execute(
                select(AuditEntry).where(AuditEntry.seq > last_seq).order_by(AuditEntry.seq).limit(batch)
            )
            .scalars()
            .all()
        )
        if not rows:
            break
        for e in rows:
            if e.seq != expected_seq:
                return VerifyResult(False, checked, expected_seq, f"entry {expected_seq} is missing")
            if e.prev_hash != prev:
                return VerifyResult(False, checked, e.seq, "prev_hash does not match the previous entry")
            digest = entry_digest(
                seq=e.seq,
                at=e.at,
                actor_user_id=str(e.actor_user_id) if e.actor_user_id else None,
                actor_email=e.actor_email,
                actor_org_id=str(e.actor_org_id) if e.actor_org_id else None,
                via=e.via,
                action=e.action,
                object_type=e.object_type,
                object_id=e.object_id,
                tlp=e.tlp,
                ip=e.ip,
                details=e.details,
                prev_hash=e.prev_hash,
            )
            if digest != e.entry_hash:
                return VerifyResult(False, checked, e.seq, "content does not match its hash (altered)")
            prev = e.entry_hash
            expected_seq += 1
            checked += 1
            last_seq = e.seq
        session.expunge_all()
    head = session.get(AuditHead, 1)
    if head is not None and head.last_seq != checked:
        return VerifyResult(False, checked, checked + 1, "entries after the last one were deleted")
    return VerifyResult(True, checked)


def list_entries(
    session: Session,
    principal: Principal,
    *,
    before_seq: int | None = None,
    limit: int = 50,
    action: str | None = None,
) -> tuple[list[AuditEntry], int | None]:
    """Newest first. Operators see every entry, organisation admins their own organisation's."""
    principal.require_role(Role.ADMIN, "reading the audit log")
    stmt = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit + 1)
    if not principal.is_operator:
        stmt = stmt.where(AuditEntry.actor_org_id == principal.org_id)
    if before_seq is not None:
        stmt = stmt.where(AuditEntry.seq < before_seq)
    if action:
        stmt = stmt.where(AuditEntry.action.startswith(action))
    rows = list(session.execute(stmt).scalars().all())
    nxt = rows[limit - 1].seq if len(rows) > limit else None
    return rows[:limit], nxt


def count_entries(session: Session) -> int:
    """Number of entries in the chain."""
    return int(session.execute(select(func.count()).select_from(AuditEntry)).scalar_one())
