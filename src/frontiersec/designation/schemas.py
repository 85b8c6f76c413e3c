"""Designation API input and output models."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CriterionRead",
    "DeterminationCreate",
    "DeterminationRead",
    "NoticeRead",
    "OfficialCreate",
    "OfficialRead",
    "PolicyCreate",
    "PolicyDocumentRead",
    "PolicyRead",
    "PublishedPolicy",
    "ReconsiderationCreate",
    "ReconsiderationDecision",
    "ReconsiderationRead",
    "TransparencyRead",
    "VerifyRead",
]

ResultT = Literal["covered", "not_covered", "insufficient_evidence"]


class PolicyCreate(BaseModel):
    """A new policy version."""

    yaml: str = Field(description="The policy document (YAML, schema frontiersec/designation-policy@1).")


class PublishedPolicy(BaseModel):
    """What is public about a policy version: its commitment and unclassified summary."""

    model_config = ConfigDict(from_attributes=True)

    version: str = Field(description="Version label.")
    title: str = Field(description="Title of the policy.")
    effective: str | None = Field(description="Date from which the version applies (ISO 8601).")
    commitment: str = Field(description="SHA-256 (hex) of the RFC 8785 canonical JSON of the parsed policy.")
    published_at: dt.datetime = Field(description="When the version was published.")
    summary: dict[str, Any] = Field(description="Unclassified summary: criteria and combination rule.")


class PolicyRead(PublishedPolicy):
    """A policy version as officials list it."""

    id: uuid.UUID = Field(description="Policy id.")
    confidential_thresholds: bool = Field(
        description="Whether thresholds are left out of summaries and notices."
    )


class PolicyDocumentRead(PolicyRead):
    """A policy version with its confidential document (officials only; the read is audited)."""

    document: dict[str, Any] = Field(description="The parsed document the commitment covers.")
    yaml: str = Field(description="The document as submitted.")


class CriterionRead(BaseModel):
    """One criterion applied to the evidence."""

    id: str = Field(description="Criterion id, e.g. training_compute or capability.exploitation.")
    kind: str = Field(description="scale, capability or factor.")
    label: str = Field(description="Human label.")
    status: Literal["met", "unmet", "unknown"] = Field(description="Three-valued outcome.")
    reason: str = Field(description="Reason code, e.g. CAP_LOWER_BOUND_ABOVE_THRESHOLD.")
    reason_text: str = Field(description="What the reason code means.")
    unit: str = Field(description="Unit of the measured value and threshold.")
    measured: float | None = Field(description="Declared value or success rate.")
    low: float | None = Field(description="Lower bound of the 95% interval.")
    high: float | None = Field(description="Upper bound of the 95% interval.")
    successes: int | None = Field(description="Successful scored attempts.")
    n: int | None = Field(description="Scored attempts.")
    min_samples: int | None = Field(description="Policy's minimum of scored attempts.")
    method: str | None = Field(description="Interval method (wilson or clustered_se).")
    threshold: float | None = Field(
        description="Threshold; null when confidential and you are not an official."
    )
    threshold_disclosed: bool = Field(description="Whether the threshold is published to the developer.")
    families: list[str] | None = Field(default=None, description="Families carrying a factor.")


class DeterminationCreate(BaseModel):
    """Apply a policy version to a model version's evidence."""

    model: str = Field(min_length=1, max_length=200, description="Model name.")
    version: str = Field(min_length=1, max_length=100, description="Model version.")
    policy: str = Field(min_length=1, max_length=32, description="Policy version to apply.")
    developer_org_id: uuid.UUID | None = Field(
        default=None, description="Developer organisation (when no review submission names it)."
    )
    training_compute_flop: float | None = Field(default=None, gt=0, description="Declared training compute.")
    parameter_count: int | None = Field(default=None, ge=1, description="Declared parameter count.")


class DeterminationRead(BaseModel):
    """A determination as you may see it."""

    id: uuid.UUID = Field(description="Determination id.")
    model: str = Field(description="Model name.")
    model_version: str = Field(description="Model version.")
    developer_org_id: uuid.UUID = Field(description="Developer organisation.")
    developer: str = Field(description="Developer organisation name.")
    issuer: str = Field(description="Issuing agency.")
    result: ResultT = Field(description="covered, not_covered or insufficient_evidence.")
    basis: str = Field(description="policy, reconsideration or re-evaluation.")
    status: str = Field(description="current or superseded.")
    policy_version: str = Field(description="Policy version applied.")
    policy_commitment: str = Field(description="Its published commitment.")
    issued_at: dt.datetime = Field(description="When it was signed.")
    signature_kid: str = Field(description="Signing key id.")
    criteria: list[CriterionRead] = Field(
        description="Each criterion with value, interval, threshold, reason."
    )
    evidence: dict[str, Any] = Field(description="Runs with log hashes, family rates, declarations.")
    supersedes_id: uuid.UUID | None = Field(description="Determination this one replaced.")
    superseded_by_id: uuid.UUID | None = Field(description="Determination that replaced this one.")
    reevaluation_due_at: dt.datetime | None = Field(
        description="Set when a new policy or model version calls for re-evaluation."
    )
    reevaluation_reason: str | None = Field(description="Why re-evaluation is due.")
    reconsideration_deadline: dt.datetime = Field(description="Last moment to request reconsideration.")
    reconsideration_open: bool = Field(description="Whether a request may still be made.")


class NoticeRead(BaseModel):
    """The notice sent to the developer."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="Notice id.")
    determination_id: uuid.UUID = Field(description="Determination it reports.")
    headline: str = Field(description="The result in one sentence.")
    reasons: list[dict[str, Any]] = Field(description="Each criterion's status and reason code.")
    policy_summary: dict[str, Any] = Field(description="Unclassified summary of the policy version.")
    created_at: dt.datetime = Field(description="When it was issued.")


class ReconsiderationCreate(BaseModel):
    """A developer's request for reconsideration."""

    reason: str = Field(min_length=10, max_length=10_000, description="Arguments for reconsideration.")
    training_compute_flop: float | None = Field(default=None, gt=0, description="Corrected declared compute.")
    parameter_count: int | None = Field(default=None, ge=1, description="Corrected declared parameter count.")


class ReconsiderationDecision(BaseModel):
    """The officials' decision."""

    outcome: Literal["upheld", "reversed", "modified"] = Field(description="Decision.")
    rationale: str = Field(min_length=10, max_length=10_000, description="Reasons given to the developer.")


class ReconsiderationRead(BaseModel):
    """A reconsideration with its clock, status and outcome."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="Reconsideration id.")
    determination_id: uuid.UUID = Field(description="Determination reconsidered.")
    reason: str = Field(description="The developer's arguments.")
    evidence: dict[str, Any] = Field(description="Corrected declarations, if any.")
    status: str = Field(description="requested, under_review, upheld, reversed or modified.")
    requested_at: dt.datetime = Field(description="When it was requested.")
    request_deadline: dt.datetime = Field(description="The request deadline that applied.")
    decision_due: dt.datetime = Field(description="When officials must decide by.")
    review_started_at: dt.datetime | None = Field(description="When officials took it up.")
    decided_at: dt.datetime | None = Field(description="When it was decided.")
    decision_rationale: str | None = Field(description="Officials' reasons.")
    new_determination_id: uuid.UUID | None = Field(description="Determination issued by the decision.")


class OfficialCreate(BaseModel):
    """Add a user to the designation officials group."""

    email: str = Field(
        min_length=3, max_length=320, description="User e-mail (a member of a government agency)."
    )


class OfficialRead(BaseModel):
    """A designation official."""

    user_id: uuid.UUID = Field(description="User id.")
    email: str = Field(description="E-mail.")
    display_name: str = Field(description="Name.")
    granted_at: dt.datetime = Field(description="Since when.")


class VerifyRead(BaseModel):
    """Result of verifying a signed determination."""

    ok: bool = Field(description="Signature valid and policy commitment matches.")
    reason: str = Field(description="Why (or why not).")
    determination_id: str | None = Field(default=None, description="Id in the payload.")
    result: str | None = Field(default=None, description="Result in the payload.")
    policy_version: str | None = Field(default=None, description="Policy version cited.")
    commitment: str | None = Field(default=None, description="Commitment cited.")
    kid: str | None = Field(default=None, description="Signing key id.")


class TransparencyRead(BaseModel):
    """Aggregate, non-confidential figures."""

    generated_at: dt.datetime = Field(description="When computed.")
    submissions: int | None = Field(description="Pre-release submissions (null where not recorded).")
    determinations: dict[str, Any] = Field(
        description="Issued, by result, current by result, re-evaluation due."
    )
    reconsiderations: dict[str, Any] = Field(description="Requested, by status, past due, decided late.")
    median_days: dict[str, float | None] = Field(
        description="Median days submission→determination, request→decision."
    )
    policies: list[PublishedPolicy] = Field(description="Published versions: commitments and summaries.")
