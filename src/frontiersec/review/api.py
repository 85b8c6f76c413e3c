"""Review JSON API (`/api/v1/review/...`): submissions, team, documents, report, responses,
exports under two-person control, and the signed purge receipt.

Someone outside a submission's need-to-know circle gets 404 for it and everything under it,
and the attempt is recorded in the audit log as ``review.access_refused``.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response

from frontiersec.platform.http import ApiPrincipal, DbSession, get_runtime, responses
from frontiersec.review import service
from frontiersec.review.schemas import (
    CountdownRead,
    DocumentRead,
    DocumentText,
    ExportApprove,
    ExportCreate,
    ExportRead,
    FindingRead,
    FindingResponse,
    ReportCreate,
    ReportRead,
    RunRead,
    SubmissionCreate,
    SubmissionDetailRead,
    SubmissionRead,
    TeamMemberCreate,
    TeamMemberRead,
)
from frontiersec.review.window import Countdown

router = APIRouter(prefix="/api/v1/review", tags=["review"])


def countdown_read(c: Countdown) -> CountdownRead:
    """API shape of a countdown."""
    return CountdownRead(
        seconds_left=c.seconds_left,
        days=c.days,
        hours=c.hours,
        minutes=c.minutes,
        closed=c.closed,
        text=c.text,
    )


def _sub_fields(
    sub: Any, developer: str, side: str, c: Countdown, team_size: int, has_report: bool
) -> dict[str, Any]:
    return {
        "id": sub.id,
        "model_name": sub.model_name,
        "model_version": sub.model_version,
        "access_level": sub.access_level,
        "release_date": sub.release_date,
        "window_opened_at": sub.window_opened_at,
        "window_closes_at": sub.window_closes_at,
        "status": sub.status,
        "developer_org_id": sub.owner_org_id,
        "developer": developer,
        "your_side": side,
        "countdown": countdown_read(c),
        "team_size": team_size,
        "has_report": has_report,
        "tlp": sub.tlp,
    }


def row_read(r: service.SubmissionRow) -> SubmissionRead:
    """API shape of a list row."""
    return SubmissionRead(
        **_sub_fields(r.submission, r.developer, r.side, r.countdown, r.team_size, r.has_report)
    )


def _doc_fields(d: Any) -> dict[str, Any]:
    return {
        "id": d.id,
        "kind": d.kind,
        "filename": d.filename,
        "content_type": d.content_type,
        "size_bytes": d.size_bytes,
        "sha256": d.sha256,
        "uploaded_at": d.uploaded_at,
        "purged_at": d.purged_at,
    }


def finding_read(f: Any) -> FindingRead:
    """API shape of a finding."""
    return FindingRead(
        id=f.id,
        position=f.position,
        title=f.title,
        severity=f.severity,
        detail=f.detail,
        response=f.response,
        response_comment=f.response_comment,
        responded_at=f.responded_at,
    )


def export_read(e: Any, people: dict[uuid.UUID, str]) -> ExportRead:
    """API shape of an export request."""

    def who(uid: uuid.UUID | None) -> str | None:
        return people.get(uid) if uid else None

    return ExportRead(
        id=e.id,
        material=e.material,
        reason=e.reason,
        status=e.status,
        requested_by=who(e.requested_by),
        recipient=who(e.recipient_id),
        recipient_id=e.recipient_id,
        approved_by=who(e.approved_by),
        requested_at=e.requested_at,
        approved_at=e.approved_at,
        downloaded_at=e.downloaded_at,
    )


def detail_read(d: service.SubmissionDetail) -> SubmissionDetailRead:
    """API shape of a submission's detail."""
    sub = d.submission
    report = None
    if d.report is not None:
        report = ReportRead(
            id=d.report.id,
            summary=d.report.summary,
            issued_at=d.report.issued_at,
            issued_by=d.people.get(d.report.issued_by) if d.report.issued_by else None,
            findings=[finding_read(f) for f in d.findings],
        )
    return SubmissionDetailRead(
        **_sub_fields(sub, d.developer, d.side, d.countdown, len(d.team), d.report is not None),
        endpoint_url=sub.endpoint_url,
        eval_model=sub.eval_model,
        training_compute_flop=sub.training_compute_flop,
        parameter_count=sub.parameter_count,
        description=sub.description,
        credential_stored=d.has_credential,
        closed_at=sub.closed_at,
        team=[
            TeamMemberRead(
                user_id=m.user_id,
                email=m.email,
                name=m.name,
                organisation=m.organisation,
                added_at=m.added_at,
            )
            for m in d.team
        ],
        documents=[DocumentRead(**_doc_fields(x)) for x in d.documents],
        runs=[RunRead(**r.__dict__) for r in d.runs],
        report=report,
        exports=[export_read(e, d.people) for e in d.exports],
        purge_receipt_id=d.receipt.id if d.receipt else None,
    )


@router.get("/submissions", response_model=list[SubmissionRead], responses=responses())
def list_submissions(
    session: DbSession,
    principal: ApiPrincipal,
    status: str | None = Query(default=None, description="open, reported, closed or closed_without_report."),
) -> list[SubmissionRead]:
    """Submissions you may see: your organisation's, and those whose review team names you."""
    return [row_read(r) for r in service.list_submissions(session, principal, status=status)]


@router.post("/submissions", response_model=SubmissionDetailRead, status_code=201, responses=responses(409))
def submit(
    body: SubmissionCreate, request: Request, session: DbSession, principal: ApiPrincipal
) -> SubmissionDetailRead:
    """Submit a model for voluntary pre-release review (AI developers). A release date after the
    window limit (30 days) or not after today is refused (422 on `release_date`, with the reason)."""
    rt = get_runtime(request)
    data = service.SubmissionInput(**body.model_dump())
    sub = service.submit_model(session, principal, data, box=rt.box, settings=rt.settings)
    return detail_read(service.get_submission(session, principal, sub.id))


@router.get("/submissions/{submission_id}", response_model=SubmissionDetailRead, responses=responses(404))
def get_submission(
    submission_id: uuid.UUID, session: DbSession, principal: ApiPrincipal
) -> SubmissionDetailRead:
    """One submission with its countdown, team, documents, runs, report and exports (audited read)."""
    with service.refusals_recorded(session):
        return detail_read(service.get_submission(session, principal, submission_id))


@router.post(
    "/submissions/{submission_id}/team",
    response_model=TeamMemberRead,
    status_code=201,
    responses=responses(404, 409, 412),
)
def add_team_member(
    submission_id: uuid.UUID, body: TeamMemberCreate, session: DbSession, principal: ApiPrincipal
) -> TeamMemberRead:
    """Name one more agency official on the review team (team or developer analysts and admins)."""
    with service.refusals_recorded(session):
        service.add_team_member(session, principal, submission_id, body.email)
        d = service.get_submission(session, principal, submission_id)
    m = next(x for x in d.team if x.email == body.email.strip().lower())
    return TeamMemberRead(
        user_id=m.user_id, email=m.email, name=m.name, organisation=m.organisation, added_at=m.added_at
    )


@router.post(
    "/submissions/{submission_id}/documents",
    response_model=DocumentRead,
    status_code=201,
    responses=responses(404, 412, 413),
)
def upload_document(
    submission_id: uuid.UUID,
    request: Request,
    session: DbSession,
    principal: ApiPrincipal,
    file: UploadFile | None = File(
        default=None, description="The document (system card, model card, safety report...)."
    ),
    kind: str = Form(default="document", description="system_card or document."),
) -> DocumentRead:
    """Upload a document (developer organisation, while the window is open); stored encrypted."""
    doc_in = service.DocumentInput(
        (file.filename or "") if file else "",
        file.file.read() if file else b"",
        (file.content_type if file else None) or "application/octet-stream",
        kind,
    )
    with service.refusals_recorded(session):
        doc = service.upload_document(
            session,
            principal,
            submission_id,
            doc_in,
            box=get_runtime(request).box,
        )
    return DocumentRead(**_doc_fields(doc))


@router.get(
    "/submissions/{submission_id}/documents/{document_id}",
    response_model=DocumentText,
    responses=responses(404),
)
def read_document(
    submission_id: uuid.UUID,
    document_id: uuid.UUID,
    request: Request,
    session: DbSession,
    principal: ApiPrincipal,
) -> DocumentText:
    """A document's metadata and, for text documents, its text (audited read)."""
    with service.refusals_recorded(session):
        doc, text = service.read_document(
            session, principal, submission_id, document_id, box=get_runtime(request).box
        )
    return DocumentText(**_doc_fields(doc), text=text)


@router.post(
    "/submissions/{submission_id}/runs",
    response_model=RunRead,
    status_code=202,
    responses=responses(404, 412),
)
def schedule_run(
    submission_id: uuid.UUID, request: Request, session: DbSession, principal: ApiPrincipal
) -> RunRead:
    """Schedule one more evaluation run against the endpoint (review team analysts, window open)."""
    rt = get_runtime(request)
    with service.refusals_recorded(session):
        run_id = service.schedule_evaluation(
            session, principal, submission_id, box=rt.box, settings=rt.settings
        )
        d = service.get_submission(session, principal, submission_id)
    run = next(r for r in d.runs if r.id == run_id)
    return RunRead(**run.__dict__)


@router.post(
    "/submissions/{submission_id}/report",
    response_model=ReportRead,
    status_code=201,
    responses=responses(404, 409, 412),
)
def issue_report(
    submission_id: uuid.UUID, body: ReportCreate, session: DbSession, principal: ApiPrincipal
) -> ReportRead:
    """Issue the review report to the developer (review team analysts, once, before the deadline)."""
    with service.refusals_recorded(session):
        service.issue_report(
            session,
            principal,
            submission_id,
            summary=body.summary,
            findings=[service.FindingInput(f.title, f.severity, f.detail) for f in body.findings],
        )
        d = service.get_submission(session, principal, submission_id)
    return detail_read(d).report  # type: ignore[return-value]


@router.post(
    "/submissions/{submission_id}/findings/{finding_id}/response",
    response_model=FindingRead,
    responses=responses(404, 409),
)
def respond(
    submission_id: uuid.UUID,
    finding_id: uuid.UUID,
    body: FindingResponse,
    session: DbSession,
    principal: ApiPrincipal,
) -> FindingRead:
    """Acknowledge or dispute a finding (developer organisation; a dispute needs a comment)."""
    with service.refusals_recorded(session):
        f = service.respond_to_finding(
            session, principal, submission_id, finding_id, response=body.response, comment=body.comment
        )
    return finding_read(f)


@router.post(
    "/submissions/{submission_id}/exports",
    response_model=ExportRead,
    status_code=201,
    responses=responses(404),
)
def request_export(
    submission_id: uuid.UUID, body: ExportCreate, session: DbSession, principal: ApiPrincipal
) -> ExportRead:
    """Ask to export one material for a named team member; a second team member must approve."""
    with service.refusals_recorded(session):
        e = service.request_export(
            session,
            principal,
            submission_id,
            material=body.material,
            reason=body.reason,
            recipient_email=body.recipient,
        )
        d = service.get_submission(session, principal, submission_id)
    return export_read(e, d.people)


@router.post(
    "/submissions/{submission_id}/exports/{export_id}/approve",
    response_model=ExportRead,
    responses=responses(404, 409),
)
def approve_export(
    submission_id: uuid.UUID,
    export_id: uuid.UUID,
    session: DbSession,
    principal: ApiPrincipal,
    body: ExportApprove | None = None,
) -> ExportRead:
    """Approve an export (a second team member: not its requester, not its recipient)."""
    with service.refusals_recorded(session):
        e = service.approve_export(session, principal, submission_id, export_id)
        d = service.get_submission(session, principal, submission_id)
    return export_read(e, d.people)


@router.get(
    "/submissions/{submission_id}/exports/{export_id}/download",
    responses={
        **responses(404, 409, 412),
        200: {"content": {"application/json": {}}, "description": "The export file"},
    },
)
def download_export(
    submission_id: uuid.UUID,
    export_id: uuid.UUID,
    request: Request,
    session: DbSession,
    principal: ApiPrincipal,
) -> Response:
    """Download an approved export, once, as its recipient; the file names the recipient."""
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


@router.get(
    "/submissions/{submission_id}/purge-receipt",
    response_model=dict[str, Any],
    responses=responses(404),
)
def purge_receipt(submission_id: uuid.UUID, session: DbSession, principal: ApiPrincipal) -> dict[str, Any]:
    """The signed purge receipt issued when the window closed; verify it offline against
    `/.well-known/frontiersec-keys.json` (`frontiersec review verify-receipt FILE`)."""
    with service.refusals_recorded(session):
        return service.get_purge_receipt(session, principal, submission_id)
