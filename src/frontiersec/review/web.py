"""Review web pages: the list with countdowns, the submission form, and one submission's page
(countdown, team, materials, runs, report with acknowledge / dispute, exports, purge receipt)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from frontiersec.platform.auth.models import OrgKind, Role
from frontiersec.platform.auth.principal import Principal
from frontiersec.platform.clock import utcnow
from frontiersec.platform.errors import InvalidInput
from frontiersec.platform.http import DbSession, WebPrincipal, get_runtime
from frontiersec.platform.web import templates
from frontiersec.review import service

__all__ = ["dashboard_card", "router"]

router = APIRouter(include_in_schema=False)


def _back(sub_id: uuid.UUID, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"/review/{sub_id}{'#' + anchor if anchor else ''}", status_code=303)


def dashboard_card(session: Session, principal: Principal) -> dict[str, Any]:
    """The pre-release review card on the dashboard."""
    rows = service.list_submissions(session, principal)
    open_rows = [r for r in rows if r.submission.status not in service.CLOSED]
    nxt = min(open_rows, key=lambda r: r.submission.window_closes_at, default=None)
    return {
        "title": "Pre-release review",
        "href": "/review",
        "big": len(open_rows),
        "unit": "review windows open",
        "lines": [
            f"next closes: {nxt.submission.model_name} {nxt.submission.model_version}, {nxt.countdown.text}"
            if nxt
            else "",
            f"{len(rows) - len(open_rows)} closed, credentials purged" if len(rows) > len(open_rows) else "",
        ],
        "empty": None
        if rows
        else "Models submitted for voluntary review that you may see (your organisation's, or those whose "
        "review team names you) appear here with the window countdown.",
    }


@router.get("/review", response_class=HTMLResponse)
def review_list(request: Request, session: DbSession, principal: WebPrincipal) -> Response:
    """Submissions the user may see, with each window's countdown."""
    rows = service.list_submissions(session, principal)
    return templates(request).render(
        request,
        "review/list.html",
        {
            "rows": rows,
            "can_submit": principal.org_kind == OrgKind.AI_DEVELOPER.value
            and principal.has_role(Role.MEMBER),
            "max_days": get_runtime(request).settings.review_window_max_days,
        },
    )


def _form_page(
    request: Request, values: dict[str, Any], errors: list[Any], status_code: int = 200
) -> Response:
    principal: Principal = request.state.principal
    today = utcnow().date()
    max_days = get_runtime(request).settings.review_window_max_days
    return templates(request).render(
        request,
        "review/new.html",
        {
            "values": values,
            "errors": {e.field: e.message for e in errors},
            "error_list": errors,
            "access_levels": service.ACCESS_LEVELS,
            "min_date": (today + dt.timedelta(days=1)).isoformat(),
            "max_date": (today + dt.timedelta(days=max_days)).isoformat(),
            "max_days": max_days,
            "can_submit": principal.org_kind == OrgKind.AI_DEVELOPER.value
            and principal.has_role(Role.MEMBER),
        },
        status_code=status_code,
    )


@router.get("/review/new", response_class=HTMLResponse)
def review_new(request: Request, principal: WebPrincipal) -> Response:
    """The submission form (AI developers)."""
    return _form_page(request, {"access_level": "black-box", "schedule_evaluation": True}, [])


def _float(value: str, field: str) -> float | None:
    if not value.strip():
        return None
    try:
        return float(value)
    except ValueError as exc:
        raise InvalidInput.on(field, f"{value!r} is not a number (e.g. 3e25)") from exc


def _int(value: str, field: str) -> int | None:
    if not value.strip():
        return None
    try:
        return int(float(value)) if "e" in value.lower() else int(value.replace(",", "").replace("_", ""))
    except ValueError as exc:
        raise InvalidInput.on(field, f"{value!r} is not a whole number") from exc


@router.post("/review/new", response_class=HTMLResponse)
async def review_submit(
    request: Request,
    session: DbSession,
    principal: WebPrincipal,
    model_name: Annotated[str, Form()] = "",
    model_version: Annotated[str, Form()] = "",
    release_date: Annotated[str, Form()] = "",
    access_level: Annotated[str, Form()] = "black-box",
    endpoint_url: Annotated[str, Form()] = "",
    credential: Annotated[str, Form()] = "",
    eval_model: Annotated[str, Form()] = "",
    training_compute_flop: Annotated[str, Form()] = "",
    parameter_count: Annotated[str, Form()] = "",
    reviewers: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    schedule_evaluation: Annotated[str, Form()] = "",
    system_card: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Submit a model; a refused request shows the form again with each field's reason."""
    rt = get_runtime(request)
    values = {
        "model_name": model_name,
        "model_version": model_version,
        "release_date": release_date,
        "access_level": access_level,
        "endpoint_url": endpoint_url,
        "eval_model": eval_model,
        "training_compute_flop": training_compute_flop,
        "parameter_count": parameter_count,
        "reviewers": reviewers,
        "description": description,
        "schedule_evaluation": bool(schedule_evaluation),
    }
    docs = []
    if system_card is not None and system_card.filename:
        docs.append(
            service.DocumentInput(
                system_card.filename,
                await system_card.read(),
                system_card.content_type or "application/octet-stream",
                "system_card",
            )
        )
    try:
        try:
            rdate = dt.date.fromisoformat(release_date)
        except ValueError as exc:
            raise InvalidInput.on("release_date", "a date YYYY-MM-DD is required") from exc
        data = service.SubmissionInput(
            model_name=model_name,
            model_version=model_version,
            release_date=rdate,
            access_level=access_level,
            endpoint_url=endpoint_url or None,
            credential=credential or None,
            eval_model=eval_model or None,
            training_compute_flop=_float(training_compute_flop, "training_compute_flop"),
            parameter_count=_int(parameter_count, "parameter_count"),
            description=description,
            reviewers=[
                e.strip() for e in reviewers.replace(";", ",").replace("\n", ",").split(",") if e.strip()
            ],
            schedule_evaluation=bool(schedule_evaluation),
        )
        sub = service.submit_model(session, principal, data, box=rt.box, settings=rt.settings, documents=docs)
    except InvalidInput as exc:
        session.rollback()
        return _form_page(request, values, exc.errors or [], status_code=422)
    return RedirectResponse(f"/review/{sub.id}", status_code=303)


@router.get("/review/{submission_id}", response_class=HTMLResponse)
def review_page(
    submission_id: uuid.UUID, request: Request, session: DbSession, principal: WebPrincipal
) -> Response:
    """One submission: countdown, team, materials, runs, report, exports, purge receipt."""
    with service.refusals_recorded(session):
        d = service.get_submission(session, principal, submission_id)
    sub = d.submission
    total = max(1.0, (sub.window_closes_at - sub.window_opened_at).total_seconds())
    elapsed = min(total, max(0.0, (utcnow() - sub.window_opened_at).total_seconds()))
    receipt_payload = d.receipt.document["payload"] if d.receipt else None
    return templates(request).render(
        request,
        "review/detail.html",
        {
            "d": d,
            "s": sub,
            "elapsed_pct": round(100 * elapsed / total, 1),
            "access_levels": service.ACCESS_LEVELS,
            "severities": service.SEVERITIES,
            "receipt": receipt_payload,
            "can": lambda action: d.can(principal, action),
            "me": principal.user_id,
        },
    )


@router.post("/review/{submission_id}/team")
def review_team_add(
    submission_id: uuid.UUID,
    session: DbSession,
    principal: WebPrincipal,
    email: Annotated[str, Form()],
) -> Response:
    """Add a named official to the review team."""
    with service.refusals_recorded(session):
        service.add_team_member(session, principal, submission_id, email)
    return _back(submission_id, "team")


@router.post("/review/{submission_id}/documents")
async def review_upload(
    submission_id: uuid.UUID,
    request: Request,
    session: DbSession,
    principal: WebPrincipal,
    file: Annotated[UploadFile | None, File()] = None,
    kind: Annotated[str, Form()] = "document",
) -> Response:
    """Upload a document (developer organisation)."""
    doc_in = service.DocumentInput(
        (file.filename or "") if file else "",
        await file.read() if file else b"",
        (file.content_type if file else None) or "application/octet-stream",
        kind,
    )
    with service.refusals_recorded(session):
        service.upload_document(
            session,
            principal,
            submission_id,
            doc_in,
            box=get_runtime(request).box,
        )
    return _back(submission_id, "materials")


@router.get("/review/{submission_id}/documents/{document_id}", response_class=HTMLResponse)
def review_document(
    submission_id: uuid.UUID,
    document_id: uuid.UUID,
    request: Request,
    session: DbSession,
    principal: WebPrincipal,
) -> Response:
    """Read a document (an audited read; a copy leaves only through an approved export)."""
    with service.refusals_recorded(session):
        doc, text = service.read_document(
            session, principal, submission_id, document_id, box=get_runtime(request).box
        )
    return templates(request).render(
        request, "review/document.html", {"doc": doc, "text": text, "submission_id": submission_id}
    )


@router.post("/review/{submission_id}/runs")
def review_schedule(
    submission_id: uuid.UUID, request: Request, session: DbSession, principal: WebPrincipal
) -> Response:
    """Schedule one more evaluation run against the endpoint."""
    rt = get_runtime(request)
    with service.refusals_recorded(session):
        service.schedule_evaluation(session, principal, submission_id, box=rt.box, settings=rt.settings)
    return _back(submission_id, "runs")


@router.post("/review/{submission_id}/report")
async def review_report(
    submission_id: uuid.UUID, request: Request, session: DbSession, principal: WebPrincipal
) -> Response:
    """Issue the report: a summary and up to five findings (blank rows are ignored)."""
    form = await request.form()
    titles = [str(v) for v in form.getlist("finding_title")]
    sevs = [str(v) for v in form.getlist("finding_severity")]
    details = [str(v) for v in form.getlist("finding_detail")]
    findings = [
        service.FindingInput(t, s, d)
        for t, s, d in zip(titles, sevs, details, strict=False)
        if t.strip() or d.strip()
    ]
    with service.refusals_recorded(session):
        service.issue_report(
            session, principal, submission_id, summary=str(form.get("summary", "")), findings=findings
        )
    return _back(submission_id, "report")


@router.post("/review/{submission_id}/findings/{finding_id}/respond")
def review_respond(
    submission_id: uuid.UUID,
    finding_id: uuid.UUID,
    session: DbSession,
    principal: WebPrincipal,
    response: Annotated[str, Form()],
    comment: Annotated[str, Form()] = "",
) -> Response:
    """Acknowledge or dispute a finding."""
    with service.refusals_recorded(session):
        service.respond_to_finding(
            session, principal, submission_id, finding_id, response=response, comment=comment
        )
    return _back(submission_id, f"finding-{finding_id}")


@router.post("/review/{submission_id}/exports")
def review_export_request(
    submission_id: uuid.UUID,
    session: DbSession,
    principal: WebPrincipal,
    material: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
    recipient: Annotated[str, Form()] = "",
) -> Response:
    """Request an export (a second team member must approve)."""
    with service.refusals_recorded(session):
        service.request_export(
            session,
            principal,
            submission_id,
            material=material,
            reason=reason,
            recipient_email=recipient or None,
        )
    return _back(submission_id, "exports")


@router.post("/review/{submission_id}/exports/{export_id}/approve")
def review_export_approve(
    submission_id: uuid.UUID, export_id: uuid.UUID, session: DbSession, principal: WebPrincipal
) -> Response:
    """Approve a colleague's export."""
    with service.refusals_recorded(session):
        service.approve_export(session, principal, submission_id, export_id)
    return _back(submission_id, "exports")


@router.get("/review/{submission_id}/exports/{export_id}/download")
def review_export_download(
    submission_id: uuid.UUID,
    export_id: uuid.UUID,
    request: Request,
    session: DbSession,
    principal: WebPrincipal,
) -> Response:
    """Download an approved export once (as its recipient)."""
    with service.refusals_recorded(session):
        name, data = service.download_export(
            session, principal, submission_id, export_id, box=get_runtime(request).box
        )
    return Response(
        data,
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Frontiersec-Export-Recipient": str(principal.user_id),
            "Cache-Control": "no-store",
        },
    )


@router.get("/review/{submission_id}/purge-receipt")
def review_receipt(submission_id: uuid.UUID, session: DbSession, principal: WebPrincipal) -> Response:
    """The signed purge receipt as a JSON file."""
    with service.refusals_recorded(session):
        doc = service.get_purge_receipt(session, principal, submission_id)
    return Response(
        json.dumps(doc, indent=2),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="purge-receipt-{submission_id}.json"'},
    )
