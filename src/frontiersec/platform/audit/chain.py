"""Pure hash-chain arithmetic for audit entries (no I/O)."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import rfc8785

__all__ = ["GENESIS_HASH", "entry_digest"]

GENESIS_HASH = "0" * 64


def entry_digest(
    *,
    seq: int,
    at: dt.datetime,
    actor_user_id: str | None,
    actor_email: str,
    actor_org_id: str | None,
    via: str,
    action: str,
    object_type: str | None,
    object_id: str | None,
    tlp: str | None,
    ip: str | None,
    details: dict[str, Any],
    prev_hash: str,
) -> str:
    """SHA-256 (hex) of the entry's RFC 8785 canonical JSON, chained to ``prev_hash``."""
    doc: dict[str, Any] = {
        "seq": seq,
        "at": at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor_user_id": actor_user_id,
        "actor_email": actor_email,
        "actor_org_id": actor_org_id,
        "via": via,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "tlp": tlp,
        "ip": ip,
        "details": details,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(rfc8785.dumps(doc)).hexdigest()
