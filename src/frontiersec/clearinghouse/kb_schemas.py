"""API models of the knowledge-base feeds (``GET /api/v1/kb/feeds``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["FeedStateList", "FeedStateRead"]


class FeedStateRead(BaseModel):
    """What ``kb sync`` last saw of one feed."""

    model_config = ConfigDict(from_attributes=True)

    feed: str = Field(description="`kev`, `epss` or `osv:<ecosystem>`.")
    url: str = Field(description="Where the feed was fetched from.")
    etag: str | None = Field(description="`ETag` of the last copy that verified and loaded.")
    last_modified: str | None = Field(description="`Last-Modified` of that copy (HTTP date).")
    sha256: str | None = Field(description="SHA-256 of that copy's bytes.")
    last_checked_at: dt.datetime | None = Field(description="When the feed was last asked for.")
    last_loaded_at: dt.datetime | None = Field(description="When a copy was last loaded.")
    last_status: str = Field(description="`loaded`, `unchanged`, `failed` or `never`.")
    last_error: str | None = Field(description="Why the last attempt failed (when it did).")
    last_result: dict[str, Any] = Field(description="Counts of the last load (added, updated, unchanged...).")


class FeedStateList(BaseModel):
    """Every feed ``kb sync`` has tried, by key."""

    items: list[FeedStateRead]
