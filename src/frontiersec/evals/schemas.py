"""Input and output models of the evals API. No output ever carries a model credential."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from frontiersec.platform.schemas import JobRead

__all__ = [
    "ComparisonRead",
    "FamilyComparisonRead",
    "FamilyResultRead",
    "ProfileRead",
    "ProfileSummaryRead",
    "RunCreate",
    "RunDetailRead",
    "RunRead",
    "RunRefRead",
    "RunStarted",
    "SampleRead",
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class RunCreate(_In):
    """Start an evaluation run of the suite against a model endpoint."""

    suite: str = Field(default="cyber-core", description="The benchmark suite (today: cyber-core).")
    model: str = Field(
        max_length=300,
        description="Inspect model PROVIDER/MODEL, e.g. `openai/SmolLM2-135M-Instruct` (with model_base_url for "
        "vLLM or llama.cpp servers), `mockllm/model`.",
    )
    model_base_url: str | None = Field(
        default=None,
        max_length=2000,
        description="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1.",
    )
    api_key: str | None = Field(
        default=None,
        max_length=4096,
        description="API key of the endpoint: stored encrypted, never returned or shown again.",
    )
    epochs: int = Field(default=1, ge=1, le=100, description="Times each sample is run.")
    limit: int | None = Field(default=None, ge=1, le=10_000, description="Only the first N tasks.")
    task_ids: list[str] | None = Field(default=None, description="Only these tasks (ids from `evals tasks`).")
    model_name: str | None = Field(
        default=None, max_length=200, description="Model name the profile is about (default: from `model`)."
    )
    model_version: str | None = Field(
        default=None, max_length=100, description="Model version the profile is about (default: unversioned)."
    )
    max_connections: int | None = Field(default=None, ge=1, le=1024, description="Concurrent model requests.")
    max_samples: int | None = Field(default=None, ge=1, le=256, description="Samples run at once.")
    max_retries: int | None = Field(
        default=None, ge=0, le=100, description="Retries of a failed model request."
    )
    timeout_s: int | None = Field(default=None, ge=1, le=86_400, description="Timeout of one model request.")
    review_submission_id: uuid.UUID | None = Field(
        default=None, description="Pre-release review submission this run belongs to."
    )
    tlp: str = Field(default="AMBER", description="TLP 2.0 label of the run and its results.")


class RunRead(_Out):
    """An evaluation run (never its credential)."""

    id: uuid.UUID
    source: str = Field(description="`run` (executed here) or `import` (a log from elsewhere).")
    suite: str
    model: str
    base_url: str | None = None
    model_name: str
    model_version: str
    epochs: int
    sample_limit: int | None = None
    task_ids: list[str] | None = None
    status: str = Field(description="queued, running, succeeded, partial or failed.")
    progress: int = Field(description="Percent of planned samples scored.")
    samples_total: int
    samples_done: int
    attempts: int
    error: str | None = None
    note: str | None = None
    log_sha256: str | None = Field(default=None, description="SHA-256 of the run's last Inspect log.")
    logs: list[dict[str, Any]] = Field(
        default_factory=list, description="Every log of the run with its SHA-256."
    )
    job_id: uuid.UUID | None = None
    review_submission_id: uuid.UUID | None = None
    has_credential: bool = Field(default=False, description="Whether an (encrypted) API key was given.")
    tlp: str
    owner_org_id: uuid.UUID
    created_at: dt.datetime
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None


class FamilyResultRead(_Out):
    """A family's success rate and 95% interval."""

    family: str
    successes: int
    n: int = Field(description="Scored attempts (sample x epoch x run).")
    rate: float
    low: float
    high: float
    method: str = Field(description="`wilson`, or `clustered` when samples repeat.")


class RunDetailRead(RunRead):
    """A run with its per-family summary."""

    families: list[FamilyResultRead] = Field(default_factory=list)


class RunStarted(BaseModel):
    """A run was created and its job queued."""

    run: RunRead
    job: JobRead


class SampleRead(_Out):
    """One sample x epoch of a run."""

    task_id: str
    sample_id: str
    family: str
    epoch: int
    score: float | None = Field(
        default=None, description="1 solved, 0 not; null when the sample failed to run."
    )
    answer: str | None = None
    explanation: str | None = None
    error: str | None = None
    attempt: int
    started_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None


class RunRefRead(_Out):
    """A run behind a profile."""

    id: uuid.UUID
    model: str
    log_sha256: str
    finished_at: dt.datetime
    samples: int


class ProfileRead(_Out):
    """A model version's capability profile."""

    model_name: str
    model_version: str
    families: list[FamilyResultRead]
    runs: list[RunRefRead]


class ProfileSummaryRead(_Out):
    """A model version with finished runs."""

    model_name: str
    model_version: str
    runs: int
    last_finished: dt.datetime | None = None


class FamilyComparisonRead(_Out):
    """Two models on one family: own rates, and the paired test on shared samples."""

    family: str
    a: FamilyResultRead | None = None
    b: FamilyResultRead | None = None
    shared: int = Field(description="Samples both models attempted.")
    diff: float | None = Field(default=None, description="rate(A) - rate(B) on the shared samples.")
    low: float | None = Field(default=None, description="Paired bootstrap 95% interval of diff, low.")
    high: float | None = Field(default=None, description="Paired bootstrap 95% interval of diff, high.")
    p_value: float | None = Field(default=None, description="Exact McNemar p-value.")
    a_only: int = Field(description="Samples A solved and B did not.")
    b_only: int = Field(description="Samples B solved and A did not.")


class ComparisonRead(_Out):
    """Two model versions side by side."""

    a: ProfileRead
    b: ProfileRead
    families: list[FamilyComparisonRead]
    overall: FamilyComparisonRead
    n_resamples: int
    seed: int
