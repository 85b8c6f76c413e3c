"""Review API input and output models. The credential goes in, never out."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CountdownRead",
    "DocumentRead",
    "DocumentText",
    "ExportApprove",
    "ExportCreate",
    "ExportRead",
    "FindingCreate",
    "FindingRead",
    "FindingResponse",
    "ReportCreate",
    "ReportRead",
    "RunRead",
    "SubmissionCreate",
    "SubmissionDetailRead",
    "SubmissionRead",
    "TeamMemberCreate",
    "TeamMemberRead",
]

AccessLevel = Literal["black-box", "grey-box", "white-box"]
Severity = Literal["critical", "high", "medium", "low", "info"]


class SubmissionCreate(BaseModel):
    """A model submitted for voluntary pre-release review."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model_name: str = Field(
        min_length=1, max_length=200, description="The model's name, e.g. `lab-frontier`."
    )
    model_version: str = Field(min_length=1, max_length=100, description="The version under review.")
    release_date: dt.date = Field(
        description="Planned date of release to trusted partners (YYYY-MM-DD). The window runs from "
        "submission to 00:00 UTC of this date: after today, at most `FRONTIERSEC_REVIEW_WINDOW_MAX_DAYS` "
        "(30) days away."
    )
    access_level: AccessLevel = Field(
        default="black-box",
        description="black-box (API), grey-box (logits / fine-tuning) or white-box (weights).",
    )
    endpoint_url: str | None = Field(
        default=None, max_length=2000, description="The model's API endpoint (OpenAI-compatible base URL)."
    )
    credential: str | None = Field(
        default=None,
        max_length=4000,
        description="API key for the endpoint: encrypted at rest, never returned, purged at window end.",
    )
    eval_model: str | None = Field(
        default=None,
        max_length=300,
        description="Inspect model string the evaluation runs use (default `openai/<model_name>` with "
        "the endpoint as base URL).",
    )
    training_compute_flop: float | None = Field(
        default=None, description="Declared training compute in FLOP (e.g. 3e25)."
    )
    parameter_count: int | None = Field(default=None, description="Declared number of parameters.")
    description: str = Field(default="", max_length=20000, description="Anything the reviewers should know.")
    reviewers: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="E-mail addresses of agency officials to name on the review team (need-to-know).",
    )
    schedule_evaluation: bool = Field(
        default=True, description="Schedule the cyber evaluation suite against the endpoint now."
    )


class CountdownRead(BaseModel):
    """Time left until the window closes."""

    seconds_left: int
    days: int
    hours: int
    minutes: int
    closed: bool
    text: str = Field(description="e.g. `12 days 4 hours left`.")


class SubmissionRead(BaseModel):
    """A submission as lists show it (no credential, no materials)."""

    model_config = ConfigDict(protected_namespaces=())

    id: uuid.UUID
    model_name: str
    model_version: str
    access_level: AccessLevel
    release_date: dt.date
    window_opened_at: dt.datetime
    window_closes_at: dt.datetime
    status: str = Field(description="open, reported, closed or closed_without_report.")
    developer_org_id: uuid.UUID
    developer: str
    your_side: str = Field(description="developer, team or system: why you may see it.")
    countdown: CountdownRead
    team_size: int
    has_report: bool
    tlp: str


class TeamMemberRead(BaseModel):
    """A named official on the review team."""

    user_id: uuid.UUID
    email: str
    name: str
    organisation: str
    added_at: dt.datetime


class TeamMemberCreate(BaseModel):
    """Name one more agency official on the team."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320, description="The official's e-mail address.")


class DocumentRead(BaseModel):
    """A document's metadata (its content is encrypted; purged at window end)."""

    id: uuid.UUID
    kind: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_at: dt.datetime
    purged_at: dt.datetime | None


class DocumentText(DocumentRead):
    """A document with its text (for text documents; null for binary or purged ones)."""

    text: str | None


class RunRead(BaseModel):
    """An evaluation run scheduled against the endpoint."""

    id: uuid.UUID
    suite: str
    model: str
    status: str
    progress: int
    samples_done: int
    samples_total: int
    error: str | None


class FindingCreate(BaseModel):
    """One finding handed back to the developer."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=300)
    severity: Severity
    detail: str = Field(min_length=1, max_length=20000)


class ReportCreate(BaseModel):
    """The review report (issued once, before the deadline)."""

    model_config = ConfigDict(extra="forbid")

    summary: str = Field(min_length=1, max_length=20000)
    findings: list[FindingCreate] = Field(default_factory=list, max_length=200)


class FindingRead(BaseModel):
    """A finding with the developer's response."""

    id: uuid.UUID
    position: int
    title: str
    severity: str
    detail: str
    response: str | None = Field(description="acknowledged, disputed, or null while unanswered.")
    response_comment: str | None
    responded_at: dt.datetime | None


class FindingResponse(BaseModel):
    """The developer's answer to one finding."""

    model_config = ConfigDict(extra="forbid")

    response: Literal["acknowledged", "disputed"]
    comment: str = Field(default="", max_length=20000, description="Required when disputing.")


class ReportRead(BaseModel):
    """The report handed to the developer."""

    id: uuid.UUID
    summary: str
    issued_at: dt.datetime
    issued_by: str | None
    findings: list[FindingRead]


class ExportCreate(BaseModel):
    """A request to export one material."""

    model_config = ConfigDict(extra="forbid")

    material: str = Field(description="`report` or `document:<document id>`.", max_length=80)
    reason: str = Field(min_length=1, max_length=2000, description="Why the material must leave the system.")
    recipient: str | None = Field(
        default=None, max_length=320, description="E-mail of the team member it is for (default: you)."
    )


class ExportApprove(BaseModel):
    """Empty body: approving is the second person's act."""

    model_config = ConfigDict(extra="forbid")


class ExportRead(BaseModel):
    """An export request and its state."""

    id: uuid.UUID
    material: str
    reason: str
    status: str = Field(description="requested, approved or downloaded.")
    requested_by: str | None
    recipient: str | None
    recipient_id: uuid.UUID | None
    approved_by: str | None
    requested_at: dt.datetime
    approved_at: dt.datetime | None
    downloaded_at: dt.datetime | None


class SubmissionDetailRead(SubmissionRead):
    """A submission with its team, materials, runs, report and purge state."""

    endpoint_url: str | None
    eval_model: str | None
    training_compute_flop: float | None
    parameter_count: int | None
    description: str
    credential_stored: bool = Field(description="Whether an encrypted credential is held (never shown).")
    closed_at: dt.datetime | None
    team: list[TeamMemberRead]
    documents: list[DocumentRead]
    runs: list[RunRead]
    report: ReportRead | None
    exports: list[ExportRead] = Field(description="Export requests (review team only).")
    purge_receipt_id: uuid.UUID | None
