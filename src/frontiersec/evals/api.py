"""Evals JSON API (`/api/v1/evals/...`): runs, samples, log imports, capability profiles, comparison."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile

from frontiersec.evals import logs, profile, runs
from frontiersec.evals.common import require_runner
from frontiersec.evals.models import EvalRun
from frontiersec.evals.schemas import (
    ComparisonRead,
    FamilyComparisonRead,
    FamilyResultRead,
    ProfileRead,
    ProfileSummaryRead,
    RunCreate,
    RunDetailRead,
    RunRead,
    RunStarted,
    SampleRead,
)
from frontiersec.platform.auth.principal import Principal
from frontiersec.platform.http import ApiPrincipal, DbSession, get_runtime, responses
from frontiersec.platform.jobs import get_job
from frontiersec.platform.schemas import JobRead

__all__ = ["profile_read", "router", "run_read"]

router = APIRouter(prefix="/api/v1", tags=["evals"])


def _runner(principal: ApiPrincipal) -> Principal:
    # Checked before the upload is read: a caller who may not import learns nothing about the body.
    require_runner(principal, "importing an evaluation log")
    return principal


RunnerPrincipal = Annotated[Principal, Depends(_runner)]


def run_read(run: EvalRun) -> RunRead:
    """The API view of a run (says whether a key was given, never the key)."""
    return RunRead.model_validate(run).model_copy(update={"has_credential": run.credential_id is not None})


def profile_read(p: profile.CapabilityProfile) -> ProfileRead:
    """The API view of a capability profile."""
    return ProfileRead(
        model_name=p.model_name,
        model_version=p.model_version,
        families=[FamilyResultRead(**asdict(f)) for f in p.families.values()],
        runs=[asdict(r) for r in p.runs],  # type: ignore[misc]
    )


def _fc(c: profile.FamilyComparison) -> FamilyComparisonRead:
    data = asdict(c)
    return FamilyComparisonRead.model_validate(data)


@router.post("/evals/runs", response_model=RunStarted, status_code=202, responses=responses())
def create_run(body: RunCreate, request: Request, session: DbSession, principal: ApiPrincipal) -> RunStarted:
    """Start a run of the suite against a model endpoint, as a background job with progress.

    Government-agency analysts (and admins) only. The API key, if any, is stored encrypted
    and never returned. Poll `GET /api/v1/evals/runs/{id}` (or the job) for progress.
    """
    run = runs.start_run(
        session,
        principal,
        suite=body.suite,
        model=body.model,
        model_base_url=body.model_base_url,
        api_key=body.api_key,
        epochs=body.epochs,
        limit=body.limit,
        task_ids=body.task_ids,
        model_name=body.model_name,
        model_version=body.model_version,
        max_connections=body.max_connections,
        max_samples=body.max_samples,
        max_retries=body.max_retries,
        timeout_s=body.timeout_s,
        review_submission_id=body.review_submission_id,
        tlp=body.tlp,
        box=get_runtime(request).box,
    )
    assert run.job_id is not None
    job = get_job(session, principal, run.job_id, audit_read=False)
    return RunStarted(run=run_read(run), job=JobRead.model_validate(job))


@router.get("/evals/runs", response_model=list[RunRead], responses=responses())
def list_runs(
    session: DbSession,
    principal: ApiPrincipal,
    model_name: str | None = Query(default=None, max_length=200, description="Only this model name."),
    model_version: str | None = Query(default=None, max_length=100, description="Only this model version."),
    status: str | None = Query(default=None, description="queued, running, succeeded, partial or failed."),
    limit: int = Query(default=100, ge=1, le=500),
) -> list[RunRead]:
    """Evaluation runs you may see, newest first."""
    rows = runs.list_runs(
        session, principal, model_name=model_name, model_version=model_version, status=status, limit=limit
    )
    return [run_read(r) for r in rows]


@router.get("/evals/runs/{run_id}", response_model=RunDetailRead, responses=responses(404))
def get_run(run_id: uuid.UUID, session: DbSession, principal: ApiPrincipal) -> RunDetailRead:
    """One run with its per-family success rates and 95% intervals (over this run's scored samples)."""
    run = runs.get_run(session, principal, run_id)
    families = profile.run_families(session, run)
    return RunDetailRead(
        **run_read(run).model_dump(), families=[FamilyResultRead(**asdict(f)) for f in families.values()]
    )


@router.get("/evals/runs/{run_id}/samples", response_model=list[SampleRead], responses=responses(404))
def get_samples(
    run_id: uuid.UUID,
    session: DbSession,
    principal: ApiPrincipal,
    family: str | None = Query(default=None, max_length=120, description="Only this family."),
    task: str | None = Query(default=None, max_length=200, description="Task ids containing this text."),
    score: str | None = Query(default=None, description="`1` solved, `0` not solved, `error` failed to run."),
    sort: str = Query(default="task", description="task, family, score, epoch or completed."),
    order: str = Query(default="asc", pattern="^(asc|desc)$"),
) -> list[SampleRead]:
    """The per-sample results of a run, filtered and sorted."""
    rows = runs.list_samples(
        session,
        principal,
        run_id,
        runs.SampleQuery(family=family, task=task, score=score, sort=sort, descending=order == "desc"),
    )
    return [SampleRead.model_validate(r) for r in rows]


@router.post("/evals/imports", response_model=RunRead, status_code=201, responses=responses(413))
def import_log(
    request: Request,
    session: DbSession,
    principal: RunnerPrincipal,
    file: UploadFile = File(description="An Inspect log (.eval), e.g. from an inspect_evals Cybench run."),
    model_name: str | None = Form(
        default=None, max_length=200, description="Model name (default: the log's)."
    ),
    model_version: str | None = Form(default=None, max_length=100, description="Model version."),
    tlp: str = Form(default="AMBER", description="TLP 2.0 label of the imported run."),
) -> RunRead:
    """Import an Inspect log produced elsewhere as a finished run with its per-sample results.

    Families come from our catalog when task ids match, else `external:<task>`. A file that
    is not a readable Inspect log is refused (422, field `file`) and nothing is written.
    """
    run = logs.import_log(
        session,
        principal,
        get_runtime(request).settings,
        file.file,
        filename=file.filename or "upload.eval",
        model_name=model_name or None,
        model_version=model_version or None,
        tlp=tlp,
    )
    return run_read(run)


@router.get("/evals/profiles", response_model=list[ProfileSummaryRead], responses=responses())
def list_profiles(session: DbSession, principal: ApiPrincipal) -> list[ProfileSummaryRead]:
    """Model versions with finished runs you may see."""
    return [ProfileSummaryRead.model_validate(p) for p in profile.list_profiles(session, principal)]


@router.get(
    "/evals/profiles/{profile_name}/{profile_version}", response_model=ProfileRead, responses=responses(404)
)
def get_profile(
    session: DbSession,
    principal: ApiPrincipal,
    profile_name: str = Path(max_length=200, description="Model name, e.g. SmolLM2-135M-Instruct."),
    profile_version: str = Path(max_length=100, description="Model version, e.g. 1.0."),
) -> ProfileRead:
    """A model version's capability profile: each family's rate, 95% interval, n and method, and the
    runs behind it with their log hashes."""
    return profile_read(profile.capability_profile(session, principal, profile_name, profile_version))


@router.get("/evals/compare", response_model=ComparisonRead, responses=responses(404))
def compare(
    session: DbSession,
    principal: ApiPrincipal,
    a: str = Query(max_length=320, description="Model A as MODEL_NAME@MODEL_VERSION."),
    b: str = Query(max_length=320, description="Model B as MODEL_NAME@MODEL_VERSION."),
) -> ComparisonRead:
    """Compare two model versions per family and overall: exact McNemar test and paired bootstrap
    95% interval of the difference, on the samples both attempted."""
    res = profile.compare_profiles(
        session, principal, profile.parse_identity(a, "a"), profile.parse_identity(b, "b")
    )
    return ComparisonRead(
        a=profile_read(res.a),
        b=profile_read(res.b),
        families=[_fc(f) for f in res.families],
        overall=_fc(res.overall),
        n_resamples=res.n_resamples,
        seed=res.seed,
    )
