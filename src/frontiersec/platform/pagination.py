"""Cursor pagination: opaque, stable under inserts, keyed on (sort key, id)."""

from __future__ import annotations

import base64
import json
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from frontiersec.platform.errors import InvalidInput

__all__ = ["Page", "decode_cursor", "encode_cursor"]

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of results; pass ``next_cursor`` back as ``cursor`` for the next one."""

    items: list[T]
    next_cursor: str | None = Field(
        default=None, description="Opaque cursor of the next page; null at the end."
    )


def encode_cursor(values: list[Any]) -> str:
    """Encode the last row's sort key as an opaque cursor."""
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    """Decode a cursor made by :func:`encode_cursor`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput.on("cursor", "is not a cursor this server issued") from exc
    if not isinstance(values, list):
        raise InvalidInput.on("cursor", "is not a cursor this server issued")
    return values
