"""`frontiersec review ...`: pre-release review from the command line (``--as EMAIL`` acts for a person).

Exit codes: 0 done; 2 bad input (e.g. a release date more than 30 days ahead, with the
reason); 1 refused or not found.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer

from frontiersec.platform import cli_support
from frontiersec.platform.errors import InvalidInput
from frontiersec.platform.signing import jwks, verify_document
from frontiersec.review import jobs as _jobs  # noqa: F401  (registers review.close_window)
from frontiersec.review import service
from frontiersec.review.api import detail_read, export_read, finding_read, row_read

__all__ = ["app"]

app = typer.Typer(
    help="Pre-release review: submissions, the review team, reports, exports, purge receipts.",
    no_args_is_help=True,
)
team_app = typer.Typer(help="The review team (named officials, need-to-know).", no_args_is_help=True)
app.add_typer(team_app, name="team")

JsonOpt = cli_support.JsonOpt
AsOpt = cli_support.AsOpt


def _uuid(value: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        cli_support.fail(f"{field}: not an id: {value!r}", 2)


def _out(data: Any, as_json: bool, text: str) -> None:
    typer.echo(json.dumps(data, indent=2, default=str) if as_json else text)


def _read_doc(path: Path, kind: str) -> service.DocumentInput:
    if not path.is_file():
        cli_support.fail(f"{'--system-card' if kind == 'system_card' else '--document'}: no file {path}", 2)
    ctype = "text/markdown" if path.suffix in (".md", ".markdown") else "application/octet-stream"
    if path.suffix in (".txt",):
        ctype = "text/plain"
    elif path.suffix == ".pdf":
        ctype = "application/pdf"
    elif path.suffix == ".json":
        ctype = "application/json"
    return service.DocumentInput(path.name, path.read_bytes(), ctype, kind)


@app.command("submit")
def submit(
    model: Annotated[str, typer.Option("--model", help="Model name, e.g. lab-frontier.")],
    version: Annotated[str, typer.Option("--version", help="Model version under review.")],
    release_date: Annotated[
        str,
        typer.Option("--release-date", help="Planned release to trusted partners, YYYY-MM-DD (≤ 30 days)."),
    ],
    endpoint: Annotated[str | None, typer.Option("--endpoint", help="The model's API endpoint URL.")] = None,
    access: Annotated[
        str,
        typer.Option("--access", help="black-box, grey-box (logits / fine-tuning) or white-box (weights)."),
    ] = "black-box",
    credential_env: Annotated[
        str | None,
        typer.Option("--credential-env", help="Environment variable holding the endpoint's API key."),
    ] = None,
    eval_model: Annotated[
        str | None, typer.Option("--eval-model", help="Inspect model string (default openai/<model>).")
    ] = None,
    compute_flop: Annotated[
        float | None, typer.Option("--compute-flop", help="Declared training compute in FLOP, e.g. 3e25.")
    ] = None,
    params: Annotated[int | None, typer.Option("--params", help="Declared parameter count.")] = None,
    reviewer: Annotated[
        list[str] | None, typer.Option("--reviewer", help="Agency official to name on the team (repeatable).")
    ] = None,
    system_card: Annotated[Path | None, typer.Option("--system-card", help="System card file.")] = None,
    document: Annotated[
        list[Path] | None, typer.Option("--document", help="Another document (repeatable).")
    ] = None,
    description: Annotated[str, typer.Option("--description", help="Notes for the reviewers.")] = "",
    no_evaluate: Annotated[
        bool, typer.Option("--no-evaluate", help="Do not schedule evaluation runs now.")
    ] = False,
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Submit a model for voluntary pre-release review; the window runs to the release date."""
    try:
        rdate = dt.date.fromisoformat(release_date)
    except ValueError:
        cli_support.fail(f"--release-date: {release_date!r} is not a date YYYY-MM-DD", 2)
    credential = None
    if credential_env:
        credential = os.environ.get(credential_env)
        if not credential:
            cli_support.fail(
                f"--credential-env: the environment variable {credential_env} is empty or unset", 2
            )
    docs = [_read_doc(system_card, "system_card")] if system_card else []
    docs += [_read_doc(p, "document") for p in document or []]
    s = cli_support.load_settings()
    with cli_support.unit(s) as (rt, session):
        principal = cli_support.actor(session, as_email)
        sub = service.submit_model(
            session,
            principal,
            service.SubmissionInput(
                model_name=model,
                model_version=version,
                release_date=rdate,
                access_level=access,
                endpoint_url=endpoint,
                credential=credential,
                eval_model=eval_model,
                training_compute_flop=compute_flop,
                parameter_count=params,
                description=description,
                reviewers=reviewer or [],
                schedule_evaluation=not no_evaluate,
            ),
            box=rt.box,
            settings=s,
            documents=docs,
        )
        detail = detail_read(service.get_submission(session, principal, sub.id))
    _out(
        detail.model_dump(mode="json"),
        as_json,
        f"submitted {detail.model_name} {detail.model_version}: review {detail.id}\n"
        f"window closes {detail.window_closes_at:%Y-%m-%d %H:%M} UTC ({detail.countdown.text}); "
        f"team: {', '.join(m.email for m in detail.team) or 'none yet'}; runs scheduled: {len(detail.runs)}",
    )


@app.command("list")
def list_cmd(
    status: Annotated[str | None, typer.Option("--status", help="open, reported, closed...")] = None,
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Submissions you may see (your organisation's, and those whose team names you)."""
    with cli_support.unit() as (_rt, session):
        rows = [
            row_read(r)
            for r in service.list_submissions(session, cli_support.actor(session, as_email), status=status)
        ]
    cli_support.emit(
        [
            {
                "id": r.id,
                "model": f"{r.model_name} {r.model_version}",
                "developer": r.developer,
                "status": r.status,
                "closes": f"{r.window_closes_at:%Y-%m-%d}",
                "left": r.countdown.text,
                "team": r.team_size,
            }
            if not as_json
            else r.model_dump(mode="json")
            for r in rows
        ],
        ["id", "model", "developer", "status", "closes", "left", "team"],
        as_json,
    )


@app.command("show")
def show(
    submission_id: Annotated[str, typer.Argument(help="Submission id.")],
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One submission: countdown, team, documents, runs, report (an audited read)."""
    sid = _uuid(submission_id, "submission_id")
    with cli_support.unit() as (_rt, session), service.refusals_recorded(session):
        d = detail_read(service.get_submission(session, cli_support.actor(session, as_email), sid))
    lines = [
        f"{d.model_name} {d.model_version} by {d.developer} [{d.status}] TLP:{d.tlp}",
        f"window {d.window_opened_at:%Y-%m-%d} → {d.window_closes_at:%Y-%m-%d %H:%M} UTC: {d.countdown.text}",
        f"access: {d.access_level}; endpoint: {d.endpoint_url or '—'}; credential stored: {d.credential_stored}",
        "team: " + (", ".join(f"{m.email} ({m.organisation})" for m in d.team) or "none"),
        "documents: " + (", ".join(f"{x.filename} sha256:{x.sha256[:12]}" for x in d.documents) or "none"),
        "runs: " + (", ".join(f"{r.id} {r.status}" for r in d.runs) or "none"),
    ]
    if d.report:
        lines.append(f"report ({d.report.issued_at:%Y-%m-%d}): {d.report.summary}")
        lines += [
            f"  #{f.position} [{f.severity}] {f.title} — {f.response or 'no response yet'}"
            for f in d.report.findings
        ]
    _out(d.model_dump(mode="json"), as_json, "\n".join(lines))


@team_app.command("add")
def team_add(
    submission_id: Annotated[str, typer.Argument(help="Submission id.")],
    email: Annotated[str, typer.Argument(help="The agency official to add.")],
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Name one more agency official on the review team."""
    sid = _uuid(submission_id, "submission_id")
    with cli_support.unit() as (_rt, session), service.refusals_recorded(session):
        m = service.add_team_member(session, cli_support.actor(session, as_email), sid, email)
        out = {"submission_id": str(sid), "user_id": str(m.user_id), "email": email}
    _out(out, as_json, f"{email} added to the review team of {sid}")


@app.command("report")
def report(
    submission_id: Annotated[str, typer.Argument(help="Submission id.")],
    summary: Annotated[str | None, typer.Option("--summary", help="The report's summary.")] = None,
    finding: Annotated[
        list[str] | None,
        typer.Option("--finding", help="SEVERITY|TITLE|DETAIL (repeatable); severity critical..info."),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", help='JSON {"summary": ..., "findings": [{title, severity, detail}]}.'),
    ] = None,
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Issue the review report with its findings to the developer (review team analysts)."""
    sid = _uuid(submission_id, "submission_id")
    findings: list[service.FindingInput] = []
    if file is not None:
        try:
            doc = json.loads(file.read_text())
            summary = summary or doc.get("summary", "")
            findings = [
                service.FindingInput(f["title"], f["severity"], f["detail"]) for f in doc.get("findings", [])
            ]
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            cli_support.fail(f"--file: not a report JSON ({exc})", 2)
    for i, raw in enumerate(finding or []):
        parts = raw.split("|", 2)
        if len(parts) != 3:
            cli_support.fail(f"--finding[{i}]: expected SEVERITY|TITLE|DETAIL, got {raw!r}", 2)
        findings.append(service.FindingInput(parts[1].strip(), parts[0].strip().lower(), parts[2].strip()))
    with cli_support.unit() as (_rt, session), service.refusals_recorded(session):
        principal = cli_support.actor(session, as_email)
        rep = service.issue_report(session, principal, sid, summary=summary or "", findings=findings)
        d = detail_read(service.get_submission(session, principal, sid))
    out = d.report.model_dump(mode="json") if d.report else {"id": str(rep.id)}
    _out(out, as_json, f"report {rep.id} issued with {len(findings)} finding(s)")


@app.command("respond")
def respond(
    submission_id: Annotated[str, typer.Argument(help="Submission id.")],
    finding_id: Annotated[str, typer.Argument(help="Finding id.")],
    response: Annotated[str, typer.Argument(help="acknowledged or disputed.")],
    comment: Annotated[str, typer.Option("--comment", help="Why (required to dispute).")] = "",
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Acknowledge or dispute one finding of the report (developer organisation)."""
    sid, fid = _uuid(submission_id, "submission_id"), _uuid(finding_id, "finding_id")
    with cli_support.unit() as (_rt, session), service.refusals_recorded(session):
        f = finding_read(
            service.respond_to_finding(
                session, cli_support.actor(session, as_email), sid, fid, response=response, comment=comment
            )
        )
    _out(f.model_dump(mode="json"), as_json, f"finding #{f.position} {f.response}")


@app.command("export-request")
def export_request(
    submission_id: Annotated[str, typer.Argument(help="Submission id.")],
    material: Annotated[str, typer.Option("--material", help="report or document:<document id>.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the material must leave the system.")],
    recipient: Annotated[
        str | None, typer.Option("--recipient", help="Team member it is for (default: you).")
    ] = None,
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Request an export of one material; a second team member must approve it."""
    sid = _uuid(submission_id, "submission_id")
    with cli_support.unit() as (_rt, session), service.refusals_recorded(session):
        principal = cli_support.actor(session, as_email)
        e = service.request_export(
            session, principal, sid, material=material, reason=reason, recipient_email=recipient
        )
        d = service.get_submission(session, principal, sid)
        out = export_read(e, d.people)
    _out(out.model_dump(mode="json"), as_json, f"export {out.id} requested; waiting for a second team member")


@app.command("export-approve")
def export_approve(
    submission_id: Annotated[str, typer.Argument(help="Submission id.")],
    export_id: Annotated[str, typer.Argument(help="Export id.")],
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Approve an export (not its requester, not its recipient)."""
    sid, eid = _uuid(submission_id, "submission_id"), _uuid(export_id, "export_id")
    with cli_support.unit() as (_rt, session), service.refusals_recorded(session):
        principal = cli_support.actor(session, as_email)
        e = service.approve_export(session, principal, sid, eid)
        d = service.get_submission(session, principal, sid)
        out = export_read(e, d.people)
    _out(out.model_dump(mode="json"), as_json, f"export {out.id} approved for {out.recipient}")


@app.command("export-download")
def export_download(
    submission_id: Annotated[str, typer.Argument(help="Submission id.")],
    export_id: Annotated[str, typer.Argument(help="Export id.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the export file.")],
    as_email: AsOpt = None,
) -> None:
    """Download an approved export, once, as its recipient."""
    sid, eid = _uuid(submission_id, "submission_id"), _uuid(export_id, "export_id")
    with cli_support.unit() as (rt, session), service.refusals_recorded(session):
        _name, data = service.download_export(
            session, cli_support.actor(session, as_email), sid, eid, box=rt.box
        )
    out.write_bytes(data)
    typer.echo(f"wrote {out} ({len(data)} bytes)")


@app.command("receipt")
def receipt(
    submission_id: Annotated[str, typer.Argument(help="Submission id.")],
    as_email: AsOpt = None,
) -> None:
    """Print the signed purge receipt (JSON) issued when the window closed."""
    sid = _uuid(submission_id, "submission_id")
    with cli_support.unit() as (_rt, session), service.refusals_recorded(session):
        doc = service.get_purge_receipt(session, cli_support.actor(session, as_email), sid)
    typer.echo(json.dumps(doc, indent=2))


@app.command("verify-receipt")
def verify_receipt(
    file: Annotated[Path, typer.Argument(help="A purge receipt (JSON) from `review receipt` or the API.")],
    keys: Annotated[
        Path | None,
        typer.Option(
            "--keys", help="JWK set (/.well-known/frontiersec-keys.json); default: this deployment's."
        ),
    ] = None,
) -> None:
    """Verify a purge receipt offline: exit 0 when the signature checks out, 1 otherwise."""
    try:
        doc = json.loads(file.read_text())
    except (OSError, ValueError) as exc:
        cli_support.fail(f"{file}: not a JSON file ({exc})", 2)
    if keys is not None:
        keyset = json.loads(keys.read_text())
    else:
        with cli_support.unit() as (_rt, session):
            keyset = jwks(session)
    try:
        payload = verify_document(doc, keyset)
    except InvalidInput as exc:
        cli_support.fail(f"NOT VALID: {exc.detail}", 1)
    if payload.get("type") != service.RECEIPT_TYPE:
        cli_support.fail(f"NOT VALID: a signed {payload.get('type')!r}, not a purge receipt", 1)
    typer.echo(
        f"valid purge receipt: {payload['model']['name']} {payload['model']['version']}, "
        f"{len(payload['deleted'])} item(s) deleted at {payload['purged_at']}, key {doc['signature']['kid']}"
    )


@app.command("close-overdue")
def close_overdue(as_json: JsonOpt = False) -> None:
    """Close every review window whose deadline has passed (purge + receipt); safe to run from cron."""
    with cli_support.unit() as (rt, session):
        ids = service.close_overdue(session, box=rt.box)
        session.commit()
        service.flush_purged_pages(session)
    _out([str(i) for i in ids], as_json, f"closed {len(ids)} overdue window(s)")
