"""Input and output models of the platform API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AuditEntryRead",
    "AuditVerifyRead",
    "JobRead",
    "MeRead",
    "OrgCreate",
    "OrgRead",
    "ShareCreate",
    "ShareRead",
    "TokenCreate",
    "TokenCreated",
    "TokenRead",
    "UserCreate",
    "UserRead",
    "WebhookCreate",
    "WebhookCreated",
    "WebhookDeliveryRead",
    "WebhookRead",
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class OrgCreate(_In):
    name: str = Field(min_length=1, max_length=200, description="Display name, unique.")
    kind: str = Field(
        description="government_agency, ai_developer, security_vendor, "
        "critical_infrastructure_operator, maintainer or researcher."
    )
    sector: str | None = Field(
        default=None, max_length=60, description="Sector, e.g. banking, energy, health."
    )


class OrgRead(_Out):
    id: uuid.UUID
    name: str
    slug: str
    kind: str
    sector: str | None = None
    created_at: dt.datetime


class UserCreate(_In):
    email: str = Field(max_length=320, description="Login email, unique.")
    display_name: str = Field(default="", max_length=200, description="Name shown in the UI.")
    password: str | None = Field(
        default=None,
        min_length=12,
        max_length=200,
        description="At least 12 characters; omit for API-only accounts.",
    )
    org_id: uuid.UUID = Field(description="Organisation the user joins.")
    role: str = Field(default="member", description="admin, analyst, member or viewer.")


class UserRead(_Out):
    id: uuid.UUID
    email: str
    display_name: str
    is_active: bool
    role: str | None = None
    created_at: dt.datetime


class MeRead(BaseModel):
    user_id: uuid.UUID | None
    email: str
    org_id: uuid.UUID | None
    org_kind: str | None
    role: str
    is_operator: bool
    scopes: list[str]
    via: str


class TokenCreate(_In):
    name: str = Field(min_length=1, max_length=100, description="What the token is for.")
    scopes: list[str] = Field(default_factory=lambda: ["read"], description="read, write, admin.")
    expires_in_days: int = Field(default=90, ge=1, le=366, description="Lifetime in days (1-366).")


class TokenRead(_Out):
    id: uuid.UUID
    name: str
    prefix: str = Field(description="First characters of the token, to recognise it.")
    scopes: list[str]
    expires_at: dt.datetime
    revoked_at: dt.datetime | None = None
    last_used_at: dt.datetime | None = None
    created_at: dt.datetime


class TokenCreated(TokenRead):
    token: str = Field(description="The secret. Shown this once; only its hash is stored.")


class ShareCreate(_In):
    object_type: str = Field(description="Kind of record, e.g. `job`, `finding`, `vuln_cluster`.")
    object_id: uuid.UUID = Field(description="The record's id.")
    org_id: uuid.UUID | None = Field(default=None, description="Share with this organisation (AMBER).")
    user_id: uuid.UUID | None = Field(default=None, description="Share with this person (RED).")


class ShareRead(_Out):
    id: uuid.UUID
    object_type: str
    object_id: uuid.UUID
    org_id: uuid.UUID | None
    user_id: uuid.UUID | None
    created_at: dt.datetime


class AuditEntryRead(_Out):
    seq: int
    at: dt.datetime
    actor_email: str
    actor_org_id: uuid.UUID | None
    via: str
    action: str
    object_type: str | None
    object_id: str | None
    tlp: str | None
    ip: str | None
    details: dict[str, Any]
    prev_hash: str
    entry_hash: str


class AuditVerifyRead(BaseModel):
    ok: bool
    checked: int
    first_broken_seq: int | None
    reason: str | None


class JobRead(_Out):
    id: uuid.UUID
    name: str
    status: str = Field(description="queued, running, succeeded or failed.")
    percent: int
    message: str
    result: dict[str, Any] | None = None
    error: str | None = None
    attempts: int
    created_at: dt.datetime
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None


class WebhookCreate(_In):
    url: str = Field(max_length=2000, description="Absolute http(s) URL that receives POSTs.")
    events: list[str] = Field(min_length=1, description="Event names, or ['*'] for all.")
    description: str = Field(default="", max_length=200)


class WebhookRead(_Out):
    id: uuid.UUID
    url: str
    events: list[str]
    description: str
    active: bool
    created_at: dt.datetime


class WebhookCreated(WebhookRead):
    secret: str = Field(description="HMAC-SHA256 signing secret, shown this once.")


class WebhookDeliveryRead(_Out):
    id: uuid.UUID
    event: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: dt.datetime | None
    delivered_at: dt.datetime | None
    created_at: dt.datetime
