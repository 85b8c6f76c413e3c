"""Demo content for the designation area (called by ``frontiersec demo load`` after the organisations,
users and KEV catalog exist; must be idempotent)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from frontiersec.platform.secrets_box import SecretBox


def seed_demo(session: Session, settings: Any, box: SecretBox) -> dict[str, Any]:
    """Create this area's demo records once; return counts for the summary."""
    return {}
