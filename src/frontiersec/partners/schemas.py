"""Partners API input and output models."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ApprovalRead",
    "CheckRead",
    "CheckRequest",
    "ChecklistItemRead",
    "ChecklistUpdate",
    "DecisionCreate",
    "DeclineCreate",
    "FindingsImportRead",
    "GrantCreate",
    "GrantRead",
    "NominationCreate",
    "NominationDetailRead",
    "NominationRead",
    "RevokeCreate",
    "SectorCountRead",
    "TermsAccept",
    "TermsRead",
    "UsageCreate",
    "UsageRead",
]

AccessLevel = Literal["black-box", "grey-box", "white-box"]


class NominationCreate(BaseModel):
    """An organisation nominated as trusted partner for a model version."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    partner: str = Field(
        min_length=1, max_length=200, description="The nominated organisation (slug, name or id)."
    )
    model_name: str = Field(
        min_length=1, max_length=200, description="The model's name, e.g. `ailab-frontier`."
    )
    model_version: str = Field(
        min_length=1, max_length=100, description="The model version the access is for."
    )
    purpose: str = Field(
        min_length=1,
        max_length=4000,
        description="What the partner will use the model for (defensive purpose).",
    )
    agency: str | None = Field(
        default=None,
        max_length=200,
        description="Required when the developer nominates: the government agency that decides with it.",
    )
    developer: str | None = Field(
        default=None,
        max_length=200,
        description="When an agency nominates a model without a review submission: its developer organisation.",
    )


class ApprovalRead(BaseModel):
    """One side's decision."""

    side: str = Field(description="developer or agency.")
    decision: str = Field(description="approved or declined.")
    reason: str | None = Field(description="The reason (required for a decline).")
    decided_by: str | None = Field(description="Who decided (email).")
    decided_at: dt.datetime


class ChecklistItemRead(BaseModel):
    """One vetting check."""

    key: str
    label: str
    required: bool
    done: bool
    checked_by: str | None = Field(description="Who checked it (email).")
    checked_at: dt.datetime | None
    note: str


class TermsRead(BaseModel):
    """The terms a partner accepts before a grant activates."""

    version: str
    sha256: str = Field(description="SHA-256 of the UTF-8 text; name it to accept.")
    text: str
    accepted_by: str | None = Field(description="Who accepted them for the partner (email).")
    accepted_at: dt.datetime | None


class GrantRead(BaseModel):
    """An access grant and its state now."""

    model_config = ConfigDict(protected_namespaces=())

    id: uuid.UUID
    nomination_id: uuid.UUID
    model_name: str
    model_version: str
    developer: str
    partner: str
    partner_org_id: uuid.UUID
    purpose: str
    access_level: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    usage_cap: int
    usage_unit: str
    used: int = Field(description="Units used so far (partner reports and allowed gateway checks).")
    remaining: int
    status: str = Field(description="awaiting_terms, not_yet_active, active, expired or revoked.")
    status_text: str
    review_window_closes_at: dt.datetime | None
    window_waived: bool = Field(description="Whether the developer waived the review-window rule (recorded).")
    waiver_reason: str | None
    terms: TermsRead
    revoked_at: dt.datetime | None
    revoked_side: str | None
    revoke_reason: str | None
    signing_kid: str = Field(description="Key id of the signature (see /.well-known/frontiersec-keys.json).")
    your_side: str
    tlp: str


class NominationRead(BaseModel):
    """A nomination as lists show it."""

    model_config = ConfigDict(protected_namespaces=())

    id: uuid.UUID
    model_name: str
    model_version: str
    developer: str
    developer_org_id: uuid.UUID
    agency: str
    agency_org_id: uuid.UUID
    partner: str
    partner_org_id: uuid.UUID
    partner_sector: str = Field(description="Reporting group: banks, utilities, hospitals, state_local, ...")
    purpose: str
    nominated_side: str
    status: str = Field(description="pending, approved or declined.")
    developer_decision: str | None
    agency_decision: str | None
    active_grants: int
    created_at: dt.datetime
    decided_at: dt.datetime | None
    your_side: str
    tlp: str


class NominationDetailRead(NominationRead):
    """A nomination with its decisions, checklist (hidden from the partner) and grants."""

    approvals: list[ApprovalRead]
    checklist: list[ChecklistItemRead]
    checklist_done: bool
    grants: list[GrantRead]


class DecisionCreate(BaseModel):
    """Approve for your side."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(
        default=None, max_length=4000, description="Optional note kept with the decision."
    )


class DeclineCreate(BaseModel):
    """Decline for your side."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(max_length=4000, description="Why (required; the other side and the partner see it).")


class ChecklistUpdate(BaseModel):
    """Mark one vetting check done or not done."""

    model_config = ConfigDict(extra="forbid")

    done: bool = Field(default=True, description="True to mark the check done, false to undo.")
    note: str = Field(default="", max_length=2000, description="What was checked and how.")


class GrantCreate(BaseModel):
    """The scope of an access grant."""

    model_config = ConfigDict(extra="forbid")

    ends_at: dt.datetime = Field(description="When access ends (ISO 8601; without an offset, UTC).")
    usage_cap: int = Field(description="Most units (calls or tokens) the partner may use.")
    starts_at: dt.datetime | None = Field(
        default=None,
        description="When access starts: not in the past, and not before the model's review window closes "
        "unless waived. Default: now, or the window's end when it is later.",
    )
    usage_unit: Literal["calls", "tokens"] = "calls"
    access_level: AccessLevel = "black-box"
    purpose: str | None = Field(
        default=None, max_length=4000, description="Default: the nomination's purpose."
    )
    waive_review_window: bool = Field(
        default=False,
        description="The developer lets access start before the review window closes (recorded).",
    )
    waiver_reason: str | None = Field(default=None, max_length=4000, description="Required with a waiver.")


class TermsAccept(BaseModel):
    """Accept a grant's terms."""

    model_config = ConfigDict(extra="forbid")

    terms_sha256: str = Field(
        max_length=64, description="SHA-256 of the terms text you accept (from the grant)."
    )


class UsageCreate(BaseModel):
    """A usage report of the partner."""

    model_config = ConfigDict(extra="forbid")

    count: int = Field(description="Units used in the period (calls or tokens, as the grant counts).")
    period_start: dt.date = Field(description="First day of the period (YYYY-MM-DD).")
    period_end: dt.date = Field(description="Last day of the period (YYYY-MM-DD).")


class UsageRead(BaseModel):
    """One entry of the usage ledger."""

    id: uuid.UUID
    units: int
    period_start: dt.datetime
    period_end: dt.datetime
    source: str = Field(description="partner (a report) or gateway (an allowed access check).")
    created_at: dt.datetime
    used: int = Field(description="The grant's usage after this entry.")
    cap: int
    over_cap: bool


class CheckRequest(BaseModel):
    """An access check from the developer's gateway."""

    model_config = ConfigDict(extra="forbid")

    units: int = Field(default=1, description="Units about to be served; counted when allowed. 0 only asks.")


class CheckRead(BaseModel):
    """The answer: allowed or denied, with the reason."""

    grant_id: uuid.UUID
    allowed: bool
    decision: Literal["allowed", "denied"]
    code: str = Field(description="active, revoked, awaiting_terms, not_yet_active, expired or over_cap.")
    reason: str
    status: str
    used: int
    cap: int
    remaining: int
    unit: str
    checked_at: dt.datetime


class RevokeCreate(BaseModel):
    """Revoke a grant."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(max_length=4000, description="Why (required; the partner sees it).")


class FindingsImportRead(BaseModel):
    """What an import of the partner's findings did."""

    model_config = ConfigDict(protected_namespaces=())

    batch_id: uuid.UUID
    model_id: str = Field(description="The provenance the findings carry: `<model>@<version>`.")
    format: str
    received: int
    new: int
    duplicates: int
    rejected: int
    clusters_created: int
    clusters_joined: int
    warnings: list[str]


class SectorCountRead(BaseModel):
    """Trusted partners and active grants of one sector."""

    key: str
    label: str
    partners: int
    active_grants: int
