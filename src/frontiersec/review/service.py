"""Pre-release review use cases: submit, staff the team, read materials, report, respond,
export under two-person control, and close the window with a purge and a signed receipt.

Who sees a submission (need-to-know)::

    the developer organisation that submitted it   every member (role decides what they may do)
    the review team                                 named officials only, one by one
    the system (jobs, the CLI without --as)         everything
    anyone else                                     404, and a flagged ``review.access_refused``
                                                    entry in the audit log (platform operators
                                                    included: they are not on the team)

Nothing here approves, blocks or delays a release: the planned release date is the
developer's, stored once at submission, and the window closes on it whatever the agencies
have or have not finished.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import structlog
from sqlalchemy import delete, or_, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from frontiersec.platform.audit.service import record, record_read
from frontiersec.platform.auth.models import Membership, Organization, OrgKind, Role, User
from frontiersec.platform.auth.principal import SYSTEM, Principal
from frontiersec.platform.clock import utcnow
from frontiersec.platform.errors import (
    Conflict,
    FieldError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
)
from frontiersec.platform.jobs import enqueue
from frontiersec.platform.models import JobRecord
from frontiersec.platform.secrets_box import SecretBox
from frontiersec.platform.sharing import share_record
from frontiersec.platform.signing import ensure_signing_key, sign_document
from frontiersec.platform.webhooks import emit_event
from frontiersec.review import evaluations
from frontiersec.review.models import (
    ReviewCredential,
    ReviewDocument,
    ReviewEvalRun,
    ReviewExport,
    ReviewFinding,
    ReviewPurgeReceipt,
    ReviewReport,
    ReviewSubmission,
    ReviewTeamMember,
)
from frontiersec.review.window import Countdown, closes_at, countdown, window_problem

__all__ = [
    "ACCESS_LEVELS",
    "DOCUMENT_KINDS",
    "RESPONSES",
    "SEVERITIES",
    "DocumentInput",
    "FindingInput",
    "SubmissionDetail",
    "SubmissionInput",
    "SubmissionRow",
    "add_team_member",
    "approve_export",
    "close_overdue",
    "close_window",
    "declared_scale",
    "download_export",
    "flush_purged_pages",
    "get_purge_receipt",
    "get_submission",
    "issue_report",
    "list_submissions",
    "read_document",
    "refusals_recorded",
    "request_export",
    "respond_to_finding",
    "schedule_evaluation",
    "submit_model",
    "upload_document",
    "window_for_model",
]

log = structlog.get_logger(__name__)

OBJECT_TYPE = "review_submission"
TLP = "AMBER+STRICT"
ACCESS_LEVELS: dict[str, str] = {
    "black-box": "black-box API",
    "grey-box": "grey-box (logits / fine-tuning)",
    "white-box": "white-box weights",
}
SEVERITIES = ("critical", "high", "medium", "low", "info")
RESPONSES = ("acknowledged", "disputed")
DOCUMENT_KINDS = ("system_card", "document")
CLOSED = ("closed", "closed_without_report")
_FLAG_KEY = "review_refused_access"
# The same identity rule as evaluation runs and designations, which link to a submission by
# model name and version.
IDENTITY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:+-]{0,199}$")
RECEIPT_TYPE = "frontiersec.review.purge-receipt"


# --------------------------------------------------------------------------- inputs and views


@dataclass(frozen=True)
class DocumentInput:
    """An uploaded file: a system card or any other document."""

    filename: str
    content: bytes
    content_type: str = "application/octet-stream"
    kind: str = "document"


@dataclass(frozen=True)
class SubmissionInput:
    """What a developer submits (see the API schema ``SubmissionCreate`` for each field)."""

    model_name: str
    model_version: str
    release_date: dt.date
    access_level: str = "black-box"
    endpoint_url: str | None = None
    credential: str | None = None
    eval_model: str | None = None
    training_compute_flop: float | None = None
    parameter_count: int | None = None
    description: str = ""
    reviewers: Sequence[str] = ()
    schedule_evaluation: bool = True


@dataclass(frozen=True)
class FindingInput:
    """One finding of a report."""

    title: str
    severity: str
    detail: str


@dataclass(frozen=True)
class SubmissionRow:
    """A submission as lists show it."""

    submission: ReviewSubmission
    developer: str
    side: str
    countdown: Countdown
    team_size: int
    has_report: bool


@dataclass(frozen=True)
class TeamMemberView:
    user_id: uuid.UUID
    email: str
    name: str
    organisation: str
    added_at: dt.datetime


@dataclass
class SubmissionDetail:
    """Everything the submission page and the API detail show (never the credential)."""

    submission: ReviewSubmission
    developer: str
    side: str
    countdown: Countdown
    has_credential: bool
    team: list[TeamMemberView]
    documents: list[ReviewDocument]
    runs: list[evaluations.RunSummary]
    report: ReviewReport | None
    findings: list[ReviewFinding]
    exports: list[ReviewExport]
    receipt: ReviewPurgeReceipt | None
    people: dict[uuid.UUID, str] = field(default_factory=dict)

    def can(self, principal: Principal, action: str) -> bool:
        """Whether the page should offer ``action`` to ``principal`` (the service checks again)."""
        sub = self.submission
        open_ = sub.status not in CLOSED
        if action == "respond":
            return self.side == "developer" and principal.has_role(Role.MEMBER)
        if action == "upload":
            return self.side == "developer" and principal.has_role(Role.MEMBER) and open_
        if action in ("report", "schedule"):
            return self.side == "team" and principal.has_role(Role.ANALYST) and open_ and not self.report
        if action == "team_add":
            return open_ and principal.has_role(Role.ANALYST) and self.side in ("team", "developer")
        if action == "export":
            return self.side == "team"
        return False


# --------------------------------------------------------------------------- access


def _is_system(principal: Principal) -> bool:
    return principal.is_operator and principal.user_id is None


def _team_ids(session: Session, submission_id: uuid.UUID) -> set[uuid.UUID]:
    return set(
        session.execute(
            select(ReviewTeamMember.user_id).where(ReviewTeamMember.submission_id == submission_id)
        ).scalars()
    )


def _side(session: Session, principal: Principal, sub: ReviewSubmission) -> str | None:
    if _is_system(principal):
        return "system"
    if principal.org_id is not None and principal.org_id == sub.owner_org_id:
        return "developer"
    if principal.user_id is not None and principal.user_id in _team_ids(session, sub.id):
        return "team"
    return None


def _record_refusal(session: Session, principal: Principal, sub_id: uuid.UUID, attempted: str) -> None:
    record(
        session,
        principal,
        "review.access_refused",
        object_type=OBJECT_TYPE,
        object_id=sub_id,
        tlp=TLP,
        details={
            "flagged": True,
            "attempted": attempted,
            "reason": "not on the review team and not of the developer organisation (need-to-know)",
        },
    )


def _load(
    session: Session, principal: Principal, sub_id: uuid.UUID, attempted: str
) -> tuple[ReviewSubmission, str]:
    """The submission and the principal's side, or 404 (flagged in the audit log when it exists)."""
    sub = session.get(ReviewSubmission, sub_id)
    if sub is None:
        raise NotFound(f"review submission {sub_id} not found")
    side = _side(session, principal, sub)
    if side is None:
        _record_refusal(session, principal, sub.id, attempted)
        session.info[_FLAG_KEY] = (principal, sub.id, attempted)
        log.warning(
            "review.access_refused", submission_id=str(sub.id), actor=principal.email, attempted=attempted
        )
        raise NotFound(f"review submission {sub_id} not found")
    return sub, side


@contextmanager
def refusals_recorded(session: Session) -> Iterator[None]:
    """Boundary helper for the API, pages and CLI: when a use case refused someone outside the
    need-to-know circle, roll back whatever the request did, keep only the flagged audit entry
    and commit it, then let the 404 propagate (the request's own transaction is rolled back)."""
    session.info.pop(_FLAG_KEY, None)
    try:
        yield
    except NotFound:
        flag = session.info.pop(_FLAG_KEY, None)
        if flag is not None:
            session.rollback()
            _record_refusal(session, *flag)
            session.commit()
        raise


def _require_side(side: str, allowed: tuple[str, ...], action: str) -> None:
    if side == "system" or side in allowed:
        return
    who = {"developer": "the developer organisation", "team": "the review team"}
    names = " or ".join(who[a] for a in allowed)
    raise PermissionDenied(f"{action} is for {names}")


def _require_open(sub: ReviewSubmission, now: dt.datetime, action: str) -> None:
    if sub.status in CLOSED or now >= sub.window_closes_at:
        raise PreconditionFailed(
            f"{action}: the review window closed at {sub.window_closes_at.isoformat()} "
            f"(status {sub.status.replace('_', ' ')})"
        )


def _org_name(session: Session, org_id: uuid.UUID) -> str:
    org = session.get(Organization, org_id)
    return org.name if org else str(org_id)


def _user_labels(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    return {u.id: u.email for u in session.execute(select(User).where(User.id.in_(ids))).scalars()}


# --------------------------------------------------------------------------- validation


def _check_url(url: str | None) -> str | None:
    if url is None or not url.strip():
        return None
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput.on("endpoint_url", "must be an http(s) URL, e.g. https://api.ailab.example/v1")
    return url


def _validate(data: SubmissionInput, now: dt.datetime, max_days: int) -> list[FieldError]:
    errors: list[FieldError] = []
    for name, value in (("model_name", data.model_name), ("model_version", data.model_version)):
        if not IDENTITY_RE.match(value.strip()):
            errors.append(
                FieldError(
                    name, "1-200 letters, digits or . _ : + - (no spaces, '/' or '@'), starting alphanumeric"
                )
            )
    if data.access_level not in ACCESS_LEVELS:
        errors.append(
            FieldError(
                "access_level", f"must be one of {', '.join(ACCESS_LEVELS)}; got {data.access_level!r}"
            )
        )
    problem = window_problem(data.release_date, now, max_days)
    if problem:
        errors.append(FieldError("release_date", problem))
    if data.training_compute_flop is not None and not (data.training_compute_flop > 0):
        errors.append(FieldError("training_compute_flop", "must be a positive number of FLOP, e.g. 3e25"))
    if data.parameter_count is not None and data.parameter_count <= 0:
        errors.append(FieldError("parameter_count", "must be a positive integer"))
    if data.eval_model is not None and data.eval_model.strip() and "/" not in data.eval_model:
        errors.append(
            FieldError("eval_model", "an Inspect model string 'provider/model', e.g. openai/gpt-4o")
        )
    if data.credential is not None and data.credential and not data.endpoint_url:
        errors.append(FieldError("credential", "a credential needs the endpoint_url it is for"))
    return errors


def _government_user(session: Session, email: str, field_name: str) -> User:
    user = session.execute(select(User).where(User.email == email.strip().lower())).scalars().first()
    if user is None or not user.is_active:
        raise InvalidInput.on(field_name, f"no active user {email!r}")
    kinds = set(
        session.execute(
            select(Organization.kind)
            .join(Membership, Membership.org_id == Organization.id)
            .where(Membership.user_id == user.id)
        ).scalars()
    )
    if OrgKind.GOVERNMENT_AGENCY.value not in kinds:
        raise InvalidInput.on(
            field_name, f"{email} is not an official of a government agency; only agency officials review"
        )
    return user


def _add_member(
    session: Session,
    principal: Principal,
    sub: ReviewSubmission,
    user: User,
    now: dt.datetime | None = None,
) -> ReviewTeamMember:
    existing = session.execute(
        select(ReviewTeamMember).where(
            ReviewTeamMember.submission_id == sub.id, ReviewTeamMember.user_id == user.id
        )
    ).scalar_one_or_none()
    if existing is not None:
        raise Conflict(f"{user.email} is already on the review team")
    member = ReviewTeamMember(
        submission_id=sub.id, user_id=user.id, added_by=principal.user_id, added_at=now or utcnow()
    )
    session.add(member)
    session.flush()
    _share_runs(session, sub)
    record(
        session,
        principal,
        "review.team_add",
        object_type=OBJECT_TYPE,
        object_id=sub.id,
        tlp=TLP,
        details={"user_id": str(user.id), "email": user.email},
    )
    return member


def _store_document(
    session: Session, principal: Principal, sub: ReviewSubmission, box: SecretBox, doc: DocumentInput
) -> ReviewDocument:
    if doc.kind not in DOCUMENT_KINDS:
        raise InvalidInput.on("kind", f"must be one of {', '.join(DOCUMENT_KINDS)}")
    name = (doc.filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name and not doc.content:
        raise InvalidInput.on("file", "a file is required")
    if not name:
        raise InvalidInput.on("file", "the file has no name")
    if not doc.content:
        raise InvalidInput.on("file", f"{name} is empty")
    row = ReviewDocument(
        submission_id=sub.id,
        kind=doc.kind,
        filename=name[:255],
        content_type=(doc.content_type or "application/octet-stream")[:120],
        size_bytes=len(doc.content),
        sha256=hashlib.sha256(doc.content).hexdigest(),
        ciphertext=box.encrypt(doc.content),
        uploaded_by=principal.user_id,
    )
    session.add(row)
    session.flush()
    record(
        session,
        principal,
        "review.document_upload",
        object_type=OBJECT_TYPE,
        object_id=sub.id,
        tlp=TLP,
        details={
            "document_id": str(row.id),
            "filename": row.filename,
            "sha256": row.sha256,
            "kind": row.kind,
        },
    )
    return row


# --------------------------------------------------------------------------- submit


def submit_model(
    session: Session,
    principal: Principal,
    data: SubmissionInput,
    *,
    box: SecretBox,
    settings: Any,
    documents: Sequence[DocumentInput] = (),
    now: dt.datetime | None = None,
) -> ReviewSubmission:
    """Open a review window for a model (developers of an AI developer organisation).

    The window runs from now to the planned release date, which must be after today and at
    most ``settings.review_window_max_days`` away. The credential is encrypted and never shown
    again. Named reviewers join the team; evaluation runs are scheduled against the endpoint;
    the window-end job is queued.
    """
    if principal.org_kind != OrgKind.AI_DEVELOPER.value or principal.org_id is None:
        raise PermissionDenied("only a user of an AI developer organisation may submit a model for review")
    principal.require_role(Role.MEMBER, "submitting a model for review")
    now = now or utcnow()
    errors = _validate(data, now, settings.review_window_max_days)
    try:
        endpoint = _check_url(data.endpoint_url)
    except InvalidInput as exc:
        errors.extend(exc.errors)
        endpoint = None
    if errors:
        raise InvalidInput("; ".join(f"{e.field}: {e.message}" for e in errors), errors=errors)
    reviewers = [_government_user(session, e, f"reviewers[{i}]") for i, e in enumerate(data.reviewers)]
    eval_model = (data.eval_model or "").strip() or (
        evaluations.default_eval_model(data.model_name.strip()) if endpoint else None
    )
    sub = ReviewSubmission(
        model_name=data.model_name.strip(),
        model_version=data.model_version.strip(),
        access_level=data.access_level,
        release_date=data.release_date,
        window_opened_at=now,
        window_closes_at=closes_at(data.release_date),
        endpoint_url=endpoint,
        eval_model=eval_model,
        training_compute_flop=data.training_compute_flop,
        parameter_count=data.parameter_count,
        description=data.description.strip(),
        status="open",
        owner_org_id=principal.org_id,
        tlp=TLP,
        created_by=principal.user_id,
        created_at=now,
    )
    session.add(sub)
    session.flush()
    if data.credential:
        session.add(ReviewCredential(submission_id=sub.id, ciphertext=box.encrypt(data.credential.encode())))
    record(
        session,
        principal,
        "review.submit",
        object_type=OBJECT_TYPE,
        object_id=sub.id,
        tlp=TLP,
        details={
            "model": f"{sub.model_name} {sub.model_version}",
            "release_date": sub.release_date.isoformat(),
            "window_closes_at": sub.window_closes_at.isoformat(),
            "access_level": sub.access_level,
            "credential": bool(data.credential),
        },
    )
    seen: set[uuid.UUID] = set()
    for user in reviewers:
        if user.id not in seen:
            seen.add(user.id)
            _add_member(session, principal, sub, user, now)
    for doc in documents:
        _store_document(session, principal, sub, box, doc)
    if data.schedule_evaluation and eval_model:
        # Evaluations are run by the program, not by the developer: the system schedules them.
        _schedule(session, SYSTEM, sub, data.credential, settings)
    enqueue(
        session,
        SYSTEM,
        "review.close_window",
        {"submission_id": str(sub.id)},
        owner_org_id=sub.owner_org_id,
        tlp=TLP,
    )
    session.flush()
    # A new version of a model with a determination makes that determination re-evaluation due.
    from frontiersec.designation.service import flag_new_model_version  # designation reads review

    flag_new_model_version(
        session,
        SYSTEM,
        model_name=sub.model_name,
        new_version=sub.model_version,
        developer_org_id=sub.owner_org_id,
    )
    return sub


def _share_runs(session: Session, sub: ReviewSubmission) -> None:
    """The program runs the evaluations (TLP:RED, need-to-know); each named team member and the
    developer who submitted see their results through a personal share (idempotent). Called when a
    run is scheduled and when the team grows."""
    people = set(
        session.execute(
            select(ReviewTeamMember.user_id).where(ReviewTeamMember.submission_id == sub.id)
        ).scalars()
    )
    if sub.created_by is not None:
        people.add(sub.created_by)
    run_ids = list(
        session.execute(select(ReviewEvalRun.run_id).where(ReviewEvalRun.submission_id == sub.id)).scalars()
    )
    for run_id in run_ids:
        for user_id in people:
            share_record(session, SYSTEM, object_type="eval_run", object_id=run_id, user_id=user_id)


def _schedule(
    session: Session, principal: Principal, sub: ReviewSubmission, api_key: str | None, settings: Any
) -> uuid.UUID:
    run_id = evaluations.schedule_run(
        session,
        principal,
        submission_id=sub.id,
        eval_model=sub.eval_model or evaluations.default_eval_model(sub.model_name),
        endpoint_url=sub.endpoint_url,
        api_key=api_key,
        model_name=sub.model_name,
        model_version=sub.model_version,
        suite=settings.review_eval_suite,
        limit=settings.review_eval_limit,
    )
    session.add(ReviewEvalRun(submission_id=sub.id, run_id=run_id))
    session.flush()
    _share_runs(session, sub)
    record(
        session,
        principal,
        "review.run_scheduled",
        object_type=OBJECT_TYPE,
        object_id=sub.id,
        tlp=TLP,
        details={"run_id": str(run_id), "model": sub.eval_model, "suite": settings.review_eval_suite},
    )
    return run_id


def schedule_evaluation(
    session: Session, principal: Principal, sub_id: uuid.UUID, *, box: SecretBox, settings: Any
) -> uuid.UUID:
    """Schedule one more evaluation run against the endpoint (review team analysts), with the
    stored credential, while the window is open."""
    sub, side = _load(session, principal, sub_id, "schedule an evaluation run")
    _require_side(side, ("team",), "scheduling an evaluation run")
    principal.require_role(Role.ANALYST, "scheduling an evaluation run")
    _require_open(sub, utcnow(), "scheduling an evaluation run")
    if not sub.eval_model:
        raise PreconditionFailed("this submission names no endpoint or evaluation model to run against")
    cred = session.execute(
        select(ReviewCredential).where(ReviewCredential.submission_id == sub.id)
    ).scalar_one_or_none()
    api_key = box.decrypt(cred.ciphertext).decode() if cred else None
    return _schedule(session, principal, sub, api_key, settings)


# --------------------------------------------------------------------------- read


def _row(session: Session, sub: ReviewSubmission, side: str, now: dt.datetime) -> SubmissionRow:
    team = len(_team_ids(session, sub.id))
    has_report = (
        session.execute(select(ReviewReport.id).where(ReviewReport.submission_id == sub.id)).first()
        is not None
    )
    return SubmissionRow(
        submission=sub,
        developer=_org_name(session, sub.owner_org_id),
        side=side,
        countdown=countdown(sub.window_closes_at, now),
        team_size=team,
        has_report=has_report,
    )


def list_submissions(
    session: Session, principal: Principal, *, status: str | None = None
) -> list[SubmissionRow]:
    """Submissions the principal may see: their organisation's, and those whose team names them."""
    stmt = select(ReviewSubmission).order_by(ReviewSubmission.window_closes_at.desc())
    if not _is_system(principal):
        team_of = select(ReviewTeamMember.submission_id).where(ReviewTeamMember.user_id == principal.user_id)
        clauses: list[ColumnElement[bool]] = [ReviewSubmission.id.in_(team_of)]
        if principal.org_id is not None:
            clauses.append(ReviewSubmission.owner_org_id == principal.org_id)
        stmt = stmt.where(or_(*clauses))
    if status:
        stmt = stmt.where(ReviewSubmission.status == status)
    subs = list(session.execute(stmt).scalars())
    now = utcnow()
    rows = []
    for sub in subs:
        side = _side(session, principal, sub) or "team"
        rows.append(_row(session, sub, side, now))
    if subs:
        record(
            session,
            principal,
            "read",
            object_type=OBJECT_TYPE,
            tlp=TLP,
            details={"list": [str(s.id) for s in subs]},
        )
    _sweep_overdue(session, subs, now)
    return rows


def _sweep_overdue(session: Session, subs: Sequence[ReviewSubmission], now: dt.datetime) -> None:
    # A window whose close job was lost (a queue wiped, a crash before Huey stored the schedule)
    # is closed anyway: any read of an overdue open window queues the idempotent close job
    # (at most once every 15 minutes per window).
    overdue = [s for s in subs if s.status not in CLOSED and s.window_closes_at <= now]
    if not overdue:
        return
    recent = {
        str(p.get("submission_id"))
        for p in session.execute(
            select(JobRecord.params).where(
                JobRecord.name == "review.close_window",
                JobRecord.created_at > now - dt.timedelta(minutes=15),
            )
        ).scalars()
    }
    for sub in overdue:
        if str(sub.id) not in recent:
            enqueue(
                session,
                SYSTEM,
                "review.close_window",
                {"submission_id": str(sub.id)},
                owner_org_id=sub.owner_org_id,
                tlp=TLP,
            )


def get_submission(session: Session, principal: Principal, sub_id: uuid.UUID) -> SubmissionDetail:
    """One submission with its team, materials, runs, report, exports and receipt (audited read)."""
    sub, side = _load(session, principal, sub_id, "read the submission")
    now = utcnow()
    team_rows = list(
        session.execute(
            select(ReviewTeamMember, User)
            .join(User, User.id == ReviewTeamMember.user_id)
            .where(ReviewTeamMember.submission_id == sub.id)
            .order_by(ReviewTeamMember.added_at)
        ).all()
    )
    team = []
    for member, user in team_rows:
        org_name = (
            session.execute(
                select(Organization.name)
                .join(Membership, Membership.org_id == Organization.id)
                .where(Membership.user_id == user.id)
            )
            .scalars()
            .first()
        )
        team.append(TeamMemberView(user.id, user.email, user.display_name, org_name or "", member.added_at))
    documents = list(
        session.execute(
            select(ReviewDocument)
            .where(ReviewDocument.submission_id == sub.id)
            .order_by(ReviewDocument.uploaded_at)
        ).scalars()
    )
    run_ids = list(
        session.execute(
            select(ReviewEvalRun.run_id)
            .where(ReviewEvalRun.submission_id == sub.id)
            .order_by(ReviewEvalRun.created_at)
        ).scalars()
    )
    report = session.execute(
        select(ReviewReport).where(ReviewReport.submission_id == sub.id)
    ).scalar_one_or_none()
    findings = (
        list(
            session.execute(
                select(ReviewFinding)
                .where(ReviewFinding.report_id == report.id)
                .order_by(ReviewFinding.position)
            ).scalars()
        )
        if report
        else []
    )
    exports = (
        list(
            session.execute(
                select(ReviewExport)
                .where(ReviewExport.submission_id == sub.id)
                .order_by(ReviewExport.requested_at.desc())
            ).scalars()
        )
        if side in ("team", "system")
        else []
    )
    receipt = session.execute(
        select(ReviewPurgeReceipt).where(ReviewPurgeReceipt.submission_id == sub.id)
    ).scalar_one_or_none()
    has_cred = (
        session.execute(select(ReviewCredential.id).where(ReviewCredential.submission_id == sub.id)).first()
        is not None
    )
    ids: set[uuid.UUID] = set()
    for e in exports:
        ids.update(x for x in (e.requested_by, e.recipient_id, e.approved_by) if x)
    for f in findings:
        if f.responded_by:
            ids.add(f.responded_by)
    if report and report.issued_by:
        ids.add(report.issued_by)
    record_read(
        session, principal, object_type=OBJECT_TYPE, object_id=sub.id, tlp=sub.tlp, details={"side": side}
    )
    _sweep_overdue(session, [sub], now)
    return SubmissionDetail(
        submission=sub,
        developer=_org_name(session, sub.owner_org_id),
        side=side,
        countdown=countdown(sub.window_closes_at, now),
        has_credential=has_cred,
        team=team,
        documents=documents,
        runs=evaluations.run_summaries(session, run_ids),
        report=report,
        findings=findings,
        exports=exports,
        receipt=receipt,
        people=_user_labels(session, ids),
    )


# --------------------------------------------------------------------------- team and materials


def add_team_member(
    session: Session, principal: Principal, sub_id: uuid.UUID, email: str
) -> ReviewTeamMember:
    """Name one more agency official on the review team (need-to-know: one person at a time).

    Analysts and admins on the team may add officials; so may the developer organisation's
    analysts and admins (the material is theirs). Only officials of government agencies join.
    """
    sub, side = _load(session, principal, sub_id, "add a review team member")
    _require_side(side, ("team", "developer"), "adding a review team member")
    principal.require_role(Role.ANALYST, "adding a review team member")
    if side == "team" and principal.org_kind != OrgKind.GOVERNMENT_AGENCY.value:
        raise PermissionDenied("only agency officials on the team may add officials")
    _require_open(sub, utcnow(), "adding a review team member")
    user = _government_user(session, email, "email")
    return _add_member(session, principal, sub, user)


def upload_document(
    session: Session, principal: Principal, sub_id: uuid.UUID, doc: DocumentInput, *, box: SecretBox
) -> ReviewDocument:
    """Add a system card or document (developer organisation, while the window is open);
    stored encrypted, its SHA-256 recorded."""
    sub, side = _load(session, principal, sub_id, "upload a document")
    _require_side(side, ("developer",), "uploading review documents")
    principal.require_role(Role.MEMBER, "uploading review documents")
    _require_open(sub, utcnow(), "uploading a document")
    return _store_document(session, principal, sub, box, doc)


def _text_of(content: bytes, content_type: str) -> str | None:
    if not (content_type.startswith("text/") or content_type in ("application/json", "application/x-yaml")):
        try:
            decoded = content.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return decoded if "\x00" not in decoded else None
    return content.decode("utf-8", errors="replace")


def read_document(
    session: Session, principal: Principal, sub_id: uuid.UUID, doc_id: uuid.UUID, *, box: SecretBox
) -> tuple[ReviewDocument, str | None]:
    """A document's metadata and, for text, its content (audited read). A copy of the file
    leaves only through an approved export."""
    sub, _ = _load(session, principal, sub_id, f"read document {doc_id}")
    doc = session.get(ReviewDocument, doc_id)
    if doc is None or doc.submission_id != sub.id:
        raise NotFound(f"document {doc_id} not found")
    record_read(
        session,
        principal,
        object_type="review_document",
        object_id=doc.id,
        tlp=sub.tlp,
        details={"submission_id": str(sub.id), "filename": doc.filename, "sha256": doc.sha256},
    )
    if doc.ciphertext is None:
        return doc, None
    return doc, _text_of(box.decrypt(doc.ciphertext), doc.content_type)


# --------------------------------------------------------------------------- report


def issue_report(
    session: Session,
    principal: Principal,
    sub_id: uuid.UUID,
    *,
    summary: str,
    findings: Sequence[FindingInput],
    now: dt.datetime | None = None,
) -> ReviewReport:
    """Hand the review's report to the developer (review team analysts, once, before the deadline)."""
    sub, side = _load(session, principal, sub_id, "issue the report")
    _require_side(side, ("team",), "issuing the review report")
    principal.require_role(Role.ANALYST, "issuing the review report")
    now = now or utcnow()
    _require_open(sub, now, "issuing the report")
    if session.execute(select(ReviewReport.id).where(ReviewReport.submission_id == sub.id)).first():
        raise Conflict("the report for this submission was already issued")
    errors: list[FieldError] = []
    if not summary.strip():
        errors.append(FieldError("summary", "must not be empty"))
    for i, f in enumerate(findings):
        if not f.title.strip():
            errors.append(FieldError(f"findings[{i}].title", "must not be empty"))
        if f.severity not in SEVERITIES:
            errors.append(FieldError(f"findings[{i}].severity", f"must be one of {', '.join(SEVERITIES)}"))
        if not f.detail.strip():
            errors.append(FieldError(f"findings[{i}].detail", "must not be empty"))
    if errors:
        raise InvalidInput("; ".join(f"{e.field}: {e.message}" for e in errors), errors=errors)
    report = ReviewReport(
        submission_id=sub.id, summary=summary.strip(), issued_by=principal.user_id, issued_at=now
    )
    session.add(report)
    session.flush()
    for i, f in enumerate(findings):
        session.add(
            ReviewFinding(
                report_id=report.id,
                position=i + 1,
                title=f.title.strip()[:300],
                severity=f.severity,
                detail=f.detail.strip(),
            )
        )
    sub.status = "reported"
    session.flush()
    record(
        session,
        principal,
        "review.report_issue",
        object_type=OBJECT_TYPE,
        object_id=sub.id,
        tlp=TLP,
        details={"report_id": str(report.id), "findings": len(findings)},
    )
    emit_event(
        session,
        "review.report_issued",
        {"submission_id": str(sub.id), "findings": len(findings)},
        org_ids=[sub.owner_org_id],
    )
    return report


def respond_to_finding(
    session: Session,
    principal: Principal,
    sub_id: uuid.UUID,
    finding_id: uuid.UUID,
    *,
    response: str,
    comment: str = "",
    now: dt.datetime | None = None,
) -> ReviewFinding:
    """The developer acknowledges or disputes a finding (a dispute needs a comment)."""
    sub, side = _load(session, principal, sub_id, f"respond to finding {finding_id}")
    _require_side(side, ("developer",), "responding to findings")
    principal.require_role(Role.MEMBER, "responding to findings")
    finding = session.get(ReviewFinding, finding_id)
    report = session.get(ReviewReport, finding.report_id) if finding else None
    if finding is None or report is None or report.submission_id != sub.id:
        raise NotFound(f"finding {finding_id} not found")
    if response not in RESPONSES:
        raise InvalidInput.on("response", f"must be one of {', '.join(RESPONSES)}")
    if response == "disputed" and not comment.strip():
        raise InvalidInput.on("comment", "a dispute needs a comment saying why")
    if finding.response is not None:
        raise Conflict(f"this finding was already {finding.response}")
    finding.response = response
    finding.response_comment = comment.strip() or None
    finding.responded_by = principal.user_id
    finding.responded_at = now or utcnow()
    session.flush()
    record(
        session,
        principal,
        "review.finding_respond",
        object_type=OBJECT_TYPE,
        object_id=sub.id,
        tlp=TLP,
        details={"finding_id": str(finding.id), "response": response},
    )
    return finding


# --------------------------------------------------------------------------- exports (two-person rule)


def _material(session: Session, sub: ReviewSubmission, material: str) -> ReviewDocument | None:
    if material == "report":
        return None
    kind, _, ref = material.partition(":")
    if kind != "document":
        raise InvalidInput.on("material", "must be 'report' or 'document:<document id>'")
    try:
        doc_id = uuid.UUID(ref)
    except ValueError as exc:
        raise InvalidInput.on("material", "must be 'report' or 'document:<document id>'") from exc
    doc = session.get(ReviewDocument, doc_id)
    if doc is None or doc.submission_id != sub.id:
        raise InvalidInput.on("material", f"no document {ref} in this submission")
    return doc


def request_export(
    session: Session,
    principal: Principal,
    sub_id: uuid.UUID,
    *,
    material: str,
    reason: str,
    recipient_email: str | None = None,
) -> ReviewExport:
    """Ask to export one material (the report or a document) for a named team member; a second
    team member must approve before it can be downloaded, once."""
    sub, side = _load(session, principal, sub_id, f"request an export of {material}")
    _require_side(side, ("team",), "exporting review material")
    if principal.user_id is None:
        raise PermissionDenied("exports are requested by a named person")
    _material(session, sub, material)
    if not reason.strip():
        raise InvalidInput.on("reason", "say why the material must leave the system")
    recipient_id = principal.user_id
    if recipient_email:
        user = (
            session.execute(select(User).where(User.email == recipient_email.strip().lower()))
            .scalars()
            .first()
        )
        if user is None or user.id not in _team_ids(session, sub.id):
            raise InvalidInput.on("recipient", f"{recipient_email} is not on the review team")
        recipient_id = user.id
    exp = ReviewExport(
        submission_id=sub.id,
        material=material,
        reason=reason.strip(),
        requested_by=principal.user_id,
        recipient_id=recipient_id,
    )
    session.add(exp)
    session.flush()
    record(
        session,
        principal,
        "review.export_request",
        object_type=OBJECT_TYPE,
        object_id=sub.id,
        tlp=TLP,
        details={"export_id": str(exp.id), "material": material, "recipient_id": str(recipient_id)},
    )
    return exp


def _export(session: Session, sub: ReviewSubmission, export_id: uuid.UUID) -> ReviewExport:
    exp = session.get(ReviewExport, export_id)
    if exp is None or exp.submission_id != sub.id:
        raise NotFound(f"export {export_id} not found")
    return exp


def approve_export(
    session: Session, principal: Principal, sub_id: uuid.UUID, export_id: uuid.UUID
) -> ReviewExport:
    """The second person's approval: another team member than the requester and the recipient."""
    sub, side = _load(session, principal, sub_id, f"approve export {export_id}")
    _require_side(side, ("team",), "approving an export")
    exp = _export(session, sub, export_id)
    if principal.user_id in (exp.requested_by, exp.recipient_id):
        raise PermissionDenied(
            "two-person rule: an export is approved by a second team member, not its requester or recipient"
        )
    if exp.status != "requested":
        raise Conflict(f"this export is already {exp.status}")
    exp.status = "approved"
    exp.approved_by = principal.user_id
    exp.approved_at = utcnow()
    session.flush()
    record(
        session,
        principal,
        "review.export_approve",
        object_type=OBJECT_TYPE,
        object_id=sub.id,
        tlp=TLP,
        details={"export_id": str(exp.id), "material": exp.material, "requested_by": str(exp.requested_by)},
    )
    return exp


def download_export(
    session: Session, principal: Principal, sub_id: uuid.UUID, export_id: uuid.UUID, *, box: SecretBox
) -> tuple[str, bytes]:
    """The approved export, once, to its recipient: a JSON file whose header names the recipient."""
    sub, side = _load(session, principal, sub_id, f"download export {export_id}")
    _require_side(side, ("team",), "downloading an export")
    exp = _export(session, sub, export_id)
    if principal.user_id != exp.recipient_id:
        raise PermissionDenied("only the export's named recipient may download it")
    if exp.status == "requested":
        raise PreconditionFailed("this export waits for a second team member's approval")
    if exp.status != "approved":
        raise Conflict("this export was already downloaded (an export is downloaded once)")
    doc = _material(session, sub, exp.material)
    content: dict[str, Any]
    if doc is None:
        report = session.execute(
            select(ReviewReport).where(ReviewReport.submission_id == sub.id)
        ).scalar_one_or_none()
        if report is None:
            raise PreconditionFailed("no report has been issued yet")
        findings = session.execute(
            select(ReviewFinding).where(ReviewFinding.report_id == report.id).order_by(ReviewFinding.position)
        ).scalars()
        content = {
            "type": "report",
            "summary": report.summary,
            "issued_at": report.issued_at.isoformat(),
            "findings": [
                {
                    "title": f.title,
                    "severity": f.severity,
                    "detail": f.detail,
                    "response": f.response,
                    "response_comment": f.response_comment,
                }
                for f in findings
            ],
        }
    else:
        if doc.ciphertext is None:
            raise PreconditionFailed(f"{doc.filename} was purged when the review window closed")
        raw = box.decrypt(doc.ciphertext)
        content = {
            "type": "document",
            "filename": doc.filename,
            "content_type": doc.content_type,
            "sha256": doc.sha256,
            "content_base64": base64.b64encode(raw).decode(),
        }
    labels = _user_labels(session, {x for x in (exp.recipient_id, exp.requested_by, exp.approved_by) if x})
    now = utcnow()
    body = {
        "frontiersec_export": {
            "export_id": str(exp.id),
            "submission_id": str(sub.id),
            "model": {"name": sub.model_name, "version": sub.model_version},
            "material": exp.material,
            "tlp": sub.tlp,
            "recipient": {"user_id": str(exp.recipient_id), "email": labels.get(exp.recipient_id)},  # type: ignore[arg-type]
            "requested_by": labels.get(exp.requested_by),  # type: ignore[arg-type]
            "approved_by": labels.get(exp.approved_by),  # type: ignore[arg-type]
            "exported_at": now.isoformat(),
            "watermark": f"TLP:{sub.tlp} - exported for {labels.get(exp.recipient_id)} "  # type: ignore[arg-type]
            f"({exp.recipient_id}) under export {exp.id}; do not pass on",
        },
        "content": content,
    }
    data = json.dumps(body, indent=2).encode()
    exp.status = "downloaded"
    exp.downloaded_at = now
    exp.content_sha256 = hashlib.sha256(data).hexdigest()
    session.flush()
    record(
        session,
        principal,
        "review.export_download",
        object_type=OBJECT_TYPE,
        object_id=sub.id,
        tlp=TLP,
        details={"export_id": str(exp.id), "material": exp.material, "sha256": exp.content_sha256},
    )
    return f"review-export-{exp.id}.json", data


# --------------------------------------------------------------------------- window end


def _secure_delete(session: Session) -> None:
    # SQLite keeps deleted bytes in free pages unless told to overwrite them.
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("PRAGMA secure_delete=ON"))


def close_window(
    session: Session, sub_id: uuid.UUID, *, box: SecretBox, now: dt.datetime | None = None
) -> ReviewPurgeReceipt | None:
    """Close a window whose deadline has passed: purge the credential (the row is deleted) and
    the documents' content, purge the evaluation runs' credentials, and sign a receipt.

    Idempotent: a closed window returns its receipt; a window not yet due returns ``None``.
    """
    now = now or utcnow()
    sub = session.get(ReviewSubmission, sub_id)
    if sub is None:
        raise NotFound(f"review submission {sub_id} not found")
    if sub.status in CLOSED:
        return session.execute(
            select(ReviewPurgeReceipt).where(ReviewPurgeReceipt.submission_id == sub.id)
        ).scalar_one_or_none()
    if now < sub.window_closes_at:
        return None
    key = ensure_signing_key(session, box)
    _secure_delete(session)
    deleted: list[dict[str, Any]] = []
    cred = session.execute(
        select(ReviewCredential).where(ReviewCredential.submission_id == sub.id)
    ).scalar_one_or_none()
    if cred is not None:
        deleted.append(
            {
                "kind": "model_credential",
                "id": str(cred.id),
                "sha256_ciphertext": hashlib.sha256(cred.ciphertext).hexdigest(),
                "bytes": len(cred.ciphertext),
            }
        )
        session.execute(delete(ReviewCredential).where(ReviewCredential.id == cred.id))
    for doc in session.execute(
        select(ReviewDocument).where(
            ReviewDocument.submission_id == sub.id, ReviewDocument.ciphertext.is_not(None)
        )
    ).scalars():
        assert doc.ciphertext is not None
        deleted.append(
            {
                "kind": "document",
                "id": str(doc.id),
                "filename": doc.filename,
                "sha256": doc.sha256,
                "sha256_ciphertext": hashlib.sha256(doc.ciphertext).hexdigest(),
                "bytes": doc.size_bytes,
            }
        )
        doc.ciphertext = None
        doc.purged_at = now
    run_ids = list(
        session.execute(select(ReviewEvalRun.run_id).where(ReviewEvalRun.submission_id == sub.id)).scalars()
    )
    deleted.extend(evaluations.purge_run_credentials(session, run_ids))
    has_report = session.execute(select(ReviewReport.id).where(ReviewReport.submission_id == sub.id)).first()
    sub.status = "closed" if has_report else "closed_without_report"
    sub.closed_at = now
    session.flush()
    payload = {
        "type": RECEIPT_TYPE,
        "version": 1,
        "submission_id": str(sub.id),
        "developer_org_id": str(sub.owner_org_id),
        "model": {"name": sub.model_name, "version": sub.model_version},
        "window": {
            "opened_at": sub.window_opened_at.isoformat(),
            "closes_at": sub.window_closes_at.isoformat(),
            "release_date": sub.release_date.isoformat(),
        },
        "outcome": sub.status,
        "purged_at": now.isoformat(),
        "deleted": deleted,
        "signing_key_id": key.kid,
        "statement": "The credential and the materials listed were deleted from this deployment's database "
        "when the review window ended; their SHA-256 digests identify what was deleted.",
    }
    signed = sign_document(session, box, payload)
    receipt = ReviewPurgeReceipt(
        submission_id=sub.id, kid=signed["signature"]["kid"], document=signed, issued_at=now
    )
    session.add(receipt)
    session.flush()
    record(
        session,
        SYSTEM,
        "review.window_closed",
        object_type=OBJECT_TYPE,
        object_id=sub.id,
        tlp=TLP,
        details={"outcome": sub.status, "deleted": [{"kind": d["kind"], "id": d["id"]} for d in deleted]},
    )
    emit_event(
        session,
        "review.window_closed",
        {"submission_id": str(sub.id), "outcome": sub.status, "receipt_id": str(receipt.id)},
        org_ids=[sub.owner_org_id],
    )
    log.info("review.window_closed", submission_id=str(sub.id), outcome=sub.status, deleted=len(deleted))
    return receipt


def flush_purged_pages(session: Session) -> None:
    """After a purge has committed, on SQLite: checkpoint and truncate the write-ahead log, so the
    purged bytes do not survive in old log frames (``secure_delete`` already overwrote the pages)."""
    if session.get_bind().dialect.name != "sqlite":
        return
    session.commit()
    session.connection().exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    session.commit()


def close_overdue(session: Session, *, box: SecretBox, now: dt.datetime | None = None) -> list[uuid.UUID]:
    """Close every window whose deadline has passed (the sweep behind ``review close-overdue``)."""
    now = now or utcnow()
    ids = list(
        session.execute(
            select(ReviewSubmission.id).where(
                ReviewSubmission.status.not_in(CLOSED), ReviewSubmission.window_closes_at <= now
            )
        ).scalars()
    )
    for sid in ids:
        close_window(session, sid, box=box, now=now)
    return ids


def get_purge_receipt(session: Session, principal: Principal, sub_id: uuid.UUID) -> dict[str, Any]:
    """The signed purge receipt (developer and team), verifiable offline with the published keys."""
    sub, _ = _load(session, principal, sub_id, "read the purge receipt")
    receipt = session.execute(
        select(ReviewPurgeReceipt).where(ReviewPurgeReceipt.submission_id == sub.id)
    ).scalar_one_or_none()
    if receipt is None:
        raise NotFound(f"no purge receipt yet: the window closes at {sub.window_closes_at.isoformat()}")
    record_read(session, principal, object_type="review_purge_receipt", object_id=receipt.id, tlp=sub.tlp)
    return dict(receipt.document)


# --------------------------------------------------------------------------- for other areas


def window_for_model(
    session: Session, *, owner_org_id: uuid.UUID, model_name: str, model_version: str
) -> tuple[dt.datetime, dt.datetime] | None:
    """(opened, closes) of the latest review window of a developer's model version, or ``None``
    (for partners: an access grant may not start before the window ends unless waived)."""
    sub = (
        session.execute(
            select(ReviewSubmission)
            .where(
                ReviewSubmission.owner_org_id == owner_org_id,
                ReviewSubmission.model_name == model_name,
                ReviewSubmission.model_version == model_version,
            )
            .order_by(ReviewSubmission.window_opened_at.desc())
        )
        .scalars()
        .first()
    )
    return (sub.window_opened_at, sub.window_closes_at) if sub else None


def declared_scale(session: Session, principal: Principal, sub_id: uuid.UUID) -> dict[str, Any]:
    """The developer's declared training compute (FLOP) and parameter count of a submission
    (for designation; audited read, need-to-know as for the submission)."""
    sub, _ = _load(session, principal, sub_id, "read the declared compute and size")
    record_read(
        session,
        principal,
        object_type=OBJECT_TYPE,
        object_id=sub.id,
        tlp=sub.tlp,
        details={"fields": "scale"},
    )
    return {
        "submission_id": sub.id,
        "owner_org_id": sub.owner_org_id,
        "model_name": sub.model_name,
        "model_version": sub.model_version,
        "training_compute_flop": sub.training_compute_flop,
        "parameter_count": sub.parameter_count,
    }
