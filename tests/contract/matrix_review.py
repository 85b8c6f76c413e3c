"""Authorization-matrix rows for the review area (see ``matrix_common``).

A separate AI developer organisation (not a matrix principal) submits the models. Its review
teams name the analyst and the member of organisation A, one by one; everyone else — the
viewer and the admin of the same agency, organisation B, and the platform operator — gets 404
(need-to-know). Among the team, roles decide: analysts issue reports, add officials and
schedule runs; members read and take part in exports; only the developer responds to
findings and uploads documents (403 for the team). Nobody here may submit (not a developer).

The seeded submission is closed (report issued, credential purged, receipt signed); rows
that need an open window or a fresh export get one per request.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from frontiersec.platform.clock import utcnow
from frontiersec.review import service
from frontiersec.review.models import ReviewSubmission
from tests.contract.matrix_common import (
    ANALYST_A,
    CSRF,
    MEMBER_A,
    Row,
    SeedContext,
    only,
    signed_in,
)
from tests.factories import make_org, make_user, principal_of

TEAM = {ANALYST_A, MEMBER_A}
OFFICIAL_EMAIL = "review-official@matrix.example"
_DEV: dict[str, Any] = {}


def _developer(ctx: SeedContext) -> Any:
    if "user" not in _DEV or _DEV.get("rt") is not ctx.rt:
        lab = make_org(ctx.session, kind="ai_developer")
        _DEV["user"] = make_user(ctx.session, lab, role="admin")
        _DEV["rt"] = ctx.rt
    return principal_of(ctx.session, _DEV["user"])


def _submission(ctx: SeedContext, *, past: bool) -> uuid.UUID:
    now = utcnow() - dt.timedelta(days=10) if past else utcnow()
    sub = service.submit_model(
        ctx.session,
        _developer(ctx),
        service.SubmissionInput(
            model_name="matrix-model",
            model_version=f"v{uuid.uuid4().hex[:8]}",
            release_date=now.date() + dt.timedelta(days=5),
            endpoint_url="https://api.matrix.example/v1",
            credential="sk-matrix",
            eval_model="scripted/null",
            reviewers=[ctx.users[ANALYST_A].email, ctx.users[MEMBER_A].email],
            schedule_evaluation=False,
        ),
        box=ctx.rt.box,
        settings=ctx.rt.settings,
        documents=[service.DocumentInput("card.md", b"# card\n", "text/markdown", "system_card")],
        now=now,
    )
    return sub.id


def _fresh_submission(ctx: SeedContext) -> str:
    return str(_submission(ctx, past=False))


def _fresh_export(ctx: SeedContext) -> str:
    exp = service.request_export(
        ctx.session,
        ctx.principals[MEMBER_A],
        uuid.UUID(ctx.ids["submission_id"]),
        material="report",
        reason="matrix",
    )
    return str(exp.id)


def seed(ctx: SeedContext) -> dict[str, str]:
    make_user(ctx.session, ctx.org_b, role="analyst", email=OFFICIAL_EMAIL)
    sid = _submission(ctx, past=True)
    sub = ctx.session.get(ReviewSubmission, sid)
    assert sub is not None
    report = service.issue_report(
        ctx.session,
        ctx.principals[ANALYST_A],
        sid,
        summary="matrix report",
        findings=[service.FindingInput("finding", "low", "detail")],
        now=sub.window_opened_at + dt.timedelta(days=1),
    )
    service.close_window(ctx.session, sid, box=ctx.rt.box, now=sub.window_closes_at)
    d = service.get_submission(ctx.session, ctx.principals[ANALYST_A], sid)
    return {
        "submission_id": str(sid),
        "document_id": str(d.documents[0].id),
        "finding_id": str(d.findings[0].id),
        "report_id": str(report.id),
    }


FRESH: dict[str, Callable[[SeedContext], str]] = {
    "submission": _fresh_submission,
    "export": _fresh_export,
}


def _form(**fields: Any) -> Callable[[], dict[str, Any]]:
    return lambda: {**fields, "csrf_token": CSRF}


def _submission_body() -> dict[str, Any]:
    return {
        "model_name": "matrix-model",
        "model_version": "1",
        "release_date": (utcnow().date() + dt.timedelta(days=10)).isoformat(),
        "schedule_evaluation": False,
    }


READ = only(TEAM, 200, 404)
ANALYST_API = only({ANALYST_A}, 201, 404, member_a=403)
DEVELOPER_ONLY = only(TEAM, 403, 404)
S = "/api/v1/review/submissions"

ROWS: list[Row] = [
    # --- API
    Row("GET", S, signed_in(200)),
    Row("POST", S, signed_in(403), json=_submission_body),
    Row("GET", S + "/{submission_id}", READ),
    Row("POST", S + "/{fresh_submission_id}/team", ANALYST_API, json=lambda: {"email": OFFICIAL_EMAIL}),
    Row("POST", S + "/{submission_id}/documents", DEVELOPER_ONLY, form=lambda: {"kind": "document"}),
    Row("GET", S + "/{submission_id}/documents/{document_id}", READ),
    Row("POST", S + "/{fresh_submission_id}/runs", only({ANALYST_A}, 202, 404, member_a=403)),
    Row(
        "POST",
        S + "/{fresh_submission_id}/report",
        ANALYST_API,
        json=lambda: {"summary": "s", "findings": [{"title": "t", "severity": "low", "detail": "d"}]},
    ),
    Row(
        "POST",
        S + "/{submission_id}/findings/{finding_id}/response",
        DEVELOPER_ONLY,
        json=lambda: {"response": "acknowledged"},
    ),
    Row(
        "POST",
        S + "/{submission_id}/exports",
        only(TEAM, 201, 404),
        json=lambda: {"material": "report", "reason": "r"},
    ),
    # Requested by the member for themself: the analyst is the second person.
    Row(
        "POST",
        S + "/{submission_id}/exports/{fresh_export_id}/approve",
        only({ANALYST_A}, 200, 404, member_a=403),
    ),
    # Not approved yet: the recipient waits (412), another team member is not the recipient (403).
    Row(
        "GET",
        S + "/{submission_id}/exports/{fresh_export_id}/download",
        only({MEMBER_A}, 412, 404, analyst_a=403),
    ),
    Row("GET", S + "/{submission_id}/purge-receipt", READ),
    # --- web
    Row("GET", "/review", signed_in(200)),
    Row("GET", "/review/new", signed_in(200)),
    Row(
        "POST",
        "/review/new",
        signed_in(403),
        form=_form(model_name="matrix-model", model_version="1", release_date="2099-01-01"),
    ),
    Row("GET", "/review/{submission_id}", READ),
    Row(
        "POST",
        "/review/{fresh_submission_id}/team",
        only({ANALYST_A}, 303, 404, member_a=403),
        form=_form(email=OFFICIAL_EMAIL),
    ),
    Row("POST", "/review/{submission_id}/documents", DEVELOPER_ONLY, form=_form(kind="document")),
    Row("GET", "/review/{submission_id}/documents/{document_id}", READ),
    Row(
        "POST", "/review/{fresh_submission_id}/runs", only({ANALYST_A}, 303, 404, member_a=403), form=_form()
    ),
    Row(
        "POST",
        "/review/{fresh_submission_id}/report",
        only({ANALYST_A}, 303, 404, member_a=403),
        form=_form(summary="s", finding_title="t", finding_severity="low", finding_detail="d"),
    ),
    Row(
        "POST",
        "/review/{submission_id}/findings/{finding_id}/respond",
        DEVELOPER_ONLY,
        form=_form(response="acknowledged"),
    ),
    Row(
        "POST",
        "/review/{submission_id}/exports",
        only(TEAM, 303, 404),
        form=_form(material="report", reason="r"),
    ),
    Row(
        "POST",
        "/review/{submission_id}/exports/{fresh_export_id}/approve",
        only({ANALYST_A}, 303, 404, member_a=403),
        form=_form(),
    ),
    Row(
        "GET",
        "/review/{submission_id}/exports/{fresh_export_id}/download",
        only({MEMBER_A}, 412, 404, analyst_a=403),
    ),
    Row("GET", "/review/{submission_id}/purge-receipt", READ),
]
